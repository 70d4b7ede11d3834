// Turns what the reader selects — with the mouse or with the keyboard — into a target the
// server can check (paragraph keys and code-point offsets, plus the quoted words), and offers
// the toolbar: Highlight (in a named colour) or Note. The server draws the marks; this module
// only sends the target and lets htmx apply the answer. Opened with ?attach=<id> (from the
// orphans page), the toolbar also offers "Attach here" for that imported note.

const article = document.querySelector("article.document");
const toolbar = document.getElementById("toolbar");
const status = document.getElementById("status");
const COLOUR_KEY = "marginalia.colour";

// --- Offsets ------------------------------------------------------------------------------

// Browsers count UTF-16 code units; the server counts Unicode code points.
const codePoints = (text) => {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
};

const paraOf = (node) => (node.nodeType === 1 ? node : node.parentElement)?.closest(".para");
const textOf = (para) => para.querySelector(":scope > .ptext");
const allParas = () => Array.from(article.querySelectorAll(".para"));

// Code points from the start of `ptext` to the boundary (node, offset).
function offsetIn(ptext, node, offset) {
  const range = document.createRange();
  range.setStart(ptext, 0);
  range.setEnd(node, offset);
  return codePoints(range.toString());
}

// Clamp a range's ends onto paragraph text (a selection may start on a number in the margin
// or end between paragraphs) and describe it as a target.
export function targetFromRange(range) {
  if (range.collapsed || !article.contains(range.commonAncestorContainer)) return null;
  const paras = allParas();
  let startPara = paraOf(range.startContainer);
  let endPara = paraOf(range.endContainer);
  if (!startPara || !endPara) return null;
  let startIndex = paras.indexOf(startPara);
  let endIndex = paras.indexOf(endPara);
  const startText = textOf(startPara);
  const endText = textOf(endPara);
  let startOffset = startText.contains(range.startContainer)
    ? offsetIn(startText, range.startContainer, range.startOffset)
    : 0;
  let endOffset;
  if (endText.contains(range.endContainer)) {
    endOffset = offsetIn(endText, range.endContainer, range.endOffset);
  } else if (range.comparePoint(endText, 0) < 0 || endIndex > startIndex) {
    endOffset = codePoints(endText.textContent);
  } else {
    endOffset = 0;
  }
  // A selection ending at the very start of a paragraph really ends with the one before.
  while (endOffset === 0 && endIndex > startIndex) {
    endIndex -= 1;
    endOffset = codePoints(textOf(paras[endIndex]).textContent);
  }
  while (startIndex < endIndex && startOffset >= codePoints(textOf(paras[startIndex]).textContent)) {
    startIndex += 1;
    startOffset = 0;
  }
  if (startIndex > endIndex || (startIndex === endIndex && startOffset >= endOffset)) return null;
  const pieces = [];
  for (let i = startIndex; i <= endIndex; i += 1) {
    const chars = Array.from(textOf(paras[i]).textContent);
    const lo = i === startIndex ? startOffset : 0;
    const hi = i === endIndex ? endOffset : chars.length;
    pieces.push(chars.slice(lo, hi).join(""));
  }
  const exact = pieces.join("\n");
  if (!exact.trim()) return null;
  return {
    start_key: paras[startIndex].dataset.key,
    start_offset: startOffset,
    end_key: paras[endIndex].dataset.key,
    end_offset: endOffset,
    exact,
  };
}

// --- Toolbar ------------------------------------------------------------------------------

let current = null; // the target the toolbar acts on
let returnFocus = null;

function currentColour() {
  return toolbar.querySelector('.swatch[aria-checked="true"]')?.dataset.colour || "yellow";
}

