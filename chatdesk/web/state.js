// The client's state: the rooms it is in and their messages, the nick, the session, our pending
// sends and the ids of our own messages; and what of it persists in localStorage across reloads.
// Plain data: the modules that change it ask the views to render afterwards.

import { ROOM_PATTERN } from "./limits.js";
import { Storage } from "./util.js";
import { nickProblem } from "./validation.js";

/** The room every client is in and nobody can leave. */
export const DEFAULT_ROOM = "general";
const OWN_IDS_KEPT = 500;

/** The client's copy of one room: messages by id, paging state, unread count, presence, typing. */
export class Room {
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

/** Everything the client knows, loaded from localStorage at start; the save* methods persist changes. */
export class ChatState {
  constructor(storage = new Storage("chatdesk.")) {
    this.storage = storage;
    this.wantedNick = this.loadNick(); // what the user chose; `nick` is what the server granted
    this.nick = this.wantedNick;
    this.nickRequest = null; // {nick, previous} while a rename awaits the server's answer
    this.welcomed = false;
    this.everWelcomed = false;
    this.sessionEnded = false;
    this.session = 0; // counts welcomes: work begun in an earlier session is dropped
    this.closeInfo = null; // how the socket last closed, while it is closed
    this.rooms = new Map();
    this.pending = this.loadPending();
    this.ownIds = new Set(this.storage.get("own", []));
    this.roomNames = this.loadRoomNames();
    const room = this.storage.get("room");
    this.current = this.roomNames.includes(room) ? room : DEFAULT_ROOM;
    this.knownRooms = new Set(this.roomNames); // suggestions for the room box
    this.serverRooms = new Set(); // rooms the server said exist
    for (const name of this.roomNames) this.room(name);
  }

  /** The room on screen. */
  get currentRoom() {
    return this.room(this.current);
  }

  /** The room called `name`, made (empty) on first use. */
  room(name) {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, this.storage.get(`read.${name}`));
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Whether we wrote `message` (from this browser, or under our nick). */
  isOwn(message) {
    return this.ownIds.has(message.client_id) || message.nick === this.nick;
  }

  /** Remember a client_id as ours (the most recent ones only). */
  rememberOwn(clientId) {
    this.ownIds.add(clientId);
    if (this.ownIds.size > OWN_IDS_KEPT) this.ownIds.delete(this.ownIds.values().next().value);
    this.storage.set("own", Array.from(this.ownIds));
  }

  savePending() {
    this.storage.set("pending", this.pending);
  }

  saveRoomNames() {
    this.storage.set("rooms", this.roomNames);
  }

  saveCurrent() {
    this.storage.set("room", this.current);
  }

  saveReadMark(room) {
    this.storage.set(`read.${room.name}`, room.readId);
  }

  saveNick() {
    this.storage.set("nick", this.wantedNick);
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
    const names = [DEFAULT_ROOM];
    for (const name of Array.isArray(stored) ? stored : []) {
      if (typeof name === "string" && ROOM_PATTERN.test(name) && !names.includes(name)) names.push(name);
    }
    for (const pending of this.pending) {
      if (!names.includes(pending.room)) names.push(pending.room);
    }
    return names;
  }
}
