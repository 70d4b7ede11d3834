"""Who else is reading: each open page ticks; a count for everyone, and names to a group's
members in its layer.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from annotations import policy
from annotations.live.events import Viewer
from annotations.models import Membership


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
