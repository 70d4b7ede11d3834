"""Selectors <-> paragraph offsets: checking a target against the text, and finding where a
quote belongs in it. Pure functions: no database, no requests.

A target is a span from (start paragraph key, offset) to (end paragraph key, offset); offsets
count Unicode code points of the paragraphs' canonical text (Python's str indexing). The
quoted `exact` text of a span over several paragraphs joins their pieces with a newline.

Two steps, each here once:
- `anchor` checks a target a reader selected (or one `place` found) against the stored text and
  gives it its quote and context: the server is the judge of what was selected.
- `place` finds where an annotation made elsewhere belongs (another copy of the text,
  Hypothesis on a web page). It carries a quote with its prefix and suffix, often a position,
  and — when it came from Marginalia — the paragraph keys. They are tried from the most precise
  to the most forgiving:

  1. the paragraph keys and offsets, if the words there are the quote;
  2. the position in the whole text, if the words there are the quote;
  3. the quote itself, with any run of white space matching any other (a web page's line breaks
     are not ours); of several places, the one whose context and position agree best;
  4. the quote approximately (diff-match-patch's bitap search, as Hypothesis itself anchors), if
     the text has changed a little since — accepted only when it is close.

  What none of them places is an orphan: kept, and shown to its importer to attach by hand.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from diff_match_patch import diff_match_patch

CONTEXT = 32  # code points of prefix and suffix kept around the quote
PARAGRAPH_SEPARATOR = "\n"


class AnchorError(ValueError):
    """A target that does not fit the text; str(exc) says why, for the reader."""


@dataclass(frozen=True, slots=True)
class Target:
    start_key: str
    start_offset: int
    end_key: str
    end_offset: int
    exact: str


@dataclass(frozen=True, slots=True)
class Anchored:
    start_key: str
    start_offset: int
    start_position: int
    end_key: str
    end_offset: int
    end_position: int
    exact: str
    prefix: str
    suffix: str

    def fields(self) -> dict[str, str | int]:
        """The annotation's place as its model fields (they have these names)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ParagraphText:
    position: int
    text: str


def anchor(target: Target, paragraphs: Mapping[str, ParagraphText], order: list[str]) -> Anchored:
    """Check `target` against the stored text and return it with its quote and context.

    `paragraphs` maps key -> (position, text) for the revision; `order` lists keys by position.
    The server is the judge: the quote is recomputed from the offsets and must equal the one the
    client sent.
    """
    start = paragraphs.get(target.start_key)
    end = paragraphs.get(target.end_key)
    if start is None or end is None:
        raise AnchorError("The selection points at a paragraph that is not in this document.")
    if target.start_offset < 0 or target.end_offset < 0:
        raise AnchorError("The selection's offsets cannot be negative.")
    if target.start_offset > len(start.text) or target.end_offset > len(end.text):
        raise AnchorError("The selection runs past the end of its paragraph.")
    if (start.position, target.start_offset) >= (end.position, target.end_offset):
        raise AnchorError("The selection is empty or runs backwards: select some words.")

    pieces = []
    for position in range(start.position, end.position + 1):
        text = paragraphs[order[position]].text
        lo = target.start_offset if position == start.position else 0
        hi = target.end_offset if position == end.position else len(text)
        pieces.append(text[lo:hi])
    exact = PARAGRAPH_SEPARATOR.join(pieces)
    if not exact.strip():
        raise AnchorError("The selection holds only spaces: select some words.")
    if exact != target.exact:
        raise AnchorError(
            "The selected words do not match the text at that place. Reload the page and "
            "select them again."
        )
    return Anchored(
        start_key=target.start_key,
        start_offset=target.start_offset,
        start_position=start.position,
        end_key=target.end_key,
        end_offset=target.end_offset,
        end_position=end.position,
        exact=exact,
        prefix=start.text[max(0, target.start_offset - CONTEXT) : target.start_offset],
        suffix=end.text[target.end_offset : target.end_offset + CONTEXT],
    )


def spans_in_paragraph(
    position: int, text_length: int, start: tuple[int, int], end: tuple[int, int]
) -> tuple[int, int] | None:
    """The part of a (start_position, start_offset)-(end_position, end_offset) span that falls
    in the paragraph at `position`, as offsets into it; None if it misses the paragraph."""
    if position < start[0] or position > end[0]:
        return None
    lo = start[1] if position == start[0] else 0
    hi = end[1] if position == end[0] else text_length
    lo, hi = min(lo, text_length), min(hi, text_length)
    return (lo, hi) if lo < hi else None


# Placing a quote made elsewhere ---------------------------------------------------------------


class QuoteSelector(Protocol):
    """What `place` reads of a parsed W3C selector (annotations.jsonld.ParsedSelector)."""

    exact: str
    prefix: str
    suffix: str
    start: int | None
    end: int | None
    start_key: str
    start_offset: int | None
    end_key: str
    end_offset: int | None


MAX_CANDIDATES = 500
FUZZY_PATTERN = 32  # bitap searches at most this many characters at once
FUZZY_MAX_ERRORS = 0.2  # of the quote's length
# Approximate search looks only near where the quote's words are: at most MAX_WINDOWS places,
# found by ANCHOR_WORDS of its words (each counted at OCCURRENCES_PER_WORD places at most).
ANCHOR_WORDS = 8
OCCURRENCES_PER_WORD = 200
VOTE_BUCKET = 16
MAX_WINDOWS = 3
WINDOW_MARGIN = 64
# A quote with no word of four letters or more is searched for in the whole text only if the
# text is short (the character-level search is slow in Python).
WHOLE_TEXT_LIMIT = 50_000


def _squash(text: str) -> str:
    return " ".join(text.split())


class Text:
    """A revision's paragraphs as one string, and the way back to (key, offset)."""

    def __init__(self, paragraphs: Sequence[tuple[str, str]]) -> None:
        self.keys = [key for key, _ in paragraphs]
        self.texts = [text for _, text in paragraphs]
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.starts: list[int] = []
        offset = 0
        for text in self.texts:
            self.starts.append(offset)
            offset += len(text) + len(PARAGRAPH_SEPARATOR)
        self.full = PARAGRAPH_SEPARATOR.join(self.texts)

    def target(self, start: int, end: int) -> Target:
        """The span full[start:end] as a paragraph target; `end` is exclusive."""
        first = bisect_right(self.starts, start) - 1
        last = bisect_right(self.starts, max(start, end - 1)) - 1
        if end - self.starts[last] > len(self.texts[last]):
            # Ends just after a separator: that is offset 0 of the next paragraph.
            last += 1
        return Target(
            start_key=self.keys[first],
            start_offset=start - self.starts[first],
            end_key=self.keys[last],
            end_offset=end - self.starts[last],
            exact=self.full[start:end],
        )

    def offset(self, key: str, offset: int) -> int | None:
        i = self.index.get(key)
        if i is None or offset > len(self.texts[i]):
            return None
        return self.starts[i] + offset


def _agrees(text: Text, start: int, end: int, quote: str) -> bool:
    return 0 <= start < end <= len(text.full) and _squash(text.full[start:end]) == _squash(quote)


def _trimmed(text: Text, start: int, end: int) -> tuple[int, int]:
    while start < end and text.full[start].isspace():
        start += 1
    while end > start and text.full[end - 1].isspace():
        end -= 1
    return start, end


def _found(text: Text, start: int, end: int, quote: str) -> Target:
    """The span at a place that agrees with the quote: exactly the quote when the text there is
    the quote, spaces at its ends included; trimmed when only the white space differs."""
    if quote and text.full[start:end] == quote:
        return text.target(start, end)
    return text.target(*_trimmed(text, start, end))


