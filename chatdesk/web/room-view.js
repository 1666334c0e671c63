// The room on screen, in the main column: its name and how many are online in the header, its
// messages with our pending sends after them (timeline.js), and who is typing.

import { Timeline, pendingEntry, storedEntry } from "./timeline.js";
import { byId, el } from "./util.js";

/** Renders the room on screen; `actions` are the timeline's: retry, discard, loadOlder, reachedBottom. */
export class RoomView {
  constructor(state, actions) {
    this.state = state;
    this.loadOlder = actions.loadOlder;
    this.timeline = new Timeline(byId("messages"), byId("new-pill"), actions);
    this.typingTimer = null;
  }

  renderHeader() {
    const name = this.state.current;
    byId("room-name").textContent = name;
    byId("messages").setAttribute("aria-label", `Messages in #${name}`);
  }

  renderMeta() {
    const count = this.state.currentRoom.online.length;
    byId("room-meta").textContent = count > 0 ? `${count} online` : "";
  }

  /** Render the message list from scratch, at the bottom unless `keepPosition`. */
  render({ keepPosition = false } = {}) {
    const room = this.state.currentRoom;
    this.timeline.show(room, this.entries(room), this.pendingEntries(room), { keepPosition });
    if (room.initialized) this.fillViewport();
  }

  /** Add a message after every one shown (it is the newest). */
  append(message, own) {
    this.timeline.append(storedEntry(message, own), this.pendingEntries(this.state.currentRoom));
  }

  /** Render our pending sends again; `scroll` brings the end of the list into view. */
  renderPending({ scroll = false } = {}) {
    this.timeline.setPending(this.pendingEntries(this.state.currentRoom));
    if (scroll) this.timeline.scrollToBottom();
  }

  /** Render the top of the list: loading, a button for older messages, or the room's beginning. */
  renderHistoryTop() {
    this.timeline.updateTop(this.state.currentRoom);
  }

  /** Older messages were added to `room` (on screen): render them above, keeping the reader's place. */
  prepend(room) {
    this.timeline.prepend(room, this.entries(room), this.pendingEntries(room));
    this.fillViewport();
  }

  /** Scroll message `id` into view and flash it; false when it is not shown. */
  highlight(id) {
    return this.timeline.highlight(id);
  }

  /** "x is typing…", until the newest typing notice expires. */
  renderTyping() {
    clearTimeout(this.typingTimer);
    const room = this.state.currentRoom;
    const now = Date.now();
    let next = Infinity;
    const names = [];
    for (const [nick, expiry] of room.typing) {
      if (expiry <= now) room.typing.delete(nick);
      else {
        names.push(nick);
        next = Math.min(next, expiry);
      }
    }
    // Each nick in its own <bdi>: a right-to-left nick must not reorder the English around it.
    const name = (nick) => el("bdi", { text: nick });
    let parts = [];
    if (names.length === 1) parts = [name(names[0]), " is typing…"];
    else if (names.length === 2) parts = [name(names[0]), " and ", name(names[1]), " are typing…"];
    else if (names.length > 2) parts = ["Several people are typing…"];
    const text = parts.map((part) => (typeof part === "string" ? part : part.textContent)).join("");
    const node = byId("typing");
    if (node.textContent !== text) node.replaceChildren(...parts);
    if (next !== Infinity) this.typingTimer = setTimeout(() => this.renderTyping(), next - now + 20);
  }

  /** Page older history in until the list can scroll (or there is none). */
  fillViewport() {
    if (!this.timeline.scrollable) this.loadOlder();
  }

  entries(room) {
    return room.messages.map((m) => storedEntry(m, this.state.isOwn(m)));
  }

  pendingEntries(room) {
    const nick = this.state.nick || "";
    return this.state.pending.filter((p) => p.room === room.name).map((p) => pendingEntry(p, nick));
  }
}
