"""Drawing highlights into a paragraph's HTML: the text stays the text, the HTML stays HTML."""

from __future__ import annotations

import re
from collections import defaultdict
from html import escape
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.reading.marks import Span, draw_marks

SCIENTIST = "\U0001f469\U0001f3fd\u200d\U0001f52c"  # a ZWJ emoji: four code points
FRAKTUR_U = "\U0001d518"  # a capital U outside the BMP
VOID = {"br", "wbr", "img", "hr"}


class Reader(HTMLParser):
    """Reads marked HTML back: its text, whether it nests well, and the text under each mark."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[tuple[str, str | None]] = []  # (tag, annotation id of a mark)
        self.mismatched: list[str] = []
        self.under: dict[int, list[str]] = defaultdict(list)

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append((tag, dict(attrs).get("data-annotation") if tag == "mark" else None))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1][0] != tag:
            self.mismatched.append(tag)
            return
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)
        for tag, annotation in self.open:
            if tag == "mark":
                self.under[int(annotation)].append(data)


def read(html: str) -> Reader:
    reader = Reader()
    reader.feed(html)
    reader.close()
    return reader


def assert_well_formed(html: str, text: str, spans: list[Span]) -> None:
    """What the reader sees: the same words, valid nesting, each mark over its own words."""
    reader = read(html)
    assert "".join(reader.text) == text
    assert reader.mismatched == []
    assert reader.open == []
    for span in spans:
        assert re.search(rf'<mark [^>]*data-annotation="{span.annotation_id}"', html)
        assert "".join(reader.under[span.annotation_id]) == text[span.start : span.end]


def span(start: int, end: int, annotation_id: int, colour: str = "yellow", is_note=False) -> Span:
    return Span(start, end, annotation_id, colour, is_note)


def test_no_spans_leaves_the_html_alone():
    html = "Some <em>emphasis</em> &amp; more"
    assert draw_marks(html, []) == html


def test_one_span_wraps_exactly_its_words_with_its_colour_and_note_class():
    text = "Call me Ishmael. Some years ago"
    html = draw_marks(text, [Span(8, 15, 7, "green", True)])
    assert html == (
        'Call me <mark class="c-green n" data-annotation="7">Ishmael</mark>. Some years ago'
    )


def test_a_highlight_has_no_note_class():
    html = draw_marks("plain words", [span(0, 5, 1)])
    assert '<mark class="c-yellow" data-annotation="1">' in html


def test_hidden_and_pending_marks_say_so():
    html = draw_marks("plain words", [Span(0, 5, 1, "blue", True, "hidden")])
    assert '<mark class="c-blue n is-hidden" data-annotation="1">' in html


def test_overlapping_spans_each_cover_their_own_words():
    text = "abcdefghij"
    spans = [span(0, 6, 1), span(3, 9, 2, "blue")]
    html = draw_marks(text, spans)
    assert_well_formed(html, text, spans)
    # The shared stretch carries both marks; the first mark is not split, only the crossing
    # one is (where the first ends inside it).
    assert html == (
        '<mark class="c-yellow" data-annotation="1">abc'
        '<mark class="c-blue" data-annotation="2">def</mark></mark>'
        '<mark class="c-blue" data-annotation="2">ghi</mark>j'
    )


def test_nested_and_separate_spans_get_one_mark_each():
    text = "one two three four five"
    spans = [span(0, 13, 1), span(4, 7, 2), span(14, 18, 3)]
    html = draw_marks(text, spans)
    assert_well_formed(html, text, spans)
    assert html.count("<mark") == 3


def test_nested_spans_each_cover_their_own_words():
    text = "the outer span holds an inner one"
    spans = [span(0, len(text), 1), span(15, 20, 2, "pink"), span(15, 20, 3, "purple")]
    assert_well_formed(draw_marks(text, spans), text, spans)


def test_spans_crossing_inline_tags_stay_well_nested():
    html = (
        "Plain <em>emphasised <strong>strong</strong> words</em> then "
        '<a href="https://example.org/?a=1&amp;b=2" rel="nofollow noopener">a link</a> end'
    )
    text = "Plain emphasised strong words then a link end"
    spans = [
        span(text.index("Plain"), text.index("emphasised") + 4, 1),  # into <em>
        span(text.index("strong"), text.index("then"), 2),  # out of <strong> and <em>
        span(text.index("words"), text.index("link") + 2, 3),  # into <a>
        span(0, len(text), 4),  # around everything
    ]
    marked = draw_marks(html, spans)
    assert_well_formed(marked, text, spans)
    # The tags themselves are untouched.
    assert '<a href="https://example.org/?a=1&amp;b=2" rel="nofollow noopener">' in marked


def test_entities_stay_escaped_and_count_as_one_character():
    html = "Fish &amp; chips &lt;3 &gt; all"
    text = "Fish & chips <3 > all"
    spans = [span(text.index("&"), text.index("3") + 1, 1)]
    marked = draw_marks(html, spans)
    assert_well_formed(marked, text, spans)
    assert ">&amp; chips &lt;3</mark>" in marked
    assert "<3" not in marked


def test_marks_carry_no_text_from_readers():
    """A mark's attributes are an id and class names the server chose; nothing a reader wrote."""
    marked = draw_marks("words", [span(0, 5, 1)])
    assert re.fullmatch(r'<mark class="c-yellow" data-annotation="1">words</mark>', marked)


