"""What a reading page shows of the annotations: marks and counts per paragraph.

One query fetches every annotation the viewer may see in the chosen layer (only integers: its
id, place and a style code; no bodies), then marks are grouped per paragraph in Python. The
finished text is kept per viewer in the "pages" cache until something it shows changes
(cached_page).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.cache import caches
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Case, ExpressionWrapper, IntegerField, Q, When
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.http import urlencode

from annotations import policy
from annotations.anchoring import spans_in_paragraph
from annotations.marks import Span
from annotations.models import Annotation
from reader.layout import Decor, heading_repeats_title, side_html, text_element


@dataclass
class PageMarks:
    # paragraph key -> its spans; only paragraphs with marks
    spans: dict[str, list[Span]] = field(default_factory=dict)
    # paragraph key -> [notes, highlights] touching it; only paragraphs with any
    counts: dict[str, list[int]] = field(default_factory=dict)
    document_discussions: int = 0


# What a mark looks like, as one small integer computed by PostgreSQL: a heavily annotated page
# fetches 10,000 rows, and integers cost psycopg and Python a fraction of what strings do. Each
# code decodes through STYLES to (kind, colour, is a note, state); the lists come from the
# model's choices, so a new colour or status cannot be mis-decoded.
_KINDS = list(Annotation.Kind.values)
_COLOURS = list(Annotation.Colour.values)
_STATUSES = list(Annotation.Status.values)
_ACTIVE = Annotation.Status.ACTIVE


def _code(column: str, values: list[str]) -> Case:
    return Case(*(When(**{column: value}, then=i) for i, value in enumerate(values)))


def _style() -> ExpressionWrapper:
    note = Cast(ExpressionWrapper(~Q(body=""), output_field=BooleanField()), IntegerField())
    code = _code("kind", _KINDS) * len(_COLOURS) + _code("colour", _COLOURS)
    code = (code * len(_STATUSES) + _code("status", _STATUSES)) * 2 + note
    return ExpressionWrapper(code, output_field=IntegerField())


STYLES = [
    (kind, colour, bool(is_note), "" if status == _ACTIVE else status)
    for kind in _KINDS
    for colour in _COLOURS
    for status in _STATUSES
    for is_note in (0, 1)
]


def page_marks(
    *,
    user,
    document_id: int,
    revision_id: int,
    layer: str,
    paragraphs: Sequence[tuple[int, str, int]],
    partial: bool = False,
) -> PageMarks:
    """Marks and counts for `paragraphs`, given as (position, key, text length in code points).

    With `partial`, `paragraphs` are a few of the revision's (re-rendered after a change) and
    only annotations touching them are fetched.
    """
    positions = [position for position, _, _ in paragraphs]
    queryset = Annotation.objects.in_layer(user, layer).filter(
        document_id=document_id, revision_id=revision_id
    )
    if partial and positions:
        queryset = queryset.filter(
            start_position__lte=max(positions), end_position__gte=min(positions)
        )
    query = (
        queryset.order_by()
        .annotate(style=_style())
        .values_list("id", "start_position", "start_offset", "end_position", "end_offset", "style")
        .query
    )
    try:
        sql, params = query.sql_with_params()
    except EmptyResultSet:  # a layer that can hold nothing (an anonymous reader's own notes)
        rows = []
    else:
        # Integers as psycopg gives them: the ORM's iterator would call a converter on each row.
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    marks = PageMarks()
    span_kind, paragraph_kind, document_kind = (
        Annotation.Kind.SPAN,
        Annotation.Kind.PARAGRAPH,
        Annotation.Kind.DOCUMENT,
    )
    # Per paragraph, by position: (key, text length, its spans, [notes, highlights]) — one dict
    # look-up per annotation.
    slots = {position: (key, length, [], [0, 0]) for position, key, length in paragraphs}
    styles, slot_at = STYLES, slots.get
    # Span is a NamedTuple; tuple.__new__ makes one without a Python-level call (10,000 times).
    new, span_type = tuple.__new__, Span
    # The hot loop of a heavily annotated page: plain locals, no helper calls per paragraph.
    for pk, start_pos, start_off, end_pos, end_off, style in rows:
        kind, colour, is_note, state = styles[style]
        if kind != span_kind:
            if kind == paragraph_kind:
                # A paragraph discussion quotes no words: no mark, but it counts in the margin.
                slot = slot_at(start_pos)
                if slot is not None:
                    slot[3][0] += 1
            elif kind == document_kind:
                marks.document_discussions += 1
            # An orphan (imported, not placed) has no place on the page: its importer finds it
            # in the document's list of orphans.
            continue
        which = 0 if is_note else 1
        if start_pos == end_pos:  # most notes: within one paragraph
            slot = slot_at(start_pos)
            if slot is not None:
                length = slot[1]
                hi = end_off if end_off < length else length
                if start_off < hi:
                    slot[2].append(new(span_type, (start_off, hi, pk, colour, is_note, state)))
                    slot[3][which] += 1
            continue
        for position in range(start_pos, end_pos + 1):
            slot = slot_at(position)
            if slot is None:
                continue
            piece = spans_in_paragraph(
                position, slot[1], (start_pos, start_off), (end_pos, end_off)
            )
            if piece is not None:
                slot[2].append(new(span_type, (piece[0], piece[1], pk, colour, is_note, state)))
                slot[3][which] += 1
    for key, _, found, count in slots.values():
        if found:
            marks.spans[key] = found
        if count[0] or count[1]:
            marks.counts[key] = count
    return marks


def page_version(document_id: int) -> tuple[int | None, int]:
    """(highest change stamp, number of annotations) of a document: different after any write
    to any of its annotations (see migration annotations 0009). One index-only scan."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(change), count(*) FROM annotations_annotation WHERE document_id = %s",
            [document_id],
        )
        return cursor.fetchone()


