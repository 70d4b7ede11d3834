"""Markdown -> safe HTML: the only place that makes HTML from what a reader wrote.

Markdown is rendered by markdown-it-py (CommonMark, raw HTML off) and then passed through one
nh3 allow-list, so even a renderer bug cannot let markup through that the list does not name.
"""

from __future__ import annotations

from html import escape

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "sub", "sup",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("strikethrough")


def _image_as_link(self, tokens, idx, options, env) -> str:
    """Notes show no remote images (a tracking pixel in a shared note would watch its readers):
    an image becomes a link to it, named by its alt text."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = escape(token.attrGet("src") or "")
    return f'<a href="{src}">{escape(alt)}</a>'


_markdown.add_render_rule("image", _image_as_link)


def render_markdown(text: str) -> str:
    """Render a reader's Markdown to sanitized HTML (also django-markdownx's preview)."""
    return nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="nofollow noopener",
    )
