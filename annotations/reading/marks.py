"""Drawing highlights into a paragraph's HTML on the server, so the browser anchors nothing.

The paragraph HTML made on import holds only inline tags, and its text nodes are exactly the
paragraph's canonical text (see reader.importing). So offsets into that text can be found by
walking the text nodes; every stretch of text covered by one or more spans is wrapped in one
<mark> per covering annotation, opened and closed inside the same text node, which keeps the
result well nested whatever inline tags and overlapping spans there are.
"""

from __future__ import annotations

import re
from html import escape, unescape
from typing import NamedTuple

_TOKENS = re.compile(r"(<[^>]*>)")


class Span(NamedTuple):
    """One annotation's stretch of one paragraph. A tuple: a heavily annotated page makes tens
    of thousands of them."""

    start: int  # code point offsets into the paragraph's text
    end: int
    annotation_id: int
    colour: str
    is_note: bool
    state: str = ""  # "hidden" or "pending": shown to the author and moderators, marked so


def draw_marks(html: str, spans: list[Span]) -> str:
    """`html` with a <mark data-annotation="<id>"> around each span's text.

    Marks stay open as long as they can: a mark is closed early (and reopened just after) only
    where another one ends inside it or an inline tag intervenes. Nested and separate notes
    thus get one mark each; only crossing ones are split. The longer of the spans starting at
    one place opens first."""
    if not spans:
        return html
    spans = sorted(spans)
    opening = {s.annotation_id: _open_tag(s) for s in spans}
    starts: dict[int, list[Span]] = {}
    ends: set[int] = set()
    for span in spans:
        if span.start < span.end:
            starts.setdefault(span.start, []).append(span)
            ends.add(span.end)
    boundaries = sorted(set(starts) | ends)
    tokens = _TOKENS.split(html) if ("<" in html or "&" in html) else [html]
    out: list[str] = []
    stack: list[Span] = []  # marks open now, outermost first
    position = 0

    def reopen(pending: list[Span]) -> None:
        # Longer spans outside: they are the least likely to be split again.
        for span in sorted(pending, key=lambda s: -s.end):
            stack.append(span)
            out.append(opening[span.annotation_id])

    for token in tokens:
        if not token:
            continue
        if token[0] == "<":
            # An inline tag: marks close before it and reopen after, so everything nests.
            carried = stack[:]
            out.append("</mark>" * len(stack))
            stack.clear()
            out.append(token)
            reopen(carried)
            continue
        text = unescape(token) if "&" in token else token
        token_end = position + len(text)
        cursor = position
        for boundary in boundaries:
            if boundary < position or boundary > token_end:
                continue
            if boundary > cursor:
                piece = text[cursor - position : boundary - position]
                if "&" in piece or "<" in piece or ">" in piece:
                    piece = escape(piece, quote=False)
                out.append(piece)
                cursor = boundary
            if boundary == token_end and boundary not in ends:
                continue  # what starts here starts in the next text node
            # Close down to the outermost mark ending here; reopen the others after.
            if boundary in ends:
                for index, span in enumerate(stack):
                    if span.end == boundary:
                        carried = [s for s in stack[index:] if s.end != boundary]
                        out.append("</mark>" * (len(stack) - index))
                        del stack[index:]
                        reopen(carried)
                        break
            if boundary < token_end:
                reopen(starts.get(boundary, []))
        if token_end > cursor:
            piece = text[cursor - position :]
            if "&" in piece or "<" in piece or ">" in piece:
                piece = escape(piece, quote=False)
            out.append(piece)
        position = token_end
    out.append("</mark>" * len(stack))
    return "".join(out)


def _open_tag(span: Span) -> str:
    # Kept short: a page can hold tens of thousands of marks. Its tooltip ("Yellow note") is
    # added by the page's script on hover, from these classes.
    note = " n" if span.is_note else ""
    state = f" is-{span.state}" if span.state else ""
    return f'<mark class="c-{span.colour}{note}{state}" data-annotation="{span.annotation_id}">'
