"""Reading together live, in Chromium: three readers on one page served by uvicorn (live streams
need ASGI). What a member of the group writes reaches the other member's page without a reload
and without moving their focus; an outsider's page shows nothing of it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from annotations.groups import services as group_services
from annotations.models import Annotation
from reader.services import document_import
from tests.asgi import uvicorn_server
from tests.browser.helpers import marks_by_annotation, select_words, toolbar
from tests.factories import UserFactory, make_annotation

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = [
    "The quiet river runs past the lantern at night, and nobody on the bank says a word.",
    "A silver morning finds the careful reader at the window with a patient notebook.",
    "Evidence gathers slowly in the margins, one question and one answer at a time.",
]
# What the pages record: every live event handed to the page, and whether it ever reloaded.
PROBE = """
window.__marker = "set before anything happened";
window.__live = [];
document.addEventListener("DOMContentLoaded", () => {
  document.querySelector("article.document")?.addEventListener("marginalia:live", (event) => {
    window.__live.push(event.detail);
  });
});
"""
NAVIGATIONS = "performance.getEntriesByType('navigation').length"


def open_as(browser, base: str, user, document):
    """A browser context of its own, logged in as `user` with a real session cookie, on the
    document's page. Returns (context, page)."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session,
                "domain": "127.0.0.1",
                "path": "/",
            }
        ]
    )
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(f"{base}{document.get_absolute_url()}")
    page.wait_for_selector("article.document .para")
    assert page.get_by_role("button", name="Log out").count() == 1
    return context, page


def stream_is_open(page) -> None:
    """The page's EventSource got its first presence summary (so its stream is subscribed)."""
    page.wait_for_function("document.getElementById('presence').textContent !== ''")


def count_label(page, key: str) -> str | None:
    count = page.locator(f"#s-{key} a.count")
    return count.get_attribute("aria-label") if count.count() else None


def live_ids(page) -> set[int]:
    return set(page.evaluate("window.__live.map((event) => event.annotation)"))


