"""The pure parts of search: snippets as HTML, what a query asks for, the form's checks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.search.query import START, STOP, SearchPage, SearchQuery, snippet_html


def test_snippet_sentinels_become_marks():
    assert snippet_html(f"a {START}river{STOP} runs") == "a <mark>river</mark> runs"


def test_snippet_escapes_any_angle_bracket_left():
    # ts_headline only sees text escaped in SQL; this is the second belt.
    html = snippet_html(f"<script>{START}x{STOP}</script>")
    assert html == "&lt;script&gt;<mark>x</mark>&lt;/script&gt;"


@given(st.text())
def test_the_only_tags_in_a_snippet_are_marks(text):
    html = str(snippet_html(text.replace(START, "").replace(STOP, "")))
    assert "<" not in html and ">" not in html


def test_total_says_when_it_is_a_floor():
    page = SearchPage(results=[], total=1200, page=1, per_page=20, has_next=True, capped=True)
    assert page.total_display == "1,200+"
    assert SearchPage([], 7, 1, 20, False).total_display == "7"


@pytest.mark.parametrize(
    ("filters", "notes", "replies", "text"),
    [
        ({}, True, True, True),
        ({"kind": "notes"}, True, False, False),
        ({"kind": "replies"}, False, True, False),
        ({"kind": "text"}, False, False, True),
        ({"document": "a-book"}, True, True, True),
        # The document's text has no author, group, tag or date.
        ({"author": "ann"}, True, True, False),
        ({"group": "club"}, True, True, False),
        ({"tag": "theme"}, True, True, False),
        ({"since": date(2024, 1, 1)}, True, True, False),
        ({"kind": "text", "until": date(2024, 1, 1)}, False, False, False),
    ],
)
def test_which_kinds_a_query_searches(filters, notes, replies, text):
    query = SearchQuery(q="river", **filters)
    assert (query.wants_notes, query.wants_replies, query.wants_text) == (notes, replies, text)
