"""What a reading page shows of the annotations: marks and counts per paragraph.

The annotations the viewer may see in the chosen layer are read from one index (only integers:
id, place and a style code; no bodies). Each paragraph's marks are then drawn once and kept,
keyed on exactly the rows that make them, so a page built again after a change draws only the
paragraphs whose marks changed. The finished text is kept per viewer in the "pages" cache until
something it shows changes (cached_page).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from itertools import chain, groupby
from operator import itemgetter

from django.core.cache import caches
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models.functions import Length
from django.urls import reverse
from django.utils.http import urlencode

from annotations import policy
from annotations.anchoring import spans_in_paragraph
from annotations.models import Annotation
from annotations.reading.marks import Span, draw_marks
from reader.layout import Decor, heading_repeats_title, side_html, text_element
from reader.models import Paragraph


@dataclass
class PageMarks:
    # paragraph key -> its HTML with the marks drawn in; only paragraphs with marks
    drawn: dict[str, str] = field(default_factory=dict)
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

STYLES = [
    (kind, colour, bool(is_note), "" if status == _ACTIVE else status)
    for kind in _KINDS
    for colour in _COLOURS
    for status in _STATUSES
    for is_note in (0, 1)
]


def _code(column: str, values: list[str]) -> str:
    # The values are the model's own choices, written into the SQL once, at import.
    if not all(re.fullmatch(r"[a-z_]+", value) for value in values):
        raise ValueError(f"Not a plain choice value: {values}")
    whens = " ".join(f"WHEN '{value}' THEN {i}" for i, value in enumerate(values))
    return f"CASE m.{column} {whens} END"


# The style code as SQL over the columns of the policy's query (aliased m): an index into STYLES.
_STYLE_SQL = (
    f"((({_code('kind', _KINDS)} * {len(_COLOURS)} + {_code('colour', _COLOURS)})"
    f" * {len(_STATUSES)} + {_code('status', _STATUSES)}) * 2 + m.has_body::int)"
)
_SPAN, _PARAGRAPH = Annotation.Kind.SPAN, Annotation.Kind.PARAGRAPH
_DOCUMENT = Annotation.Kind.DOCUMENT
_WHOLE = 2**31 - 1  # an end offset meaning "to the paragraph's end"
# Every annotation the page shows, in the reading page index's order, as (start position, start
# offset, end offset, id, style, end position): grouped per paragraph as they come, with no
# per-row work in Python. The {} is the policy's query as the ORM compiles it, with its
# parameters passed apart; everything else here is a constant.
_MARKS_SQL = (
    "SELECT m.start_position, m.start_offset, m.end_offset, m.id, "  # noqa: S608
    f"{_STYLE_SQL}, m.end_position FROM ({{}}) m "
    "ORDER BY m.start_position, m.start_offset, m.id"
)
_COLUMNS = (
    "start_position",
    "start_offset",
    "end_position",
    "end_offset",
    "id",
    "kind",
    "colour",
    "status",
    "has_body",
)


def page_marks(
    *,
    user,
    document_id: int,
    revision_id: int,
    layer: str,
    paragraphs: Sequence[tuple[int, str, int, str]],
    partial: bool = False,
) -> PageMarks:
    """Marks and counts for `paragraphs`, given as (position, key, text length in code points,
    HTML).

    With `partial`, `paragraphs` are a few of the revision's (re-rendered after a change) and
    only annotations touching them are fetched.
    """
    found = marks_sql(
        user,
        document_id,
        revision_id,
        layer,
        [paragraph[0] for paragraph in paragraphs] if partial else None,
    )
    rows = []
    if found:
        sql, params = found
        # Integers as psycopg gives them: the ORM's iterator would call a converter on each row.
        with connection.cursor() as cursor:
            cursor.execute(_MARKS_SQL.format(sql), params)
            rows = cursor.fetchall()
    slots = {position: (key, length, html) for position, key, length, html in paragraphs}
    marks = PageMarks()
    drawn, counts = marks.drawn, marks.counts
    # Pieces of marks over several paragraphs, for the paragraphs after their first, in the
    # same shape as the rows.
    incoming: dict[int, list[tuple[int, ...]]] = {}

    def add(position: int, group: tuple) -> tuple:
        key, length, html = slots[position]
        more = incoming.pop(position, None)
        text, notes, highlights, onward, documents = drawn_paragraph(
            html, length, group, tuple(sorted(more)) if more else ()
        )
        if text is not html:
            drawn[key] = text
        if notes or highlights:
            counts[key] = [notes, highlights]
        marks.document_discussions += documents
        return onward

    # The hot loop of a heavily annotated page: once per paragraph, not per annotation.
    for position, group in groupby(rows, _FIRST):
        if position in slots:
            onward = add(position, tuple(group))
        else:  # partial: a paragraph not asked for, whose marks may reach into those asked for
            onward, documents = _onward(position, tuple(group))
            marks.document_discussions += documents
        for _, _, end_offset, pk, style, end_position in onward:
            for later in range(position + 1, end_position + 1):
                if later in slots:
                    end = end_offset if later == end_position else _WHOLE
                    incoming.setdefault(later, []).append((later, 0, end, pk, style, later))
    for position in list(incoming):
        add(position, ())
    return marks


_FIRST = itemgetter(0)


def marks_sql(
    user, document_id: int, revision_id: int, layer: str, positions: list[int] | None = None
) -> tuple[str, tuple] | None:
    """The policy's query for the annotations `user` may see in `layer` on a document, with
    the columns the page reads (_COLUMNS), as SQL and parameters; only those touching
    `positions` if given. None when the layer can hold nothing (an anonymous reader's own
    notes)."""
    queryset = Annotation.objects.in_layer(user, layer).filter(
        document_id=document_id, revision_id=revision_id
    )
    if positions:
        queryset = queryset.filter(
            start_position__lte=max(positions), end_position__gte=min(positions)
        )
    try:
        return queryset.order_by().values_list(*_COLUMNS).query.sql_with_params()
    except EmptyResultSet:
        return None


# A paragraph's marks depend only on its HTML and the rows that touch it, so they are drawn
# once and remembered: a page built again after a change draws only the paragraphs whose marks
# changed, and readers who see the same notes share the drawing. Bounded: a few documents'
# worth of annotated paragraphs.
@lru_cache(maxsize=8192)
def drawn_paragraph(
    html: str, length: int, rows: tuple[tuple[int, ...], ...], more: tuple[tuple[int, ...], ...]
) -> tuple[str, int, int, tuple[tuple[int, ...], ...], int]:
    """What the rows touching a paragraph make of it: (`html` with the marks drawn in, notes,
    highlights, the marks that go on into later paragraphs, discussions of the document).
    `rows` start in the paragraph, `more` are pieces of marks that started earlier."""
    spans = []
    notes = highlights = 0
    for position, start, end, pk, style, end_position in chain(rows, more):
        kind, colour, is_note, state = STYLES[style]
        if kind == _SPAN:
            piece = spans_in_paragraph(position, length, (position, start), (end_position, end))
            if piece:
                spans.append(Span(*piece, pk, colour, is_note, state))
                notes += is_note
                highlights += not is_note
        elif kind == _PARAGRAPH:
            # A paragraph discussion quotes no words: no mark, but it counts in the margin.
            notes += 1
    onward, documents = _onward(rows[0][0], rows) if rows else ((), 0)
    return (draw_marks(html, spans) if spans else html), notes, highlights, onward, documents


def _onward(position: int, rows: tuple[tuple[int, ...], ...]) -> tuple[tuple, int]:
    """Of the rows starting at `position`: the marks that go on into later paragraphs, and the
    number of discussions of the whole document. An orphan (imported, not placed) has no place
    on the page: its importer finds it in the document's list of orphans."""
    onward = []
    documents = 0
    for row in rows:
        kind = STYLES[row[4]][0]
        if kind == _SPAN and row[5] > position:
            onward.append(row)
        elif kind == _DOCUMENT:
            documents += 1
    return tuple(onward), documents


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
    `paragraphs` carry .position, .key, .length (text length in code points) and .html."""
    marks = page_marks(
        user=user,
        document_id=document.pk,
        revision_id=document.current_revision_id,
        layer=layer,
        paragraphs=[(p.position, p.key, p.length, p.html) for p in paragraphs],
        partial=partial,
    )
    notes_url = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": "KEY"})
    notes_url = notes_url.replace("KEY", "{key}")
    if layer != policy.LAYER_ALL:
        notes_url += "?" + urlencode({"layer": layer})
    return Decor(
        drawn=marks.drawn,
        counts=marks.counts,
        can_annotate=policy.can_annotate(user),
        notes_url=escape(notes_url),
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


def page_paragraphs(revision_id: int | None):
    """The paragraphs a reading page draws, in order, with their text length (in code points,
    as offsets count) for placing marks. Narrow it with .filter() for a few of them."""
    return (
        Paragraph.objects.filter(revision_id=revision_id)
        .only("position", "key", "kind", "level", "ordered", "html")
        .annotate(length=Length("text"))
        .order_by("position")
    )
