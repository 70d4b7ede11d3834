"""Tags as readers see them: the notes carrying a tag, how many notes use each tag, and the
tags to suggest while writing.

Everything here is read through Annotation.objects.visible_to(viewer): a tag that only someone
else uses privately looks exactly like a tag nobody uses (200, "no notes"), and every count is
a count of notes the viewer may see.
"""

from __future__ import annotations

from django.db import connection

from annotations.errors import AnnotationError
from annotations.models import Annotation
from annotations.notes import services as note_services

TAG_PAGE_SIZE = 50
MAX_SUGGESTIONS = 10
MAX_TAGS_LISTED = 500


def normalize_tag(raw: str) -> str:
    """One tag as parse_tags stores it ('Key idea' -> 'key-idea'), or '' if it cannot be one."""
    try:
        tags = note_services.parse_tags([raw])
    except AnnotationError:
        return ""
    return tags[0] if tags else ""


def visible_tag_counts(
    user, *, prefix: str = "", exclude: list[str] | tuple = (), limit: int
) -> list[tuple[str, int]]:
    """(tag, number of notes `user` may see carrying it), most used first; only tags that start
    with `prefix` and are not in `exclude`."""
    notes = Annotation.objects.visible_to(user).order_by().values("tags")
    sql, params = notes.query.sql_with_params()
    # Unnesting must happen after the visibility filter, hence the subquery (PostgreSQL allows
    # no set-returning function in WHERE); the tag GIN index serves the tag page, not this.
    # `sql` is the ORM's own compiled query; every value goes in as a parameter.
    query = (
        f"SELECT tag, COUNT(*) AS n FROM ({sql}) AS visible"  # noqa: S608
        " CROSS JOIN LATERAL unnest(visible.tags) AS tag"
        " WHERE starts_with(tag, %s) AND NOT (tag = ANY(%s::varchar[]))"
        " GROUP BY tag ORDER BY n DESC, tag LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, prefix, list(exclude), limit])
        return [(tag, n) for tag, n in cursor.fetchall()]


def notes_tagged(user, tag: str):
    """The notes carrying `tag` that `user` may see, newest first (none for a non-tag)."""
    notes = (
        Annotation.objects.visible_to(user)
        .filter(tags__contains=[tag])
        .select_related("document", "author", "group")
        .order_by("-created_at", "-id")
    )
    return notes if tag else notes.none()
