// The side panel (a sheet at the bottom on a phone): opens on a mark or a paragraph's count,
// shows what the server sends, keeps focus where a keyboard user expects it.

const panel = document.getElementById("panel");
const article = document.querySelector("article.document");
let invoker = null;

function layerQuery() {
  const layer = article?.dataset.layer;
  return layer && layer !== "all" ? `?layer=${encodeURIComponent(layer)}` : "";
}

function open(url, from) {
  invoker = from || document.activeElement;
  htmx.ajax("GET", url, { target: "#panel", swap: "innerHTML" });
}

function close() {
  panel.hidden = true;
  panel.replaceChildren();
  document.body.classList.remove("panel-open");
  for (const mark of document.querySelectorAll("mark.is-current")) mark.classList.remove("is-current");
  if (invoker && document.contains(invoker)) invoker.focus();
  invoker = null;
}

document.addEventListener("marginalia:open-panel", (event) => {
  invoker = event.detail?.invoker || document.activeElement;
});

document.addEventListener("click", (event) => {
  const count = event.target.closest("a.count");
  if (count) {
    event.preventDefault();
    open(count.getAttribute("href"), count);
    return;
  }
  const mark = event.target.closest("mark[data-annotation]");
  if (mark && window.getSelection().isCollapsed) {
    open(`/annotations/${mark.dataset.annotation}/${layerQuery()}`, mark);
    for (const m of document.querySelectorAll("mark.is-current")) m.classList.remove("is-current");
    for (const m of document.querySelectorAll(`mark[data-annotation="${mark.dataset.annotation}"]`)) {
      m.classList.add("is-current");
    }
    return;
  }
  if (event.target.closest(".panel-close")) {
    event.preventDefault();
    close();
    return;
  }
  const show = event.target.closest("a.show-in-text");
  if (show && article) {
    const first = document.querySelector(`mark[data-annotation="${show.dataset.annotation}"]`);
    if (first) {
      event.preventDefault();
      for (const m of document.querySelectorAll("mark.is-current")) m.classList.remove("is-current");
      for (const m of document.querySelectorAll(`mark[data-annotation="${show.dataset.annotation}"]`)) {
        m.classList.add("is-current");
      }
      first.scrollIntoView({ block: "center" });
    }
  }
});

panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    close();
  }
});

// Whatever lands in the panel: show it, and move focus into it (its heading, or the editor),
// so a keyboard or screen-reader user is where the new content is.
document.body.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target !== panel) return;
  if (!panel.firstElementChild) return;
  panel.hidden = false;
  document.body.classList.add("panel-open");
  const fresh = panel.querySelector(".note.is-new");
  const editor = panel.querySelector("textarea");
  const heading = panel.querySelector("h2");
  if (editor) {
    editor.focus();
  } else if (fresh) {
    fresh.focus({ preventScroll: true });
    fresh.scrollIntoView({ block: "nearest" });
  } else if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
});

// Announcements stay on screen a few seconds, then clear (the live region has spoken by then).
const status = document.getElementById("status");
let statusTimer = null;
if (status) {
  new MutationObserver(() => {
    window.clearTimeout(statusTimer);
    if (status.textContent) statusTimer = window.setTimeout(() => status.replaceChildren(), 6000);
  }).observe(status, { childList: true, characterData: true, subtree: true });
}

// A mark's tooltip, made when the pointer first reaches it (the page may hold thousands of
// marks; their markup stays short): "Yellow note", "Blue highlight (hidden by a moderator)".
const COLOURS = { yellow: "Yellow", green: "Green", blue: "Blue", pink: "Pink", purple: "Purple" };
document.addEventListener("mouseover", (event) => {
  const mark = event.target.closest?.("mark[data-annotation]");
  if (!mark || mark.title) return;
  const colour = [...mark.classList].find((c) => c.startsWith("c-"))?.slice(2);
  let title = `${COLOURS[colour] || "Marked"} ${mark.classList.contains("n") ? "note" : "highlight"}`;
  if (mark.classList.contains("is-hidden")) title += " (hidden by a moderator)";
  if (mark.classList.contains("is-pending")) title += " (waiting for approval)";
  mark.title = title;
});

// Paragraphs far from the screen are laid out lazily (content-visibility), with an estimated
// height: a jump to one far down lands short until those above it are measured. Scroll again
// each frame until it stays put (a few frames at most).
function reveal(element, block) {
  let frames = 0;
  let last = null;
  const step = () => {
    element.scrollIntoView({ block });
    const top = element.getBoundingClientRect().top;
    if (top === last || ++frames > 30) return;
    last = top;
    requestAnimationFrame(step);
  };
  step();
}

// Arriving from a link to one note (search results: ?note=<id>#p-<key>): its marks are
// current, the first is brought to the middle of the screen, and its panel is open.
const linked = new URLSearchParams(window.location.search).get("note");
const target = window.location.hash.startsWith("#p-")
  ? document.getElementById(window.location.hash.slice(1))
  : null;
if (article && linked && /^[0-9]+$/.test(linked)) {
  const marks = document.querySelectorAll(`mark[data-annotation="${linked}"]`);
  for (const m of marks) m.classList.add("is-current");
  const first = marks[0];
  if (first) {
    first.tabIndex = -1;
    reveal(first, "center");
    // The open panel narrows the text, which reflows: bring the mark back into view after.
    panel.addEventListener("htmx:afterSettle", () => reveal(first, "center"), { once: true });
  }
  open(`/annotations/${linked}/${layerQuery()}`, first || null);
} else if (article && target) {
  reveal(target, "start");
}
