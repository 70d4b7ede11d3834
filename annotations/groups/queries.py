"""What a group's page reads: its members, its recent notes and the documents they are on —
each note only if the viewer may see it (the policy's rule, applied in the database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from annotations.models import Annotation, Group, Membership
from reader.models import Document

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RECENT_NOTES = 20


def members_of(group: Group) -> QuerySet[Membership]:
    return group.memberships.select_related("user").order_by("joined_at")


def group_notes(user: User, group: Group) -> QuerySet[Annotation]:
    """The group layer's notes that `user` may see."""
    return Annotation.objects.visible_to(user).filter(
        group=group, visibility=Annotation.Visibility.GROUP
    )


def recent_group_notes(user: User, group: Group) -> QuerySet[Annotation]:
    return (
        group_notes(user, group)
        .select_related("author", "document")
        .order_by("-created_at")[:RECENT_NOTES]
    )


def documents_of_group(user: User, group: Group) -> QuerySet[Document]:
    """The documents the group's notes (that `user` may see) are on, by title."""
    return (
        Document.objects.filter(annotations__in=group_notes(user, group))
        .distinct()
        .only("slug", "title", "author")
        .order_by("title")
    )