def test_group_members_see_marks_arrive_live_and_outsiders_see_nothing(browser):
    author, member, outsider = UserFactory(), UserFactory(), UserFactory()
    group = group_services.group_create(owner=author, name="Dusk readers")
    group_services.group_join(user=member, token=group.invite_token)
    doc = document_import(source="\n\n".join(TEXTS), fmt="markdown", title="Margins at Dusk")
    keys = list(doc.current_revision.paragraphs.order_by("position").values_list("key", flat=True))
    key = keys[2]
    # The author's latest note went to the group: the toolbar's Highlight takes that audience.
    earlier = make_annotation(
        author=author,
        document=doc,
        position=0,
        quote="quiet river",
        body="Earlier, for the group",
        visibility="group",
        group=group,
    )
    contexts = []
    with uvicorn_server() as base:
        try:
            for user in (author, member, outsider):
                contexts.append(open_as(browser, base, user, doc))
            (_, a_page), (_, b_page), (_, c_page) = contexts
            for page in (a_page, b_page, c_page):
                stream_is_open(page)
            assert marks_by_annotation(b_page, keys[0]) == {str(earlier.pk): "quiet river"}
            assert c_page.locator("mark[data-annotation]").count() == 0
            assert count_label(b_page, key) is None

            # The presence line on A's page counts the three readers.
            a_page.wait_for_function(
                "document.getElementById('presence').textContent.includes('3 reading now')"
            )

            # B is at the paragraph's Annotate button when things arrive.
            b_button = b_page.locator(f"#s-{key} .annotate")
            b_button.focus()
            focused = "document.activeElement.getAttribute('aria-label')"
            assert b_page.evaluate(focused) == "Annotate paragraph 3"

            # A highlights words with the mouse: the group's, like A's last note.
            assert select_words(a_page, key, "one question") == "one question"
            toolbar(a_page).get_by_role("button", name="Highlight", exact=True).click()
            a_page.locator(f"#t-{key} mark[data-annotation]").first.wait_for()
            highlight = Annotation.objects.get(exact="one question")
            assert (highlight.visibility, highlight.group_id) == ("group", group.pk)

            b_page.locator(f'#t-{key} mark[data-annotation="{highlight.pk}"]').wait_for()
            assert marks_by_annotation(b_page, key) == {str(highlight.pk): "one question"}
            b_page.wait_for_function(
                f"document.querySelector('#s-{key} a.count')?.getAttribute('aria-label') "
                "=== '1 highlight on paragraph 3'"
            )
            # B's focus stays on the (redrawn) Annotate button of that paragraph.
            b_page.wait_for_function(f"{focused} === 'Annotate paragraph 3'", timeout=2_000)

            # A writes a note for the group, choosing it in the editor.
            select_words(a_page, key, "the margins")
            toolbar(a_page).get_by_role("button", name="Note", exact=True).click()
            panel = a_page.locator("#panel")
            panel.get_by_role("textbox", name="Note").fill("Live: margins again.")
            panel.get_by_label("A group").check()
            panel.get_by_label("Group", exact=True).select_option(label="Dusk readers")
            panel.get_by_role("button", name="Save").click()
            panel.locator(".note.is-new").wait_for()
            note = Annotation.objects.get(exact="the margins")
            assert (note.visibility, note.group_id) == ("group", group.pk)

            b_page.locator(f'#t-{key} mark[data-annotation="{note.pk}"]').wait_for()
            b_page.wait_for_function(
                f"document.querySelector('#s-{key} a.count')?.getAttribute('aria-label') "
                "=== '1 note, 1 highlight on paragraph 3'"
            )
            assert marks_by_annotation(b_page, key) == {
                str(highlight.pk): "one question",
                str(note.pk): "the margins",
            }
            b_page.wait_for_function(f"{focused} === 'Annotate paragraph 3'", timeout=2_000)
            assert b_page.evaluate("document.activeElement.closest('.pside').id") == f"s-{key}"

            # Without a reload.
            assert b_page.evaluate(NAVIGATIONS) == 1
            assert b_page.evaluate("window.__marker") == "set before anything happened"
            assert {highlight.pk, note.pk} <= live_ids(b_page)

            # C's stream is open and live (presence reaches it), yet nothing of the group's
            # came: by now both events are on B's page, and C's stream had as long.
            c_page.wait_for_function(
                "document.getElementById('presence').textContent.includes('3 reading now')"
            )
            c_page.wait_for_timeout(500)
            assert c_page.locator("mark[data-annotation]").count() == 0
            assert count_label(c_page, key) is None
            assert live_ids(c_page) == set()
            assert "margins again" not in c_page.content()
            assert c_page.evaluate(NAVIGATIONS) == 1

            # A deletes the note through its panel (confirming), and it leaves B's page.
            a_page.once("dialog", lambda dialog: dialog.accept())
            a_page.locator(f"#note-{note.pk}").get_by_role("button", name="Delete").click()
            a_page.locator("#status", has_text="Note deleted").wait_for()
            b_page.locator(f'#t-{key} mark[data-annotation="{note.pk}"]').wait_for(state="detached")
            b_page.wait_for_function(
                f"document.querySelector('#s-{key} a.count')?.getAttribute('aria-label') "
                "=== '1 highlight on paragraph 3'"
            )
            assert marks_by_annotation(b_page, key) == {str(highlight.pk): "one question"}
            assert b_page.evaluate(NAVIGATIONS) == 1
            assert b_page.evaluate("window.__marker") == "set before anything happened"
            b_page.wait_for_function(f"{focused} === 'Annotate paragraph 3'", timeout=2_000)

            c_page.wait_for_timeout(300)
            assert live_ids(c_page) == set()
            assert c_page.locator("mark[data-annotation]").count() == 0
        finally:
            for context, _ in contexts:
                context.close()
