"""A reader searches from the header box, sees the match highlighted, and follows it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from annotations.notes import services as note_services
from reader.services import document_import
from tests.factories import sample_text

pytestmark = pytest.mark.django_db(transaction=True)


def test_header_search_highlights_the_match_and_leads_to_its_paragraph(live_server, page):
    # Short enough that the reading page's lazily laid-out paragraphs (content-visibility)
    # do not throw the scroll off: this test is about search, not about long documents.
    text = sample_text(12) + "\n\nAt the end of the pier the old lighthouse keeps its watch."
    document = document_import(source=text, fmt="markdown", title="The pier")
    target = document.current_revision.paragraphs.order_by("-position")[0]

    page.goto(live_server.url + "/")
    box = page.get_by_role("searchbox", name="Search")
    box.fill("lighthouses")
    box.press("Enter")
    page.wait_for_url("**/search/?q=lighthouses")

    expect(page.get_by_role("status")).to_contain_text("1 result")
    mark = page.locator(".search-snippet mark")
    expect(mark).to_have_text("lighthouse")
    # Highlighted: the mark is painted, unlike the words around it.
    background = mark.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")

    page.get_by_role("link", name=f"The pier, ¶{target.number}").click()
    anchor = f"#p-{target.key}"
    page.wait_for_function("(sel) => location.hash === sel", arg=anchor)
    assert page.url.startswith(f"{live_server.url}/documents/{document.slug}/")
    page.wait_for_function("(sel) => document.querySelector(sel).matches(':target')", arg=anchor)
    page.wait_for_function(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.top < window.innerHeight; }""",
        arg=anchor,
    )
    expect(page.locator(f"{anchor} .ptext")).to_contain_text("old lighthouse keeps its watch")


def test_a_note_found_by_search_opens_on_the_reading_page_with_its_mark_focused(live_server, page):
    from annotations.anchoring import Target
    from tests.browser.helpers import log_in
    from tests.factories import UserFactory

    reader = UserFactory(username="searcher")
    document = document_import(source=sample_text(40), fmt="markdown", title="The harbour")
    paragraph = document.current_revision.paragraphs.get(position=30)
    note = note_services.annotation_create(
        author=reader,
        document=document,
        target=Target(paragraph.key, 0, paragraph.key, 9, paragraph.text[:9]),
        body="The cormorant dries its wings here.",
    )
    log_in(page, live_server, reader)
    page.goto(live_server.url + "/search/?q=cormorant")
    page.get_by_role("link", name=f"The harbour, ¶{paragraph.number}").click()
    page.wait_for_url(f"**/documents/{document.slug}/?note={note.pk}#p-{paragraph.key}")
    mark = page.locator(f'mark[data-annotation="{note.pk}"]').first
    expect(mark).to_have_class(re.compile(r"\bis-current\b"))
    # The note's panel is open (and has the focus, as when the mark is clicked); closing it
    # brings the reader to the mark.
    expect(page.locator("#panel")).to_contain_text("The cormorant dries its wings here.")
    page.keyboard.press("Escape")
    expect(mark).to_be_focused()
