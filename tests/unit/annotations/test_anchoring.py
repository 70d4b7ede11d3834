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
    Text,
    anchor,
    place,
    spans_in_paragraph,
)
from annotations.jsonld import ParsedSelector

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


PARAGRAPHS = [
    ("k0", "The quiet river runs past the mill."),
    ("k1", "Under the bridge the quiet river slows, and the quiet river widens."),
    ("k2", "At the sea the quiet river ends its long way from the hills."),
]


TEXT = Text(PARAGRAPHS)


FULL = "\n".join(text for _, text in PARAGRAPHS)


QUIET = "quiet river"


# Where each "quiet river" is in the whole text: one in k0, two in k1, one in k2.
EVERY = [i for i in range(len(FULL)) if FULL.startswith(QUIET, i)]


def at(start: int, end: int) -> Target:
    return TEXT.target(start, end)


def test_the_text_maps_both_ways():
    assert len(EVERY) == 4
    assert TEXT.full == FULL
    second = EVERY[1]
    assert at(second, second + len(QUIET)) == Target(
        "k1", second - 36, "k1", second - 36 + len(QUIET), QUIET
    )
    assert TEXT.offset("k1", 0) == 36
    assert TEXT.offset("k1", 1000) is None
    assert TEXT.offset("nope", 0) is None
    # A span over the separator, and one that ends just after it.
    assert at(30, 40) == Target("k0", 30, "k1", 4, FULL[30:40])
    assert at(30, 36) == Target("k0", 30, "k1", 0, FULL[30:36])


def test_keys_place_the_quote_where_they_say():
    start = EVERY[2] - 36  # the second "quiet river" in k1
    selector = ParsedSelector(
        exact=QUIET, start_key="k1", start_offset=start, end_key="k1", end_offset=start + 11
    )
    assert place(selector, TEXT) == at(EVERY[2], EVERY[2] + 11)


def test_keys_without_a_quote_are_trusted():
    selector = ParsedSelector(start_key="k0", start_offset=4, end_key="k0", end_offset=9)
    assert place(selector, TEXT) == Target("k0", 4, "k0", 9, "quiet")


def test_keys_whose_words_differ_give_way_to_the_quote():
    selector = ParsedSelector(
        exact="the mill", start_key="k2", start_offset=0, end_key="k2", end_offset=8
    )
    start = FULL.index("the mill")
    assert place(selector, TEXT) == at(start, start + 8)


def test_unknown_keys_give_way_to_the_quote():
    selector = ParsedSelector(
        exact="long way", start_key="gone", start_offset=0, end_key="gone", end_offset=8
    )
    start = FULL.index("long way")
    assert place(selector, TEXT) == at(start, start + 8)


@pytest.mark.parametrize("occurrence", range(4))
def test_the_position_picks_among_repeats(occurrence):
    start = EVERY[occurrence]
    selector = ParsedSelector(exact=QUIET, start=start, end=start + len(QUIET))
    assert place(selector, TEXT) == at(start, start + len(QUIET))


def test_a_wrong_position_gives_way_to_the_quote():
    selector = ParsedSelector(exact="the hills", start=3, end=12)
    start = FULL.index("the hills")
    assert place(selector, TEXT) == at(start, start + 9)


def test_a_position_past_the_end_is_ignored():
    selector = ParsedSelector(exact="the hills", start=5000, end=5009)
    assert place(selector, TEXT).exact == "the hills"


def test_white_space_and_line_breaks_are_forgiven():
    selector = ParsedSelector(exact="runs   past\nthe\r\n mill")
    start = FULL.index("runs past the mill")
    placed = place(selector, TEXT)
    assert placed == at(start, start + len("runs past the mill"))
    assert placed.exact == "runs past the mill"  # the document's words, not the file's


def test_a_quote_over_two_paragraphs_is_found_whatever_breaks_them():
    selector = ParsedSelector(exact="the mill.\n\n\nUnder the bridge")
    placed = place(selector, TEXT)
    assert (placed.start_key, placed.end_key) == ("k0", "k1")
    assert placed.exact == "the mill.\nUnder the bridge"


@pytest.mark.parametrize("occurrence", range(4))
def test_context_decides_among_repeats(occurrence):
    """The prefix and suffix pick one, even with a position that points at another."""
    start = EVERY[occurrence]
    end = start + len(QUIET)
    misleading = EVERY[(occurrence + 1) % 4]
    selector = ParsedSelector(
        exact=QUIET,
        prefix=FULL[max(0, start - 12) : start],
        suffix=FULL[end : end + 12],
        start=misleading + 1,  # off by one: the position step does not take it
        end=misleading + 1 + len(QUIET),
    )
    assert place(selector, TEXT) == at(start, end)


def test_without_context_the_nearest_to_the_position_wins():
    selector = ParsedSelector(exact=QUIET, start=EVERY[3] - 5, end=EVERY[3] + 6)
    assert place(selector, TEXT) == at(EVERY[3], EVERY[3] + len(QUIET))


def test_without_context_or_position_the_first_wins():
    assert place(ParsedSelector(exact=QUIET), TEXT) == at(EVERY[0], EVERY[0] + len(QUIET))


def test_a_quote_with_spaces_at_its_ends_keeps_them_where_the_text_has_them():
    start = FULL.index(" runs past ")
    selector = ParsedSelector(exact=" runs past ", start=start, end=start + 11)
    assert place(selector, TEXT).exact == " runs past "


def test_nothing_to_look_for():
    assert place(ParsedSelector(), TEXT) is None
    assert place(ParsedSelector(exact="   "), TEXT) is None


def test_a_quote_changed_by_two_characters_is_placed_approximately():
    words = "At the sea the quiet river ends its long way"
    changed = words.replace("sea", "see").replace("long", "lang")
    placed = place(ParsedSelector(exact=changed), TEXT)
    start = FULL.index(words)
    assert placed == at(start, start + len(words))
    assert place(ParsedSelector(exact=changed), TEXT, fuzzy=False) is None


def test_an_approximate_quote_far_from_a_wrong_position_is_still_found():
    """Another page's offsets (or none) must not hide a near-perfect quote late in a long
    text."""
    filler = [(f"f{n}", f"Filler paragraph number {n} with nothing to say.") for n in range(60)]
    text = Text([*filler, ("end", "Here at last the quiet river meets the open sea.")])
    words = "the quiet river meets the open sea"
    start = text.full.index(words)
    for hint in (None, 0, 10):
        selector = ParsedSelector(
            exact=words.replace("meets", "meats"), start=hint, end=None if hint is None else 40
        )
        assert place(selector, text) == text.target(start, start + len(words)), hint


@pytest.mark.parametrize(
    "far",
    [
        "Xt thX sXa thX quXet rXver Xnds Xts lXng wXy",  # every few characters wrong
        "A completely different sentence of words",
        "qu1et r",  # too short to tell a near match from chance
    ],
)
def test_a_quote_too_different_is_not_placed(far):
    assert place(ParsedSelector(exact=far), TEXT) is None
