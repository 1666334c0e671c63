// chatdesk's chat UI: rooms, messages, presence and typing over the /chat WebSocket
// (protocol version 1), history and search over the HTTP API.

import { Connection, chatUrl } from "./connection.js";
import { Invite } from "./invite.js";
import { Search } from "./search.js";
import { Timeline, pendingEntry, storedEntry } from "./timeline.js";
import { toast } from "./toast.js";
import { Storage, byId, codePointLength, el, hueSlot, initial, newClientId } from "./util.js";

export const ROOM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const MAX_TEXT = 4000;
const MAX_NICK = 32;
const PAGE_SIZE = 50;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const OWN_IDS_KEPT = 500;
const BASE_TITLE = "chatdesk";
const RENDERED_MARK = "chatdesk:rendered"; // read by the desktop self-test (window.py)

/** The client's copy of one room: messages by id, paging state, unread count, presence, typing. */
class Room {
  constructor(name, readId) {
    this.name = name;
    this.messages = [];
    this.byId = new Map();
    this.lastId = 0; // highest id seen on the socket: where a re-join resumes
    this.readId = readId;
    this.initialized = false;
    this.initializing = null;
    this.hasMoreBefore = false;
    this.loadingOlder = false;
    this.unread = 0;
    this.online = [];
    this.typing = new Map(); // nick -> expiry (ms since epoch)
    this.joined = false;
  }

  get oldestId() {
    return this.messages.length > 0 ? this.messages[0].id : null;
  }

  get newestId() {
    return this.messages.length > 0 ? this.messages.at(-1).id : 0;
  }

  /** Insert in id order; "append" (at the end), "insert" (elsewhere) or null for a duplicate. */
  add(message) {
    if (this.byId.has(message.id)) return null;
    this.byId.set(message.id, message);
    const list = this.messages;
    if (list.length === 0 || list.at(-1).id < message.id) {
      list.push(message);
      return "append";
    }
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (list[middle].id < message.id) low = middle + 1;
      else high = middle;
    }
    list.splice(low, 0, message);
    return "insert";
  }
}

/** A nick the server will take: 1..32 characters after trimming, no control characters. */
export function nickProblem(nick) {
  if (nick.length === 0) return "Please enter a nick.";
  if (codePointLength(nick) > MAX_NICK) return `A nick has at most ${MAX_NICK} characters.`;
  if (CONTROL_CHARACTERS.test(nick)) return "A nick cannot contain control characters.";
  return null;
}

export function roomProblem(name) {
  if (name.length === 0) return "Type a room name.";
  if (name.length > 32) return "A room name has at most 32 characters.";
  if (/[A-Z]/.test(name) && ROOM_PATTERN.test(name.toLowerCase())) return "Use lowercase letters.";
  if (!ROOM_PATTERN.test(name)) {
    return "Use lowercase letters, digits, “-” and “_”, starting with a letter or digit.";
  }
  return null;
}

class HttpError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

class ChatApp {
  constructor() {
    this.storage = new Storage("chatdesk.");
    this.wantedNick = this.loadNick();
    this.nick = this.wantedNick;
    this.welcomed = false;
    this.everWelcomed = false;
    this.sessionEnded = false;
    this.session = 0;
    this.rooms = new Map();
    this.pending = this.loadPending();
    this.ownIds = new Set(this.storage.get("own", []));
    this.roomNames = this.loadRoomNames();
    this.current = this.roomNames.includes(this.storage.get("room")) ? this.storage.get("room") : "general";
    this.knownRooms = new Set(this.roomNames); // suggestions for the room box
    this.serverRooms = new Set(); // rooms the server said exist
    this.typingSentAt = 0;
    this.typingTimer = null;
    this.nickRequest = null;
    this.bannerTimer = null;
    this.closeInfo = null;
    for (const name of this.roomNames) this.room(name);

    this.timeline = new Timeline(byId("messages"), byId("new-pill"), {
      retry: (clientId) => this.retry(clientId),
      discard: (clientId) => this.discard(clientId),
      loadOlder: () => this.loadOlder(),
      reachedBottom: () => this.markRead(this.currentRoom),
    });
    this.connection = new Connection(chatUrl(), {
      open: () => this.onOpen(),
      frame: (frame) => this.onFrame(frame),
      closed: (info) => this.onClosed(info),
      countdown: (seconds) => this.onCountdown(seconds),
      unauthorized: () => this.onSessionEnded(),
    });
    this.search = new Search(this);
    this.invite = new Invite(this);
  }

