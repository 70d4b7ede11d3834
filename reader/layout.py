"""A revision's paragraphs -> the reading page's body HTML.

Built in Python rather than with a template loop: a book has thousands of paragraphs, and this
is the hot path of every reading page. Everything interpolated is either stored, sanitized
paragraph HTML (made by reader.importing) or a number/key we generated ([a-z0-9-]).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape

from django.utils.safestring import SafeString, mark_safe

from reader.models import Paragraph

Kind = Paragraph.Kind
_TAG = re.compile(r"<[^>]*>")


def render_paragraphs(paragraphs: Iterable[Paragraph], *, title: str = "") -> SafeString:
    """The body HTML. With `title`, headings are rendered as the page's h1 (id="doc-title"):
    used for a first heading that repeats the document's title (see heading_repeats_title)."""
    out: list[str] = []

    # The lists open around the current item, outermost first (True = ordered). Each open list
    # has an open <li>: a deeper list nests inside it.
    lists: list[bool] = []
    for paragraph in paragraphs:
        if title and paragraph.kind == Kind.HEADING:
            h1 = f'<h1 class="ptext" id="doc-title">{paragraph.html}</h1>'
            out.append(f"{_open('div', paragraph)}{h1}</div>")
            continue
        if paragraph.kind != Kind.LIST_ITEM:
            while lists:
                out.append(_close_list(lists.pop()))
            out.append(_block(paragraph))
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
        out.append(f'{_open("li", paragraph)}<span class="ptext">{paragraph.html}</span>')
    while lists:
        out.append(_close_list(lists.pop()))
    return mark_safe("".join(out))


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


def _block(paragraph: Paragraph) -> str:
    kind = paragraph.kind
    if kind == Kind.HEADING:
        # The document title is the page's h1; its own headings sit one level below.
        tag = f"h{min(max(paragraph.level, 1) + 1, 6)}"
        return f'{_open("div", paragraph)}<{tag} class="ptext">{paragraph.html}</{tag}></div>'
    if kind == Kind.BLOCKQUOTE:
        return f'{_open("blockquote", paragraph)}<p class="ptext">{paragraph.html}</p></blockquote>'
    if kind == Kind.CODE:
        return (
            f'{_open("div", paragraph)}<pre class="ptext"><code>{paragraph.html}</code></pre></div>'
        )
    return f'{_open("div", paragraph)}<p class="ptext">{paragraph.html}</p></div>'
