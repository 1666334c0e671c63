// The page's keyboard shortcuts: Alt+Up and Alt+Down go to the previous and next room, "/" to
// the search box (unless one is typing, or a dialog is open).

/** Listen for the shortcuts: `step(-1 or 1)` moves between rooms, `focusSearch()` opens search. */
export function bindShortcuts({ step, focusSearch }) {
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, textarea, [contenteditable]");
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      step(event.key === "ArrowUp" ? -1 : 1);
    } else if (event.key === "/" && !typing && !document.querySelector("dialog[open]")) {
      event.preventDefault();
      focusSearch();
    }
  });
}
