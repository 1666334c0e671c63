// The rooms the user is in and the one on screen: joining (history first, then the join frame,
// then our pending sends), adding, leaving, switching, read marks, and jumping to a message.

import { isUnauthorized } from "./api.js";
import { ROOM_PATTERN } from "./limits.js";
import { DEFAULT_ROOM } from "./state.js";
import { toast } from "./toast.js";

const JUMP_PAGES_MAX = 20; // older pages paged in to reach a search result

/** Room membership and navigation over `state`; `view` renders what changed. */
export class Rooms {
  constructor(state, { connection, history, sends, view }) {
    this.state = state;
    this.connection = connection;
    this.history = history;
    this.sends = sends;
    this.view = view;
  }

  /** Subscribe to a room: load its latest page once, then join from the last id seen, then resend. */
  async join(name) {
    const state = this.state;
    const room = state.room(name);
    const session = state.session;
    if (!room.initialized) {
      try {
        await this.history.initialize(room);
      } catch (error) {
        if (!isUnauthorized(error)) toast(`Could not load #${name}; retrying when reconnected.`, "error");
        return;
      }
    }
    if (session !== state.session || !state.welcomed || !state.roomNames.includes(name)) return;
    room.joined = true;
    this.connection.send({ type: "join", room: name, after: room.lastId });
    this.sends.resend(name);
  }

  /** Join `name` if we are not in it yet (it is created if new), and show it. */
  add(name) {
    const state = this.state;
    if (!state.roomNames.includes(name)) {
      state.roomNames.push(name);
      state.saveRoomNames();
      state.knownRooms.add(name);
      state.room(name);
      if (state.welcomed) this.join(name);
    }
    this.switchTo(name);
  }

  /** Leave `name` (never the default room); the default room is shown if it was on screen. */
  leave(name) {
    const state = this.state;
    if (name === DEFAULT_ROOM) return;
    if (state.welcomed && state.room(name).joined) this.connection.send({ type: "leave", room: name });
    state.roomNames = state.roomNames.filter((n) => n !== name);
    state.saveRoomNames();
    state.rooms.delete(name);
    if (state.current === name) this.switchTo(DEFAULT_ROOM);
    else this.view.roomList();
  }

  /** Show room `name` (one we are in). */
  switchTo(name) {
    const state = this.state;
    if (!state.roomNames.includes(name)) return;
    this.view.closeDrawer();
    state.current = name;
    state.saveCurrent();
    const room = state.currentRoom;
    if (room.initialized) this.markRead(room);
    this.view.all();
  }

  /** Show the room `offset` places after the one on screen in the list (wrapping round). */
  step(offset) {
    const names = this.state.roomNames;
    const index = names.indexOf(this.state.current);
    this.switchTo(names[(index + offset + names.length) % names.length]);
  }

  /** The reader has seen `room` up to `id` (default: its newest message). */
  markRead(room, id = room.newestId) {
    if (!room || room.name !== this.state.current || document.hidden) return;
    room.readId = Math.max(room.readId ?? 0, id);
    this.state.saveReadMark(room);
    if (room.unread !== 0) {
      room.unread = 0;
      this.view.roomList();
    }
  }

  /** Open `roomName` and scroll to message `id`, paging history in as needed (search results). */
  async jumpTo(roomName, id) {
    if (!ROOM_PATTERN.test(roomName)) return;
    this.add(roomName);
    const room = this.state.currentRoom;
    if (!room.initialized) {
      try {
        await this.history.initialize(room);
      } catch {
        return;
      }
    }
    for (let page = 0; page < JUMP_PAGES_MAX && this.state.current === roomName; page += 1) {
      if (this.view.highlight(id)) return;
      if (!room.hasMoreBefore || room.oldestId === null || room.oldestId < id) break;
      await this.history.loadOlder();
    }
    if (!this.view.highlight(id)) toast("That message is not available any more.");
  }
}
