"""Selectors <-> paragraph offsets. Pure functions: no database, no requests.

A target is a span from (start paragraph key, offset) to (end paragraph key, offset); offsets
count Unicode code points of the paragraphs' canonical text (Python's str indexing). The
quoted `exact` text of a span over several paragraphs joins their pieces with a newline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CONTEXT = 32  # code points of prefix and suffix kept around the quote
PARAGRAPH_SEPARATOR = "\n"


class AnchorError(ValueError):
    """A target that does not fit the text; str(exc) says why, for the reader."""


@dataclass(frozen=True, slots=True)
class Target:
    start_key: str
    start_offset: int
    end_key: str
    end_offset: int
    exact: str


@dataclass(frozen=True, slots=True)
class Anchored:
    start_key: str
    start_offset: int
    start_position: int
    end_key: str
    end_offset: int
    end_position: int
    exact: str
    prefix: str
    suffix: str


@dataclass(frozen=True, slots=True)
class ParagraphText:
    position: int
    text: str


def anchor(target: Target, paragraphs: Mapping[str, ParagraphText], order: list[str]) -> Anchored:
    """Check `target` against the stored text and return it with its quote and context.

    `paragraphs` maps key -> (position, text) for the revision; `order` lists keys by position.
    The server is the judge: the quote is recomputed from the offsets and must equal the one the
    client sent.
    """
    start = paragraphs.get(target.start_key)
    end = paragraphs.get(target.end_key)
    if start is None or end is None:
        raise AnchorError("The selection points at a paragraph that is not in this document.")
    if target.start_offset < 0 or target.end_offset < 0:
        raise AnchorError("The selection's offsets cannot be negative.")
    if target.start_offset > len(start.text) or target.end_offset > len(end.text):
        raise AnchorError("The selection runs past the end of its paragraph.")
    if (start.position, target.start_offset) >= (end.position, target.end_offset):
        raise AnchorError("The selection is empty or runs backwards: select some words.")

    pieces = []
    for position in range(start.position, end.position + 1):
        text = paragraphs[order[position]].text
        lo = target.start_offset if position == start.position else 0
        hi = target.end_offset if position == end.position else len(text)
        pieces.append(text[lo:hi])
    exact = PARAGRAPH_SEPARATOR.join(pieces)
    if not exact.strip():
        raise AnchorError("The selection holds only spaces: select some words.")
    if exact != target.exact:
        raise AnchorError(
            "The selected words do not match the text at that place. Reload the page and "
            "select them again."
        )
    return Anchored(
        start_key=target.start_key,
        start_offset=target.start_offset,
        start_position=start.position,
        end_key=target.end_key,
        end_offset=target.end_offset,
        end_position=end.position,
        exact=exact,
        prefix=start.text[max(0, target.start_offset - CONTEXT) : target.start_offset],
        suffix=end.text[target.end_offset : target.end_offset + CONTEXT],
    )


def spans_in_paragraph(
    position: int, text_length: int, start: tuple[int, int], end: tuple[int, int]
) -> tuple[int, int] | None:
    """The part of a (start_position, start_offset)-(end_position, end_offset) span that falls
    in the paragraph at `position`, as offsets into it; None if it misses the paragraph."""
    if position < start[0] or position > end[0]:
        return None
    lo = start[1] if position == start[0] else 0
    hi = end[1] if position == end[0] else text_length
    lo, hi = min(lo, text_length), min(hi, text_length)
    return (lo, hi) if lo < hi else None
