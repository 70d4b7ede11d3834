"""Tags: a page per tag, the list of tags, and suggestions for the note editor.

Everything here is read through Annotation.objects.visible_to(viewer): a tag that only someone
else uses privately looks exactly like a tag nobody uses (200, "no notes"), and every count is
a count of notes the viewer may see.
"""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET

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


@require_GET
def tag_page(request: HttpRequest, tag: str) -> HttpResponse:
    wanted = normalize_tag(tag)
    notes = (
        Annotation.objects.visible_to(request.user)
        .filter(tags__contains=[wanted])
        .select_related("document", "author", "group")
        .order_by("-created_at", "-id")
    )
    if not wanted:
        notes = notes.none()
    page = Paginator(notes, TAG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "annotations/search/tag.html", {"tag": wanted or tag, "page": page})


@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    tags = visible_tag_counts(request.user, limit=MAX_TAGS_LISTED + 1)
    return render(
        request,
        "annotations/search/tag_list.html",
        {
            "tags": tags[:MAX_TAGS_LISTED],
            "more": len(tags) > MAX_TAGS_LISTED,
            "max_tags": MAX_TAGS_LISTED,
        },
    )


@require_GET
def tag_suggest(request: HttpRequest) -> HttpResponse:
    """<option>s for the editor's <datalist>: tags starting like the last comma-separated item of
    `q` (or of `tags`, the editor's field, which is what htmx sends from it). Tags already
    written earlier in the field are not offered again."""
    raw = request.GET.get("q", request.GET.get("tags", ""))[:600]
    *earlier, last = raw.split(",")
    prefix = re.sub(r"\s+", "-", last.strip().lower().lstrip("#"))
    if not prefix:
        return HttpResponse("")
    written = [tag for tag in (normalize_tag(item) for item in earlier) if tag]
    tags = visible_tag_counts(request.user, prefix=prefix, exclude=written, limit=MAX_SUGGESTIONS)
    return HttpResponse(
        format_html_join("", '<option value="{}"></option>', ((t,) for t, _ in tags))
    )
