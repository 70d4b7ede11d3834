"""A newcomer opens the demo in Chromium and follows a paragraph number link."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from reader.models import Document

pytestmark = pytest.mark.django_db(transaction=True)


def test_paragraph_number_link_scrolls_to_and_targets_its_paragraph(live_server, page):
    call_command("load_demo", verbosity=0)
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Reading Together: A Short Guide").click()
    page.wait_for_selector("article.document h1")

    doc = Document.objects.get()
    paragraphs = list(doc.current_revision.paragraphs.order_by("position"))
    # Every paragraph kind of the demo is on the page.
    kinds = {p.kind for p in paragraphs}
    assert {"heading", "paragraph", "blockquote", "list_item"} <= kinds
    target = paragraphs[-2]
    anchor = f"#p-{target.key}"
    assert not page.locator(anchor).is_visible() or not _in_viewport(page, anchor)

    page.get_by_role("link", name=f"Paragraph {target.number}", exact=True).click()
    page.wait_for_function("(sel) => location.hash === sel", arg=anchor)
    page.wait_for_function("(sel) => document.querySelector(sel).matches(':target')", arg=anchor)
    page.wait_for_function(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.top < window.innerHeight; }""",
        arg=anchor,
    )
    assert page.evaluate(f"document.querySelector('{anchor} .ptext').textContent") == target.text


def test_permalink_route_lands_on_the_paragraph(live_server, page):
    call_command("load_demo", verbosity=0)
    doc = Document.objects.get()
    target = doc.current_revision.paragraphs.order_by("-position")[1]
    page.set_viewport_size({"width": 390, "height": 700})  # a phone
    page.goto(f"{live_server.url}/documents/{doc.slug}/p/{target.key}/")
    assert page.url.endswith(f"/documents/{doc.slug}/#p-{target.key}")
    page.wait_for_function(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.top < window.innerHeight; }""",
        arg=f"#p-{target.key}",
    )
    # No sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )
