"""Finding where an imported annotation belongs: paragraph keys, then the position, then the
quote (white space forgiven, context deciding among repeats), then the quote approximately.
Pure: no database."""

from __future__ import annotations

import pytest

from annotations.anchoring import Target, Text, place
from annotations.jsonld import ParsedSelector

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


# 1. Paragraph keys ------------------------------------------------------------------------------


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


# 2. Position ------------------------------------------------------------------------------------


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


# 3. The quote -----------------------------------------------------------------------------------


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


# 4. Approximately -------------------------------------------------------------------------------


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
