"""reader.importing: text, Markdown and HTML split into annotatable blocks.

The invariant checked throughout: the text nodes of a block's html, entities decoded, are
exactly its text, because highlights are drawn into the html by counting code points of text.
"""

from __future__ import annotations

import contextlib
import re
import time
import unicodedata
from html import escape
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader.importing import (
    FORMATS,
    KINDS,
    MAX_NESTING,
    Block,
    ImportRefused,
    assign_keys,
    canonical,
    decode_upload,
    guess_format,
    guess_title,
    split,
    split_html,
    split_markdown,
    split_text,
)

# No example database: these tests must not leave files behind.
PROPERTY = settings(database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALLOWED_TAGS = {"em", "strong", "b", "i", "u", "s", "code", "a", "sub", "sup", "q", "cite", "abbr"}
ALLOWED_ATTRS = {"a": {"href", "rel"}, "abbr": {"title"}}
KEY = re.compile(r"^[a-z0-9-]+$")

TYPOGRAPHY = "“Curly” ‘quotes’… en – em — 日本語 العربية 👩🏽‍🔬 𝔘 e\u0301 ½"  # noqa: RUF001
TYPOGRAPHY_NFC = unicodedata.normalize("NFC", TYPOGRAPHY)  # only e + U+0301 -> é changes


class _Reader(HTMLParser):
    """Collects text nodes (entities decoded), tags and attributes of a block's html."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def text_nodes(html: str) -> str:
    return "".join(read(html).text)


def check_blocks(blocks: list[Block]) -> None:
    """The invariant and the sanitizing rules, for every block."""
    for block in blocks:
        assert block.kind in KINDS
        assert block.text, block
        assert text_nodes(block.html) == block.text, block
        assert "<br" not in block.html
        if block.kind == "code":
            assert block.html == escape(block.text, quote=False)
            continue
        assert block.text == " ".join(block.text.split()), "whitespace must be collapsed"
        for tag, attrs in read(block.html).tags:
            assert tag in ALLOWED_TAGS, block.html
            assert set(attrs) <= ALLOWED_ATTRS.get(tag, set()), block.html
            if tag == "a":
                assert attrs.get("rel") == "nofollow noopener"
                href = (attrs.get("href") or "").lower()
                assert not re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith(
                    ("http:", "https:", "mailto:")
                )


def kinds(blocks: list[Block]) -> list[tuple[str, str, int, bool]]:
    return [(b.kind, b.text, b.level, b.ordered) for b in blocks]


# ------------------------------------------------------------------------ plain text


def test_text_blank_lines_separate_paragraphs_and_wrapped_lines_are_joined():
    source = "It was a bright cold day,\nand the clocks were striking thirteen.\n\n \t\nNext one.\n"
    blocks = split_text(source)
    assert kinds(blocks) == [
        ("paragraph", "It was a bright cold day, and the clocks were striking thirteen.", 0, False),
        ("paragraph", "Next one.", 0, False),
    ]
    check_blocks(blocks)


def test_text_quotes_by_marker_or_by_indentation():
    source = "> To be, or not\n>to be.\n\n    Indented verse,\n\tsecond line.\n\nPlain.\n"
    assert kinds(split_text(source)) == [
        ("blockquote", "To be, or not to be.", 0, False),
        ("blockquote", "Indented verse, second line.", 0, False),
        ("paragraph", "Plain.", 0, False),
    ]


def test_text_lists_bullets_numbers_and_wrapped_items():
    source = "Shopping:\n- eggs,\n  a dozen\n* milk\n+ bread\n\n1. first\n2) second\n   wrapped\n"
    assert kinds(split_text(source)) == [
        ("paragraph", "Shopping:", 0, False),
        ("list_item", "eggs, a dozen", 1, False),
        ("list_item", "milk", 1, False),
        ("list_item", "bread", 1, False),
        ("list_item", "first", 1, True),
        ("list_item", "second wrapped", 1, True),
    ]


def test_text_a_year_at_the_start_of_a_wrapped_line_is_not_a_list():
    blocks = split_text("It happened in the spring of\n1984. Nobody noticed.\n")
    assert kinds(blocks) == [
        ("paragraph", "It happened in the spring of 1984. Nobody noticed.", 0, False)
    ]


def test_text_html_is_the_escaped_text_and_markup_is_not_interpreted():
    (block,) = split_text("a < b && <script>alert(1)</script> > c")
    assert block.text == "a < b && <script>alert(1)</script> > c"
    assert block.html == "a &lt; b &amp;&amp; &lt;script&gt;alert(1)&lt;/script&gt; &gt; c"
    check_blocks([block])


def test_text_bom_and_windows_or_old_mac_newlines():
    blocks = split_text("\ufeffOne\r\ntwo\r\n\r\nThree\rfour\r\rFive")
    assert [b.text for b in blocks] == ["One two", "Three four", "Five"]


# -------------------------------------------------------------------------- markdown


def test_markdown_headings_with_levels():
    source = "# One\n\n## Two\n\n###### Six\n\nSetext\n======\n\nSub\n---\n"
    assert kinds(split_markdown(source)) == [
        ("heading", "One", 1, False),
        ("heading", "Two", 2, False),
        ("heading", "Six", 6, False),
        ("heading", "Setext", 1, False),
        ("heading", "Sub", 2, False),
    ]


def test_markdown_paragraphs_join_soft_and_hard_breaks_with_a_space():
    blocks = split_markdown("soft\nbreak  \nhard\\\nbreak\n\n***\n\nafter the rule\n")
    assert kinds(blocks) == [
        ("paragraph", "soft break hard break", 0, False),
        ("paragraph", "after the rule", 0, False),
    ]
    check_blocks(blocks)


def test_markdown_blockquote_paragraphs_headings_and_lists_become_quotes():
    source = "> first\n> line\n>\n> second\n>\n> ## quoted heading\n> - quoted item\n"
    assert kinds(split_markdown(source)) == [
        ("blockquote", "first line", 0, False),
        ("blockquote", "second", 0, False),
        ("blockquote", "quoted heading", 0, False),
        ("blockquote", "quoted item", 0, False),
    ]


def test_markdown_lists_nested_ordered_and_multi_paragraph_items():
    source = "- a\n  - b\n    1. c\n\n  a again\n- d\n\n3. x\n4. y\n"
    assert kinds(split_markdown(source)) == [
        ("list_item", "a", 1, False),
        ("list_item", "b", 2, False),
        ("list_item", "c", 3, True),
        ("list_item", "a again", 1, False),
        ("list_item", "d", 1, False),
        ("list_item", "x", 1, True),
        ("list_item", "y", 1, True),
    ]


def test_markdown_code_blocks_keep_indentation_and_tabs():
    source = (
        "```python\ndef f():\n    return\t1   \n\n    # end\n\n\n```\n\n"
        "    indented code\n      more\n"
    )
    blocks = split_markdown(source)
    assert kinds(blocks) == [
        ("code", "def f():\n    return\t1\n\n    # end", 0, False),
        ("code", "indented code\n  more", 0, False),
    ]
    check_blocks(blocks)


def test_markdown_code_html_is_the_escaped_text():
    (block,) = split_markdown("```\n<b>not bold</b> & co\n```\n")
    assert block.text == "<b>not bold</b> & co"
    assert block.html == "&lt;b&gt;not bold&lt;/b&gt; &amp; co"


def test_markdown_inline_emphasis_code_links_and_images():
    source = (
        'Some *em*, **strong**, ~~gone~~, `a < b` and [a link](https://example.org "t").\n'
        "![the alt *text*](pic.png) <https://auto.link>\n"
    )
    (block,) = split_markdown(source)
    assert block.text == ("Some em, strong, gone, a < b and a link. the alt text https://auto.link")
    assert block.html == (
        "Some <em>em</em>, <strong>strong</strong>, <s>gone</s>, <code>a &lt; b</code> and "
        '<a href="https://example.org" rel="nofollow noopener">a link</a>. the alt text '
        '<a href="https://auto.link" rel="nofollow noopener">https://auto.link</a>'
    )
    check_blocks([block])


def test_markdown_raw_inline_html_is_sanitized():
    source = (
        'Hi <span onclick="steal()">there</span><script>alert(1)</script> '
        '<a href="javascript:alert(1)">bad</a> [worse](javascript:alert(1)) <img src=x '
        'onerror="alert(1)"> <abbr title="HyperText" class="x">HTML</abbr>\n'
    )
    (block,) = split_markdown(source)
    for banned in ("onclick", "<script", 'href="javascript', "onerror", "<img", "<span", "class="):
        assert banned not in block.html, banned
    assert block.text == "Hi there bad [worse](javascript:alert(1)) HTML"
    assert '<abbr title="HyperText">HTML</abbr>' in block.html
    check_blocks([block])


def test_markdown_raw_html_blocks_go_through_the_html_splitter():
    source = (
        "Before.\n\n<div>\n<p>Raw <b>bold</b></p>\n<script>alert(1)</script>\n</div>\n\nAfter.\n"
    )
    assert kinds(split_markdown(source)) == [
        ("paragraph", "Before.", 0, False),
        ("paragraph", "Raw bold", 0, False),
        ("paragraph", "After.", 0, False),
    ]


def test_markdown_tables_keep_their_text_one_paragraph_per_row():
    source = "| Name | Age |\n|------|-----|\n| Ada  | 36  |\n| *Bo* |     |\n"
    assert [b.text for b in split_markdown(source)] == ["Name | Age", "Ada | 36", "Bo"]


def test_markdown_typographer_is_off():
    source = "\"Straight\" 'quotes' -- and --- and ... (c) stay."
    (block,) = split_markdown(source)
    assert block.text == source


# ------------------------------------------------------------------------------ html


def test_html_block_kinds_and_levels():
    source = """
      <h1>Title</h1><h3>Sub <em>title</em></h3>
      <p>First
         paragraph.</p>
      <blockquote>Bare quote<p>Quoted para</p></blockquote>
      <ul><li>one<ul><li>two</li></ul></li><li>three</li></ul>
      <ol><li>first</li><li>second</ol>
      <pre>
def f():
    return 1\t  \n</pre>
    """
    blocks = split_html(source)
    assert kinds(blocks) == [
        ("heading", "Title", 1, False),
        ("heading", "Sub title", 3, False),
        ("paragraph", "First paragraph.", 0, False),
        ("blockquote", "Bare quote", 0, False),
        ("blockquote", "Quoted para", 0, False),
        ("list_item", "one", 1, False),
        ("list_item", "two", 2, False),
        ("list_item", "three", 1, False),
        ("list_item", "first", 1, True),
        ("list_item", "second", 1, True),
        ("code", "def f():\n    return 1", 0, False),
    ]
    assert blocks[1].html == "Sub <em>title</em>"
    check_blocks(blocks)


def test_html_whole_document_and_fragment_give_the_same_blocks():
    fragment = "<h2>Chapter</h2><p>Text &amp; more.</p>"
    document = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Page title</title>"
        f"<style>p {{ color: red }}</style></head><body>{fragment}</body></html>"
    )
    assert split_html(document) == split_html(fragment)
    assert kinds(split_html(fragment)) == [
        ("heading", "Chapter", 2, False),
        ("paragraph", "Text & more.", 0, False),
    ]


def test_html_text_directly_in_containers_becomes_paragraphs():
    source = (
        "<div>Loose text<p>inner</p>tail</div><table><tr><th>Head<td>cell</table>"
        "<dl><dt>term<dd>definition</dl><figure><img alt='A cat'><figcaption>Cap</figcaption>"
        "</figure>"
    )
    assert [b.text for b in split_html(source)] == [
        "Loose text",
        "inner",
        "tail",
        "Head",
        "cell",
        "term",
        "definition",
        "A cat",
        "Cap",
    ]


def test_html_unclosed_paragraphs_and_items_close_like_a_browser():
    source = "<p>one<p>two<div>three</div><ul><li>a<li>b</ul>"
    assert kinds(split_html(source)) == [
        ("paragraph", "one", 0, False),
        ("paragraph", "two", 0, False),
        ("paragraph", "three", 0, False),
        ("list_item", "a", 1, False),
        ("list_item", "b", 1, False),
    ]


def test_html_dangerous_content_is_gone_and_text_is_kept():
    source = """
      <script>alert("script")</script><style>body { display: none }</style>
      <p onclick="steal()" class="x" style="color:red" id="y">Click <b onmouseover="x()">me</b>
      <a href="javascript:alert(1)">js link</a> <a href="JaVaScRiPt:alert(1)">mixed</a>
      <a href="https://ok.example/?a=1&amp;b=2" target="_blank">ok</a>
      <svg onload="alert(1)"><text>svg text</text></svg><img src="x" onerror="alert(1)">
      <iframe src="https://evil.example"></iframe><object data="x">fallback</object>
      <math><mi>x</mi></math><template><p>tpl</p></template><noscript>ns</noscript>
      <span data-x="1">span</span> <custom-tag>custom</custom-tag></p>
    """
    (block,) = split_html(source)
    lowered = block.html.lower()
    for banned in (
        "script",
        "<style",
        "onclick",
        "onmouseover",
        "javascript",
        "<svg",
        "onload",
        "<img",
        "onerror",
        "<iframe",
        "style=",
        "class=",
        "id=",
        "target",
        "data-x",
        "<span",
        "<custom",
        "fallback",
        "tpl",
        "svg text",
    ):
        assert banned not in lowered, banned
    assert block.text == "Click me js link mixed ok span custom"
    assert '<a href="https://ok.example/?a=1&amp;b=2" rel="nofollow noopener">ok</a>' in block.html
    check_blocks([block])


def test_html_br_becomes_a_space_and_whitespace_collapses_across_tags():
    (block,) = split_html("<p>  line one<br>line<br/>two a <em> b </em> c  </p>")
    assert block.text == "line one line two a b c"
    assert "<br" not in block.html
    check_blocks([block])


def test_html_entities_are_decoded_in_text_and_escaped_in_html():
    (block,) = split_html("<p>&lt;script&gt; &amp;amp; &quot;q&quot; &#x1F600; caf&eacute;</p>")
    assert block.text == '<script> &amp; "q" 😀 café'
    assert block.html == '&lt;script&gt; &amp;amp; "q" 😀 café'


@pytest.mark.parametrize(
    "source",
    [
        "<p>unclosed <b>bold <i>italic",
        "</p></div></li>stray end tags",
        "<p>a<![if !supportLists]>b<![endif]>c",
        "<![CDATA[x]]><!DOCTYPE><!><? pi ?><!-- unclosed comment",
        '<a href="unterminated',
        "<p>text <",
        "<table><td>cell<p>para</table>after",
        "<svg><p>breaks out of svg</p>",
        "<head><p>body text in head</p>",
        "<pre>code",
        "<<<>>>&&&;;;",
    ],
)
def test_html_malformed_input_does_not_crash(source):
    check_blocks(split_html(source))


# -------------------------------------------------------------------------- unicode


@pytest.mark.parametrize(
    ("fmt", "template"),
    [
        ("text", "{}"),
        ("markdown", "{}"),
        ("html", "<p>{}</p>"),
        ("markdown", "> *{}*"),
        ("html", "<blockquote><em>{}</em></blockquote>"),
    ],
)
def test_typographic_characters_survive_unchanged(fmt, template):
    (block,) = split(template.format(TYPOGRAPHY), fmt)
    assert block.text == TYPOGRAPHY_NFC
    assert TYPOGRAPHY_NFC in block.html
    assert "👩🏽\u200d🔬" in block.text and "\U0001d518" in block.text  # Fraktur U
    check_blocks([block])


@pytest.mark.parametrize(
    ("fmt", "source"),
    [
        ("markdown", "```\n{}\n```"),
        ("html", "<pre>{}</pre>"),
    ],
)
def test_typographic_characters_survive_in_code(fmt, source):
    (block,) = split(source.format(TYPOGRAPHY), fmt)
    assert block.kind == "code" and block.text == TYPOGRAPHY_NFC


# ------------------------------------------------------------------------- invariant

SAMPLES = {
    "text": "Title\n\nA *plain* <b>text</b> & more\nwrapped.\n\n> quoted\n\n- item\n1. num\n",
    "markdown": (
        "# Head *x*\n\nPara with **bold** and `code` and [link](http://x.org).\n\n"
        "> quote *em*\n\n- a\n  - b <em> spaced </em> c\n\n```\n  code\n```\n\n"
        "<div>raw <i>html</i></div>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    ),
    "html": (
        "<h1>H <em> x </em></h1><p> a <b> b</b> <i>c </i> d&nbsp;e</p><ul><li>x<ol><li>y</ol></ul>"
        "<blockquote>q<p>p</p></blockquote><pre> keep\n  this</pre><div>d<span> s </span></div>"
    ),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_invariant_on_a_sample_of_every_format(fmt):
    blocks = split(SAMPLES[fmt], fmt)
    assert len(blocks) >= 4
    check_blocks(blocks)


# Markdown/HTML-ish pieces, so generated inputs hit the interesting syntax often.
MARKDOWN_PIECES = st.sampled_from(
    [
        "#", "## ", ">", "> ", "- ", "* ", "1. ", "2) ", "*", "**", "_", "`", "```", "~~~",
        "\n", "\n\n", "    ", "\t", " ", "[", "](", ")", "![", "<", ">", "&", "&amp;", "&#",
        "<em>", "</em>", "<b>", "<a href='javascript:x'>", "</a>", "<br>", "<script>",
        "</script>", "|", "---", "\\", "<!--", "-->", "<div>", "</div>", "\u0301", "…", "👩🏽‍🔬",
    ]
)  # fmt: skip
HTML_PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<div>", "</div>", "<ul>", "<ol>", "<li>", "</li>", "</ul>",
        "<blockquote>", "</blockquote>", "<pre>", "</pre>", "<h2>", "</h2>", "<em>", "</em>",
        "<b>", "</b>", "<a href='https://x'>", "<a href=javascript:y>", "</a>", "<br>", " ",
        "\n", "<script>", "</script>", "<svg>", "</svg>", "<style>", "<![", "<!--", "&", "&lt;",
        "&nbsp;", "<", ">", "\"", "'", "=", "<td>", "<table>", "<img alt=x>", "\u0301",
        "\U0001d518",
    ]
)  # fmt: skip


def mixed(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(pieces | st.text(max_size=6), max_size=40).map("".join)


@PROPERTY
@given(mixed(MARKDOWN_PIECES))
def test_markdown_never_crashes_and_the_invariant_holds(source):
    check_blocks(split_markdown(source))


@PROPERTY
@given(mixed(HTML_PIECES))
def test_html_never_crashes_and_the_invariant_holds(source):
    check_blocks(split_html(source))


@PROPERTY
@given(st.text())
def test_text_invariant_holds_for_any_text(source):
    check_blocks(split_text(source))


# ------------------------------------------------------------- plain-text properties


def _plain_line(line: str) -> bool:
    # No list/quote marker, no indentation: such a line is paragraph text.
    return bool(line) and not line[0].isspace() and line[0] not in "-*+>0123456789"


LINE = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\n\r\x00\ufeff"),
        min_size=1,
        max_size=30,
    )
    .map(lambda s: unicodedata.normalize("NFC", s))
    .filter(_plain_line)
)
GROUPS = st.lists(st.lists(LINE, min_size=1, max_size=4), min_size=1, max_size=6)
BLANK = st.sampled_from(["\n\n", "\n\n\n", "\n \t\n", "\r\n\r\n", "\n\u3000\n"])


@st.composite
def plain_documents(draw: st.DrawFn) -> tuple[str, int]:
    groups = draw(GROUPS)
    parts = []
    for index, group in enumerate(groups):
        if index:
            parts.append(draw(BLANK))
        parts.append(draw(st.sampled_from(["\n", "\r\n"])).join(group))
    return "".join(parts), len(groups)


def non_space(text: str) -> str:
    return "".join(text.split())


@PROPERTY
@given(plain_documents())
def test_text_every_character_lands_in_exactly_one_paragraph_in_order(document):
    source, groups = document
    blocks = split_text(source)
    assert [b.kind for b in blocks] == ["paragraph"] * groups
    assert "".join(non_space(b.text) for b in blocks) == non_space(source)
    check_blocks(blocks)


@PROPERTY
@given(plain_documents())
def test_text_keys_are_unique_and_url_safe_even_with_repeated_paragraphs(document):
    source, _ = document
    blocks = split(source + "\n\n" + source, "text")
    keys = [b.key for b in blocks]
    assert len(set(keys)) == len(keys)
    assert all(KEY.match(key) for key in keys)


@PROPERTY
@given(plain_documents())
def test_text_splitting_twice_gives_equal_blocks(document):
    source, _ = document
    assert split(source, "text") == split(source, "text")


# ----------------------------------------------------------------------------- keys


def test_keys_are_content_derived_and_repeats_get_a_suffix():
    blocks = split("Same.\n\nOther.\n\nSame.\n\nSame.", "text")
    base = blocks[0].key
    assert len(base) == 7 and KEY.match(base)
    assert [b.key for b in blocks] == [base, blocks[1].key, f"{base}-2", f"{base}-3"]
    # The same paragraph keeps its key wherever it appears in another document.
    assert split("Intro.\n\nSame.", "text")[1].key == base


def test_assign_keys_replaces_existing_keys_without_changing_content():
    blocks = [Block("paragraph", "x", "x", key="old"), Block("heading", "x", "x", level=1)]
    keyed = assign_keys(blocks)
    assert keyed[0].key != "old" and keyed[1].key == keyed[0].key + "-2"
    assert [(b.kind, b.text, b.level) for b in keyed] == [
        ("paragraph", "x", 0),
        ("heading", "x", 1),
    ]


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b" \n\t\r\n ", "The file is empty"),
        (b"\xef\xbb\xbf", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (bytes(range(1, 9)) * 20 + b"some text", "binary file"),
        ("café".encode("latin-1"), "not valid UTF-8 or UTF-16"),
        (b"\xff\xfe\x00\xd8", "not valid UTF-8 or UTF-16"),  # lone surrogate in UTF-16
        ("Hello".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
    ],
)
def test_decode_upload_refuses_bad_files(data, message):
    with pytest.raises(ImportRefused, match=message):
        decode_upload(data)


@pytest.mark.parametrize(
    "data",
    [
        "Héllo “world” 👩🏽‍🔬".encode(),
        "\ufeffHéllo “world” 👩🏽‍🔬".encode(),
        "\ufeffHéllo “world” 👩🏽‍🔬".encode("utf-16-le"),
        "\ufeffHéllo “world” 👩🏽‍🔬".encode("utf-16-be"),
        "Héllo “world” 👩🏽‍🔬".encode("utf-16"),
    ],
)
def test_decode_upload_accepts_utf8_and_utf16_with_bom(data):
    assert decode_upload(data) == "Héllo “world” 👩🏽‍🔬"


def test_decode_upload_tolerates_a_stray_control_character():
    assert decode_upload(b"Old DOS file\r\n\x1a") == "Old DOS file\r\n\x1a"


@pytest.mark.parametrize(
    ("source", "fmt", "message"),
    [
        ("Hello", "pdf", r"Unknown format 'pdf': choose text, markdown or html\."),
        ("", "text", "The text is empty"),
        ("  \n\t \n", "markdown", "The text is empty"),
        ("---\n\n***\n\n<!-- just a comment -->", "markdown", "No readable text"),
        ("<script>alert(1)</script><style>p{}</style><img src=x>", "html", "No readable text"),
        (
            "<html><head><title>Only a title</title></head><body></body></html>",
            "html",
            "No readable",
        ),
    ],
)
def test_split_refuses_what_cannot_be_a_document(source, fmt, message):
    with pytest.raises(ImportRefused, match=message):
        split(source, fmt)


def test_refusals_are_value_errors_with_a_readable_message():
    with pytest.raises(ValueError) as caught:
        split("", "text")
    assert str(caught.value) == "The text is empty."


# ------------------------------------------------------------------- nesting (issue 13)
# Timings compare two runs as a ratio of CPU time, so a slow or busy machine does not matter:
# four times the input should cost about four times as much (quadratic would be sixteen).

TOO_DEEP = "The text is nested too deeply"


def cpu_time(fmt: str, source: str, max_nesting: int = MAX_NESTING) -> float:
    """Best of two runs: the CPU seconds split() takes, whether it accepts or refuses."""
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        with contextlib.suppress(ImportRefused):
            split(source, fmt, max_nesting=max_nesting)
        best = min(best, time.process_time() - start)
    return max(best, 1e-4)


def test_html_nesting_costs_linear_time_in_its_depth():
    # The cap lifted out of the way: the splitter itself must not re-walk its stack per block
    # (it did, twice per element: '<div>x' * 30000 took 34 s and doubling it 3.8 times as long).
    def deep(n: int) -> str:
        return "<div>x" * n

    assert len(split(deep(100), "html", max_nesting=100)) == 100
    ratio = cpu_time("html", deep(40_000), 50_000) / cpu_time("html", deep(10_000), 50_000)
    assert ratio < 8, f"40k-deep HTML took {ratio:.1f} times as long as 10k-deep"


@pytest.mark.parametrize(
    ("fmt", "chain", "depth"),
    [
        # One text per level, so every block is read at depth up to 99.
        ("html", "<div>x" * 99 + "</div>" * 99, 99),
        ("html", "<ul><li>x<blockquote>y" * 33 + "</blockquote></li></ul>" * 33, 99),
        ("markdown", "> - " * 49 + "x\n\n", 98),
        ("markdown", "> " * 99 + "x\n\n", 99),
    ],
)
def test_many_blocks_nested_just_under_the_cap_cost_linear_time(fmt, chain, depth):
    def document(levels: int) -> str:
        return chain * (levels // depth)

    assert split(chain, fmt, max_nesting=depth)  # accepted: under the cap
    with pytest.raises(ImportRefused, match=TOO_DEEP):
        split(chain, fmt, max_nesting=depth - 1)
    ratio = cpu_time(fmt, document(40_000), depth) / cpu_time(fmt, document(10_000), depth)
    assert ratio < 8, f"40k nested levels took {ratio:.1f} times as long as 10k"


@pytest.mark.parametrize(
    ("fmt", "deep", "flat"),
    [
        ("html", "<div>x" * 40_000, "<p>x" * 40_000),
        ("html", "<blockquote><ul><li>" * 14_000, "<p>x</p>" * 20_000),
        ("markdown", "> " * 40_000 + "x", "x\n\n" * 20_000),
        ("markdown", "- " * 40_000 + "x", "x\n\n" * 20_000),
        ("markdown", "* " * 40_000 + "x", "x\n\n" * 20_000),
        ("markdown", "1. " * 30_000 + "x", "x\n\n" * 22_500),
    ],
)
def test_deep_nesting_is_refused_quickly(fmt, deep, flat):
    assert len(deep) <= len(flat) * 2
    with pytest.raises(ImportRefused, match=TOO_DEEP):
        split(deep, fmt)
    # Refusing stops at the cap, so it costs far less than reading a flat text of that size.
    assert cpu_time(fmt, deep) < cpu_time(fmt, flat) / 2


@pytest.mark.parametrize(
    ("fmt", "source", "max_nesting", "where"),
    [
        ("html", "<div>" * 150 + "x", 100, "reached at a <div> on line 1, column 501."),
        ("html", "<p>Hi</p>\n<ul><li><ol><li>x", 3, "a <li> on line 2, column 13."),
        ("html", "<html><body><div><p>x", 3, "a <p> on line 1, column 18."),
        ("markdown", "> " * 150 + "x", 100, "reached at a quote on line 1."),
        ("markdown", "Intro\n\n" + "".join("  " * i + "- x\n" for i in range(12)), 10, "line 13."),
        ("markdown", "> - > 1. x", 3, "reached at a list on line 1."),
        ("markdown", "Intro\n\n> > <div><div>x</div></div>", 3, "a <div> on line 3."),
    ],
)
def test_refusal_names_the_nesting_the_limit_and_where(fmt, source, max_nesting, where):
    with pytest.raises(ImportRefused) as caught:
        split(source, fmt, max_nesting=max_nesting)
    message = str(caught.value)
    assert message.startswith(
        f"The text is nested too deeply: more than {max_nesting} levels of blocks "
        "(quotes, lists or HTML elements) inside one another"
    )
    assert where in message
    assert message.endswith("Flatten the nesting and try again.")


def test_a_very_deep_blockquote_is_refused_for_its_nesting_not_as_unreadable():
    # markdown-it silently drops what lies past its nesting limit, which left nothing to read.
    for source in ("> " * 50_000 + "x", "Some text first.\n\n" + "> " * 50_000 + "x"):
        with pytest.raises(ImportRefused, match=TOO_DEEP):
            split(source, "markdown")


@pytest.mark.parametrize(
    ("fmt", "source"),
    [
        ("markdown", "> - > x"),
        ("markdown", "1. a\n\n   > - b\n   >\n   >   > c"),
        ("html", "<html><body><div>x</div></body></html>"),
        ("html", "<blockquote><ul><li>x</li></ul></blockquote>"),
    ],
)
def test_nesting_exactly_at_the_cap_is_accepted(fmt, source):
    assert split(source, fmt, max_nesting=4 if "1. a" in source else 3)


def test_moderate_nesting_keeps_every_block_and_level():
    # Ten list levels and lists in quotes: nothing dropped, levels as deep as written.
    source = "".join("  " * i + f"- item {i + 1}\n" for i in range(10))
    assert kinds(split_markdown(source)) == [
        ("list_item", f"item {i}", i, False) for i in range(1, 11)
    ]
    quoted = "> Quote\n>\n" + "".join(">" + "   " * i + f" 1. step {i + 1}\n" for i in range(6))
    assert kinds(split_markdown(quoted)) == [("blockquote", "Quote", 0, False)] + [
        ("blockquote", f"step {i}", 0, False) for i in range(1, 7)
    ]
    html = "<ul><li>" * 10 + "deep" + "</li></ul>" * 10 + "<ol><li>top</li></ol>"
    assert kinds(split_html(html)) == [
        ("list_item", "deep", 10, False),
        ("list_item", "top", 1, True),
    ]
    nested = "<div><section><blockquote><div><p>One<p>Two</blockquote><h2>Head</h2></section>"
    assert kinds(split_html(nested)) == [
        ("blockquote", "One", 0, False),
        ("blockquote", "Two", 0, False),
        ("heading", "Head", 2, False),
    ]


def test_text_has_no_nesting_to_refuse():
    assert kinds(split("> " * 500 + "x", "text", max_nesting=1)) == [
        ("blockquote", ("> " * 499 + "x").strip(), 0, False)
    ]


# ------------------------------------------------------------------- small helpers


@pytest.mark.parametrize(
    ("filename", "fmt"),
    [
        ("notes.txt", "text"),
        ("README.TEXT", "text"),
        ("book.md", "markdown"),
        ("dir/chapter.one.Markdown", "markdown"),
        ("page.html", "html"),
        ("C:\\Users\\me\\page.HTM", "html"),
        ("feed.xhtml", "html"),
        ("scan.pdf", None),
        ("Makefile", None),
        ("archive.md.zip", None),
        ("", None),
    ],
)
def test_guess_format(filename, fmt):
    assert guess_format(filename) == fmt


def test_guess_title_is_the_first_heading():
    assert guess_title(split("Intro\n\n# The Title\n\n## Later", "markdown")) == "The Title"
    assert guess_title(split("No headings here.", "text")) is None
    assert guess_title([]) is None


def test_canonical_normalizes_and_collapses_whitespace():
    assert canonical("  e\u0301te\u0301\n\t  a\u3000b\u00a0c  ") == "été a b c"
    assert canonical(" \n ") == ""
    assert canonical(TYPOGRAPHY) == TYPOGRAPHY_NFC