  get currentRoom() {
    return this.room(this.current);
  }

  room(name) {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, this.storage.get(`read.${name}`));
      this.rooms.set(name, room);
    }
    return room;
  }

  // ---- start-up and persisted state ---------------------------------------------------------

  start() {
    this.bindComposer();
    this.bindRooms();
    this.bindSidebarToggle();
    this.bindNickDialog();
    this.bindGlobalKeys();
    byId("banner-retry").addEventListener("click", () => this.connection.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.markRead(this.currentRoom);
    });
    this.renderAll();
    if (this.wantedNick) {
      this.connection.start();
    } else {
      this.setStatus("Choose a nick to start");
      this.openNickDialog({ first: true });
    }
  }

  loadNick() {
    const nick = this.storage.get("nick");
    return typeof nick === "string" && nickProblem(nick.trim()) === null ? nick.trim() : null;
  }

  loadPending() {
    const stored = this.storage.get("pending", []);
    if (!Array.isArray(stored)) return [];
    return stored.filter(
      (p) =>
        p && typeof p.client_id === "string" && typeof p.text === "string" && ROOM_PATTERN.test(p.room || ""),
    );
  }

  loadRoomNames() {
    const stored = this.storage.get("rooms", []);
    const names = ["general"];
    for (const name of Array.isArray(stored) ? stored : []) {
      if (typeof name === "string" && ROOM_PATTERN.test(name) && !names.includes(name)) names.push(name);
    }
    for (const pending of this.pending) {
      if (!names.includes(pending.room)) names.push(pending.room);
    }
    return names;
  }

  savePending() {
    this.storage.set("pending", this.pending);
  }

  rememberOwn(clientId) {
    this.ownIds.add(clientId);
    if (this.ownIds.size > OWN_IDS_KEPT) this.ownIds.delete(this.ownIds.values().next().value);
    this.storage.set("own", Array.from(this.ownIds));
  }

  isOwn(message) {
    return this.ownIds.has(message.client_id) || message.nick === this.nick;
  }

  // ---- the connection -------------------------------------------------------------------------

  onOpen() {
    this.setStatus("Signing in…");
    this.connection.send({ type: "hello", nick: this.wantedNick });
  }

  onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        return this.onWelcome(frame);
      case "message":
        return this.onMessage(frame);
      case "ack":
        return this.onAck(frame);
      case "presence":
        return this.onPresence(frame);
      case "typing":
        return this.onTyping(frame);
      case "error":
        return this.onError(frame);
      case "nick":
        return this.onNickGranted(frame.nick);
      default:
        return undefined;
    }
  }

  onWelcome(frame) {
    this.session += 1;
    this.welcomed = true;
    this.connection.markHealthy();
    if (typeof frame.nick === "string") this.nick = frame.nick;
    this.nickRequest = null;
    for (const info of Array.isArray(frame.rooms) ? frame.rooms : []) {
      if (info && typeof info.name === "string") {
        this.knownRooms.add(info.name);
        this.serverRooms.add(info.name);
      }
    }
    if (this.everWelcomed) this.flashBanner("Connected", "ok");
    else this.hideBanner();
    this.everWelcomed = true;
    this.closeInfo = null;
    this.setStatus("Online");
    this.renderMe();
    this.renderSuggestions();
    for (const name of this.roomNames) this.joinRoom(name);
    this.invite.setHost(frame.host === true);
  }

  onClosed(info) {
    this.welcomed = false;
    this.closeInfo = info;
    for (const room of this.rooms.values()) {
      room.joined = false;
      room.online = [];
      room.typing.clear();
    }
    this.renderOnline();
    this.renderTyping();
    this.setStatus("Offline");
  }

  onCountdown(seconds) {
    if (this.sessionEnded || this.closeInfo === null) return;
    const reason = this.everWelcomed
      ? {
          1012: "The server is restarting.",
          1013: "The server is busy.",
          1008: "The server closed the connection.",
          1001: "The server went away.",
        }[this.closeInfo.code] || "Connection lost."
      : "Cannot reach the chat server.";
    const when = seconds > 0 ? `Reconnecting in ${seconds} s…` : "Reconnecting…";
    this.showBanner(`${reason} ${when}`, "warn", { retry: seconds > 0 });
  }

  onSessionEnded() {
    this.sessionEnded = true;
    this.welcomed = false;
    this.setStatus("Signed out");
    this.showBanner(
      "Your session has ended (the invite link was changed). Ask the host for a new link.",
      "error",
    );
  }

  /** Subscribe to a room: load its latest page once, then join from the last id seen, then resend. */
  async joinRoom(name) {
    const room = this.room(name);
    const session = this.session;
    if (!room.initialized) {
      try {
        await this.initializeRoom(room);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 401)) {
          toast(`Could not load #${name}; retrying when reconnected.`, "error");
        }
        return;
      }
    }
    if (session !== this.session || !this.welcomed || !this.roomNames.includes(name)) return;
    room.joined = true;
    this.connection.send({ type: "join", room: name, after: room.lastId });
    for (const pending of this.pending) {
      if (pending.room === name && !pending.failed) this.transmit(pending);
    }
  }

  /** Newest page over HTTP first, so paging knows whether older history exists; a join follows. */
  initializeRoom(room) {
    if (!room.initializing) {
      room.initializing = this.fetchInitialPage(room).finally(() => {
        room.initializing = null;
      });
    }
    return room.initializing;
  }

  async fetchInitialPage(room) {
    let page = { messages: [], has_more: false };
    if (!this.serverRooms.has(room.name)) {
      const list = await this.getJSON("/api/rooms");
      for (const info of list.rooms || []) this.serverRooms.add(info.name);
    }
    // A room that does not exist yet starts empty: the join creates it and replays from 0.
    if (this.serverRooms.has(room.name)) {
      page = await this.getJSON(`/api/rooms/${encodeURIComponent(room.name)}/messages?limit=${PAGE_SIZE}`);
    }
    if (room.initialized) return;
    for (const message of page.messages) room.add(message);
    room.lastId = Math.max(room.lastId, room.newestId);
    room.hasMoreBefore = Boolean(page.has_more);
    room.initialized = true;
    if (room.readId === null || room.readId === undefined) room.readId = room.lastId;
    room.unread = room.messages.filter((m) => m.id > room.readId && !this.isOwn(m)).length;
    if (room.name === this.current) {
      if (!document.hidden) this.markRead(room);
      this.renderTimeline();
    }
    this.renderRooms();
  }

  // ---- frames from the server -------------------------------------------------------------------

  onMessage(message) {
    const room = this.rooms.get(message.room);
    if (!room || typeof message.id !== "number") return;
    const wasPending = this.resolvePending(message.client_id, message.room);
    room.lastId = Math.max(room.lastId, message.id);
    room.typing.delete(message.nick);
    const placed = room.add(message);
    const own = wasPending || this.isOwn(message);
    if (placed === null) {
      if (wasPending && room.name === this.current) this.timeline.setPending(this.pendingEntries(room));
      return;
    }
    if (own) room.readId = Math.max(room.readId ?? 0, message.id);
    else if (message.id > (room.readId ?? 0)) {
      if (room.name === this.current && !document.hidden) this.markRead(room, message.id);
      else room.unread += 1;
    }
    if (room.name === this.current) {
      if (placed === "append") {
        this.timeline.append(storedEntry(message, own), this.pendingEntries(room));
      } else {
        this.renderTimeline({ keepPosition: true });
      }
      this.renderTyping();
    }
    this.renderRooms();
  }

  onAck(frame) {
    const pending = this.pending.find((p) => p.client_id === frame.client_id);
    if (!pending || typeof frame.id !== "number") return;
    this.resolvePending(pending.client_id, pending.room);
    const room = this.rooms.get(pending.room);
    if (!room) return;
    if (!room.byId.has(frame.id)) {
      // Stored before its message frame reached us (or long ago, on a retry): show it now,
      // without moving lastId: the catch-up must still replay everything before it.
      room.add({
        type: "message",
        id: frame.id,
        room: pending.room,
        nick: this.nick,
        text: pending.text,
        ts: pending.ts,
        client_id: pending.client_id,
      });
    }
    if (room.name === this.current) this.renderTimeline({ keepPosition: true });
  }

  resolvePending(clientId, roomName) {
    const index = this.pending.findIndex((p) => p.client_id === clientId && p.room === roomName);
    if (index < 0) return false;
    this.pending.splice(index, 1);
    this.savePending();
    this.rememberOwn(clientId);
    return true;
  }

  onPresence(frame) {
    const room = this.rooms.get(frame.room);
    if (!room || !Array.isArray(frame.online)) return;
    room.online = frame.online.filter((nick) => typeof nick === "string");
    if (room.name === this.current) this.renderOnline();
  }

  onTyping(frame) {
    const room = this.rooms.get(frame.room);
    if (!room || typeof frame.nick !== "string" || frame.nick === this.nick) return;
    room.typing.set(frame.nick, Date.now() + TYPING_SHOWN_MS);
    if (room.name === this.current) this.renderTyping();
  }

  onError(frame) {
    const detail = typeof frame.detail === "string" && frame.detail ? frame.detail : frame.code;
    const pending = frame.client_id ? this.pending.find((p) => p.client_id === frame.client_id) : null;
    if (pending) return this.onSendError(pending, frame.code, detail);
    if (frame.code === "rate_limited") return toast("You are sending too fast. Slow down a little.", "error");
    if (frame.code === "hello_first") return undefined;
    if (!this.welcomed && frame.code === "bad_request") {
      return this.openNickDialog({
        first: !this.everWelcomed,
        error: `The server refused this nick: ${detail}`,
      });
    }
    if (this.nickRequest && frame.code === "bad_request") {
      this.nick = this.nickRequest.previous;
      this.nickRequest = null;
      this.renderMe();
      return toast(`Could not change your nick: ${detail}`, "error");
    }
    return toast(detail, "error");
  }

  onSendError(pending, code, detail) {
    if (code === "rate_limited") {
      toast("You are sending too fast. Retrying shortly…");
      setTimeout(
        () => {
          if (this.pending.includes(pending) && !pending.failed) this.transmit(pending);
        },
        1500 + Math.random() * 1000,
      );
      return;
    }
    if (code === "not_joined") {
      this.joinRoom(pending.room);
      return;
    }
    pending.failed = code === "too_long" ? "the message is too long." : detail;
    this.savePending();
    if (pending.room === this.current) this.timeline.setPending(this.pendingEntries(this.currentRoom));
    toast("A message could not be sent.", "error");
  }

  onNickGranted(nick) {
    if (typeof nick !== "string") return;
    this.nick = nick;
    this.nickRequest = null;
    this.renderMe();
  }

  // ---- sending --------------------------------------------------------------------------------

  send(text) {
    const room = this.currentRoom;
    const pending = {
      client_id: newClientId(),
      room: room.name,
      text,
      ts: new Date().toISOString(),
      failed: null,
    };
    this.pending.push(pending);
    this.savePending();
    this.rememberOwn(pending.client_id);
    this.timeline.setPending(this.pendingEntries(room));
    this.timeline.scrollToBottom();
    this.typingSentAt = 0;
    if (this.welcomed && room.joined) this.transmit(pending);
  }

  transmit(pending) {
    this.connection.send({
      type: "send",
      room: pending.room,
      text: pending.text,
      client_id: pending.client_id,
    });
  }

  retry(clientId) {
    const pending = this.pending.find((p) => p.client_id === clientId);
    if (!pending) return;
    pending.failed = null;
    this.savePending();
    this.timeline.setPending(this.pendingEntries(this.currentRoom));
    if (this.welcomed && this.room(pending.room).joined) this.transmit(pending);
  }

  discard(clientId) {
    this.pending = this.pending.filter((p) => p.client_id !== clientId);
    this.savePending();
    this.timeline.setPending(this.pendingEntries(this.currentRoom));
    byId("composer").focus();
  }

  pendingEntries(room) {
    return this.pending.filter((p) => p.room === room.name).map((p) => pendingEntry(p, this.nick || ""));
  }

  sendTyping() {
    const now = Date.now();
    if (!this.welcomed || now - this.typingSentAt < TYPING_SEND_EVERY_MS) return;
    if (!this.currentRoom.joined) return;
    this.typingSentAt = now;
    this.connection.send({ type: "typing", room: this.current }, { droppable: true });
  }

  changeNick(nick) {
    this.wantedNick = nick;
    this.storage.set("nick", nick);
    if (this.welcomed) {
      if (nick !== this.nick) {
        this.nickRequest = { nick, previous: this.nick };
        this.nick = nick;
        this.connection.send({ type: "nick", nick });
      }
    } else {
      this.nick = nick;
      if (!this.connection.socket && !this.connection.timer) this.connection.start();
      else if (this.connection.isOpen) this.connection.send({ type: "hello", nick });
    }
    this.renderMe();
  }

  // ---- rooms ----------------------------------------------------------------------------------

  addRoom(name) {
    if (!this.roomNames.includes(name)) {
      this.roomNames.push(name);
      this.storage.set("rooms", this.roomNames);
      this.knownRooms.add(name);
      this.room(name);
      if (this.welcomed) this.joinRoom(name);
    }
    this.switchRoom(name);
  }

  leaveRoom(name) {
    if (name === "general") return;
    if (this.welcomed && this.room(name).joined) this.connection.send({ type: "leave", room: name });
    this.roomNames = this.roomNames.filter((n) => n !== name);
    this.storage.set("rooms", this.roomNames);
    this.rooms.delete(name);
    if (this.current === name) this.switchRoom("general");
    else this.renderRooms();
  }

  switchRoom(name) {
    if (!this.roomNames.includes(name)) return;
    this.setSidebarOpen(false);
    this.current = name;
    this.storage.set("room", name);
    this.typingSentAt = 0;
    const room = this.currentRoom;
    if (room.initialized) this.markRead(room);
    this.renderAll();
  }

  /** The reader has seen `room` up to `id` (default: its newest message). */
  markRead(room, id = room.newestId) {
    if (!room || room.name !== this.current || document.hidden) return;
    room.readId = Math.max(room.readId ?? 0, id);
    this.storage.set(`read.${room.name}`, room.readId);
    if (room.unread !== 0) {
      room.unread = 0;
      this.renderRooms();
    }
  }

  async loadOlder() {
    const room = this.currentRoom;
    if (!room.initialized || room.loadingOlder || !room.hasMoreBefore || room.oldestId === null) return;
    room.loadingOlder = true;
    this.timeline.updateTop(room);
    try {
      const page = await this.getJSON(
        `/api/rooms/${encodeURIComponent(room.name)}/messages?before=${room.oldestId}&limit=${PAGE_SIZE}`,
      );
      for (const message of page.messages) room.add(message);
      room.hasMoreBefore = Boolean(page.has_more);
    } catch {
      toast("Could not load older messages.", "error");
    } finally {
      room.loadingOlder = false;
    }
    if (room.name === this.current) {
      this.timeline.prepend(room, this.entries(room), this.pendingEntries(room));
      this.fillViewport();
    }
  }

  /** Page older history in until the list can scroll (or there is none). */
  fillViewport() {
    const box = byId("messages");
    if (box.scrollHeight <= box.clientHeight + 8) this.loadOlder();
  }

  /** Open `roomName` and scroll to message `id`, paging history in as needed (search results). */
  async jumpTo(roomName, id) {
    if (!ROOM_PATTERN.test(roomName)) return;
    this.addRoom(roomName);
    const room = this.currentRoom;
    if (!room.initialized) {
      try {
        await this.initializeRoom(room);
      } catch {
        return;
      }
    }
    for (let page = 0; page < 20 && this.current === roomName; page += 1) {
      if (this.timeline.highlight(id)) return;
      if (!room.hasMoreBefore || room.oldestId === null || room.oldestId < id) break;
      await this.loadOlder();
    }
    if (!this.timeline.highlight(id)) toast("That message is not available any more.");
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  async getJSON(url, { signal } = {}) {
    const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" }, signal });
    if (response.status === 401) this.onSessionEnded();
    if (!response.ok) throw new HttpError(response.status);
    return response.json();
  }

  // ---- rendering ------------------------------------------------------------------------------

  renderAll() {
    this.renderRooms();
    this.renderHeader();
    this.renderTimeline();
    this.renderOnline();
    this.renderTyping();
    this.renderMe();
    this.renderSuggestions();
  }

  entries(room) {
    return room.messages.map((m) => storedEntry(m, this.isOwn(m)));
  }

  renderTimeline({ keepPosition = false } = {}) {
    const room = this.currentRoom;
    this.timeline.show(room, this.entries(room), this.pendingEntries(room), { keepPosition });
    if (room.initialized) this.fillViewport();
  }

  renderHeader() {
    byId("room-name").textContent = this.current;
    byId("messages").setAttribute("aria-label", `Messages in #${this.current}`);
    byId("composer").placeholder = `Message #${this.current}`;
  }

  renderRooms() {
    const list = byId("rooms");
    const items = this.roomNames.map((name) => {
      const room = this.room(name);
      const active = name === this.current;
      const button = el(
        "button",
        {
          className: `room${active ? " active" : ""}${room.unread > 0 ? " has-unread" : ""}`,
          attrs: { type: "button", "aria-current": active ? "page" : null },
          data: { room: name },
        },
        el("span", { className: "room-hash", text: "#", attrs: { "aria-hidden": "true" } }),
        el("span", { className: "room-label", text: name }),
      );
      if (room.unread > 0) {
        const count = room.unread > 99 ? "99+" : String(room.unread);
        button.append(
          el("span", { className: "unread", text: count, attrs: { "aria-label": `${room.unread} unread` } }),
        );
      }
      button.addEventListener("click", () => this.switchRoom(name));
      const item = el("li", { className: "room-item" }, button);
      if (name !== "general") {
        const leave = el("button", {
          className: "room-leave icon-button",
          attrs: { type: "button", "aria-label": `Leave #${name}`, title: `Leave #${name}` },
        });
        leave.append(svgIcon("M4 4l8 8M12 4l-8 8"));
        leave.addEventListener("click", () => this.leaveRoom(name));
        item.append(leave);
      }
      return item;
    });
    const focusedRoom = document.activeElement?.closest?.("#rooms .room")?.dataset.room;
    list.replaceChildren(...items);
    if (focusedRoom) list.querySelector(`.room[data-room="${focusedRoom}"]`)?.focus();
    this.renderTitle();
  }

  renderTitle() {
    let total = 0;
    for (const room of this.rooms.values()) total += room.unread;
    document.title = total > 0 ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
  }

  renderOnline() {
    const room = this.currentRoom;
    const names = [...room.online].sort((a, b) => a.localeCompare(b));
    byId("online-count").textContent = names.length > 0 ? String(names.length) : "";
    if (names.length === 0) {
      const note = this.welcomed ? "Joining…" : "Not connected";
      byId("online").replaceChildren(el("li", { className: "people-empty", text: note }));
      byId("room-meta").textContent = "";
      return;
    }
    byId("online").replaceChildren(
      ...names.map((nick) =>
        el(
          "li",
          { className: "person", data: { nick } },
          el("span", {
            className: `avatar small hue-${hueSlot(nick)}`,
            text: initial(nick),
            attrs: { "aria-hidden": "true" },
          }),
          el("span", { className: "person-name", text: nick, attrs: { dir: "auto" } }),
          nick === this.nick ? el("span", { className: "person-you", text: "you" }) : null,
        ),
      ),
    );
    byId("room-meta").textContent = names.length > 0 ? `${names.length} online` : "";
  }

  renderTyping() {
    clearTimeout(this.typingTimer);
    const room = this.currentRoom;
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

  renderMe() {
    const nick = this.nick || "";
    byId("me-nick").textContent = nick;
    const avatar = byId("me-avatar");
    avatar.className = nick ? `avatar hue-${hueSlot(nick)}` : "avatar empty";
    avatar.textContent = nick ? initial(nick) : "";
  }

  renderSuggestions() {
    const options = [...this.knownRooms]
      .filter((name) => !this.roomNames.includes(name))
      .sort()
      .map((name) => el("option", { attrs: { value: name } }));
    byId("room-suggestions").replaceChildren(...options);
  }

  setStatus(text) {
    const status = byId("me-status");
    status.textContent = text;
    status.dataset.state = text === "Online" ? "online" : "offline";
  }

  showBanner(text, kind, { retry = false } = {}) {
    clearTimeout(this.bannerTimer);
    const banner = byId("banner");
    banner.className = `banner ${kind}`;
    byId("banner-text").textContent = text;
    byId("banner-retry").hidden = !retry;
    banner.hidden = false;
  }

  flashBanner(text, kind) {
    this.showBanner(text, kind);
    this.bannerTimer = setTimeout(() => this.hideBanner(), 2000);
  }

  hideBanner() {
    clearTimeout(this.bannerTimer);
    byId("banner").hidden = true;
  }

  // ---- controls -------------------------------------------------------------------------------

  bindComposer() {
    const form = byId("composer-form");
    const composer = byId("composer");
    const count = byId("composer-count");
    const send = byId("send");
    const update = () => {
      composer.style.height = "auto";
      composer.style.height = `${Math.min(composer.scrollHeight + 2, 200)}px`;
      const length = codePointLength(composer.value);
      count.textContent = length > MAX_TEXT - 500 ? `${length} / ${MAX_TEXT}` : "";
      count.classList.toggle("over", length > MAX_TEXT);
      send.disabled = length > MAX_TEXT;
    };
    composer.addEventListener("input", () => {
      update();
      if (composer.value.trim()) this.sendTyping();
    });
    composer.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = composer.value.replace(/^\s*\n/, "").replace(/\s+$/, "");
      if (!text.trim() || codePointLength(text) > MAX_TEXT) return;
      this.send(text);
      composer.value = "";
      update();
      composer.focus();
    });
  }

  bindRooms() {
    const form = byId("room-form");
    const input = byId("room-input");
    const hint = byId("room-hint");
    const defaultHint = hint.textContent;
    const showProblem = (problem) => {
      hint.textContent = problem || defaultHint;
      hint.classList.toggle("error", Boolean(problem));
      input.setAttribute("aria-invalid", problem ? "true" : "false");
    };
    input.addEventListener("input", () => {
      const name = input.value.trim();
      showProblem(name ? roomProblem(name) : null);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = input.value.trim();
      const problem = roomProblem(name);
      showProblem(problem);
      if (problem) {
        input.focus();
        return;
      }
      input.value = "";
      this.addRoom(name);
      byId("composer").focus();
    });
  }

  /** On narrow screens the sidebar is a drawer, opened from the header's button. */
  bindSidebarToggle() {
    byId("sidebar-toggle").addEventListener("click", () => this.setSidebarOpen(!this.sidebarOpen));
    byId("sidebar-scrim").addEventListener("click", () => this.setSidebarOpen(false));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setSidebarOpen(false);
    });
  }

  get sidebarOpen() {
    return document.querySelector(".app").classList.contains("sidebar-open");
  }

  /** Open or close the drawer: the focus goes into it, and back to its button when it closes. */
  setSidebarOpen(open) {
    const wasOpen = this.sidebarOpen;
    document.querySelector(".app").classList.toggle("sidebar-open", open);
    byId("sidebar-toggle").setAttribute("aria-expanded", String(open));
    if (open && !wasOpen) document.querySelector("#rooms .room.active")?.focus();
    else if (!open && wasOpen && byId("sidebar").contains(document.activeElement)) {
      byId("sidebar-toggle").focus();
    }
  }

  bindNickDialog() {
    const dialog = byId("nick-dialog");
    const form = byId("nick-form");
    const input = byId("nick-input");
    const error = byId("nick-error");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const nick = input.value.trim();
      const problem = nickProblem(nick);
      error.textContent = problem || "";
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) {
        input.focus();
        return;
      }
      dialog.close();
      this.changeNick(nick);
      byId("composer").focus();
    });
    dialog.addEventListener("cancel", (event) => {
      if (!this.wantedNick) event.preventDefault();
    });
    byId("nick-cancel").addEventListener("click", () => dialog.close());
    byId("nick-change").addEventListener("click", () => this.openNickDialog({ first: false }));
  }

  openNickDialog({ first, error = "" }) {
    const dialog = byId("nick-dialog");
    byId("nick-title").textContent = first ? "Welcome to chatdesk" : "Change your nick";
    byId("nick-lead").textContent = first
      ? "Pick a nick: it is how the others in the room will see you."
      : "Everyone in your rooms will see the new nick from now on.";
    byId("nick-submit").textContent = first ? "Start chatting" : "Save";
    byId("nick-cancel").hidden = first || !this.wantedNick;
    byId("nick-error").textContent = error;
    const input = byId("nick-input");
    input.value = this.nick || this.wantedNick || "";
    if (!dialog.open) dialog.showModal();
    input.focus();
    input.select();
  }

  bindGlobalKeys() {
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest?.("input, textarea, [contenteditable]");
      if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
        event.preventDefault();
        const index = this.roomNames.indexOf(this.current);
        const step = event.key === "ArrowUp" ? -1 : 1;
        const next = this.roomNames[(index + step + this.roomNames.length) % this.roomNames.length];
        this.switchRoom(next);
      } else if (event.key === "/" && !typing && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        this.search.focus();
      }
    });
  }
}

function svgIcon(path) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

const app = new ChatApp();
window.chatdesk = app; // for debugging from the console
app.start();
// Two frames after start-up the first one is on screen: a user-timing mark for start-up checks.
requestAnimationFrame(() => requestAnimationFrame(() => performance.mark(RENDERED_MARK)));
