"""The reading page and paragraph permalinks, as a reader meets them."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reader.services import document_import
from tests.factories import make_document

pytestmark = pytest.mark.django_db


def test_reading_page_has_every_paragraph_with_anchor_and_number_link(client):
    doc = make_document(paragraphs=25)
    paragraphs = list(doc.current_revision.paragraphs.all())
    response = client.get(doc.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    for p in paragraphs:
        assert f'id="p-{p.key}"' in html
        assert f'href="#p-{p.key}" aria-label="Paragraph {p.number}">{p.number}</a>' in html
    # Headings render as headings (one level below the title), in document order.
    assert re.search(r'<h2 class="ptext" id="t-[a-z0-9-]+">Part 1</h2>', html)
    assert html.index(f'id="p-{paragraphs[3].key}"') < html.index(f'id="p-{paragraphs[4].key}"')


def test_reading_page_renders_quotes_lists_and_code(client):
    source = (
        "# Title\n\nIntro *with* emphasis.\n\n> A quoted line.\n\n"
        "1. First\n2. Second\n   - nested\n\n- plain item\n\n```\ncode  here\n```\n"
    )
    document = document_import(source=source, fmt="markdown", title="Kinds")
    html = client.get(document.get_absolute_url()).content.decode()
    assert '<blockquote class="para kind-blockquote"' in html
    assert "<em>with</em>" in html
    # The ordered list holds its nested list inside its second item, then a separate list.
    body = html[html.index('<div class="document-body">') :]
    assert re.search(
        r'<ol class="plist"><li[^>]*>.*First.*</li><li[^>]*>.*Second.*'
        r'<ul class="plist"><li[^>]*>.*nested.*</li></ul></li></ol>'
        r'<ul class="plist"><li[^>]*>.*plain item.*</li></ul>',
        body,
        re.S,
    )
    assert re.search(r'<pre class="ptext" id="t-[a-z0-9-]+"><code>code  here</code></pre>', body)


def test_reading_page_query_count_does_not_grow_with_the_document(client, django_user_model):
    small = make_document(paragraphs=5, title="Small")
    large = make_document(paragraphs=600, title="Large")
    counts = []
    for doc in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(doc.get_absolute_url()).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5
    # Logged in, the session, the user and their groups (for the layers and the page cache's
    # key) add their own lookups, still constant.
    client.force_login(django_user_model.objects.create_user("reader"))
    logged, again = [], []
    for doc in (small, large):
        for found in (logged, again):
            with CaptureQueriesContext(connection) as queries:
                client.get(doc.get_absolute_url())
            found.append(len(queries))
    assert logged[0] == logged[1] <= 9
    # Read again, the page comes from the cache: no paragraphs, no annotations.
    assert again[0] == again[1] == logged[0] - 2


def test_unknown_document_is_a_clean_404(client):
    response = client.get("/documents/no-such-thing/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_paragraph_permalink_lands_on_the_paragraph(client):
    doc = make_document(paragraphs=6)
    p = doc.current_revision.paragraphs.get(position=4)
    response = client.get(reverse("paragraph", kwargs={"slug": doc.slug, "key": p.key}))
    assert response.status_code == 302
    assert response["Location"] == f"{doc.get_absolute_url()}#p-{p.key}"


def test_unknown_paragraph_key_is_a_404(client):
    doc = make_document(paragraphs=3)
    response = client.get(reverse("paragraph", kwargs={"slug": doc.slug, "key": "nope"}))
    assert response.status_code == 404


def test_pages_refuse_the_wrong_method(client):
    doc = make_document(paragraphs=2)
    assert client.post(reverse("library")).status_code == 405
    assert client.post(doc.get_absolute_url()).status_code == 405
