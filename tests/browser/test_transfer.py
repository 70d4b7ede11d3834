"""Readers bring notes in and take them away in Chromium: a JSON-LD import with its report, an
imported note whose words were not found attached by hand (mouse and keyboard), and a Markdown
export downloaded from the document page."""

from __future__ import annotations

import json

import pytest

from annotations.models import Annotation
from annotations.transfer import importing
from reader.services import document_import
from tests.browser.helpers import log_in, log_in_with_cookie, marks_by_annotation, select_words
from tests.browser.helpers import toolbar as selection_toolbar
from tests.factories import UserFactory, make_annotation

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = [
    "The quiet river runs past the lantern at night, and nobody on the bank says a word.",
    "A silver morning finds the careful reader at the window with a patient notebook.",
]
LOST_QUOTE = "words that appear nowhere in this text"


@pytest.fixture
def doc():
    return document_import(
        source="\n\n".join(TEXTS),
        fmt="markdown",
        title="Margins at Dusk",
        author="A. Reader",
    )


def keys(document) -> list[str]:
    return list(
        document.current_revision.paragraphs.order_by("position").values_list("key", flat=True)
    )


def annotation(source_id: str, quote: str, body: str) -> dict:
    return {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": source_id,
        "type": "Annotation",
        "creator": {"type": "Person", "name": "Ada"},
        "body": {"type": "TextualBody", "value": body, "format": "text/markdown"},
        "target": {
            "source": "https://elsewhere.example/margins",
            "selector": {"type": "TextQuoteSelector", "exact": quote},
        },
    }


FILE = json.dumps(
    [
        annotation("urn:test:placed", "careful reader", "Found in the text."),
        annotation("urn:test:lost", LOST_QUOTE, "Lost on the way."),
    ]
).encode()


def import_with_an_orphan(reader, doc) -> Annotation:
    """Arranged without the browser: the file above, imported by `reader`; returns the orphan."""
    importing.annotations_import(importer=reader, document=doc, raw=FILE)
    return Annotation.objects.get(kind=Annotation.Kind.ORPHAN)


def open_attach_banner(page):
    """The reading page in attach mode: its banner, shown and focused."""
    banner = page.get_by_role("status").filter(has_text="Select the words for the imported note")
    banner.wait_for()
    assert page.evaluate("document.activeElement.classList.contains('attach-banner')")
    return banner


def assert_attached(page, orphan: Annotation, key: str, words: str) -> None:
    """The server's redirect lands on the paragraph with the new mark; the orphans list is empty."""
    page.wait_for_url(f"**{orphan.document.get_absolute_url()}#p-{key}")
    page.wait_for_selector(f"#t-{key} mark[data-annotation='{orphan.pk}']")
    assert marks_by_annotation(page, key)[str(orphan.pk)] == words
    assert page.get_by_text("The note is attached to the words you selected.").is_visible()
    orphan.refresh_from_db()
    assert orphan.kind == Annotation.Kind.SPAN
    assert (orphan.exact, orphan.start_key, orphan.body) == (words, key, "Lost on the way.")

    page.goto(f"{page.url.split('#')[0]}orphans/")
    assert page.get_by_text("None: every note you imported here has its place.").is_visible()
    assert page.get_by_role("link", name="Attach to words").count() == 0


# (a) -----------------------------------------------------------------------------------------


