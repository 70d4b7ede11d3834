"""Split an uploaded text (plain, Markdown or HTML) into annotatable blocks.

Pure Python on purpose: no Django here, so it can be tested and reused on its own.

Every block carries two views of the same content: ``text`` (canonical plain text in which
annotation offsets are counted, in code points) and ``html`` (sanitized inline HTML). The
concatenated text nodes of ``html`` always equal ``text`` exactly, so highlights can be drawn
into ``html`` by counting code points of ``text``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from html import escape as _html_escape
from html import unescape
from html.parser import HTMLParser
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

FORMATS = ("text", "markdown", "html")
KINDS = ("paragraph", "heading", "blockquote", "list_item", "code")


# Default for how many blocks (quotes, lists, HTML block elements) may sit inside one
# another; the app passes settings.IMPORT_MAX_NESTING. Real documents stay far below it.
MAX_NESTING = 100


class ImportRefused(ValueError):
    """Input that cannot become a document; str(exc) is a clear message for the user."""


def _too_deep(max_nesting: int, where: str) -> ImportRefused:
    return ImportRefused(
        f"The text is nested too deeply: more than {max_nesting} levels of blocks "
        f"(quotes, lists or HTML elements) inside one another, reached at {where}. "
        "Flatten the nesting and try again."
    )


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # one of KINDS
    text: str  # canonical plain text: what annotation offsets count in (code points)
    html: str  # sanitized INLINE html for the block's content (no wrapping <p>/<li>/<h2>)
    level: int = 0  # heading level 1..6; list-item nesting depth 1..; else 0
    ordered: bool = False  # list item of an ordered list
    key: str = ""  # short URL-safe key, unique within the document (set by assign_keys)


# --------------------------------------------------------------------------- helpers


def canonical(text: str) -> str:
    """NFC, every run of whitespace -> one space, stripped: the form offsets are counted in."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _escape(text: str) -> str:
    # Only <, > and & matter in text nodes; quotes stay readable.
    return _html_escape(text, quote=False)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _prepare(source: str) -> str:
    """Drop a BOM, unify newlines, and replace characters no HTML parser would keep."""
    if source.startswith("\ufeff"):
        source = source[1:]
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in source:
        # NUL never survives an HTML parser, so make it visible the same way everywhere.
        source = source.replace("\x00", "\ufffd")
    if _SURROGATE.search(source):
        # Lone surrogates cannot be encoded (nh3, hashing); pairs are joined back up.
        source = source.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return source


def _code_text(raw: str) -> str:
    """Code keeps its line breaks and indentation; only trailing blanks and blank ends go."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    start, end = 0, len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return "\n".join(lines[start:end])


def _code_block(raw: str) -> Block | None:
    text = _code_text(raw)
    return Block("code", text, _escape(text)) if text else None


# ------------------------------------------------------------------ inline sanitizing

INLINE_TAGS = frozenset(
    {"em", "strong", "b", "i", "u", "s", "code", "a", "sub", "sup", "q", "cite", "abbr"}
)
# Dropped together with their content wherever they appear.
DROPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "template",
        "noscript",
        "head",
        "title",
        "iframe",
        "object",
        "svg",
        "math",
    }
)

# A Cleaner is nh3.clean with the options parsed once; it is much cheaper per block.
_CLEANER = nh3.Cleaner(
    tags=set(INLINE_TAGS),
    clean_content_tags=set(DROPPED_TAGS),
    # "*": set() also removes nh3's default generic attributes (lang, title).
    attributes={"*": set(), "a": {"href"}, "abbr": {"title"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow noopener",
)


class _NodeReader(HTMLParser):
    """Re-reads nh3's (well-formed) output so text nodes can be normalized one by one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html: list[str] = []
        self.text: list[str] = []
        self.started = False  # some text has been emitted
        self.space_at = -1  # index in self.html of a pending collapsed space

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parts = [tag]
        parts.extend(f'{name}="{_html_escape(value or "")}"' for name, value in attrs)
        self.html.append(f"<{' '.join(parts)}>")

    def handle_endtag(self, tag: str) -> None:
        self.html.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        data = unicodedata.normalize("NFC", data)
        words = data.split()
        if not words:
            self._space()
            return
        if data[0].isspace():
            self._space()
        if self.space_at >= 0:
            # The space lives where it first appeared, e.g. "a <em>b</em>", not "a<em> b</em>".
            self.html[self.space_at] = " "
            self.text.append(" ")
            self.space_at = -1
        piece = " ".join(words)
        self.html.append(_escape(piece))
        self.text.append(piece)
        self.started = True
        if data[-1].isspace():
            self._space()

    def _space(self) -> None:
        # Leading spaces are dropped; a trailing one stays an empty placeholder.
        if self.started and self.space_at < 0:
            self.space_at = len(self.html)
            self.html.append("")