function setColour(colour) {
  for (const swatch of toolbar.querySelectorAll(".swatch")) {
    swatch.setAttribute("aria-checked", String(swatch.dataset.colour === colour));
    swatch.tabIndex = swatch.dataset.colour === colour ? 0 : -1;
  }
  try {
    localStorage.setItem(COLOUR_KEY, colour);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

function showToolbar(target, rect) {
  current = target;
  toolbar.hidden = false;
  const top = window.scrollY + rect.bottom + 8;
  const left = Math.max(8, Math.min(window.scrollX + rect.left, window.scrollX + window.innerWidth - toolbar.offsetWidth - 8));
  toolbar.style.top = `${top}px`;
  toolbar.style.left = `${left}px`;
}

function hideToolbar() {
  toolbar.hidden = true;
  current = null;
}

function announce(message) {
  status.textContent = "";
  // A fresh text node, so screen readers announce a repeated message too.
  window.setTimeout(() => {
    status.textContent = message;
  }, 30);
}

function values(target, extra) {
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  return { ...target, ...extra, layer: article.dataset.layer, csrfmiddlewaretoken: csrf };
}

// After a keyboard highlight the paragraph's controls are redrawn: focus goes back to its
// Annotate button.
let refocusKey = null;

function highlight() {
  if (!current) return;
  const target = current;
  refocusKey = returnFocus ? target.start_key : null;
  hideToolbar();
  window.getSelection().removeAllRanges();
  announce("Saving the highlight…");
  htmx.ajax("POST", article.dataset.createUrl, {
    target: "#panel",
    swap: "none",
    values: values(target, { colour: currentColour() }),
  });
  keyboard.finish(false);
}

function note() {
  if (!current) return;
  const target = current;
  hideToolbar();
  const query = new URLSearchParams(values(target, { colour: currentColour() }));
  query.delete("csrfmiddlewaretoken");
  document.dispatchEvent(new CustomEvent("marginalia:open-panel", { detail: { invoker: returnFocus } }));
  htmx.ajax("GET", `${article.dataset.editorUrl}?${query}`, { target: "#panel", swap: "innerHTML" });
  keyboard.finish(false);
}

// A discussion of the whole paragraph the selection starts in (no words quoted).
function discuss() {
  if (!current) return;
  const key = current.start_key;
  hideToolbar();
  window.getSelection().removeAllRanges();
  document.dispatchEvent(new CustomEvent("marginalia:open-panel", { detail: { invoker: returnFocus } }));
  htmx.ajax("GET", `${article.dataset.discussUrl}?paragraph=${encodeURIComponent(key)}`, {
    target: "#panel",
    swap: "innerHTML",
  });
  keyboard.finish(false);
}

toolbar.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.colour) {
    setColour(button.dataset.colour);
    return;
  }
  const action = button.dataset.action;
  if (action === "attach") attach();
  else if (action === "highlight") highlight();
  else if (action === "note") note();
  else if (action === "discuss") discuss();
  else if (action === "cancel") {
    hideToolbar();
    keyboard.finish(true);
  }
});

toolbar.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    hideToolbar();
    keyboard.finish(true);
    return;
  }
  // Arrow keys move between the colours, as in any radio group.
  const swatch = event.target.closest(".swatch");
  if (swatch && (event.key === "ArrowRight" || event.key === "ArrowLeft")) {
    event.preventDefault();
    const swatches = Array.from(toolbar.querySelectorAll(".swatch"));
    const next = swatches[(swatches.indexOf(swatch) + (event.key === "ArrowRight" ? 1 : swatches.length - 1)) % swatches.length];
    setColour(next.dataset.colour);
    next.focus();
  }
});

// Mouse (and touch) selections: offer the toolbar once the selection settles.
function fromSelection() {
  if (keyboard.active) return;
  const selection = window.getSelection();
  if (!selection.rangeCount || selection.isCollapsed) {
    if (!toolbar.contains(document.activeElement)) hideToolbar();
    return;
  }
  const range = selection.getRangeAt(0);
  const target = targetFromRange(range);
  if (!target) return;
  returnFocus = null;
  showToolbar(target, range.getBoundingClientRect());
}

