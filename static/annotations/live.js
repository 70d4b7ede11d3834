// Reading together live: listens to the document's event stream and swaps in, for this reader,
// the paragraphs that changed (the server decides what they may see). Nothing jumps: focus and
// selection are left alone, and an open thread only shows a "new replies" cue.

const article = document.querySelector("article.document");
const panel = document.getElementById("panel");
let lastId = null;
let source = null;
let waiting = new Set(); // paragraph keys to refresh once the reader's selection is gone
let fresh = 0; // replies arrived in the thread open in the panel

function layer() {
  return article.dataset.layer || "all";
}

function selectionTouches(key) {
  const selection = window.getSelection();
  if (!selection.rangeCount || selection.isCollapsed) return false;
  const para = document.getElementById(`p-${key}`);
  return para ? selection.getRangeAt(0).intersectsNode(para) : false;
}

function refresh(keys) {
  const now = [];
  for (const key of keys) {
    if (selectionTouches(key)) waiting.add(key);
    else now.push(key);
  }
  if (!now.length) return;
  const focused = document.activeElement?.closest?.(".pside");
  const focusKey = focused ? focused.id.slice(2) : null;
  const query = new URLSearchParams({ keys: now.join(","), layer: layer() });
  htmx.ajax("GET", `${article.dataset.liveParagraphsUrl}?${query}`, { target: "#live-sink", swap: "none" }).then(() => {
    if (focusKey && now.includes(focusKey)) {
      document.querySelector(`#s-${focusKey} .annotate`)?.focus({ preventScroll: true });
    }
  });
}

document.addEventListener("selectionchange", () => {
  if (!waiting.size || !window.getSelection().isCollapsed) return;
  const keys = [...waiting];
  waiting = new Set();
  refresh(keys);
});

// A note this page has just made arrives back as an event: its paragraphs already show it
// (the server's answer redrew them), so nothing is fetched or redrawn twice.
function alreadyShown(event) {
  if (event.change !== "created" || event.kind !== "span") return false;
  return event.keys.every((key) =>
    document.querySelector(`#t-${key} mark[data-annotation="${event.annotation}"]`),
  );
}

function threadCue(event) {
  const open = panel && !panel.hidden && panel.querySelector(`.note[data-annotation="${event.annotation}"]`);
  if (!open || !panel.querySelector(".thread")) return;
  fresh += 1;
  let cue = panel.querySelector(".live-cue");
  if (!cue) {
    cue = document.createElement("button");
    cue.type = "button";
    cue.className = "live-cue button secondary";
    cue.addEventListener("click", () => {
      fresh = 0;
      htmx.ajax("GET", `/annotations/${event.annotation}/?layer=${encodeURIComponent(layer())}`, { target: "#panel", swap: "innerHTML" });
    });
    panel.querySelector(".thread")?.prepend(cue);
  }
  cue.textContent = `${fresh} new ${fresh === 1 ? "reply" : "replies"}: show`;
}

function connect() {
  const query = new URLSearchParams({ layer: layer() });
  if (lastId) query.set("last_event_id", lastId);
  source = new EventSource(`${article.dataset.liveUrl}?${query}`);
  source.addEventListener("change", (message) => {
    lastId = message.lastEventId || lastId;
    const event = JSON.parse(message.data);
    if (event.keys.length && !alreadyShown(event)) refresh(event.keys);
    if (event.change === "reply") threadCue(event);
    article.dispatchEvent(new CustomEvent("marginalia:live", { detail: event }));
  });
  source.addEventListener("presence", (message) => {
    const { count, names, group } = JSON.parse(message.data);
    const where = document.getElementById("presence");
    if (!where) return;
    if (count <= 1) {
      where.textContent = "";
      return;
    }
    let text = `${count} reading now`;
    if (names?.length) text += ` — in ${group}: ${names.join(", ")}`;
    where.textContent = text;
  });
  source.addEventListener("hello", (message) => {
    lastId = message.lastEventId || lastId;
  });
  source.addEventListener("resync", () => {
    // The server's own connection to PostgreSQL came back: ask again from the last event seen.
    source.close();
    connect();
  });
  source.addEventListener("reload", () => {
    source.close();
    const link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "Much has changed while you were away: reload to catch up.";
    document.getElementById("alert").replaceChildren(link);
  });
}

if (article?.dataset.liveUrl && "EventSource" in window) connect();

// Nothing is redrawn that did not change: a paragraph whose fresh HTML is what the page already
// shows keeps its elements (and the reader's pointer, selection or focus in them).
document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
  const { target, fragment } = event.detail;
  const fresh = fragment?.firstElementChild;
  if (fresh && fresh.id === target.id && fresh.innerHTML === target.innerHTML) {
    event.detail.shouldSwap = false;
  }
});
