"""A search as a view makes it, outside any transaction: one read-only, repeatable-read
snapshot. (Apart from test_search.py, whose module-wide fixture holds a transaction open.)"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.search.query import SearchQuery, search
from reader.services import document_import
from tests.factories import make_annotation


@pytest.fixture
def book(author):
    text = "# Snapshot\n\nThe sandpiper runs along the shore.\n\nAnother line.\n"
    return document_import(source=text, fmt="markdown", title="Snapshot", imported_by=author)


def note(author, document, body: str, **fields):
    return make_annotation(
        author=author, document=document, position=1, start=0, end=7, body=body, **fields
    )


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_search_reads_one_snapshot(book, author, outsider):
    """Called as a view calls it (no transaction open), a search runs in one read-only,
    repeatable-read snapshot: the page's rows are read as the policy chose them, without
    asking it twice, and still only for those who may see them."""
    private = note(author, book, "A secret sandpiper.")
    public = note(author, book, "A public sandpiper.", visibility="public")
    with CaptureQueriesContext(connection) as captured:
        found = search(author, SearchQuery(q="sandpiper", kind="notes"))
    assert {r.annotation_id for r in found.results} == {private.pk, public.pk}
    statements = [q["sql"] for q in captured.captured_queries]
    assert statements[:2] == ["BEGIN", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"]
    details = [
        sql for sql in statements if "ts_headline" in sql and "annotations_annotation" in sql
    ]
    assert details and "annotations_membership" not in details[0]
    assert {
        r.annotation_id for r in search(outsider, SearchQuery(q="sandpiper", kind="notes")).results
    } == {public.pk}
