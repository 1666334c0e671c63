// The message list of the room on screen: day separators, grouped runs, pending sends,
// history paging at the top and scrolling that respects a reader who scrolled up.

import { dayKey, el, formatDay, formatFull, formatTime, hueSlot, initial } from "./util.js";
import { linkify } from "./linkify.js";

const GROUP_WINDOW_MS = 5 * 60 * 1000;
const NEAR_BOTTOM_PX = 48;
const NEAR_TOP_PX = 120;

/** What one row of the list shows, for a stored message or one of our pending sends. */
export function storedEntry(message, own) {
  return {
    id: message.id,
    clientId: message.client_id || null,
    nick: message.nick,
    text: message.text,
    date: new Date(message.ts),
    iso: message.ts,
    status: own ? "stored" : null,
    own,
    error: null,
  };
}

export function pendingEntry(pending, nick) {
  return {
    id: null,
    clientId: pending.client_id,
    nick,
    text: pending.text,
    date: new Date(pending.ts),
    iso: pending.ts,
    status: pending.failed ? "failed" : "pending",
    own: true,
    error: pending.failed || null,
  };
}

function continues(previous, entry) {
  return (
    previous !== null &&
    previous.nick === entry.nick &&
    dayKey(previous.date) === dayKey(entry.date) &&
    entry.date - previous.date >= 0 &&
    entry.date - previous.date < GROUP_WINDOW_MS
  );
}

function avatar(nick) {
  return el("span", {
    className: `avatar hue-${hueSlot(nick)}`,
    text: initial(nick),
    attrs: { "aria-hidden": "true" },
  });
}

function timeElement(entry, className) {
  return el("time", {
    className,
    text: formatTime(entry.date),
    attrs: { datetime: entry.iso, title: formatFull(entry.date) },
  });
}

export class Timeline {
  /** actions: retry(clientId), discard(clientId), loadOlder(), reachedBottom() */
  constructor(container, pill, actions) {
    this.container = container;
    this.pill = pill;
    this.actions = actions;
    this.room = null;
    this.lastStored = null;
    this.pendingNodes = [];
    this.top = el("div", { className: "history-top" });
    this.pinned = true; // the reader follows the newest message (was at the bottom last time)
    container.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // The list gets shorter when the composer grows or the search panel opens: stay at the end.
    new ResizeObserver(() => {
      if (this.pinned) this.scrollToBottom();
    }).observe(container);
    pill.addEventListener("click", () => {
      this.scrollToBottom();
      this.container.focus({ preventScroll: true });
    });
  }

  /** Whether the list is taller than its box, so the reader can scroll up (and page history in). */
  get scrollable() {
    return this.container.scrollHeight > this.container.clientHeight + 8;
  }

  get atBottom() {
    const box = this.container;
    return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
  }

  onScroll() {
    this.pinned = this.atBottom;
    if (this.pinned) {
      this.pill.hidden = true;
      this.actions.reachedBottom();
    }
    if (this.container.scrollTop < NEAR_TOP_PX) this.actions.loadOlder();
  }

  scrollToBottom() {
    this.container.scrollTop = this.container.scrollHeight;
    this.pinned = true;
    this.pill.hidden = true;
  }

  /** Render `room` from scratch: `entries` are its stored messages, `pending` our unacked sends. */
  show(room, entries, pending, { keepPosition = false } = {}) {
    const box = this.container;
    const wasAtBottom = this.pinned || this.atBottom;
    const fromBottom = box.scrollHeight - box.scrollTop;
    const switching = this.room !== room;
    this.room = room;
    this.lastStored = null;
    this.pendingNodes = [];
    const fragment = document.createDocumentFragment();
    this.updateTop(room);
    fragment.append(this.top);
    let previous = null;
    for (const entry of entries) {
      this.appendEntry(fragment, entry, previous);
      previous = entry;
    }
    this.lastStored = previous;
    box.replaceChildren(fragment);
    this.setPending(pending);
    if (switching || (wasAtBottom && !keepPosition)) this.scrollToBottom();
    else box.scrollTop = box.scrollHeight - fromBottom;
    if (switching) this.pill.hidden = true;
  }

  /** Add a stored message after every stored one shown; returns whether the reader was at the bottom. */
  append(entry, pending) {
    const wasAtBottom = this.pinned || this.atBottom;
    for (const node of this.pendingNodes) node.remove();
    this.appendEntry(this.container, entry, this.lastStored);
    this.lastStored = entry;
    this.setPending(pending);
    if (wasAtBottom) this.scrollToBottom();
    else if (!entry.own) this.pill.hidden = false;
    return wasAtBottom;
  }

