"""Reading together live: PostgreSQL does the fan-out.

A write publishes a small event inside its own transaction: a LiveEvent row (for catch-up) and
a NOTIFY carrying the same JSON, so an event exists only if the write commits. Each app
process keeps one LISTEN connection (psycopg 3, async) and hands every event to the streams of
that document open in the process; each stream decides, with the policy's rule, whether its
viewer may know about it. Events carry ids, paragraph keys and audience facts, never text: the
page then fetches the fragments its viewer may see.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from annotations import policy
from annotations.models import Annotation, LiveEvent, Membership, Reply

logger = logging.getLogger(__name__)
CHANNEL = "marginalia_live"


def publish(
    *,
    change: str,
    annotation: Annotation,
    reply: Reply | None = None,
    before: dict | None = None,
) -> None:
    """Record and announce a change to an annotation or a reply in its thread.

    `before` is the audience before the change (for an edit that narrows who may see it, the
    readers who saw it must hear that it is gone)."""
    keys = _keys(annotation)
    payload = {
        "change": change,
        "annotation": annotation.pk,
        "reply": reply.pk if reply else None,
        "keys": keys,
        "kind": annotation.kind,
        "before": before,
        "after": policy.audience_of(annotation, reply),
    }
    _send(annotation.document_id, payload)


def publish_membership(*, user_id: int, group_id: int) -> None:
    """Someone joined, left, was removed or banned: their open streams refresh their groups."""
    _send(None, {"change": "membership", "user": user_id, "group": group_id})


def _send(document_id: int | None, payload: dict) -> None:
    event = LiveEvent.objects.create(document_id=document_id, payload=payload)
    if event.pk % 200 == 0:
        # Now and then, forget events older than any reader may still need for catch-up.
        horizon = timezone.now() - timedelta(seconds=settings.LIVE_CATCH_UP_SECONDS)
        LiveEvent.objects.filter(created_at__lt=horizon).delete()
    message = json.dumps({"id": event.pk, "document": document_id, **payload})
    with connection.cursor() as cursor:
        # Delivered by PostgreSQL only if (and when) the transaction commits.
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, message])


def _keys(annotation: Annotation) -> list[str]:
    if annotation.kind in (Annotation.Kind.DOCUMENT, Annotation.Kind.ORPHAN):
        return []
    if annotation.start_position == annotation.end_position:
        return [annotation.start_key]
    from reader.models import Paragraph

    return list(
        Paragraph.objects.filter(
            revision_id=annotation.revision_id,
            position__gte=annotation.start_position,
            position__lte=annotation.end_position,
        )
        .order_by("position")
        .values_list("key", flat=True)
    )


@dataclass
class Viewer:
    user_id: int | None
    is_staff: bool = False
    groups: set[int] = field(default_factory=set)
    moderated: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, user) -> Viewer:
        if not user.is_authenticated:
            return cls(None)
        viewer = cls(user.pk, bool(user.is_staff))
        viewer.refresh()
        return viewer

    def refresh(self) -> None:
        if self.user_id is None:
            return
        rows = Membership.objects.filter(user_id=self.user_id).values_list("group_id", "role")
        self.groups = {group for group, _ in rows}
        self.moderated = {group for group, role in rows if role in policy.MODERATING_ROLES}

    def may_know(self, event: dict) -> bool:
        """Whether this viewer may hear of the event: they may see the thing now, or saw it
        before the change (and must see it go)."""
        facts = {
            "user_id": self.user_id,
            "is_staff": self.is_staff,
            "groups": self.groups,
            "moderated": self.moderated,
        }
        return policy.audience_includes(event.get("after"), **facts) or (
            policy.audience_includes(event.get("before"), **facts)
        )


def for_viewer(event: dict) -> dict:
    """What a stream sends: which paragraphs and thread to refresh. No audience facts."""
    return {
        "id": event["id"],
        "change": event["change"],
        "annotation": event["annotation"],
        "reply": event["reply"],
        "keys": event["keys"],
        "kind": event["kind"],
    }
