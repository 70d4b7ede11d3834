"""Drawing highlights into a paragraph's HTML on the server, so the browser anchors nothing.

The paragraph HTML made on import holds only inline tags, and its text nodes are exactly the
paragraph's canonical text (see reader.importing). So offsets into that text can be found by
walking the text nodes; every stretch of text covered by one or more spans is wrapped in one
<mark> per covering annotation, opened and closed inside the same text node, which keeps the
result well nested whatever inline tags and overlapping spans there are.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from html import escape, unescape
from typing import NamedTuple

_TOKENS = re.compile(r"(<[^>]*>)")


class Span(NamedTuple):
    """One annotation's stretch of one paragraph. A tuple: a heavily annotated page makes tens
    of thousands of them, and they key the drawing cache."""

    start: int  # code point offsets into the paragraph's text
    end: int
    annotation_id: int
    colour: str
    is_note: bool
    state: str = ""  # "hidden" or "pending": shown to the author and moderators, marked so


def draw_marks(html: str, spans: list[Span]) -> str:
    """`html` with a <mark data-annotation="<id>"> around each span's text."""
    if not spans:
        return html
    # Outer marks first: earlier starts, then longer spans.
    ordered = tuple(sorted(spans, key=lambda s: (s.start, -s.end, s.annotation_id)))
    return _draw(html, ordered)


# The output depends only on the paragraph's HTML and its spans, so it is remembered: a page
# read again, or read by several people who see the same notes, skips the drawing. Bounded: a
# few documents' worth of annotated paragraphs.
@lru_cache(maxsize=8192)
def _draw(html: str, spans: tuple[Span, ...]) -> str:
    opening = {s.annotation_id: _open_tag(s) for s in spans}
    boundaries = sorted({b for s in spans for b in (s.start, s.end)})
    tokens = _TOKENS.split(html) if ("<" in html or "&" in html) else [html]
    out: list[str] = []
    position = 0
    for token in tokens:
        if not token:
            continue
        if token[0] == "<":
            out.append(token)
            continue
        text = unescape(token) if "&" in token else token
        token_end = position + len(text)
        cuts = [position, *(b for b in boundaries if position < b < token_end), token_end]
        for lo, hi in itertools.pairwise(cuts):
            piece = text[lo - position : hi - position]
            if "&" in piece or "<" in piece or ">" in piece:
                piece = escape(piece, quote=False)
            covering = [s for s in spans if s.start <= lo and s.end >= hi]
            if covering:
                out.append("".join(opening[s.annotation_id] for s in covering))
                out.append(piece)
                out.append("</mark>" * len(covering))
            else:
                out.append(piece)
        position = token_end
    return "".join(out)


def _open_tag(span: Span) -> str:
    # Kept short: a page can hold tens of thousands of marks. Its tooltip ("Yellow note") is
    # added by the page's script on hover, from these classes.
    note = " n" if span.is_note else ""
    state = f" is-{span.state}" if span.state else ""
    return f'<mark class="c-{span.colour}{note}{state}" data-annotation="{span.annotation_id}">'
