"""Stored XSS: note bodies full of attacks are shown everywhere a note is shown, in Chromium,
and nothing runs.

Every payload tries to call `window.__xss = ...` or `alert(...)`. An init script (in every
frame) turns `__xss` into a setter that reports through the console, and dialogs are recorded,
so an executed payload cannot go unnoticed; a first test proves the trap catches one.
"""

from __future__ import annotations

import pytest

from annotations.anchoring import Target
from annotations.models import Annotation
from annotations.notes import services as note_services
from reader.services import document_import
from tests.browser.helpers import log_in_with_cookie, select_words, toolbar
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOADS = [
    # Plain script, in Markdown and in raw HTML.
    "<script>window.__xss = 1</script>",
    "<script>alert(1)</script>",
    "<SCRIPT SRC=data:text/javascript,window.__xss=1></SCRIPT>",
    "'\"><script>window.__xss=1</script>",
    # Dangerous links, in Markdown...
    "[click me](javascript:window.__xss=1)",
    "[click me](JaVaScRiPt:alert(1))",
    "[click me](javascript&#58;alert(1))",
    "[tab](jav&#x09;ascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[ref][evil]\n\n[evil]: javascript:window.__xss=1",
    "<javascript:window.__xss=1>",
    "![img](javascript:window.__xss=1)",
    '[title](https://example.org "x\\" onmouseover=\\"window.__xss=1")',
    # ...and in raw HTML.
    '<a href="javascript:window.__xss=1">raw</a>',
    '<a href="jav&#x09;ascript:window.__xss=1">tab entity</a>',
    '<a href="&#106;avascript:alert(1)">decimal entity</a>',
    '<a href="data:text/html,<script>parent.__xss=1</script>">data</a>',
    # Event handlers.
    "<img src=x onerror=window.__xss=1>",
    "<img src=x onerror=alert(1)>",
    '<svg onload="window.__xss=1">',
    "<svg><script>window.__xss=1</script></svg>",
    '<details open ontoggle="window.__xss=1">',
    '<body onload="window.__xss=1">',
    '<input autofocus onfocus="window.__xss=1">',
    # Mutation XSS: markup that a sanitizer and a browser parse differently.
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;'
    '&lt;img&Tab;src=1&Tab;onerror=window.__xss=1&gt;">',
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=window.__xss=1>",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    '<svg></p><style><a id="</style><img src=1 onerror=window.__xss=1>">',
    # Frames and embedded documents.
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    '<iframe src="javascript:parent.__xss=1"></iframe>',
    '<object data="javascript:window.__xss=1"></object>',
    '<embed src="data:text/html,<script>parent.__xss=1</script>">',
    # Broken and unclosed HTML.
    "<img src=x onerror=window.__xss=1",
    "<div <img src=x onerror=window.__xss=1>",
    '<a href="javascript:window.__xss=1"',
    "<<script>script>window.__xss=1<</script>/script>",
    # Inside code, where it must stay text.
    "`<img src=x onerror=window.__xss=1>`",
    "```html\n<script>window.__xss=1</script>\n```",
    # Styles and base URLs.
    '<style>@import "javascript:window.__xss=1";</style>',
    '<base href="javascript:/a/-window.__xss=1//">[relative](x)',
]

TRAP = """
(() => {
  const report = (what) => console.error("__XSS_EXECUTED__ " + what);
  Object.defineProperty(window, "__xss", {
    configurable: false,
    get() { return undefined; },
    set(value) { report(String(value)); },
  });
})();
"""

# Anything in the page that a browser could run: script-ish URLs anywhere, inline handlers,
# and active elements inside what readers wrote.
FIND_DANGER = """
() => {
  const bad = [];
  const URL_ATTRS = ["href", "src", "action", "formaction", "xlink:href", "data", "poster"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) bad.push(`${el.tagName} ${name}=${attr.value}`);
      if (name === "srcdoc") bad.push(`${el.tagName} srcdoc`);
      if (URL_ATTRS.includes(name)) {
        let protocol = "";
        try { protocol = new URL(attr.value, document.baseURI).protocol; } catch (e) {}
        if (["javascript:", "data:", "vbscript:"].includes(protocol)) {
          bad.push(`${el.tagName} ${name}=${attr.value}`);
        }
      }
    }
  }
  for (const a of document.querySelectorAll("a[href]")) {
    if (a.protocol !== "http:" && a.protocol !== "https:" && a.protocol !== "mailto:") {
      bad.push(`a with protocol ${a.protocol}`);
    }
  }
  const written = ".note-body, .quote, .markdownx-preview, .panel-context";
  const active = "script, iframe, frame, object, embed, svg, math, img, style, base, form, "
    + "input, details, noscript, link, meta";
  for (const box of document.querySelectorAll(written)) {
    for (const el of box.querySelectorAll(active)) bad.push(`<${el.tagName}> in ${box.className}`);
  }
  for (const base of document.querySelectorAll("base")) bad.push(`<base href=${base.href}>`);
  return bad;
}
"""


