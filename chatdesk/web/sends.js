// Our messages on their way to being stored: the pending queue, persisted so a reload resends
// it, transmitted once the room is joined (again after every reconnect: the server stores a
// client_id once), settled by the server's ack or message frame, or marked failed when refused.

import { toast } from "./toast.js";
import { newClientId } from "./util.js";

const RATE_LIMITED_RETRY_MS = 1500; // plus up to a second of jitter

/** The pending sends in `state.pending`; `view` renders their rows, `rejoin(roomName)` joins again. */
export class Sends {
  constructor(state, { connection, view, rejoin }) {
    this.state = state;
    this.connection = connection;
    this.view = view;
    this.rejoin = rejoin;
  }

  /** Queue `text` for the room on screen; it leaves at once when that room is joined. */
  send(text) {
    const room = this.state.currentRoom;
    const pending = {
      client_id: newClientId(),
      room: room.name,
      text,
      ts: new Date().toISOString(),
      failed: null,
    };
    this.state.pending.push(pending);
    this.state.savePending();
    this.state.rememberOwn(pending.client_id);
    this.view.pending({ scroll: true });
    if (this.state.welcomed && room.joined) this.transmit(pending);
  }

  transmit(pending) {
    this.connection.send({
      type: "send",
      room: pending.room,
      text: pending.text,
      client_id: pending.client_id,
    });
  }

  /** Transmit every pending send of `roomName` that has not failed (we just joined it). */
  resend(roomName) {
    for (const pending of this.state.pending) {
      if (pending.room === roomName && !pending.failed) this.transmit(pending);
    }
  }

  /** Try a failed send again. */
  retry(clientId) {
    const pending = this.find(clientId);
    if (!pending) return;
    pending.failed = null;
    this.state.savePending();
    this.view.pending();
    if (this.state.welcomed && this.state.room(pending.room).joined) this.transmit(pending);
  }

  /** Drop a send for good. */
  discard(clientId) {
    this.state.pending = this.state.pending.filter((p) => p.client_id !== clientId);
    this.state.savePending();
    this.view.pending();
  }

  /** The pending send with this client_id, or undefined. */
  find(clientId) {
    return this.state.pending.find((p) => p.client_id === clientId);
  }

  /** A message of ours is stored: it is no longer pending. Returns whether it was. */
  resolve(clientId, roomName) {
    const pending = this.state.pending;
    const index = pending.findIndex((p) => p.client_id === clientId && p.room === roomName);
    if (index < 0) return false;
    pending.splice(index, 1);
    this.state.savePending();
    this.state.rememberOwn(clientId);
    return true;
  }

  /** The server's ack: settle the send, and show the message if its own frame has not come yet. */
  acked(frame) {
    const pending = this.find(frame.client_id);
    if (!pending || typeof frame.id !== "number") return;
    this.resolve(pending.client_id, pending.room);
    const room = this.state.rooms.get(pending.room);
    if (!room) return;
    if (!room.byId.has(frame.id)) {
      // Stored before its message frame reached us (or long ago, on a retry): show it now,
      // without moving lastId: the catch-up must still replay everything before it.
      room.add({
        type: "message",
        id: frame.id,
        room: pending.room,
        nick: this.state.nick,
        text: pending.text,
        ts: pending.ts,
        client_id: pending.client_id,
      });
    }
    if (room.name === this.state.current) this.view.messages({ keepPosition: true });
  }

  /** The server refused a send: retry later, join first, or mark it failed. */
  refused(pending, code, detail) {
    if (code === "rate_limited") {
      toast("You are sending too fast. Retrying shortly…");
      setTimeout(
        () => {
          if (this.state.pending.includes(pending) && !pending.failed) this.transmit(pending);
        },
        RATE_LIMITED_RETRY_MS + Math.random() * 1000,
      );
      return;
    }
    if (code === "not_joined") {
      this.rejoin(pending.room);
      return;
    }
    pending.failed = code === "too_long" ? "the message is too long." : detail;
    this.state.savePending();
    if (pending.room === this.state.current) this.view.pending();
    toast("A message could not be sent.", "error");
  }
}
