// The tags field holds several comma-separated tags, and its <datalist> offers existing tags
// for the last one (htmx fills it from /tags/suggest/). Choosing a suggestion makes the browser
// replace the whole value; this puts back the tags written before it.
const typed = new WeakMap();

document.addEventListener(
  "input",
  (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.list?.id !== "tag-suggestions") return;
    const before = typed.get(input) ?? input.defaultValue;
    // Chromium sends a plain Event when an option is chosen, Firefox an insertReplacementText.
    const chosen = !(event instanceof InputEvent) || event.inputType === "insertReplacementText";
    if (chosen && [...input.list.options].some((option) => option.value === input.value)) {
      const head = before.slice(0, before.lastIndexOf(",") + 1).trimEnd();
      input.value = `${head ? `${head} ` : ""}${input.value}, `;
    }
    typed.set(input, input.value);
  },
  true, // before htmx's own listener on the field reads the value
);