def _inline(fragment: str) -> tuple[str, str]:
    """Sanitize an inline HTML fragment; return (text, html) with the invariant holding."""
    cleaned = _CLEANER.clean(fragment)
    if "<" not in cleaned:  # no tags left: the common case for prose, and much faster
        text = canonical(unescape(cleaned))
        return text, _escape(text)
    reader = _NodeReader()
    reader.feed(cleaned)
    reader.close()
    return "".join(reader.text), "".join(reader.html)


# ------------------------------------------------------------------------ plain text

_LIST_MARKER = re.compile(r"[ ]{0,3}(?:([-*+])|([0-9]{1,9})[.)])[ \t]+")


def _is_blank(line: str) -> bool:
    return not line or line.isspace()


def split_text(source: str) -> list[Block]:
    """Blank lines separate blocks; quoted/indented blocks are quotes; marker lines are items."""
    blocks: list[Block] = []
    group: list[str] = []
    for line in _prepare(source).split("\n"):
        if _is_blank(line):
            if group:
                _text_group(group, blocks)
                group = []
        else:
            group.append(line)
    if group:
        _text_group(group, blocks)
    return blocks


def _plain(
    kind: str, lines: list[str], blocks: list[Block], level: int = 0, ordered: bool = False
) -> None:
    text = canonical(" ".join(lines))
    if text:
        blocks.append(Block(kind, text, _escape(text), level, ordered))


def _text_group(lines: list[str], blocks: list[Block]) -> None:
    if all(line.lstrip(" ").startswith(">") for line in lines):
        quoted = []
        for line in lines:
            line = line.lstrip(" ")[1:]
            quoted.append(line[1:] if line.startswith(" ") else line)
        _plain("blockquote", quoted, blocks)
        return
    if all(line.startswith(("    ", "\t")) for line in lines):
        _plain("blockquote", lines, blocks)  # canonical() strips the indentation
        return
    current: list[str] = []
    ordered: bool | None = None  # None: the lines so far are a paragraph, not an item
    for line in lines:
        match = _LIST_MARKER.match(line)
        # Like CommonMark, a number only interrupts a paragraph when it is "1": hard-wrapped
        # prose often has a line starting "1984. ".
        if match and (ordered is not None or not current or match[1] or match[2] == "1"):
            _flush_text_item(current, ordered, blocks)
            current = [line[match.end() :]]
            ordered = match[2] is not None
        else:
            current.append(line)
    _flush_text_item(current, ordered, blocks)


def _flush_text_item(lines: list[str], ordered: bool | None, blocks: list[Block]) -> None:
    if ordered is None:
        _plain("paragraph", lines, blocks)
    else:
        _plain("list_item", lines, blocks, 1, ordered)


# -------------------------------------------------------------------------- markdown


