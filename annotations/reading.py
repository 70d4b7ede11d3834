"""What a reading page shows of the annotations: marks and counts per paragraph.

One query fetches every annotation the viewer may see in the chosen layer (only the columns
marks need: no bodies), then marks are grouped per paragraph in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.urls import reverse
from django.utils.http import urlencode

from annotations import policy
from annotations.anchoring import spans_in_paragraph
from annotations.marks import Span
from annotations.models import Annotation
from reader.layout import Decor, heading_repeats_title, side_html, text_element


@dataclass
class PageMarks:
    spans: dict[str, list[Span]] = field(default_factory=lambda: defaultdict(list))
    # paragraph key -> [notes, highlights] touching it
    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    document_discussions: int = 0


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
    keys = {position: key for position, key, _ in paragraphs}
    lengths = {key: length for _, key, length in paragraphs}
    queryset = Annotation.objects.in_layer(user, layer).filter(
        document_id=document_id, revision_id=revision_id
    )
    if partial and keys:
        queryset = queryset.filter(start_position__lte=max(keys), end_position__gte=min(keys))
    rows = (
        queryset.order_by()
        .annotate(is_note=ExpressionWrapper(~Q(body=""), output_field=BooleanField()))
        .values_list(
            "id",
            "kind",
            "start_position",
            "start_offset",
            "end_position",
            "end_offset",
            "colour",
            "is_note",
            "status",
        )
    )
    marks = PageMarks()
    spans, counts = marks.spans, marks.counts
    active, span_kind, paragraph_kind, document_kind = (
        Annotation.Status.ACTIVE,
        Annotation.Kind.SPAN,
        Annotation.Kind.PARAGRAPH,
        Annotation.Kind.DOCUMENT,
    )
    # The hot loop of a heavily annotated page: plain locals, no helper calls per paragraph.
    for pk, kind, start_pos, start_off, end_pos, end_off, colour, is_note, status in rows:
        if kind != span_kind:
            if kind == paragraph_kind:
                # A paragraph discussion quotes no words: no mark, but it counts in the margin.
                key = keys.get(start_pos)
                if key is not None:
                    counts[key][0] += 1
            elif kind == document_kind:
                marks.document_discussions += 1
            # An orphan (imported, not placed) has no place on the page: its importer finds it
            # in the document's list of orphans.
            continue
        state = "" if status == active else status
        which = 0 if is_note else 1
        if start_pos == end_pos:  # most notes: within one paragraph
            key = keys.get(start_pos)
            if key is not None:
                hi = min(end_off, lengths[key])
                if start_off < hi:
                    spans[key].append(Span(start_off, hi, pk, colour, is_note, state))
                    counts[key][which] += 1
            continue
        for position in range(start_pos, end_pos + 1):
            key = keys.get(position)
            if key is None:
                continue
            piece = spans_in_paragraph(
                position, lengths[key], (start_pos, start_off), (end_pos, end_off)
            )
            if piece is None:
                continue
            spans[key].append(Span(piece[0], piece[1], pk, colour, is_note, state))
            counts[key][which] += 1
    return marks


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
