"""Shared steps for the browser tests: logging in, selecting words with the mouse, reading marks.

Offsets given to these helpers are UTF-16 code units of a paragraph's `.ptext` text content, as
the browser counts; the app converts them to code points (what the server stores).
"""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD

# The DOM point at a UTF-16 offset inside `root`'s text, walking its text nodes. `after` picks
# the end of a node over the start of the next one when the offset falls on a boundary.
_POINT_JS = """
function pointAt(root, offset, after) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node, last = null, rest = offset;
  while ((node = walker.nextNode())) {
    const n = node.data.length;
    if (rest < n || (after && rest === n)) return [node, rest];
    rest -= n;
    last = node;
  }
  if (last && rest === 0) return [last, last.data.length];
  throw new Error(`offset ${offset} is past the end of #${root.id}`);
}
"""

# The viewport rectangle of one character (astral ones are two UTF-16 units) at an offset.
_CHAR_RECT_JS = (
    "([key, offset, after]) => {"
    + _POINT_JS
    + """
  const root = document.getElementById(`t-${key}`);
  const text = root.textContent;
  // The character that ends at `offset` (after) or starts there (before).
  let lo, hi;
  if (after) {
    const prev = text.codePointAt(offset - 2);
    lo = offset - (offset >= 2 && prev > 0xffff ? 2 : 1);
    hi = offset;
  } else {
    lo = offset;
    hi = offset + (text.codePointAt(offset) > 0xffff ? 2 : 1);
  }
  const range = document.createRange();
  range.setStart(...pointAt(root, lo, false));
  range.setEnd(...pointAt(root, hi, true));
  const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
  const r = after ? rects[rects.length - 1] : rects[0];
  return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
}"""
)


def log_in(page, live_server, user, password: str = PASSWORD) -> None:
    """Log in through the real login form."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("button", name="Log out").is_visible()


def log_in_with_cookie(context, live_server, user) -> None:
    """A quicker log-in for secondary people: a real session, made by Django's test client."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def offset_of(page, key: str, words: str, occurrence: int = 0) -> int:
    """The UTF-16 offset of `words` in paragraph `key`'s text."""
    offset = page.evaluate(
        """([key, words, occurrence]) => {
             const text = document.getElementById(`t-${key}`).textContent;
             let at = -1;
             for (let i = 0; i <= occurrence; i += 1) at = text.indexOf(words, at + 1);
             return at;
           }""",
        [key, words, occurrence],
    )
    assert offset >= 0, f"{words!r} is not in paragraph {key}"
    return offset


def mouse_select(page, start: tuple[str, int], end: tuple[str, int]) -> str:
    """Drag the mouse from (paragraph key, offset) to (paragraph key, offset), as a reader
    would: press just inside the first character's left half, release just inside the last
    character's right half. Returns the browser's selected text."""
    page.locator(f"#t-{start[0]}").scroll_into_view_if_needed()
    first = page.evaluate(_CHAR_RECT_JS, [start[0], start[1], False])
    last = page.evaluate(_CHAR_RECT_JS, [end[0], end[1], True])
    page.mouse.move(first["left"] + 1, (first["top"] + first["bottom"]) / 2)
    page.mouse.down()
    page.mouse.move(last["right"] - 1, (last["top"] + last["bottom"]) / 2, steps=8)
    page.mouse.up()
    return page.evaluate("window.getSelection().toString()")


def select_words(page, key: str, words: str, occurrence: int = 0) -> str:
    """Select `words` in one paragraph with a real mouse drag; returns the selected text."""
    at = offset_of(page, key, words, occurrence)
    return mouse_select(page, (key, at), (key, at + _utf16_len(words)))


def toolbar(page):
    """The toolbar shown over a selection (waits for it)."""
    bar = page.get_by_role("toolbar", name="Annotate the selected words")
    bar.wait_for(state="visible")
    return bar


def marks_by_annotation(page, key: str) -> dict[str, str]:
    """{annotation id: marked text} for the marks drawn in paragraph `key`."""
    return page.evaluate(
        """(key) => {
             const out = {};
             for (const m of document.querySelectorAll(`#t-${key} mark[data-annotation]`)) {
               // Each mark wraps one piece of text (overlapping marks nest around it).
               const id = m.dataset.annotation;
               out[id] = (out[id] || "") + m.textContent;
             }
             return out;
           }""",
        key,
    )


def focus_is_visible(page) -> bool:
    """Whether the focused element shows a focus ring (an outline that is not none/0px)."""
    return page.evaluate(
        """() => { const el = document.activeElement;
                   if (!el || el === document.body) return false;
                   const s = getComputedStyle(el);
                   return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0; }"""
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def new_context_page(browser, live_server, user=None, **options):
    """A fresh browser context (its own cookies) with one page, logged in as `user` if given
    (through a real session cookie). Returns (context, page); the caller closes the context."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    context.set_default_timeout(10_000)
    if user is not None:
        log_in_with_cookie(context, live_server, user)
    return context, context.new_page()
