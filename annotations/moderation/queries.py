"""What the moderation queue reads: open flags per item, the flagged notes and replies of a
page, and contributions waiting for approval. Reads only; the acts are in services.
"""

from __future__ import annotations

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Min, Q

from annotations.models import Annotation, Flag, Group, Reply

Status = Annotation.Status


def open_flags(group: Group | None):
    """Flagged items of a group (or of public content, for staff) with their flag count and
    reasons, oldest unresolved first: one row per item, ready to paginate."""
    scope = Q(group=group) if group is not None else Q(group__isnull=True)
    return (
        Flag.objects.filter(scope, resolved_at__isnull=True)
        .values("annotation_id", "reply_id")
        .annotate(
            flags=Count("id"),
            first_flagged=Min("created_at"),
            reasons=ArrayAgg("reason", distinct=True),
            comments=ArrayAgg("comment", filter=~Q(comment="")),
        )
        .order_by("first_flagged", "annotation_id", "reply_id")
    )


def attach_items(rows: list[dict]) -> list[dict]:
    """Fetch the flagged notes and replies of a queue page: two queries whatever its size."""
    annotation_ids = [r["annotation_id"] for r in rows if r["annotation_id"]]
    reply_ids = [r["reply_id"] for r in rows if r["reply_id"]]
    annotations = Annotation.objects.select_related("author", "document", "group").in_bulk(
        annotation_ids
    )
    replies = Reply.objects.select_related(
        "author", "annotation__document", "annotation__group"
    ).in_bulk(reply_ids)
    labels = dict(Flag.Reason.choices)
    for row in rows:
        row["reasons"] = [labels.get(reason, reason) for reason in row["reasons"]]
        row["reply"] = replies.get(row["reply_id"])
        row["annotation"] = (
            row["reply"].annotation if row["reply"] else annotations.get(row["annotation_id"])
        )
    return rows


def pending(group: Group | None, limit: int = 50):
    """Contributions waiting for approval in a pre-moderated group."""
    if group is None:
        return [], []
    notes = (
        Annotation.objects.filter(group=group, status=Status.PENDING)
        .select_related("author", "document")
        .order_by("created_at")[:limit]
    )
    replies = (
        Reply.objects.filter(
            annotation__group=group, annotation__visibility="group", status=Status.PENDING
        )
        .select_related("author", "annotation__document")
        .order_by("created_at")[:limit]
    )
    return list(notes), list(replies)