article.addEventListener("mouseup", () => window.setTimeout(fromSelection, 10));
document.addEventListener("selectionchange", () => {
  if (!keyboard.active && toolbar.hidden === false && window.getSelection().isCollapsed && !toolbar.contains(document.activeElement)) hideToolbar();
});
article.addEventListener("touchend", () => window.setTimeout(fromSelection, 300));

// --- Keyboard selection -------------------------------------------------------------------
// From a paragraph's "Annotate" button: the first word is selected; arrows move word by word,
// Shift+arrows extend or shrink the end (across paragraphs too), Enter confirms, Escape leaves.

const segmenter = typeof Intl.Segmenter === "function" ? new Intl.Segmenter(undefined, { granularity: "word" }) : null;

// Words of a paragraph as [start, end) in UTF-16 units of its text.
function wordsOf(para) {
  const text = textOf(para).textContent;
  const words = [];
  if (segmenter) {
    for (const part of segmenter.segment(text)) {
      if (part.isWordLike) words.push([part.index, part.index + part.segment.length]);
    }
  } else {
    for (const match of text.matchAll(/\S+/gu)) words.push([match.index, match.index + match[0].length]);
  }
  if (!words.length && text.trim()) words.push([0, text.length]);
  return words;
}

// The DOM point at a UTF-16 offset inside an element's text.
function pointAt(element, offset) {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  let node = walker.nextNode();
  let remaining = offset;
  let last = null;
  while (node) {
    if (remaining <= node.data.length) return [node, remaining];
    remaining -= node.data.length;
    last = node;
    node = walker.nextNode();
  }
  return last ? [last, last.data.length] : [element, 0];
}

const keyboard = {
  active: false,
  button: null,
  paras: [],
  start: null, // [paragraph index, word index]
  end: null,

  begin(button) {
    this.paras = allParas();
    const para = button.closest(".para");
    const index = this.paras.indexOf(para);
    if (!wordsOf(para).length) return;
    this.active = true;
    this.button = button;
    returnFocus = button;
    this.start = [index, 0];
    this.end = [index, 0];
    button.setAttribute("aria-pressed", "true");
    article.classList.add("keyboard-selecting");
    this.apply();
  },

  apply() {
    const [sp, sw] = this.start;
    const [ep, ew] = this.end;
    const startWords = wordsOf(this.paras[sp]);
    const endWords = wordsOf(this.paras[ep]);
    const range = document.createRange();
    range.setStart(...pointAt(textOf(this.paras[sp]), startWords[sw][0]));
    range.setEnd(...pointAt(textOf(this.paras[ep]), endWords[ew][1]));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    const target = targetFromRange(range);
    current = target;
    const words = target ? target.exact.split(/\s+/).length : 0;
    announce(target ? `Selected ${words} word${words === 1 ? "" : "s"}: ${target.exact}` : "");
    range.startContainer.parentElement?.scrollIntoView({ block: "nearest" });
  },

  // Step a [paragraph, word] position by one word, crossing paragraphs; null at either end.
  step([p, w], delta) {
    let words = wordsOf(this.paras[p]);
    w += delta;
    while (w < 0 || w >= words.length) {
      p += delta;
      if (p < 0 || p >= this.paras.length) return null;
      words = wordsOf(this.paras[p]);
      w = delta > 0 ? 0 : words.length - 1;
    }
    return [p, w];
  },

  before(a, b) {
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  },

  key(event) {
    const { key, shiftKey } = event;
    if (key === "Escape") {
      event.preventDefault();
      this.finish(true);
      return;
    }
    if (key === "Enter" || key === " ") {
      event.preventDefault();
      const range = window.getSelection().rangeCount ? window.getSelection().getRangeAt(0) : null;
      if (current && range) {
        showToolbar(current, range.getBoundingClientRect());
        this.active = false;
        toolbar.querySelector(attachId ? '[data-action="attach"]' : '[data-action="highlight"]').focus();
        announce(`Choose ${attachId ? "Attach here, " : ""}Highlight or Note. Escape cancels.`);
      }
      return;
    }
    if (key !== "ArrowRight" && key !== "ArrowLeft") return;
    event.preventDefault();
    const delta = key === "ArrowRight" ? 1 : -1;
    if (shiftKey) {
      const next = this.step(this.end, delta);
      if (next && !this.before(next, this.start)) this.end = next;
    } else {
      const next = this.step(delta > 0 ? this.end : this.start, delta);
      if (next) {
        this.start = next;
        this.end = next;
      }
    }
    this.apply();
  },

  finish(restoreFocus) {
    if (this.button) {
      this.button.removeAttribute("aria-pressed");
      if (restoreFocus) this.button.focus();
    }
    if (restoreFocus) window.getSelection().removeAllRanges();
    article.classList.remove("keyboard-selecting");
    this.active = false;
    if (restoreFocus) this.button = null;
  },
};

