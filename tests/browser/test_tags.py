"""Tags in Chromium: the note editor suggests existing tags, and a tag on My notes leads to its
page."""

from __future__ import annotations

import pytest

from reader.services import document_import
from tests.browser.helpers import log_in_with_cookie, select_words, toolbar
from tests.factories import UserFactory, make_annotation

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "The quiet river runs past the lantern at night, and nobody on the bank says a word."


def test_the_editor_suggests_tags_and_tag_links_lead_to_the_tag_page(live_server, page):
    reader = UserFactory(username="reader")
    document = document_import(
        source=f"{TEXT}\n\nA second paragraph.", fmt="markdown", title="Dusk"
    )
    key = document.current_revision.paragraphs.order_by("position").first().key
    make_annotation(
        author=reader,
        document=document,
        position=0,
        quote="quiet river",
        body="Calm.",
        tags="metaphor",
    )
    log_in_with_cookie(page.context, live_server, reader)

    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    select_words(page, key, "lantern at night")
    toolbar(page).get_by_role("button", name="Note", exact=True).click()
    tags = page.locator("#panel").get_by_role("combobox", name="Tags")
    tags.wait_for()
    # The start of an existing tag, after another tag: the suggestion is for the last item.
    tags.fill("light, ")
    tags.press_sequentially("Met")
    page.locator('#tag-suggestions option[value="metaphor"]').wait_for(state="attached")

    # Choosing it: the browser puts the option's value in the field and fires "input"
    # (Chromium's datalist popup is not drivable headless); only the last item is replaced.
    tags.evaluate(
        """(el) => { el.value = "metaphor";
                     el.dispatchEvent(new Event("input", { bubbles: true })); }"""
    )
    assert tags.input_value() == "light, metaphor, "

    page.goto(f"{live_server.url}/notes/")
    page.get_by_role("link", name="#metaphor").click()
    page.wait_for_url(f"{live_server.url}/tags/metaphor/")
    assert page.get_by_role("heading", name="Notes tagged #metaphor").is_visible()
    assert page.locator(".note-body", has_text="Calm.").is_visible()