def test_spans_over_astral_characters_count_code_points():
    text = f"{SCIENTIST} and {FRAKTUR_U}nicode words"
    spans = [span(text.index(FRAKTUR_U), len(text), 1)]
    marked = draw_marks(escape(text, quote=False), spans)
    assert_well_formed(marked, text, spans)
    assert f">{FRAKTUR_U}nicode words</mark>" in marked


# Properties ---------------------------------------------------------------------------------

# Pieces of text: markup characters, an emoji sequence, astral letters, and anything printable.
TEXT = st.lists(
    st.one_of(
        st.sampled_from(["a", "b", " ", "&", "<", ">", '"', "'", ";", "é", SCIENTIST, FRAKTUR_U]),
        st.characters(exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=12,
).map("".join)
WRAPPERS = [
    ("", ""),
    ("<em>", "</em>"),
    ("<strong>", "</strong>"),
    ("<code>", "</code>"),
    ('<a href="https://example.org/?q=1&amp;r=%3E" rel="nofollow noopener">', "</a>"),
    ('<abbr title="a &gt; b &amp; &quot;c&quot;">', "</abbr>"),
]


@st.composite
def inline_html(draw) -> tuple[str, str]:
    """(html, text): text pieces, some wrapped in inline tags, some nested two deep."""
    html, text = [], []
    for piece in draw(st.lists(TEXT, min_size=1, max_size=6)):
        outer_open, outer_close = draw(st.sampled_from(WRAPPERS))
        inner_open, inner_close = draw(st.sampled_from(WRAPPERS))
        html.append(
            f"{outer_open}{inner_open}{escape(piece, quote=False)}{inner_close}{outer_close}"
        )
        text.append(piece)
    return "".join(html), "".join(text)


@given(data=st.data(), source=inline_html())
def test_marks_keep_the_text_and_nest_well_whatever_the_tags_and_spans(data, source):
    html, text = source
    bounds = st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text))).filter(
        lambda b: b[0] < b[1]
    )
    pairs = data.draw(st.lists(bounds, min_size=1, max_size=5), label="spans")
    spans = [span(lo, hi, n + 1) for n, (lo, hi) in enumerate(pairs)]
    assert_well_formed(draw_marks(html, spans), text, spans)


@pytest.mark.parametrize("tag", ["em", "strong", "code", "sub", "q"])
def test_a_mark_ending_inside_a_tag_closes_before_the_tag_does(tag):
    html = f"one <{tag}>two three</{tag}> four"
    text = "one two three four"
    spans = [span(0, text.index("three"), 1)]
    marked = draw_marks(html, spans)
    assert_well_formed(marked, text, spans)
    assert f"<{tag}><mark" in marked