def place(selector: QuoteSelector, text: Text, *, fuzzy: bool = True) -> Target | None:
    quote = selector.exact
    # 1. Paragraph keys (from Marginalia), checked against the quote when there is one.
    if selector.start_key and selector.start_offset is not None:
        start = text.offset(selector.start_key, selector.start_offset)
        end = text.offset(selector.end_key, selector.end_offset or 0)
        fits = start is not None and end is not None and start < end
        if fits and (not quote or _agrees(text, start, end, quote)):
            return _found(text, start, end, quote)
    if not quote.strip():
        return None
    # 2. The position in the whole text.
    positioned = selector.start is not None and selector.end is not None
    if positioned and _agrees(text, selector.start, selector.end, quote):
        return _found(text, selector.start, selector.end, quote)
    # 3. The quote, white space forgiven; the best of several by context and position.
    pattern = re.compile(r"\s+".join(re.escape(word) for word in quote.split()))
    candidates = []
    for match in pattern.finditer(text.full):
        candidates.append(match.span())
        if len(candidates) >= MAX_CANDIDATES:
            break
    if candidates:
        return text.target(*max(candidates, key=lambda span: _score(selector, text, span)))
    # 4. Approximately.
    return _fuzzy(selector, text) if fuzzy else None


def _score(selector: QuoteSelector, text: Text, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    prefix, suffix = _squash(selector.prefix), _squash(selector.suffix)
    before = _squash(text.full[max(0, start - 2 * len(selector.prefix) - 8) : start])
    after = _squash(text.full[end : end + 2 * len(selector.suffix) + 8])
    context = _common_suffix(prefix, before) + _common_prefix(suffix, after)
    hint = selector.start if selector.start is not None else start
    return context, -abs(start - hint)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])


def _candidates(quote: str, full: str) -> list[int]:
    """Where an approximate quote may start: each distinctive word of the quote found in the
    text (a fast substring search) votes for the start it implies. The slow character-level
    search then only looks near the few places most words agree on."""
    words = [(m.group(), m.start()) for m in re.finditer(r"\w{4,}", quote)]
    if not words:
        return []
    step = max(1, len(words) // ANCHOR_WORDS)
    votes: Counter[int] = Counter()
    for word, at in words[::step][:ANCHOR_WORDS]:
        for n, match in enumerate(re.finditer(re.escape(word), full)):
            if n >= OCCURRENCES_PER_WORD:
                break
            votes[(match.start() - at) // VOTE_BUCKET] += 1
    return [bucket * VOTE_BUCKET for bucket, _ in votes.most_common(MAX_WINDOWS)]


def _fuzzy(selector: QuoteSelector, text: Text) -> Target | None:
    quote = _squash(selector.exact)
    if len(quote) < 8:
        return None  # too short to tell a near match from chance
    full = text.full
    starts = _candidates(quote, full)
    if not starts and len(full) <= WHOLE_TEXT_LIMIT:
        starts = [min(selector.start or 0, len(full))]
    best: tuple[int, int, int] | None = None  # (errors, start, end)
    for guess in starts:
        lo = max(0, guess - WINDOW_MARGIN)
        hi = min(len(full), guess + len(quote) + WINDOW_MARGIN + VOTE_BUCKET)
        found = _fuzzy_in(quote, full[lo:hi], guess - lo)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], found[1] + lo, found[2] + lo)
    if best is None:
        return None
    return text.target(best[1], best[2])


def _fuzzy_in(quote: str, window: str, hint: int) -> tuple[int, int, int] | None:
    """diff-match-patch's bitap search for `quote` in `window`: (errors, start, end) or None."""
    dmp = diff_match_patch()
    dmp.Match_Threshold = 0.3
    # The window is small and the hint a guess: distance only breaks ties.
    dmp.Match_Distance = 100 * max(1000, len(window))
    hint = max(0, min(hint, len(window)))
    start = dmp.match_main(window, quote[:FUZZY_PATTERN], hint)
    if start < 0:
        return None
    if len(quote) <= FUZZY_PATTERN:
        end = start + len(quote)
    else:
        tail = quote[-FUZZY_PATTERN:]
        tail_at = dmp.match_main(window, tail, start + len(quote) - FUZZY_PATTERN)
        if tail_at < start:
            return None
        end = tail_at + len(tail)
    end = min(end, len(window))
    while start < end and window[start].isspace():
        start += 1
    while end > start and window[end - 1].isspace():
        end -= 1
    if start >= end:
        return None
    errors = dmp.diff_levenshtein(dmp.diff_main(_squash(window[start:end]), quote, False))
    if errors > FUZZY_MAX_ERRORS * len(quote):
        return None
    return errors, start, end