def cached_page(user, document, layer: str, *, build: Callable[[], dict]) -> dict:
    """What `build` makes of `document` for `user` in `layer` (the text with its marks), kept
    in the "pages" cache and reused while nothing it depends on has changed: the document's
    revision and its annotations (page_version), and everything the policy knows of the viewer
    (policy.audience_key). Two queries on a hit, instead of the paragraphs, every visible
    annotation and the drawing; a write anywhere on the document makes the next view build
    again. PAGE_CACHE_ENTRIES=0 turns it off."""
    key = (
        document.pk,
        document.slug,
        document.title,
        document.current_revision_id,
        layer,
        page_version(document.pk),
        policy.audience_key(user),
    )
    name = "page:" + hashlib.sha256(repr(key).encode()).hexdigest()
    pages = caches["pages"]
    found = pages.get(name)
    if found is None:
        found = build()
        pages.set(name, found)
    return found


def layer_choices(user) -> list[tuple[str, str]]:
    """The layers a viewer can switch between, as (value, label)."""
    choices = [(policy.LAYER_ALL, "Everything I can see")]
    if user.is_authenticated:
        choices.append((policy.LAYER_MINE, "Mine"))
        for group in policy.groups_for_layers(user):
            choices.append((f"{policy.GROUP_LAYER_PREFIX}{group.slug}", group.name))
    choices.append((policy.LAYER_PUBLIC, "Public"))
    return choices


def decor_for(user, document, paragraphs, layer: str, *, partial: bool = False) -> Decor:
    """What `user` adds to `paragraphs` of `document` in `layer`: marks, counts, controls.
    `paragraphs` carry .position, .key and .length (text length in code points)."""
    marks = page_marks(
        user=user,
        document_id=document.pk,
        revision_id=document.current_revision_id,
        layer=layer,
        paragraphs=[(p.position, p.key, p.length) for p in paragraphs],
        partial=partial,
    )
    notes_url = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": "KEY"})
    notes_url = notes_url.replace("KEY", "{key}")
    if layer != policy.LAYER_ALL:
        notes_url += "?" + urlencode({"layer": layer})
    return Decor(
        marks=marks.spans,
        counts=marks.counts,
        can_annotate=policy.can_annotate(user),
        notes_url=notes_url,
        document_discussions=marks.document_discussions,
    )


def paragraph_swaps(user, document, paragraphs, layer: str) -> list[str]:
    """Fresh marks and counts of a few `paragraphs` for `user`, as htmx out-of-band swaps:
    what a page takes in after a change (its own, or a co-reader's arriving live)."""
    if not paragraphs:
        return []
    decor = decor_for(user, document, paragraphs, layer, partial=True)
    oob = ' hx-swap-oob="true"'
    out = []
    for paragraph in paragraphs:
        as_title = paragraph.position == 0 and heading_repeats_title([paragraph], document.title)
        out.append(text_element(paragraph, decor, as_title=as_title, attrs=oob))
        out.append(side_html(paragraph, decor, attrs=oob))
    return out
