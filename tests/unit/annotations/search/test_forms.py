"""The search form: parameters into a query, and errors that name them."""

from __future__ import annotations

from datetime import date

from annotations.search.forms import SearchForm
from annotations.search.query import SearchQuery


def test_form_makes_a_query():
    form = SearchForm(
        {
            "q": "  quiet river ",
            "document": "a-book",
            "tag": "#Key Idea",
            "kind": "notes",
            "since": "2024-05-01",
            "until": "2024-05-31",
            "page": "3",
            "per_page": "50",
        }
    )
    assert form.is_valid(), form.errors
    assert form.search_query() == SearchQuery(
        q="quiet river",
        document="a-book",
        tag="key-idea",
        kind="notes",
        since=date(2024, 5, 1),
        until=date(2024, 5, 31),
    )
    assert (form.page_number, form.page_size) == (3, 50)


def test_form_defaults():
    form = SearchForm({"q": "river"})
    assert form.is_valid()
    assert form.search_query() == SearchQuery(q="river")
    assert (form.page_number, form.page_size) == (1, 20)


def test_form_errors_name_their_parameter():
    form = SearchForm({"q": "river", "kind": "poems", "since": "May"})
    assert not form.is_valid()
    assert form.error_text() == (
        "kind: Search in one of: all, notes, replies, text (not \u201cpoems\u201d). "
        "since: Give the start date as YYYY-MM-DD."
    )


def test_form_refuses_a_nul_character():
    form = SearchForm({"q": "river\x00"})
    assert not form.is_valid()
