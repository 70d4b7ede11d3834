"""What a reading page shows of the annotations: marks and counts per paragraph.

One query fetches every annotation the viewer may see in the chosen layer (only the columns
marks need: no bodies), then marks are grouped per paragraph in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import BooleanField, ExpressionWrapper, Q

from annotations import policy
from annotations.anchoring import spans_in_paragraph
from annotations.marks import Span
from annotations.models import Annotation

COLOUR_NAMES = dict(Annotation.Colour.choices)
STATE_LABELS = {"hidden": "hidden by a moderator", "pending": "waiting for approval"}


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
            "author__username",
        )
    )
    marks = PageMarks()
    for pk, kind, start_pos, start_off, end_pos, end_off, colour, is_note, status, username in rows:
        if kind == Annotation.Kind.DOCUMENT:
            marks.document_discussions += 1
            continue
        if kind == Annotation.Kind.PARAGRAPH:
            # A paragraph discussion quotes no words: it has no mark, but counts in the margin.
            key = keys.get(start_pos)
            if key is not None:
                marks.counts[key][0] += 1
            continue
        state = "" if status == Annotation.Status.ACTIVE else status
        label = f"{COLOUR_NAMES.get(colour, colour)} {'note' if is_note else 'highlight'}"
        label += f" by {username}"
        if state:
            label += f" ({STATE_LABELS[state]})"
        for position in range(start_pos, end_pos + 1):
            key = keys.get(position)
            if key is None:
                continue
            piece = spans_in_paragraph(
                position, lengths[key], (start_pos, start_off), (end_pos, end_off)
            )
            if piece is None:
                continue
            marks.spans[key].append(Span(piece[0], piece[1], pk, colour, is_note, label, state))
            marks.counts[key][0 if is_note else 1] += 1
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