def _space(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return " "  # soft and hard breaks: a reading view reflows lines


def _alt_text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    children = tokens[idx].children or []
    return str(escapeHtml(self.renderInlineAsText(children, options, env)))


def _markdown_it(max_nesting: int = 20) -> MarkdownIt:
    # Typographer stays off: quotes, dashes and ellipses must come through byte for byte.
    md = MarkdownIt("commonmark", {"typographer": False, "maxNesting": max_nesting})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("softbreak", _space)
    md.add_render_rule("hardbreak", _space)
    md.add_render_rule("image", _alt_text)
    return md


# Inline markup is parsed with CommonMark's own nesting limit (20): its link and emphasis
# rules recurse, and a higher limit lets "[[[[…" overflow the Python stack.
_MD_INLINE = _markdown_it()


def _parse_inline(state: Any) -> None:
    """markdown-it's core "inline" rule, run by the parser with the inline nesting limit."""
    for token in state.tokens:
        if token.type == "inline":
            if token.children is None:
                token.children = []
            _MD_INLINE.inline.parse(token.content, _MD_INLINE, state.env, token.children)


def _hr(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
    """markdown-it's thematic-break rule, answering "no" at once for most lines.

    The rule reads the rest of the line each time it is tried, and a line like "- - - … x"
    is tried once per list it opens: quadratic. A break holds only its marker, spaces and
    tabs, so the last other character of each line is found once and remembered.
    """
    src = state.src
    pos = state.bMarks[start_line] + state.tShift[start_line]
    end = state.eMarks[start_line]
    if pos < end and src[pos] in "*-_":
        seen = state.__dict__.setdefault("_hr_last_other", {})
        key = (end, src[pos])
        last = seen.get(key)
        if last is None:
            start = src.rfind("\n", 0, end) + 1
            last = seen[key] = start + len(src[start:end].rstrip(src[pos] + " \t")) - 1
        if last > pos:
            return False  # some other character follows the marker: not a break
    return bool(_HR_RULE.fn(state, start_line, end_line, silent))


_HR_RULE = next(rule for rule in _MD_INLINE.block.ruler.__rules__ if rule.name == "hr")


@lru_cache(maxsize=8)
def _block_markdown_it(max_nesting: int) -> MarkdownIt:
    """A parser whose block nesting limit lets split_markdown see nesting past `max_nesting`.

    markdown-it silently drops whatever lies deeper than its maxNesting (a quote counts one
    level, a list two: the list and its item), so the limit sits just past what we accept;
    the token walk then refuses the first container deeper than `max_nesting`. The limit
    also bounds markdown-it's own work on deeply nested input.
    """
    md = _markdown_it(2 * max(max_nesting, 0) + 1)
    md.core.ruler.at("inline", _parse_inline)
    md.block.ruler.at("hr", _hr, {"alt": list(_HR_RULE.alt)})
    return md


def split_markdown(source: str, max_nesting: int = MAX_NESTING) -> list[Block]:
    """CommonMark via markdown-it's token stream; inline HTML is rendered, then sanitized.

    More than `max_nesting` quotes and lists inside one another is refused.
    """
    md = _block_markdown_it(max_nesting)
    env: dict[str, Any] = {}
    tokens = md.parse(_prepare(source), env)
    blocks: list[Block] = []
    quotes = 0
    lists: list[bool] = []  # ordered flag of each open list, outermost first
    heading = 0
    row: list[str] | None = None  # cells of the table row being read

    def context() -> tuple[str, int, bool]:
        if quotes:
            return "blockquote", 0, False
        if lists:
            return "list_item", len(lists), lists[-1]
        if heading:
            return "heading", heading, False
        return "paragraph", 0, False

    def emit(fragment: str) -> None:
        text, html = _inline(fragment)
        if text:
            kind, level, ordered = context()
            blocks.append(Block(kind, text, html, level, ordered))

    def check_depth(token: Token) -> None:
        if quotes + len(lists) > max_nesting:
            line = f"line {token.map[0] + 1}" if token.map else "the end"
            kind = "quote" if token.type == "blockquote_open" else "list"
            raise _too_deep(max_nesting, f"a {kind} on {line}")

    for token in tokens:
        ttype = token.type
        if ttype == "inline":
            fragment = md.renderer.renderInline(token.children or [], md.options, env)
            if row is None:
                emit(fragment)
            elif fragment.strip():
                row.append(fragment)
        elif ttype == "blockquote_open":
            quotes += 1
            check_depth(token)
        elif ttype == "blockquote_close":
            quotes -= 1
        elif ttype in ("bullet_list_open", "ordered_list_open"):
            lists.append(ttype == "ordered_list_open")
            check_depth(token)
        elif ttype in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif ttype == "heading_open":
            heading = int(token.tag[1:])
        elif ttype == "heading_close":
            heading = 0
        elif ttype == "tr_open":
            row = []
        elif ttype == "tr_close":
            # Tables are flattened to one paragraph per row so no cell text is lost.
            if row:
                emit(" | ".join(row))
            row = None
        elif ttype in ("fence", "code_block"):
            block = _code_block(token.content)
            if block:
                blocks.append(block)
        elif ttype == "html_block":
            where, level, ordered = context()
            first_line = token.map[0] + 1 if token.map else 1
            depth = quotes + len(lists)
            html = _split_html(_prepare(token.content), max_nesting, depth, first_line)
            for block in html:
                if block.kind != "code" and where != "paragraph":
                    block = replace(block, kind=where, level=level, ordered=ordered)
                blocks.append(block)
    return blocks


# ------------------------------------------------------------------------------ html

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol", "menu"})
# Elements that start and end a block; text directly inside them becomes its own block.
_BLOCK_TAGS = (
    frozenset(
        {
            "p",
            "blockquote",
            "li",
            "pre",
            "div",
            "section",
            "article",
            "main",
            "header",
            "footer",
            "aside",
            "nav",
            "td",
            "th",
            "tr",
            "table",
            "thead",
            "tbody",
            "tfoot",
            "caption",
            "dl",
            "dt",
            "dd",
            "figure",
            "figcaption",
            "address",
            "details",
            "summary",
            "fieldset",
            "legend",
            "form",
            "center",
            "hgroup",
            "dialog",
            "search",
            "html",
            "body",
        }
    )
    | _HEADINGS
    | _LISTS
)
# Start tags that implicitly close an open <p> (HTML5 "close a p element").
_CLOSES_P = _BLOCK_TAGS - {"td", "th", "tr", "thead", "tbody", "tfoot", "caption", "html", "body"}
_P_SCOPE = frozenset({"td", "th", "table", "caption", "html"})
# HTML tags that end <svg>/<math> foreign content in a browser, so their text is shown.
_BREAKOUT = frozenset(
    {
        *("b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt"),
        *("em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li"),
        *("listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span"),
        *("strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var"),
    }
)
_HEAD_CONTENT = frozenset(
    {"title", "meta", "link", "base", "style", "script", "noscript", "template"}
)


# (inside a quote, inside an item, open lists, innermost list ordered, heading level)
_Context = tuple[bool, bool, int, bool, int]


def _push_context(outer: _Context | None, tag: str) -> _Context:
    """The context inside `tag` opened within `outer`: one step, not a walk of the stack."""
    quote, item, lists, ordered, heading = outer or (False, False, 0, False, 0)
    if tag == "blockquote":
        quote = True
    elif tag in _LISTS:
        lists += 1
        ordered = tag == "ol"
    elif tag == "li":
        item = True
    elif tag in _HEADINGS:
        heading = int(tag[1])
    return quote, item, lists, ordered, heading


class _HtmlSplitter(HTMLParser):
    """Walks parser events, keeping a stack of open block elements and an inline buffer."""

    def __init__(self, max_nesting: int = MAX_NESTING, depth: int = 0, first_line: int = 1) -> None:
        super().__init__(convert_charrefs=True)
        self.max_nesting = max_nesting
        self.depth = depth  # quotes and lists this HTML sits in (HTML inside Markdown)
        self.first_line = first_line  # line of the source where this HTML starts
        self.blocks: list[Block] = []
        self.stack: list[str] = []  # open block-level elements only
        # Everything below is kept in step with the stack so that no event has to walk it:
        # walking it made deeply nested input quadratic.
        self.open_at: dict[str, list[int]] = {}  # tag -> its indices in the stack, ascending
        self.contexts: list[_Context] = []  # contexts[i]: what stack[: i + 1] makes a block
        self.buf: list[str] = []  # inline html of the block being read
        self.has_text = False
        self.code: list[str] = []  # raw text of the <pre> being read
        self.pre = 0
        self.skip = ""  # element whose content is being dropped
        self.skip_depth = 0

    # HTML5 reads "<![...]>" outside SVG/MathML as a bogus comment; the stdlib asserts instead.
    def parse_marked_section(self, i: int, report: int = 1) -> int:
        return self.parse_bogus_comment(i)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip and not self._leave_skip(tag):
            return
        if tag in DROPPED_TAGS:
            self.skip, self.skip_depth = tag, 1
        elif self.pre:
            if tag == "br":
                self.code.append("\n")
        elif tag in _BLOCK_TAGS:
            self._open_block(tag)
        elif tag == "hr":
            self._flush()
            self._close_p()
        elif tag == "br":
            self.buf.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(alt)
        elif tag in INLINE_TAGS:
            keep = [(k, v) for k, v in attrs if v is not None and k in ("href", "title")]
            extra = "".join(f' {k}="{_html_escape(v or "")}"' for k, v in keep)
            self.buf.append(f"<{tag}{extra}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<svg/>" really is empty; for HTML elements a browser ignores the slash.
        if tag in ("svg", "math"):
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip = ""
            return
        if tag in _BLOCK_TAGS:
            self._flush()
            index = self._nearest(_HEADINGS if tag in _HEADINGS else (tag,))
            if index >= 0:
                self._pop_to(index)
        elif self.pre:
            return
        elif tag == "br":
            self.buf.append(" ")
        elif tag in INLINE_TAGS:
            self.buf.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.code.append(data)
            return
        self.buf.append(_escape(data))
        if not self.has_text and not data.isspace():
            self.has_text = True

    def close(self) -> None:
        super().close()
        self._flush()

    def _leave_skip(self, tag: str) -> bool:
        """Track nesting inside dropped content; True when `tag` ends the dropping."""
        if tag == self.skip:
            self.skip_depth += 1
            return False
        if self.skip in ("svg", "math") and tag in _BREAKOUT:
            self.skip = ""
            return True
        if self.skip == "head" and tag not in _HEAD_CONTENT:
            self.skip = ""  # a browser closes <head> at the first body element
            return True
        return False

    def _open_block(self, tag: str) -> None:
        self._flush()
        stack = self.stack
        if tag in _CLOSES_P:
            self._close_p()
        if tag == "li":
            self._close_sibling({"li"}, _LISTS)
        elif tag in ("dt", "dd"):
            self._close_sibling({"dt", "dd"}, {"dl"})
        elif tag in ("td", "th"):
            self._close_sibling({"td", "th"}, {"tr", "table"})
        elif tag == "tr":
            self._close_sibling({"tr"}, {"table"})
        elif tag in _HEADINGS and stack and stack[-1] in _HEADINGS:
            self._pop_to(len(stack) - 1)
        if self.depth + len(stack) >= self.max_nesting:
            line, column = self.getpos()
            where = f"a <{tag}> on line {self.first_line + line - 1}"
            if not self.depth:  # inside a Markdown quote or list the column would be off
                where += f", column {column + 1}"
            raise _too_deep(self.max_nesting, where)
        self.open_at.setdefault(tag, []).append(len(stack))
        stack.append(tag)
        self.contexts.append(_push_context(self.contexts[-1] if self.contexts else None, tag))
        if tag == "pre":
            self.pre += 1

    def _nearest(self, names: frozenset[str] | set[str] | tuple[str, ...]) -> int:
        """Stack index of the innermost open element named in `names`, or -1."""
        found = -1
        for name in names:
            indices = self.open_at.get(name)
            if indices and indices[-1] > found:
                found = indices[-1]
        return found

    def _close_p(self) -> None:
        index = self._nearest(("p",))
        if index > self._nearest(_P_SCOPE):
            self._pop_to(index)

    def _close_sibling(self, names: set[str], boundary: frozenset[str] | set[str]) -> None:
        """An <li> closes the previous <li> of the same list, and so on."""
        index = self._nearest(names)
        if index > self._nearest(boundary):
            self._pop_to(index)

    def _pop_to(self, index: int) -> None:
        # Each element is popped once after being pushed once: linear over the whole input.
        for tag in self.stack[index:]:
            self.open_at[tag].pop()
            if tag == "pre":
                self.pre -= 1
        del self.stack[index:]
        del self.contexts[index:]

    def _context(self) -> tuple[str, int, bool]:
        if not self.contexts:
            return "paragraph", 0, False
        quote, item, lists, ordered, heading = self.contexts[-1]
        if quote:
            return "blockquote", 0, False
        if item:
            return "list_item", max(lists, 1), ordered
        if heading:
            return "heading", heading, False
        return "paragraph", 0, False

    def _flush(self) -> None:
        if self.code:
            block = _code_block("".join(self.code))
            self.code.clear()
            if block:
                self.blocks.append(block)
        if self.buf:
            if self.has_text:
                text, html = _inline("".join(self.buf))
                if text:
                    kind, level, ordered = self._context()
                    self.blocks.append(Block(kind, text, html, level, ordered))
            self.buf.clear()
            self.has_text = False


def split_html(source: str, max_nesting: int = MAX_NESTING) -> list[Block]:
    """Block elements become blocks; inline content is sanitized by nh3.

    More than `max_nesting` block elements open inside one another is refused.
    """
    return _split_html(_prepare(source), max_nesting)


def _split_html(source: str, max_nesting: int, depth: int = 0, first_line: int = 1) -> list[Block]:
    splitter = _HtmlSplitter(max_nesting, depth, first_line)
    splitter.feed(source)
    splitter.close()
    return splitter.blocks


# ---------------------------------------------------------------------- whole files

_SPLITTERS: dict[str, Callable[[str, int], list[Block]]] = {
    "text": lambda source, max_nesting: split_text(source),
    "markdown": split_markdown,
    "html": split_html,
}
_EXTENSIONS = {
    "txt": "text",
    "text": "text",
    "md": "markdown",
    "markdown": "markdown",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
}


def guess_format(filename: str) -> str | None:
    """The format implied by a file name's extension, or None if it says nothing we read."""
    name = filename.replace("\\", "/").rpartition("/")[2]
    _, dot, ext = name.rpartition(".")
    return _EXTENSIONS.get(ext.lower()) if dot else None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BINARY = "This looks like a binary file, not text."
_UNDECODABLE = "The file is not valid UTF-8 or UTF-16 text."
_EMPTY_FILE = "The file is empty."


def decode_upload(data: bytes) -> str:
    """Decode UTF-8 (BOM optional) or UTF-16 (BOM required); refuse anything else."""
    if not data:
        raise ImportRefused(_EMPTY_FILE)
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # the codec reads the BOM for byte order and drops it
    else:
        encoding = "utf-8"
        if b"\x00" in data:
            if len(data) % 2 == 0 and (b"\x00" not in data[::2] or b"\x00" not in data[1::2]):
                # NULs on one side only: UTF-16 without a BOM rather than binary.
                raise ImportRefused(
                    _UNDECODABLE + " It looks like UTF-16 without a byte-order mark; "
                    "save it as UTF-8 and try again."
                )
            raise ImportRefused(_BINARY)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise ImportRefused(_UNDECODABLE) from None
    if "\x00" in text:
        raise ImportRefused(_BINARY)
    if not text.strip():
        raise ImportRefused(_EMPTY_FILE)
    # Text files may hold a stray control character; a large share means binary data.
    if len(_CONTROL.findall(text)) * 10 > len(text):
        raise ImportRefused(_BINARY)
    return text


def _key(text: str) -> str:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:7]


def assign_keys(blocks: list[Block]) -> list[Block]:
    """Content-derived keys, so re-importing the same text gives the same anchors."""
    seen: dict[str, int] = {}
    keyed = []
    for block in blocks:
        base = _key(block.text)
        count = seen.get(base, 0) + 1
        seen[base] = count
        keyed.append(replace(block, key=base if count == 1 else f"{base}-{count}"))
    return keyed


def split(source: str, fmt: str, *, max_nesting: int = MAX_NESTING) -> list[Block]:
    """Split `source` in format `fmt` into keyed blocks, refusing what cannot be a document.

    Markdown and HTML with more than `max_nesting` blocks inside one another are refused.
    """
    splitter = _SPLITTERS.get(fmt)
    if splitter is None:
        raise ImportRefused(f"Unknown format {fmt!r}: choose text, markdown or html.")
    if not source.strip():
        raise ImportRefused("The text is empty.")
    blocks = splitter(source, max_nesting)
    if not blocks:
        raise ImportRefused("No readable text was found in it.")
    return assign_keys(blocks)


def guess_title(blocks: list[Block]) -> str | None:
    """The first heading's text, which is what a reader would call the title."""
    return next((block.text for block in blocks if block.kind == "heading"), None)
