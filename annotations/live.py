"""Reading together live: PostgreSQL does the fan-out.

A write publishes a small event inside its own transaction: a LiveEvent row (for catch-up) and
a NOTIFY carrying the same JSON, so an event exists only if the write commits. Each app
process keeps one LISTEN connection (psycopg 3, async) and hands every event to the streams of
that document open in the process; each stream decides, with the policy's rule, whether its
viewer may know about it. Events carry ids, paragraph keys and audience facts, never text: the
page then fetches the fragments its viewer may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone

from annotations import policy
from annotations.models import Annotation, LiveEvent, Membership, Reply

logger = logging.getLogger(__name__)
CHANNEL = "marginalia_live"


# Publishing (inside the writing transaction) -----------------------------------------------


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


# Viewers ------------------------------------------------------------------------------------


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


# The per-process hub ------------------------------------------------------------------------


class Hub:
    """One LISTEN connection per process, fanning events out to this process's streams."""

    def __init__(self) -> None:
        self.streams: dict[int, set[asyncio.Queue]] = {}
        self.everyone: set[asyncio.Queue] = set()
        self.task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    def subscribe(self, document_id: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.streams.setdefault(document_id, set()).add(queue)
        self.everyone.add(queue)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._listen())
        return queue

    def unsubscribe(self, document_id: int, queue: asyncio.Queue) -> None:
        self.streams.get(document_id, set()).discard(queue)
        self.everyone.discard(queue)

    def open_streams(self) -> int:
        return len(self.everyone)

    async def _listen(self) -> None:
        """LISTEN forever; a lost connection (restart, pg_terminate_backend) reconnects by
        itself, and streams then catch up from their last event id."""
        delay, reconnecting = 0.2, False
        while self.everyone:
            try:
                async with await psycopg.AsyncConnection.connect(
                    **_connection_kwargs(), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if reconnecting:
                        # Events sent while we were away are in LiveEvent: streams catch up.
                        for queue in list(self.everyone):
                            _offer(queue, {"change": "resync"})
                    self.connected.set()
                    delay = 0.2
                    async for notify in conn.notifies():
                        self._dispatch(notify.payload)
                        if not self.everyone:
                            break
            except (psycopg.Error, OSError) as error:
                reconnecting = True
                self.connected.clear()
                logger.warning("Live updates: lost the LISTEN connection (%s); retrying", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.connected.clear()

    def _dispatch(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        targets = (
            self.everyone
            if event.get("document") is None
            else self.streams.get(event["document"], ())
        )
        for queue in list(targets):
            _offer(queue, event)


def _offer(queue: asyncio.Queue, event: dict) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        # A stream that stopped reading is told to resynchronise instead of growing forever.
        queue.put_nowait(event)


def _connection_kwargs() -> dict:
    db = settings.DATABASES["default"]
    kwargs = {"dbname": db["NAME"], "user": db.get("USER") or None}
    if db.get("PASSWORD"):
        kwargs["password"] = db["PASSWORD"]
    if db.get("HOST"):
        kwargs["host"] = db["HOST"]
    if db.get("PORT"):
        kwargs["port"] = str(db["PORT"])
    return kwargs


_hub: Hub | None = None


def hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub


# Presence -----------------------------------------------------------------------------------


def presence_tick(stream_id, document_id: int, viewer: Viewer, layer: str) -> dict:
    """Note that this page is still open, and say who else is reading: a count for everyone,
    and, in a group's layer, the names of that group's members (to members only)."""
    from annotations.models import Group, LivePresence

    now = timezone.now()
    LivePresence.objects.update_or_create(
        stream=stream_id,
        defaults={"document_id": document_id, "user_id": viewer.user_id, "seen_at": now},
    )
    recent = LivePresence.objects.filter(
        document_id=document_id,
        seen_at__gte=now - timedelta(seconds=3 * settings.LIVE_HEARTBEAT_SECONDS + 5),
    )
    summary: dict = {"count": recent.count(), "names": []}
    if layer.startswith(policy.GROUP_LAYER_PREFIX):
        group = Group.objects.filter(slug=layer.removeprefix(policy.GROUP_LAYER_PREFIX)).first()
        if group is not None and group.pk in viewer.groups:
            members = Membership.objects.filter(group=group).values("user_id")
            summary["names"] = sorted(
                set(recent.filter(user_id__in=members).values_list("user__username", flat=True))
            )
            summary["group"] = group.name
    return summary


def presence_leave(stream_id) -> None:
    from annotations.models import LivePresence

    LivePresence.objects.filter(stream=stream_id).delete()