def test_import_report_then_attach_the_orphan_with_the_mouse(live_server, page, doc):
    reader = UserFactory()
    log_in(page, live_server, reader)
    page.goto(f"{live_server.url}{doc.get_absolute_url()}")
    page.get_by_role("link", name="Import annotations").click()

    page.get_by_label("W3C Web Annotation JSON-LD file").set_input_files(
        {"name": "notes.jsonld", "mimeType": "application/ld+json", "buffer": FILE}
    )
    page.get_by_label("Who may see the imported notes").select_option(label="Only me")
    page.get_by_role("button", name="Import").click()

    report = page.get_by_role("status").filter(has_text="Imported")
    report.wait_for()
    assert report.get_by_role("listitem").filter(has_text="placed in the text").inner_text() == (
        "1 placed in the text"
    )
    assert "1 not placed" in report.inner_text()
    assert LOST_QUOTE in report.inner_text()

    placed = Annotation.objects.get(kind=Annotation.Kind.SPAN)
    orphan = Annotation.objects.get(kind=Annotation.Kind.ORPHAN)
    assert (placed.author, orphan.author) == (reader, reader)

    report.get_by_role("link", name="Back to the document").click()
    second = keys(doc)[1]
    page.wait_for_selector(f"#t-{second} mark[data-annotation]")
    assert marks_by_annotation(page, second) == {str(placed.pk): "careful reader"}
    assert page.locator("mark[data-annotation]").count() == 1

    page.get_by_role("link", name="Imported notes without a place").click()
    page.locator("blockquote", has_text=LOST_QUOTE).wait_for()
    page.get_by_role("link", name="Attach to words").click()
    open_attach_banner(page)

    first = keys(doc)[0]
    assert select_words(page, first, "lantern at night") == "lantern at night"
    bar = selection_toolbar(page)
    # Attaching is offered beside the usual tools, which stay available.
    for name in ("Attach here", "Highlight", "Note"):
        assert bar.get_by_role("button", name=name, exact=True).is_visible()
    bar.get_by_role("button", name="Attach here").click()

    assert_attached(page, orphan, first, "lantern at night")


# (b) -----------------------------------------------------------------------------------------


def tab_to(page, predicate_js: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate_js}")


def test_attach_the_orphan_with_the_keyboard_only(live_server, browser, doc):
    reader = UserFactory()
    orphan = import_with_an_orphan(reader, doc)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    log_in_with_cookie(context, live_server, reader)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}{doc.get_absolute_url()}orphans/")
        tab_to(page, "el.textContent.startsWith('Attach to words')")
        page.keyboard.press("Enter")
        open_attach_banner(page)

        tab_to(page, "el.getAttribute('aria-label') === 'Annotate paragraph 1'")
        page.keyboard.press("Enter")  # "The"
        page.keyboard.press("ArrowRight")  # "quiet"
        page.keyboard.press("Shift+ArrowRight")  # "quiet river"
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('quiet river')"
        )
        page.keyboard.press("Enter")
        selection_toolbar(page)
        assert page.evaluate("document.activeElement.textContent") == "Attach here"
        page.keyboard.press("Enter")

        assert_attached(page, orphan, keys(doc)[0], "quiet river")
    finally:
        context.close()


def test_cancel_leaves_attach_mode(live_server, page, doc):
    reader = UserFactory()
    orphan = import_with_an_orphan(reader, doc)
    log_in(page, live_server, reader)
    page.goto(f"{live_server.url}{doc.get_absolute_url()}?attach={orphan.pk}")
    open_attach_banner(page).get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}{doc.get_absolute_url()}")
    select_words(page, keys(doc)[0], "quiet river")
    bar = selection_toolbar(page)
    assert bar.get_by_role("button", name="Attach here").count() == 0
    assert bar.get_by_role("button", name="Highlight", exact=True).is_visible()


# (c) -----------------------------------------------------------------------------------------


def test_markdown_export_from_the_document_page(live_server, page, doc, tmp_path):
    reader = UserFactory()
    make_annotation(
        author=reader, document=doc, position=1, quote="careful reader", body="Who is *this*?"
    )
    log_in(page, live_server, reader)
    page.goto(f"{live_server.url}{doc.get_absolute_url()}")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Markdown").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".md")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text(encoding="utf-8")

    front_matter = text.split("---\n")[1]
    assert 'title: "Margins at Dusk"' in front_matter
    assert 'author: "A. Reader"' in front_matter
    assert "exported: " in front_matter
    paragraph_url = f"{live_server.url}/documents/{doc.slug}/p/{keys(doc)[1]}/"
    assert f"> careful reader\n>\n> — [¶2]({paragraph_url})" in text
    assert "Who is *this*?" in text