article.addEventListener("click", (event) => {
  const button = event.target.closest("button.annotate");
  if (!button) return;
  event.preventDefault();
  if (keyboard.active && keyboard.button === button) {
    keyboard.finish(true);
    return;
  }
  hideToolbar();
  keyboard.begin(button);
  if (keyboard.active && current) {
    announce(
      `Selecting words. Arrows move word by word, Shift with arrows extends, Enter confirms, ` +
        `Escape cancels. Selected: ${current.exact}`,
    );
  }
});

article.addEventListener("keydown", (event) => {
  if (keyboard.active && event.target === keyboard.button) keyboard.key(event);
});
article.addEventListener("focusout", (event) => {
  if (keyboard.active && event.target === keyboard.button && !toolbar.contains(event.relatedTarget)) {
    keyboard.finish(false);
  }
});

// --- Attach mode ----------------------------------------------------------------------------
// An imported note whose words were not found (an orphan) is attached to the words the reader
// selects. A plain form POST, so the server's redirect lands on the paragraph with the new mark.

const attachParam = new URLSearchParams(window.location.search).get("attach") || "";
const attachId = /^[0-9]+$/.test(attachParam) ? attachParam : null;

function attach() {
  if (!current) return;
  const form = document.createElement("form");
  form.method = "post";
  form.action = `/annotations/${attachId}/attach/`;
  form.hidden = true;
  for (const [name, value] of Object.entries(values(current, {}))) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  hideToolbar();
  announce("Attaching the note…");
  form.submit();
}

function startAttachMode() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tool tool-attach";
  button.dataset.action = "attach";
  button.textContent = "Attach here";
  toolbar.prepend(button);

  const cancel = new URL(window.location.href);
  cancel.searchParams.delete("attach");
  const link = document.createElement("a");
  link.href = cancel.href;
  link.textContent = "Cancel";
  const banner = document.createElement("p");
  banner.className = "attach-banner no-print";
  banner.setAttribute("role", "status");
  banner.tabIndex = -1;
  banner.append("Select the words for the imported note, then press Attach here. ", link);
  article.closest(".reading-layout").before(banner);
  banner.focus();
}

// --- Start ----------------------------------------------------------------------------------

let saved = null;
try {
  saved = localStorage.getItem(COLOUR_KEY);
} catch {
  saved = null;
}
setColour(toolbar.querySelector(`.swatch[data-colour="${saved}"]`) ? saved : "yellow");

// After an htmx answer, the selection the toolbar was for is gone.
document.body.addEventListener("htmx:afterSettle", () => {
  if (!keyboard.active && window.getSelection().isCollapsed) hideToolbar();
  if (refocusKey) {
    document.querySelector(`#s-${refocusKey} .annotate`)?.focus();
    refocusKey = null;
  }
});

if (attachId) startAttachMode();