@pytest.fixture
def trapped(browser):
    """A logged-out page with the trap, and the list of what executed."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    context.add_init_script(TRAP)
    page = context.new_page()
    executed: list[str] = []
    page.on(
        "console",
        lambda msg: executed.append(msg.text) if "__XSS_EXECUTED__" in msg.text else None,
    )

    def on_dialog(dialog):
        executed.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page, executed
    context.close()


def settle(page) -> None:
    """Time for image errors, frame loads and toggles to fire their handlers."""
    # Images and frames hold the load event back, so their handlers have run by then.
    page.wait_for_load_state("load")
    page.wait_for_timeout(100)


def assert_safe(page, executed: list[str], where: str) -> None:
    settle(page)
    assert executed == [], f"script ran on {where}: {executed}"
    assert page.evaluate(FIND_DANGER) == [], f"dangerous markup on {where}"
    assert len(page.frames) == 1, f"a frame was created on {where}"


def test_the_trap_catches_an_executed_payload(live_server, trapped):
    page, executed = trapped
    page.goto(f"{live_server.url}/")
    page.evaluate(
        """() => { const box = document.createElement('div');
                   box.innerHTML = '<img src=x onerror="window.__xss = 1">';
                   document.body.append(box);
                   const frame = document.createElement('iframe');
                   frame.srcdoc = '<script>parent.__xss = 2; alert(3)</' + 'script>';
                   document.body.append(frame); }"""
    )
    page.wait_for_timeout(300)
    assert any("__XSS_EXECUTED__ 1" in e for e in executed)
    assert any("__XSS_EXECUTED__ 2" in e for e in executed)
    assert any(e.startswith("dialog alert: 3") for e in executed)
    assert page.evaluate(FIND_DANGER) != []


def test_stored_payloads_never_run(live_server, trapped):
    page, executed = trapped
    author = UserFactory()
    # One paragraph per payload; the last quotes an attack itself, so `exact` carries one too.
    lines = [f"Passage {n} holds quiet words to mark." for n in range(len(PAYLOADS))]
    lines.append("Quoted <img src=x onerror=window.__xss=1> inside the text itself.")
    doc = document_import(source="\n\n".join(lines), fmt="text", title="Hostile notes")
    paragraphs = list(doc.current_revision.paragraphs.order_by("position"))
    assert len(paragraphs) == len(PAYLOADS) + 1
    notes = []
    for paragraph, payload in zip(paragraphs, PAYLOADS, strict=False):
        at = paragraph.text.index("quiet words")
        target = Target(paragraph.key, at, paragraph.key, at + len("quiet words"), "quiet words")
        notes.append(
            note_services.annotation_create(
                author=author, document=doc, target=target, body=payload, visibility="public"
            )
        )
    last = paragraphs[-1]
    notes.append(
        note_services.annotation_create(
            author=author,
            document=doc,
            target=Target(last.key, 0, last.key, len(last.text), last.text),
            body="\n\n".join(PAYLOADS),
            visibility="public",
        )
    )
    assert Annotation.objects.filter(visibility="public").count() == len(PAYLOADS) + 1
    log_in_with_cookie(page.context, live_server, author)

    # The reading page, then each note in the side panel.
    page.goto(f"{live_server.url}{doc.get_absolute_url()}")
    assert page.locator("mark[data-annotation]").count() == len(notes)
    for note in notes:
        page.locator(f'mark[data-annotation="{note.pk}"]').first.click()
        page.locator(f'#panel .note[data-annotation="{note.pk}"]').wait_for()
    assert_safe(page, executed, "the reading page and its panel")
    # The payloads are shown as the harmless text they became.
    assert "window.__xss" in page.locator("#panel .note-body").inner_text()

    # A paragraph's panel with every note on it, through its count link.
    page.locator(f"#s-{last.key} a.count").click()
    page.locator(f'#panel .notes[data-paragraph="{last.key}"]').wait_for()
    assert_safe(page, executed, "the paragraph panel")

    # Each permalink page.
    for note in notes:
        response = page.goto(f"{live_server.url}/annotations/{note.pk}/")
        assert response.status == 200
        assert_safe(page, executed, f"the permalink of note {note.pk}")

    # My notes.
    page.goto(f"{live_server.url}/notes/")
    assert page.locator(".my-note").count() == len(notes)
    assert_safe(page, executed, "My notes")

    # The edit page: the body goes back into the editor, and its live preview renders it.
    page.goto(f"{live_server.url}/annotations/{notes[-1].pk}/edit/")
    assert page.get_by_role("textbox", name="Note").input_value() == notes[-1].body
    page.locator(".markdownx-preview p").first.wait_for()
    assert_safe(page, executed, "the edit page and its preview")


def test_payloads_typed_into_the_editor_preview_never_run(live_server, trapped):
    """The live preview puts the server's HTML in place with innerHTML: the sanitizer is all
    that stands between a typed payload and an <img onerror>."""
    page, executed = trapped
    author = UserFactory()
    doc = document_import(source="Some quiet words to mark.", fmt="text", title="Preview")
    key = doc.current_revision.paragraphs.get().key
    log_in_with_cookie(page.context, live_server, author)
    page.goto(f"{live_server.url}{doc.get_absolute_url()}")
    select_words(page, key, "quiet words")
    toolbar(page).get_by_role("button", name="Note", exact=True).click()
    editor = page.locator("#panel").get_by_role("textbox", name="Note")
    editor.fill("\n\n".join([*PAYLOADS, "The end of the payloads."]))
    page.locator(".markdownx-preview p", has_text="The end of the payloads.").wait_for()
    assert_safe(page, executed, "the editor's live preview")
    page.locator("#panel").get_by_role("button", name="Save").click()
    page.locator("#panel .note.is-new").wait_for()
    assert_safe(page, executed, "the panel after saving")
    assert Annotation.objects.get().body.endswith("The end of the payloads.")
