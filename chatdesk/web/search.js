// The search box: queries /api/search as you type and lists hits; a hit opens its room at it.

import { SEARCH_RESULTS_MAX } from "./limits.js";
import { byId, el, formatFull, formatStamp } from "./util.js";

const DEBOUNCE_MS = 250;
const MIN_LENGTH = 2;

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `text` as text nodes, with each occurrence of a query term wrapped in <mark>. */
export function highlighted(text, query) {
  const terms = query
    .split(/\s+/)
    .map((term) => term.replace(/^["']+|["']+$/g, ""))
    .filter((term) => term.length > 0)
    .map(escapeRegExp);
  const fragment = document.createDocumentFragment();
  if (terms.length === 0) {
    fragment.append(document.createTextNode(text));
    return fragment;
  }
  const pattern = new RegExp(terms.join("|"), "gi");
  let cursor = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[0].length === 0) continue;
    if (match.index > cursor) fragment.append(document.createTextNode(text.slice(cursor, match.index)));
    fragment.append(el("mark", { text: match[0] }));
    cursor = match.index + match[0].length;
  }
  if (cursor < text.length) fragment.append(document.createTextNode(text.slice(cursor)));
  return fragment;
}

/**
 * The search box and its results panel. fetchResults(query, {signal}) resolves to the API's
 * answer ({messages}); jumpTo(room, id) shows a result's message in its room.
 */
export class Search {
  constructor({ fetchResults, jumpTo }) {
    this.fetchResults = fetchResults;
    this.jumpTo = jumpTo;
    this.input = byId("search-input");
    this.panel = byId("search-panel");
    this.status = byId("search-status");
    this.results = byId("search-results");
    this.timer = null;
    this.controller = null;
    this.lastQuery = "";
    this.input.addEventListener("input", () => this.schedule());
    byId("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.run(true);
    });
    // On a phone the field folds into a button (#search-open) until it is wanted.
    this.header = this.input.closest(".chat-header");
    this.opener = byId("search-open");
    this.opener.addEventListener("click", () => this.focus());
    byId("search-form").addEventListener("focusout", (event) => {
      if (!event.currentTarget.contains(event.relatedTarget) && !this.input.value) this.setOpen(false);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.dismiss();
      } else if (event.key === "ArrowDown") {
        const first = this.results.querySelector("button");
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    this.results.addEventListener("keydown", (event) => this.moveFocus(event));
    byId("search-close").addEventListener("click", () => this.dismiss());
  }

  /** Show the search field (unfolding it on a phone) and put the focus in it. */
  focus() {
    this.setOpen(true);
    this.input.focus();
  }

  setOpen(open) {
    this.header.classList.toggle("searching", open);
    this.opener.setAttribute("aria-expanded", String(open));
  }

  /** Close the search and fold the field away; the focus goes back to where search starts. */
  dismiss() {
    this.close();
    this.setOpen(false);
    const folded = this.opener.getClientRects().length > 0;
    (folded ? this.opener : this.input).focus();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(false), DEBOUNCE_MS);
  }

  close() {
    clearTimeout(this.timer);
    this.controller?.abort();
    this.input.value = "";
    this.lastQuery = "";
    this.panel.hidden = true;
    this.results.replaceChildren();
    this.status.textContent = "";
  }

  async run(force) {
    const query = this.input.value.trim();
    if (query.length < MIN_LENGTH) {
      if (query.length === 0) this.close();
      else if (force) this.show(`Type at least ${MIN_LENGTH} characters.`);
      return;
    }
    if (query === this.lastQuery && !force) return;
    this.lastQuery = query;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.show("Searching…");
    let messages;
    try {
      const page = await this.fetchResults(query, { signal: controller.signal });
      messages = Array.isArray(page.messages) ? page.messages : [];
    } catch (error) {
      if (controller.signal.aborted) return;
      this.show("Search failed. Try again in a moment.");
      return;
    }
    if (controller.signal.aborted) return;
    this.render(query, messages);
  }

  show(status) {
    this.panel.hidden = false;
    this.status.textContent = status;
  }

  render(query, messages) {
    const count = messages.length;
    const more = count >= SEARCH_RESULTS_MAX ? "+" : ""; // the server sends no more than that
    this.show(
      count === 0
        ? `No messages match “${query}”.`
        : `${count}${more} result${count === 1 ? "" : "s"} for “${query}”`,
    );
    this.results.replaceChildren(
      ...messages.map((message) => {
        const date = new Date(message.ts);
        const button = el(
          "button",
          {
            className: "search-result",
            attrs: { type: "button" },
            data: { id: message.id, room: message.room },
          },
          el(
            "span",
            { className: "result-meta" },
            el("span", { className: "result-room", text: `#${message.room}` }),
            el("span", { className: "result-author", text: message.nick, attrs: { dir: "auto" } }),
            el("time", {
              className: "result-time",
              text: formatStamp(date),
              attrs: { datetime: message.ts, title: formatFull(date) },
            }),
          ),
          el("span", { className: "result-text", attrs: { dir: "auto" } }, highlighted(message.text, query)),
        );
        button.addEventListener("click", () => {
          // Where the results cover the chat (a narrow window), they make way for the message.
          if (getComputedStyle(this.panel).position === "fixed") this.dismiss();
          this.jumpTo(message.room, message.id);
        });
        return el("li", {}, button);
      }),
    );
  }

  moveFocus(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = Array.from(this.results.querySelectorAll("button"));
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    event.preventDefault();
    const next = index + (event.key === "ArrowDown" ? 1 : -1);
    if (next < 0) this.input.focus();
    else buttons[Math.min(next, buttons.length - 1)].focus();
  }
}
