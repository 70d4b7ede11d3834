"""A reader's Markdown becomes safe HTML: formatting kept, every script-carrying trick removed."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.rendering import render_markdown

SAFE_TAGS = {
    "p", "br", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr", "sub", "sup",
}  # fmt: skip
SAFE_ATTRIBUTES = {"a": {"href", "title", "rel"}, "ol": {"start"}}
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_harmless(html: str) -> None:
    """Only the allowed tags, attributes and link schemes: nothing a browser would run."""
    for tag, attrs in elements(html):
        assert tag in SAFE_TAGS, html
        assert set(attrs) <= SAFE_ATTRIBUTES.get(tag, set()), html
        if "href" in attrs:
            scheme = urlsplit(attrs["href"] or "").scheme.lower()
            assert scheme in SAFE_SCHEMES, html


# What readers write is kept -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("**bold** and *italic*", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("`code` here", "<p><code>code</code> here</p>"),
        ("```\nx < y && z\n```", "<pre><code>x &lt; y &amp;&amp; z\n</code></pre>"),
        ("> a quoted line", "<blockquote>\n<p>a quoted line</p>\n</blockquote>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("### A small heading", "<h3>A small heading</h3>"),
    ],
)
def test_formatting_is_kept(markdown, html):
    assert render_markdown(markdown).strip() == html


def test_links_are_kept_with_nofollow_noopener():
    html = render_markdown('See [the source](https://example.org/a?b=1&c=2 "Source").')
    assert html.strip() == (
        '<p>See <a href="https://example.org/a?b=1&amp;c=2" title="Source" '
        'rel="nofollow noopener">the source</a>.</p>'
    )
    assert 'rel="nofollow noopener"' in render_markdown("<https://example.org>")
    assert 'href="mailto:ada@example.org"' in render_markdown("[mail](mailto:ada@example.org)")


def test_text_that_looks_like_html_is_shown_as_text():
    html = render_markdown("x <b>y</b> & z")
    assert html.strip() == "<p>x &lt;b&gt;y&lt;/b&gt; &amp; z</p>"


# Stored XSS is removed ----------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "text <script>alert(1)</script> after",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click][evil]\n\n[evil]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    "<img src=x onerror=alert(1)>",
    '![x](https://example.org/x.png" onerror="alert(1))',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<b style="position:fixed;top:0;left:0;width:100%;height:100%">cover</b>',
    '<a href="https://example.org" onclick="alert(1)">x</a>',
    '<a href="https://example.org" ONMOUSEOVER=alert(1)>x</a>',
    "<div onfocus=alert(1) autofocus tabindex=0>x</div>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<a href='javascript&colon;alert(1)'>x</a>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<style>*{display:none}</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '[a](https://example.org"onmouseover="alert(1))',
    '[a](https://example.org "title\\" onmouseover=\\"alert(1)")',
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_stored_xss_payloads_are_made_harmless(payload):
    html = render_markdown(payload)
    assert_harmless(html)
    for tag, attrs in elements(html):
        assert not any(name.startswith("on") for name in attrs)
        assert "style" not in attrs
        assert tag not in {"script", "img", "svg", "math", "iframe", "style", "object"}


@pytest.mark.parametrize(
    "payload", ["[click](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>']
)
def test_a_javascript_link_is_never_a_link(payload):
    assert "<a " not in render_markdown(payload)


def test_links_to_other_schemes_are_not_links():
    for scheme in ("data:text/html,hi", "vbscript:x", "file:///etc/passwd"):
        html = render_markdown(f"[x]({scheme})")
        assert all(not (attrs.get("href") or "").startswith(scheme) for _, attrs in elements(html))


def test_broken_html_cannot_swallow_the_page():
    html = render_markdown('<a href="https://example.org\n\n<div class="x"')
    assert_harmless(html)
    assert html.count("<p>") == html.count("</p>")


@given(st.text(max_size=300))
def test_whatever_is_written_renders_only_allowed_markup(text):
    assert_harmless(render_markdown(text))


FRAGMENTS = [
    "<script>", "</script>", "<img src=x onerror=alert(1)>", "javascript:", "[x](", ")", "<",
    ">", '"', "'", "`", "\n\n", "> ", "- ", "**", "<svg", "onload=", "data:", "&#", "<a href=",
    "<iframe", " style=", "](", "<math>", "&colon;", "\t",
]  # fmt: skip


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=20))
def test_any_mix_of_attack_fragments_renders_only_allowed_markup(fragments):
    assert_harmless(render_markdown("".join(fragments)))
