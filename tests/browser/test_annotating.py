"""Readers highlight and write notes in Chromium: with the mouse, with the keyboard, on a phone,
in study groups; and the database holds what they did."""

from __future__ import annotations

import re

import pytest

from annotations.anchoring import Target
from annotations.groups import services as group_services
from annotations.models import Annotation, Membership
from annotations.notes import services as note_services
from reader.models import Paragraph
from reader.services import document_import
from tests.browser.helpers import (
    focus_is_visible,
    log_in,
    log_in_with_cookie,
    marks_by_annotation,
    mouse_select,
    offset_of,
    select_words,
    toolbar,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# A woman scientist emoji (ZWJ sequence with a skin tone), then "Unicode" in Fraktur letters:
# every one of them outside the Basic Multilingual Plane but the joiner.
SCIENTIST = "\U0001f469\U0001f3fd\u200d\U0001f52c"
FRAKTUR = "".join(
    chr(0x1D51E + ord(c) - ord("a")) if c.islower() else chr(0x1D518) for c in "Unicode"
)
ASTRAL = f"Reading {SCIENTIST} with {FRAKTUR} friends makes sense together."
TEXTS = [
    "The quiet river runs past the lantern at night, and nobody on the bank says a word.",
    "A silver morning finds the careful reader at the window with a patient notebook.",
    "Evidence gathers slowly in the margins, one question and one answer at a time.",
    ASTRAL,
]


@pytest.fixture
def doc():
    return document_import(source="\n\n".join(TEXTS), fmt="markdown", title="Margins at Dusk")


def keys(document) -> list[str]:
    paragraphs = document.current_revision.paragraphs.order_by("position")
    return list(paragraphs.values_list("key", flat=True))


def open_document(page, live_server, document):
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    page.wait_for_selector("article.document .para")


def new_page(browser, live_server, user=None, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    context.set_default_timeout(10_000)
    if user is not None:
        log_in_with_cookie(context, live_server, user)
    return context, context.new_page()


# 1 -------------------------------------------------------------------------------------------


def test_mouse_highlight_marks_the_words_and_survives_a_reload(live_server, page, doc):
    reader = UserFactory()
    log_in(page, live_server, reader)  # the real login form
    open_document(page, live_server, doc)
    key = keys(doc)[0]

    selected = select_words(page, key, "river runs past")
    assert selected == "river runs past"
    toolbar(page).get_by_role("button", name="Highlight", exact=True).click()

    # Marked at once, without a reload.
    mark = page.locator(f"#t-{key} mark[data-annotation]")
    mark.first.wait_for()
    assert list(marks_by_annotation(page, key).values()) == ["river runs past"]
    assert page.locator("#toolbar").is_hidden()

    annotation = Annotation.objects.get()
    assert annotation.author == reader
    assert annotation.exact == "river runs past"
    assert (annotation.start_key, annotation.end_key) == (key, key)
    assert annotation.start_offset == TEXTS[0].index("river runs past")
    assert annotation.body == ""

    page.reload()
    page.wait_for_selector(f"#t-{key} mark[data-annotation]")
    assert marks_by_annotation(page, key) == {str(annotation.pk): "river runs past"}
    # Nowhere else.
    assert page.locator("mark[data-annotation]").count() == 1
    assert page.locator(f"#s-{key} a.count").get_attribute("aria-label") == (
        "1 highlight on paragraph 1"
    )


# 2 -------------------------------------------------------------------------------------------


def test_note_across_two_paragraphs_with_markdown_preview(live_server, browser, doc):
    reader = UserFactory()
    context, page = new_page(browser, live_server, reader)
    try:
        open_document(page, live_server, doc)
        first, second = keys(doc)[:2]
        start = offset_of(page, first, "lantern at night")
        end = offset_of(page, second, "careful reader") + len("careful reader")
        mouse_select(page, (first, start), (second, end))
        toolbar(page).get_by_role("button", name="Note", exact=True).click()

        panel = page.locator("#panel")
        editor = panel.get_by_role("textbox", name="Note")
        editor.wait_for()
        expected_exact = TEXTS[0][start:] + "\n" + TEXTS[1][:end]
        assert panel.locator("blockquote.quote").inner_text() == expected_exact
        editor.fill("Two paragraphs, **one thought**: see [the source](https://example.org).")

        preview = panel.locator(".markdownx-preview")
        preview.locator("strong", has_text="one thought").wait_for()
        assert preview.locator('a[href="https://example.org"]').inner_text() == "the source"

        panel.get_by_role("button", name="Save").click()
        body = panel.locator(".note.is-new .note-body")
        body.wait_for()
        assert body.locator("strong").inner_text() == "one thought"
        link = body.locator('a[href="https://example.org"]')
        assert link.inner_text() == "the source"
        assert "nofollow" in link.get_attribute("rel").split()

        annotation = Annotation.objects.get()
        assert annotation.exact == expected_exact
        assert (annotation.start_key, annotation.end_key) == (first, second)
        assert annotation.body.startswith("Two paragraphs, **one thought**")
        assert annotation.visibility == Annotation.Visibility.PRIVATE
        # Marks in both paragraphs, drawn at once.
        assert marks_by_annotation(page, first) == {str(annotation.pk): TEXTS[0][start:]}
        assert marks_by_annotation(page, second) == {str(annotation.pk): TEXTS[1][:end]}
    finally:
        context.close()


# 3 -------------------------------------------------------------------------------------------


def test_group_note_is_seen_by_members_only(live_server, browser, doc):
    author, member, outsider = UserFactory(), UserFactory(), UserFactory()
    group = group_services.group_create(owner=author, name="Dusk readers")
    group_services.group_join(user=member, token=group.invite_token)
    key = keys(doc)[2]
    contexts = []
    try:
        context, page = new_page(browser, live_server, author)
        contexts.append(context)
        open_document(page, live_server, doc)
        select_words(page, key, "one question and one answer")
        toolbar(page).get_by_role("button", name="Note", exact=True).click()
        panel = page.locator("#panel")
        panel.get_by_role("textbox", name="Note").fill("For the group: compare with chapter two.")
        panel.get_by_label("A group").check()
        panel.get_by_label("Group", exact=True).select_option(label="Dusk readers")
        panel.get_by_role("button", name="Save").click()
        panel.locator(".note.is-new").wait_for()

        annotation = Annotation.objects.get()
        assert annotation.visibility == Annotation.Visibility.GROUP
        assert annotation.group == group
        mark = f'#t-{key} mark[data-annotation="{annotation.pk}"]'
        count = f"#s-{key} a.count"

        context, page = new_page(browser, live_server, member)
        contexts.append(context)
        open_document(page, live_server, doc)
        assert page.locator(mark).inner_text() == "one question and one answer"
        assert page.locator(count).get_attribute("aria-label") == "1 note on paragraph 3"
        page.locator(mark).click()
        page.locator("#panel .note-body", has_text="compare with chapter two").wait_for()

        context, page = new_page(browser, live_server, outsider)
        contexts.append(context)
        open_document(page, live_server, doc)
        assert page.locator("mark[data-annotation]").count() == 0
        assert page.locator(count).count() == 0
        assert "compare with chapter two" not in page.content()
        response = page.goto(f"{live_server.url}/annotations/{annotation.pk}/")
        assert response.status == 404
        assert "compare with chapter two" not in page.content()
        # Nor through the paragraph's notes page.
        page.goto(f"{live_server.url}/documents/{doc.slug}/p/{key}/notes/")
        assert page.locator(".note").count() == 0
        assert "compare with chapter two" not in page.content()
    finally:
        for context in contexts:
            context.close()


# 4 -------------------------------------------------------------------------------------------


def tab_to(page, predicate_js: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate_js}")


def choose_words_with_the_keyboard(page, live_server, doc) -> str:
    """From page load, with the keyboard only: Tab to paragraph 1's Annotate button, choose
    "quiet river" (Enter, ArrowRight, Shift+ArrowRight), confirm with Enter. Returns its key."""
    open_document(page, live_server, doc)
    tab_to(page, "el.getAttribute('aria-label') === 'Annotate paragraph 1'")
    assert focus_is_visible(page)
    annotate = page.get_by_role("button", name="Annotate paragraph 1")
    assert annotate.evaluate("el => getComputedStyle(el).opacity") == "1"

    page.keyboard.press("Enter")  # the first word, "The"
    page.keyboard.press("ArrowRight")  # "quiet"
    page.keyboard.press("Shift+ArrowRight")  # "quiet river"
    page.wait_for_function("document.getElementById('status').textContent.includes('quiet river')")
    assert page.evaluate("window.getSelection().toString()") == "quiet river"
    page.keyboard.press("Enter")
    toolbar(page)
    assert page.evaluate("document.activeElement.textContent") == "Highlight"
    assert focus_is_visible(page)
    return keys(doc)[0]


def test_keyboard_only_highlight(live_server, browser, doc):
    reader = UserFactory()
    context, page = new_page(browser, live_server, reader)
    try:
        key = choose_words_with_the_keyboard(page, live_server, doc)
        page.keyboard.press("Enter")  # on "Highlight"
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('Highlight saved')"
        )
        annotation = Annotation.objects.get()
        assert annotation.exact == "quiet river"
        assert annotation.start_offset == TEXTS[0].index("quiet river")
        assert annotation.body == ""
        assert marks_by_annotation(page, key) == {str(annotation.pk): "quiet river"}
        # Focus goes back to the paragraph's (redrawn) Annotate button, visibly.
        page.wait_for_function(
            "document.activeElement.getAttribute('aria-label') === 'Annotate paragraph 1'"
        )
        assert focus_is_visible(page)
    finally:
        context.close()


def test_keyboard_only_note(live_server, browser, doc):
    reader = UserFactory()
    context, page = new_page(browser, live_server, reader)
    try:
        key = choose_words_with_the_keyboard(page, live_server, doc)
        tab_to(page, "el.textContent === 'Note'", limit=8)
        assert focus_is_visible(page)
        page.keyboard.press("Enter")
        page.wait_for_function("document.activeElement.tagName === 'TEXTAREA'")
        # The editor is ready (its live preview started) before a person types and moves on.
        page.wait_for_selector("#panel textarea[data-markdownx-init]", state="attached")
        page.keyboard.type("Chosen with the keyboard alone.")
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Save'", limit=20)
        assert focus_is_visible(page)
        page.keyboard.press("Enter")

        page.wait_for_function(
            "document.getElementById('status').textContent.includes('Note saved')"
        )
        assert "quiet river" in page.locator("#status").inner_text()
        annotation = Annotation.objects.get()
        assert annotation.exact == "quiet river"
        assert annotation.start_offset == TEXTS[0].index("quiet river")
        assert annotation.body == "Chosen with the keyboard alone."
        assert marks_by_annotation(page, key) == {str(annotation.pk): "quiet river"}
    finally:
        context.close()


# 5 -------------------------------------------------------------------------------------------


def test_offsets_count_code_points_after_emoji_and_astral_letters(live_server, browser, doc):
    reader = UserFactory()
    context, page = new_page(browser, live_server, reader)
    try:
        open_document(page, live_server, doc)
        key = keys(doc)[3]
        assert select_words(page, key, "friends makes") == "friends makes"
        toolbar(page).get_by_role("button", name="Highlight", exact=True).click()
        page.wait_for_selector(f"#t-{key} mark[data-annotation]")

        annotation = Annotation.objects.get()
        stored = Paragraph.objects.get(revision=doc.current_revision, key=key).text
        assert stored == ASTRAL
        assert annotation.exact == "friends makes"
        # Python indexes code points; the browser's UTF-16 index would be larger.
        assert annotation.start_offset == ASTRAL.index("friends")
        assert annotation.end_offset == ASTRAL.index("friends") + len("friends makes")
        assert offset_of(page, key, "friends") > ASTRAL.index("friends")
        assert marks_by_annotation(page, key) == {str(annotation.pk): "friends makes"}
    finally:
        context.close()


# 6 -------------------------------------------------------------------------------------------


def test_invite_link_brings_a_new_person_into_the_group(live_server, browser):
    owner = UserFactory()
    group = group_services.group_create(
        owner=owner, name="Night shift", description="We read late."
    )
    contexts = []
    try:
        context, page = new_page(browser, live_server, owner)
        contexts.append(context)
        page.goto(f"{live_server.url}{group.get_absolute_url()}")
        invite_url = page.get_by_role("textbox", name="Invite link").input_value()
        assert invite_url.endswith(f"/groups/join/{group.invite_token}/")

        context, page = new_page(browser, live_server)  # a stranger, not logged in
        contexts.append(context)
        page.goto(invite_url)
        assert page.get_by_role("heading", name="Join “Night shift”").is_visible()
        page.get_by_role("link", name="create an account").click()
        page.get_by_label("Username").fill("newcomer")
        page.get_by_label(re.compile(r"^Password\W*$")).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()

        page.wait_for_url(invite_url)
        assert not Membership.objects.filter(user__username="newcomer").exists()
        page.get_by_role("button", name="Join the group").click()
        page.wait_for_url(f"{live_server.url}{group.get_absolute_url()}")
        assert page.get_by_role("heading", name="Night shift", exact=True).is_visible()
        assert page.get_by_text("You joined “Night shift”.").is_visible()
        assert page.locator(".member-name", has_text="newcomer").is_visible()

        membership = Membership.objects.get(user__username="newcomer")
        assert membership.group == group
        assert membership.role == Membership.Role.MEMBER
    finally:
        for context in contexts:
            context.close()


# 7 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stale", ["text changed on the server", "page text tampered"])
def test_highlight_on_a_stale_page_shows_the_servers_message(live_server, browser, doc, stale):
    reader = UserFactory()
    context, page = new_page(browser, live_server, reader)
    try:
        open_document(page, live_server, doc)
        key = keys(doc)[1]
        if stale == "text changed on the server":
            Paragraph.objects.filter(revision=doc.current_revision, key=key).update(
                text=TEXTS[1].replace("careful reader", "restless writer")
            )
        else:
            page.evaluate(
                """(key) => { const t = document.getElementById(`t-${key}`).firstChild;
                              t.data = t.data.replace('careful reader', 'restless writer'); }""",
                key,
            )
        words = "careful reader" if stale == "text changed on the server" else "restless writer"
        select_words(page, key, words)
        toolbar(page).get_by_role("button", name="Highlight", exact=True).click()

        alert = page.get_by_role("alert").filter(has_text="Reload the page")
        alert.wait_for()
        assert "do not match the text" in alert.inner_text()
        assert page.locator("mark[data-annotation]").count() == 0
        assert Annotation.objects.count() == 0
    finally:
        context.close()


# 8 -------------------------------------------------------------------------------------------


def test_phone_panel_is_a_bottom_sheet_without_sideways_scroll(live_server, browser, doc):
    reader = UserFactory()
    key = keys(doc)[0]
    text = TEXTS[0]
    at = text.index("lantern")
    annotation = note_services.annotation_create(
        author=reader,
        document=doc,
        target=Target(key, at, key, at + len("lantern"), "lantern"),
        body="A *lantern*, again.",
    )
    context, page = new_page(browser, live_server, reader)
    try:
        page.set_viewport_size({"width": 390, "height": 800})
        open_document(page, live_server, doc)
        page.locator(f'mark[data-annotation="{annotation.pk}"]').click()
        panel = page.locator("#panel")
        panel.get_by_role("heading", name="Note").wait_for()
        panel.locator(".note-body em", has_text="lantern").wait_for()
        page.wait_for_timeout(50)  # let layout settle after the swap

        box = page.evaluate(
            """() => { const r = document.getElementById('panel').getBoundingClientRect();
                       return {left: r.left, right: r.right, bottom: r.bottom, width: r.width,
                               vw: document.documentElement.clientWidth,
                               vh: window.innerHeight}; }"""
        )
        assert box["vw"] == 390
        assert box["bottom"] == pytest.approx(box["vh"], abs=1)
        assert box["width"] == pytest.approx(box["vw"], abs=1)
        assert box["left"] == pytest.approx(0, abs=1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.evaluate("window.scrollTo(200, window.scrollY)")
        assert page.evaluate("window.scrollX") == 0
        assert re.search(r"\bpanel-open\b", page.locator("body").get_attribute("class"))
    finally:
        context.close()