  /** Older messages were added above: re-render and keep what the reader looks at in place. */
  prepend(room, entries, pending) {
    const box = this.container;
    const fromBottom = box.scrollHeight - box.scrollTop;
    this.show(room, entries, pending, { keepPosition: true });
    box.scrollTop = box.scrollHeight - fromBottom;
  }

  /** Replace the pending rows (ours, not yet acknowledged) at the end of the list. */
  setPending(pending) {
    const wasAtBottom = this.pinned || this.atBottom;
    for (const node of this.pendingNodes) node.remove();
    this.pendingNodes = [];
    let previous = this.lastStored;
    for (const entry of pending) {
      const before = this.container.childNodes.length;
      this.appendEntry(this.container, entry, previous);
      this.pendingNodes.push(...Array.from(this.container.childNodes).slice(before));
      previous = entry;
    }
    if (wasAtBottom) this.scrollToBottom();
  }

  updateTop(room) {
    const top = this.top;
    if (!room.initialized) {
      top.replaceChildren(el("span", { className: "history-note", text: "Loading messages…" }));
    } else if (room.loadingOlder) {
      top.replaceChildren(el("span", { className: "history-note", text: "Loading older messages…" }));
    } else if (room.hasMoreBefore) {
      const button = el("button", {
        className: "link-button",
        text: "Load older messages",
        attrs: { type: "button" },
      });
      button.addEventListener("click", () => this.actions.loadOlder());
      top.replaceChildren(button);
    } else {
      top.replaceChildren(
        el("span", { className: "history-hash", text: "#", attrs: { "aria-hidden": "true" } }),
        el("strong", { className: "history-title", text: `Welcome to #${room.name}` }),
        el("span", { className: "history-note", text: "This is the very beginning of the room." }),
      );
    }
  }

  appendEntry(parent, entry, previous) {
    if (previous === null || dayKey(previous.date) !== dayKey(entry.date)) {
      parent.append(
        el(
          "div",
          { className: "day-separator", attrs: { role: "separator" } },
          el("span", { text: formatDay(entry.date) }),
        ),
      );
      previous = null;
    }
    parent.append(this.row(entry, continues(previous, entry)));
  }

  row(entry, grouped) {
    const classes = ["message"];
    if (grouped) classes.push("continued");
    if (entry.own) classes.push("own");
    if (entry.status) classes.push(entry.status);
    const node = el("div", {
      className: classes.join(" "),
      data: { id: entry.id ?? undefined, clientId: entry.clientId ?? undefined, nick: entry.nick },
    });
    node.append(grouped ? timeElement(entry, "gutter-time") : avatar(entry.nick));
    const body = el("div", { className: "message-body" });
    if (grouped) {
      body.append(
        el("span", { className: "visually-hidden", text: `${entry.nick}, ${formatTime(entry.date)}: ` }),
      );
    } else {
      body.append(
        el(
          "div",
          { className: "message-header" },
          el("span", { className: "author", text: entry.nick, attrs: { dir: "auto" } }),
          timeElement(entry, "stamp"),
        ),
      );
    }
    // dir=auto: Arabic or Hebrew runs right to left, whatever the page's direction.
    const text = el("div", { className: "message-text", attrs: { dir: "auto" } });
    text.append(linkify(entry.text));
    body.append(text);
    if (entry.status === "failed") body.append(this.failure(entry));
    node.append(body);
    if (entry.status === "pending") {
      node.append(
        el("span", {
          className: "message-status",
          attrs: { role: "img", "aria-label": "Sending", title: "Sending…" },
        }),
      );
    } else if (entry.status === "stored") {
      node.append(
        el("span", {
          className: "message-status",
          text: "✓",
          attrs: { role: "img", "aria-label": "Stored", title: "Stored" },
        }),
      );
    }
    return node;
  }

  failure(entry) {
    const retry = el("button", { className: "link-button retry", text: "Retry", attrs: { type: "button" } });
    retry.addEventListener("click", () => this.actions.retry(entry.clientId));
    const discard = el("button", {
      className: "link-button discard",
      text: "Discard",
      attrs: { type: "button" },
    });
    discard.addEventListener("click", () => this.actions.discard(entry.clientId));
    return el(
      "div",
      { className: "message-failure" },
      el("span", { text: `Not sent: ${entry.error}` }),
      retry,
      discard,
    );
  }

  /** Scroll a shown message into view and flash it; false when it is not in the list. */
  highlight(id) {
    const node = this.container.querySelector(`.message[data-id="${Number(id)}"]`);
    if (!node) return false;
    node.scrollIntoView({ block: "center" });
    node.classList.remove("highlight");
    void node.offsetWidth; // restart the animation
    node.classList.add("highlight");
    return true;
  }
}
