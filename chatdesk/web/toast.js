// Unobtrusive notices in a corner; repeated identical notices are not stacked.

import { byId, el } from "./util.js";

const SHOW_MS = 4500;
const shown = new Map();

/** Show `text` for a few seconds; kind is "info", "ok" or "error". */
export function toast(text, kind = "info") {
  const existing = shown.get(text);
  if (existing) {
    clearTimeout(existing.timer);
    existing.timer = setTimeout(() => dismiss(text), SHOW_MS);
    return;
  }
  const node = el("div", { className: `toast ${kind}`, text });
  byId("toasts").append(node);
  shown.set(text, { node, timer: setTimeout(() => dismiss(text), SHOW_MS) });
}

function dismiss(text) {
  const entry = shown.get(text);
  if (!entry) return;
  shown.delete(text);
  entry.node.classList.add("leaving");
  setTimeout(() => entry.node.remove(), 200);
}
