"""A revision's paragraphs -> the reading page's body HTML.

Built in Python rather than with a template loop: a book has thousands of paragraphs, and this
is the hot path of every reading page. Everything interpolated is either stored, sanitized
paragraph HTML (made by reader.importing), marks drawn into it by annotations.reading.marks
(handed in through Decor: this module imports nothing of annotations), or a number/key we
generated ([a-z0-9-]).

Each paragraph is an element with id="p-<key>" holding three parts: its number in the margin
(a link to #p-<key>), its text (id="t-<key>", class "ptext", whose text content is exactly the
paragraph's canonical text), and its side controls (id="s-<key>": annotate, note count).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import unescape

from django.utils.safestring import SafeString, mark_safe

from reader.models import Paragraph

Kind = Paragraph.Kind
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Decor:
    """What the viewer adds to the bare text: marks, note counts, the annotate control."""

    # key -> the paragraph's HTML with the marks drawn in (annotations.reading.page); others bare
    drawn: Mapping[str, str] = field(default_factory=dict)
    counts: Mapping[str, list[int]] = field(default_factory=dict)  # key -> [notes, highlights]
    can_annotate: bool = False
    # "/documents/<slug>/p/{key}/notes/?layer=..." with {key} to fill, escaped for an attribute
    notes_url: str = ""
    document_discussions: int = 0  # discussions on the whole document the viewer may see


NO_DECOR = Decor()


def render_paragraphs(
    paragraphs: Iterable[Paragraph], *, title: str = "", decor: Decor = NO_DECOR
) -> SafeString:
    """The body HTML. With `title`, headings are rendered as the page's h1: used for a first
    heading that repeats the document's title (see heading_repeats_title)."""
    out: list[str] = []
    # The lists open around the current item, outermost first (True = ordered). Each open list
    # has an open <li>: a deeper list nests inside it.
    lists: list[bool] = []
    for paragraph in paragraphs:
        if title and paragraph.kind == Kind.HEADING:
            out.append(_block(paragraph, decor, as_title=True))
            continue
        if paragraph.kind != Kind.LIST_ITEM:
            while lists:
                out.append(_close_list(lists.pop()))
            out.append(_block(paragraph, decor))
            continue
        depth = min(max(paragraph.level, 1), len(lists) + 1)
        while len(lists) > depth:
            out.append(_close_list(lists.pop()))
        if len(lists) == depth:
            if lists[-1] == paragraph.ordered:
                out.append("</li>")
            else:
                out.append(_close_list(lists.pop()))
        while len(lists) < depth:
            lists.append(paragraph.ordered)
            out.append('<ol class="plist">' if paragraph.ordered else '<ul class="plist">')
        out.append(
            f"{_open('li', paragraph)}{text_element(paragraph, decor)}{side_html(paragraph, decor)}"
        )
    while lists:
        out.append(_close_list(lists.pop()))
    return mark_safe("".join(out))  # noqa: S308 - sanitized on import; marks are ours


def text_html(paragraph: Paragraph, decor: Decor = NO_DECOR) -> str:
    """The paragraph's HTML with the viewer's marks drawn in."""
    return decor.drawn.get(paragraph.key, paragraph.html)


def side_html(paragraph: Paragraph, decor: Decor = NO_DECOR, attrs: str = "") -> str:
    """The controls beside a paragraph: annotate it (keyboard path), open its notes."""
    n = paragraph.position + 1
    parts = [f'<span class="pside" id="s-{paragraph.key}"{attrs}>']
    if decor.can_annotate:
        parts.append(
            f'<button type="button" class="annotate" aria-label="Annotate paragraph {n}" '
            f'title="Annotate paragraph {n}"></button>'
        )
    notes, highlights = decor.counts.get(paragraph.key, (0, 0))
    if notes or highlights:
        href = decor.notes_url.replace("{key}", paragraph.key)  # keys are [a-z0-9-]
        parts.append(
            f'<a class="count" href="{href}" aria-label="{count_label(notes, highlights)} on '
            f'paragraph {n}">{notes + highlights}</a>'
        )
    parts.append("</span>")
    return "".join(parts)


def count_label(notes: int, highlights: int) -> str:
    """'2 notes, 1 highlight'."""
    parts = []
    if notes:
        parts.append(f"{notes} note{'s' if notes != 1 else ''}")
    if highlights:
        parts.append(f"{highlights} highlight{'s' if highlights != 1 else ''}")
    return ", ".join(parts)


def heading_repeats_title(paragraphs: list[Paragraph], title: str) -> bool:
    """Whether the first paragraph is a heading saying exactly the document's title."""
    if not paragraphs or paragraphs[0].kind != Kind.HEADING:
        return False
    return unescape(_TAG.sub("", paragraphs[0].html)) == title


def _close_list(ordered: bool) -> str:
    return "</li></ol>" if ordered else "</li></ul>"


def _number(paragraph: Paragraph) -> str:
    n = paragraph.position + 1
    return f'<a class="pnum" href="#p-{paragraph.key}" aria-label="Paragraph {n}">{n}</a>'


def _open(tag: str, paragraph: Paragraph) -> str:
    return (
        f'<{tag} class="para kind-{paragraph.kind}" id="p-{paragraph.key}" '
        f'data-key="{paragraph.key}">{_number(paragraph)}'
    )


def text_element(
    paragraph: Paragraph, decor: Decor = NO_DECOR, *, as_title: bool = False, attrs: str = ""
) -> str:
    """The element holding the paragraph's text (id="t-<key>"), marks drawn in. `attrs` are
    extra attributes (an htmx out-of-band swap)."""
    kind, ident = paragraph.kind, f'id="t-{paragraph.key}"{attrs}'
    inner = text_html(paragraph, decor)
    if as_title:
        return f'<h1 class="ptext" {ident}>{inner}</h1>'
    if kind == Kind.HEADING:
        # The document title is the page's h1; its own headings sit one level below.
        tag = f"h{min(max(paragraph.level, 1) + 1, 6)}"
        return f'<{tag} class="ptext" {ident}>{inner}</{tag}>'
    if kind == Kind.CODE:
        return f'<pre class="ptext" {ident}><code>{inner}</code></pre>'
    if kind == Kind.LIST_ITEM:
        return f'<span class="ptext" {ident}>{inner}</span>'
    return f'<p class="ptext" {ident}>{inner}</p>'


def _block(paragraph: Paragraph, decor: Decor, *, as_title: bool = False) -> str:
    outer = "blockquote" if paragraph.kind == Kind.BLOCKQUOTE else "div"
    return (
        f"{_open(outer, paragraph)}{text_element(paragraph, decor, as_title=as_title)}"
        f"{side_html(paragraph, decor)}</{outer}>"
    )
