// The note editor: django-markdownx turns Tab in its textarea into a tab character, which traps
// keyboard users in the editor (WCAG 2.1.2). Tab keeps its usual meaning here: move on.
if (!window.marginaliaEditorTab) {
  window.marginaliaEditorTab = true;
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Tab" && event.target.classList?.contains("markdownx-editor")) {
        event.stopPropagation();
      }
    },
    true,
  );
}
