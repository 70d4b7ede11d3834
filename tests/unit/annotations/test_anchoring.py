"""Checking a reader's selection against the stored text: pure, no database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.anchoring import (
    CONTEXT,
    AnchorError,
    ParagraphText,
    Target,
    anchor,
    spans_in_paragraph,
)

TEXTS = [
    "Call me Ishmael.",
    "Some years ago, never mind how long precisely, having little or no money in my purse, "
    "and nothing particular to interest me on shore, I thought I would sail about a little.",
    "It is a way I have of driving off the spleen.",
]


def paragraphs(texts: list[str]) -> tuple[dict[str, ParagraphText], list[str]]:
    order = [f"k{n}" for n in range(len(texts))]
    return {
        key: ParagraphText(n, text) for n, (key, text) in enumerate(zip(order, texts, strict=True))
    }, order


def anchor_in(texts, start_key, start_offset, end_key, end_offset, exact):
    by_key, order = paragraphs(texts)
    return anchor(Target(start_key, start_offset, end_key, end_offset, exact), by_key, order)


def refusal(texts, start_key, start_offset, end_key, end_offset, exact) -> str:
    with pytest.raises(AnchorError) as refused:
        anchor_in(texts, start_key, start_offset, end_key, end_offset, exact)
    return str(refused.value)


# Accepted selections ------------------------------------------------------------------------


def test_a_span_within_one_paragraph_keeps_its_place_quote_and_context():
    text = TEXTS[1]
    lo = text.index("having")
    hi = lo + len("having little or no money")
    anchored = anchor_in(TEXTS, "k1", lo, "k1", hi, "having little or no money")
    assert (anchored.start_key, anchored.start_offset, anchored.start_position) == ("k1", lo, 1)
    assert (anchored.end_key, anchored.end_offset, anchored.end_position) == ("k1", hi, 1)
    assert anchored.exact == "having little or no money"
    assert anchored.prefix == text[lo - CONTEXT : lo]
    assert anchored.suffix == text[hi : hi + CONTEXT]
    assert len(anchored.prefix) == len(anchored.suffix) == CONTEXT == 32


def test_a_span_across_paragraphs_joins_its_pieces_with_a_newline():
    exact = "Ishmael.\n" + TEXTS[1] + "\nIt is a way"
    anchored = anchor_in(TEXTS, "k0", 8, "k2", 11, exact)
    assert anchored.exact == exact
    assert (anchored.start_position, anchored.end_position) == (0, 2)
    # The context comes from the first and the last paragraph, cut at the paragraph's edges.
    assert anchored.prefix == "Call me "
    assert anchored.suffix == " I have of driving off the spleen."[:CONTEXT]


def test_a_span_over_a_whole_paragraph_has_no_context():
    anchored = anchor_in(TEXTS, "k0", 0, "k0", len(TEXTS[0]), TEXTS[0])
    assert (anchored.prefix, anchored.suffix) == ("", "")


def test_a_span_may_end_at_offset_zero_of_the_next_paragraph():
    anchored = anchor_in(TEXTS, "k0", 8, "k1", 0, "Ishmael.\n")
    assert anchored.exact == "Ishmael.\n"
    assert anchored.suffix == TEXTS[1][:CONTEXT]


# Refused selections -------------------------------------------------------------------------


def test_an_unknown_paragraph_is_refused():
    assert "not in this document" in refusal(TEXTS, "nope", 0, "k0", 4, "Call")
    assert "not in this document" in refusal(TEXTS, "k0", 0, "nope", 4, "Call")


def test_a_negative_offset_is_refused():
    assert refusal(TEXTS, "k0", -1, "k0", 4, "Call") == (
        "The selection's offsets cannot be negative."
    )
    assert "cannot be negative" in refusal(TEXTS, "k0", 0, "k0", -4, "Call")


def test_an_offset_past_the_end_of_its_paragraph_is_refused():
    too_far = len(TEXTS[0]) + 1
    assert refusal(TEXTS, "k0", 0, "k0", too_far, TEXTS[0]) == (
        "The selection runs past the end of its paragraph."
    )
    assert "past the end" in refusal(TEXTS, "k0", too_far, "k1", 3, "Som")


def test_an_empty_span_is_refused():
    assert refusal(TEXTS, "k0", 5, "k0", 5, "") == (
        "The selection is empty or runs backwards: select some words."
    )


def test_a_span_running_backwards_is_refused_within_and_across_paragraphs():
    assert "runs backwards" in refusal(TEXTS, "k0", 7, "k0", 2, "ll me")
    assert "runs backwards" in refusal(TEXTS, "k2", 0, "k0", 4, "Call")


def test_a_span_of_only_spaces_is_refused():
    assert refusal(TEXTS, "k0", 4, "k0", 5, " ") == (
        "The selection holds only spaces: select some words."
    )
    # From the very end of one paragraph to the start of the next holds only the separator.
    assert "only spaces" in refusal(TEXTS, "k0", len(TEXTS[0]), "k1", 0, "\n")


def test_a_quote_that_differs_from_the_text_is_refused():
    message = refusal(TEXTS, "k0", 0, "k0", 4, "Cell")
    assert message.startswith("The selected words do not match the text at that place.")
    # Whitespace differences count too: the server's text is the judge.
    assert "do not match" in refusal(TEXTS, "k0", 8, "k1", 4, "Ishmael. Some")


# Offsets are code points --------------------------------------------------------------------

# The reader's words "👩🏽‍🔬 and <fraktur U>nicode words": a ZWJ emoji sequence (4 code
# points, 7 UTF-16 units) and a mathematical capital U outside the BMP (1 code point, 2 units).
SCIENTIST = "\U0001f469\U0001f3fd\u200d\U0001f52c"
FRAKTUR_U = "\U0001d518"
UNICODE = f"{SCIENTIST} and {FRAKTUR_U}nicode words"


def test_offsets_count_code_points_not_utf16_units():
    lo = UNICODE.index("words")
    hi = lo + len("words")
    assert anchor_in([UNICODE], "k0", lo, "k0", hi, "words").exact == "words"

    # A browser counting UTF-16 code units lands somewhere else (astral characters count 2).
    utf16_lo = len(UNICODE[:lo].encode("utf-16-le")) // 2
    utf16_hi = utf16_lo + len("words")
    assert (utf16_lo, utf16_hi) != (lo, hi)
    with pytest.raises(AnchorError):
        anchor_in([UNICODE], "k0", utf16_lo, "k0", utf16_hi, "words")


def test_a_quote_with_astral_characters_and_joiners_is_kept_whole():
    end = UNICODE.index(" and")
    anchored = anchor_in([UNICODE], "k0", 0, "k0", end, SCIENTIST)
    assert anchored.exact == SCIENTIST
    assert anchored.suffix == f" and {FRAKTUR_U}nicode words"


# spans_in_paragraph -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0, None),  # before the span
        (1, (5, 20)),  # where it starts: to the end of the paragraph
        (2, (0, 20)),  # in the middle: the whole paragraph
        (3, (0, 7)),  # where it ends
        (4, None),  # after the span
    ],
)
def test_spans_in_paragraph_cuts_a_long_span_per_paragraph(position, expected):
    assert spans_in_paragraph(position, 20, (1, 5), (3, 7)) == expected


def test_spans_in_paragraph_within_one_paragraph():
    assert spans_in_paragraph(2, 20, (2, 3), (2, 9)) == (3, 9)


def test_spans_in_paragraph_skips_empty_pieces_at_the_edges():
    # Ends at offset 0 of its last paragraph: nothing to draw there.
    assert spans_in_paragraph(3, 20, (1, 5), (3, 0)) is None
    # Starts at the very end of its first paragraph: nothing to draw there either.
    assert spans_in_paragraph(1, 20, (1, 20), (3, 4)) is None


def test_spans_in_paragraph_never_reaches_past_the_text():
    assert spans_in_paragraph(1, 10, (1, 4), (1, 50)) == (4, 10)
    assert spans_in_paragraph(1, 10, (1, 12), (1, 50)) is None
    assert spans_in_paragraph(0, 0, (0, 0), (0, 3)) is None


# Properties ---------------------------------------------------------------------------------


@given(data=st.data(), text=st.text(min_size=1, max_size=200))
def test_any_valid_span_anchors_to_exactly_its_text(data, text):
    lo = data.draw(st.integers(0, len(text) - 1), label="lo")
    hi = data.draw(st.integers(lo + 1, len(text)), label="hi")
    target = Target("k0", lo, "k0", hi, text[lo:hi])
    by_key, order = paragraphs([text])
    if not text[lo:hi].strip():
        with pytest.raises(AnchorError):
            anchor(target, by_key, order)
        return
    anchored = anchor(target, by_key, order)
    assert anchored.exact == text[lo:hi]
    assert anchored.prefix == text[max(0, lo - CONTEXT) : lo]
    assert anchored.suffix == text[hi : hi + CONTEXT]


@given(data=st.data(), texts=st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=5))
def test_any_valid_span_across_paragraphs_anchors_to_its_joined_text(data, texts):
    first = data.draw(st.integers(0, len(texts) - 2), label="first")
    last = data.draw(st.integers(first + 1, len(texts) - 1), label="last")
    lo = data.draw(st.integers(0, len(texts[first])), label="lo")
    hi = data.draw(st.integers(0, len(texts[last])), label="hi")
    exact = "\n".join([texts[first][lo:], *texts[first + 1 : last], texts[last][:hi]])
    by_key, order = paragraphs(texts)
    target = Target(f"k{first}", lo, f"k{last}", hi, exact)
    if not exact.strip():
        with pytest.raises(AnchorError):
            anchor(target, by_key, order)
        return
    anchored = anchor(target, by_key, order)
    assert anchored.exact == exact
    assert (anchored.start_position, anchored.end_position) == (first, last)
