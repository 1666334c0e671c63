// A room's stored history over HTTP: its newest page before the first join (so paging knows
// whether older messages exist), and older pages as the reader scrolls up.

import { toast } from "./toast.js";

/** Loads history into `state`'s rooms; `view` renders it, `markRead(room)` records what was seen. */
export class History {
  constructor(state, { api, view, markRead }) {
    this.state = state;
    this.api = api;
    this.view = view;
    this.markRead = markRead;
  }

  /** Load `room`'s newest page, once (concurrent callers share the request); rejects when it fails. */
  initialize(room) {
    if (!room.initializing) {
      room.initializing = this.fetchInitialPage(room).finally(() => {
        room.initializing = null;
      });
    }
    return room.initializing;
  }

  async fetchInitialPage(room) {
    const state = this.state;
    let page = { messages: [], has_more: false };
    if (!state.serverRooms.has(room.name)) {
      const list = await this.api.rooms();
      for (const info of list.rooms || []) state.serverRooms.add(info.name);
    }
    // A room that does not exist yet starts empty: the join creates it and replays from 0.
    if (state.serverRooms.has(room.name)) page = await this.api.latestMessages(room.name);
    if (room.initialized) return;
    for (const message of page.messages) room.add(message);
    room.lastId = Math.max(room.lastId, room.newestId);
    room.hasMoreBefore = Boolean(page.has_more);
    room.initialized = true;
    if (room.readId === null || room.readId === undefined) room.readId = room.lastId;
    room.unread = room.messages.filter((m) => m.id > room.readId && !state.isOwn(m)).length;
    if (room.name === state.current) {
      if (!document.hidden) this.markRead(room);
      this.view.messages();
    }
    this.view.roomList();
  }

  /** Load the page before the oldest message shown, if there is one and no load is under way. */
  async loadOlder() {
    const room = this.state.currentRoom;
    if (!room.initialized || room.loadingOlder || !room.hasMoreBefore || room.oldestId === null) return;
    room.loadingOlder = true;
    this.view.historyTop();
    try {
      const page = await this.api.olderMessages(room.name, room.oldestId);
      for (const message of page.messages) room.add(message);
      room.hasMoreBefore = Boolean(page.has_more);
    } catch {
      toast("Could not load older messages.", "error");
    } finally {
      room.loadingOlder = false;
    }
    if (room.name === this.state.current) this.view.olderMessages(room);
  }
}
