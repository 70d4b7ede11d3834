"""What the notes pages read of a reader's own notes: My notes with its filters, the documents
and tags those notes use, and the audience of the latest one (the editor's default). A reader's
own notes need no policy: only deleted ones are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F, Func, QuerySet

from annotations import policy
from annotations.errors import AnnotationError
from annotations.models import Annotation
from annotations.notes.services import parse_tags
from reader.models import Document

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Visibility = Annotation.Visibility


def notes_of(user: User) -> QuerySet[Annotation]:
    """Everything `user` wrote that still stands (hidden and pending included: it is theirs)."""
    return Annotation.objects.filter(author=user).exclude(status=Annotation.Status.DELETED)


def my_notes(
    user: User, *, document: str = "", tag: str = "", visibility: str = ""
) -> QuerySet[Annotation]:
    """My notes, newest first, narrowed to a document (slug), a tag and a visibility."""
    notes = notes_of(user).select_related("document", "group").order_by("-created_at", "-id")
    if document:
        notes = notes.filter(document__slug=document)
    if tag:
        try:
            wanted = parse_tags(tag)
        except AnnotationError:
            wanted = [tag]
        notes = notes.filter(tags__contains=wanted[:1])
    if visibility:
        notes = notes.filter(visibility=visibility)
    return notes


def documents_noted_by(user: User) -> QuerySet[Document]:
    """The documents `user` has notes on, by title."""
    return (
        Document.objects.filter(pk__in=notes_of(user).values("document_id"))
        .only("slug", "title")
        .order_by("title")
    )


def tags_used_by(user: User) -> list[str]:
    """Every tag `user` uses, unnested and deduplicated by PostgreSQL."""
    return list(
        notes_of(user)
        .annotate(tag=Func(F("tags"), function="unnest"))
        .values_list("tag", flat=True)
        .order_by("tag")
        .distinct()
    )


def last_audience(user: User) -> dict:
    """The visibility (and group) of the reader's latest note: the editor's default."""
    last = notes_of(user).order_by("-created_at").values("visibility", "group_id").first()
    if not last:
        return {"visibility": Visibility.PRIVATE}
    if last["group_id"] is not None and last["group_id"] not in policy.member_group_ids(user):
        return {"visibility": Visibility.PRIVATE}  # they have left that group since
    return {"visibility": last["visibility"], "group": last["group_id"]}
