// The chat protocol over the /chat WebSocket (version 1, shared/spec/chat-protocol.md): the
// connection's life (open, close, reconnect countdown, session ended), the frames the server
// sends, and the client's hello, nick and typing frames.

import {
  CLOSE_GOING_AWAY,
  CLOSE_POLICY_VIOLATION,
  CLOSE_SERVICE_RESTART,
  CLOSE_TRY_AGAIN_LATER,
} from "./limits.js";
import { toast } from "./toast.js";

const TYPING_SHOWN_MS = 5000;
/** What the banner says after the server closed the socket with one of these codes. */
const CLOSE_REASONS = {
  [CLOSE_SERVICE_RESTART]: "The server is restarting.",
  [CLOSE_TRY_AGAIN_LATER]: "The server is busy.",
  [CLOSE_POLICY_VIOLATION]: "The server closed the connection.",
  [CLOSE_GOING_AWAY]: "The server went away.",
};

/** Applies the server's frames and the connection's events to `state`; `view` renders the result. */
export class Protocol {
  constructor(state, { connection, sends, rooms, view }) {
    this.state = state;
    this.connection = connection;
    this.sends = sends;
    this.rooms = rooms;
    this.view = view;
  }

  // ---- the connection ---------------------------------------------------------------------

  onOpen() {
    this.view.status("Signing in…");
    this.connection.send({ type: "hello", nick: this.state.wantedNick });
  }

  onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        return this.onWelcome(frame);
      case "message":
        return this.onMessage(frame);
      case "ack":
        return this.sends.acked(frame);
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

  onClosed(info) {
    const state = this.state;
    state.welcomed = false;
    state.closeInfo = info;
    for (const room of state.rooms.values()) {
      room.joined = false;
      room.online = [];
      room.typing.clear();
    }
    this.view.people();
    this.view.typing();
    this.view.status("Offline");
  }

  onCountdown(seconds) {
    const state = this.state;
    if (state.sessionEnded || state.closeInfo === null) return;
    const reason = state.everWelcomed
      ? CLOSE_REASONS[state.closeInfo.code] || "Connection lost."
      : "Cannot reach the chat server.";
    const when = seconds > 0 ? `Reconnecting in ${seconds} s…` : "Reconnecting…";
    this.view.banner.show(`${reason} ${when}`, "warn", { retry: seconds > 0 });
  }

  /** The server no longer knows us (the token was rotated): say so; nothing reconnects. */
  onSessionEnded() {
    this.state.sessionEnded = true;
    this.state.welcomed = false;
    this.view.status("Signed out");
    this.view.banner.show(
      "Your session has ended (the invite link was changed). Ask the host for a new link.",
      "error",
    );
  }

  // ---- frames from the server -------------------------------------------------------------

  onWelcome(frame) {
    const state = this.state;
    state.session += 1;
    state.welcomed = true;
    this.connection.markHealthy();
    if (typeof frame.nick === "string") state.nick = frame.nick;
    state.nickRequest = null;
    for (const info of Array.isArray(frame.rooms) ? frame.rooms : []) {
      if (info && typeof info.name === "string") {
        state.knownRooms.add(info.name);
        state.serverRooms.add(info.name);
      }
    }
    if (state.everWelcomed) this.view.banner.flash("Connected", "ok");
    else this.view.banner.hide();
    state.everWelcomed = true;
    state.closeInfo = null;
    this.view.status("Online");
    this.view.me();
    this.view.suggestions();
    for (const name of state.roomNames) this.rooms.join(name);
    this.view.host(frame.host === true);
  }

  onMessage(message) {
    const state = this.state;
    const room = state.rooms.get(message.room);
    if (!room || typeof message.id !== "number") return;
    const wasPending = this.sends.resolve(message.client_id, message.room);
    room.lastId = Math.max(room.lastId, message.id);
    room.typing.delete(message.nick);
    const placed = room.add(message);
    const own = wasPending || state.isOwn(message);
    const shown = room.name === state.current;
    if (placed === null) {
      if (wasPending && shown) this.view.pending();
      return;
    }
    if (own) room.readId = Math.max(room.readId ?? 0, message.id);
    else if (message.id > (room.readId ?? 0)) {
      if (shown && !document.hidden) this.rooms.markRead(room, message.id);
      else room.unread += 1;
    }
    if (shown) {
      if (placed === "append") this.view.appended(message, own);
      else this.view.messages({ keepPosition: true });
      this.view.typing();
    }
    this.view.roomList();
  }

  onPresence(frame) {
    const room = this.state.rooms.get(frame.room);
    if (!room || !Array.isArray(frame.online)) return;
    room.online = frame.online.filter((nick) => typeof nick === "string");
    if (room.name === this.state.current) this.view.people();
  }

  onTyping(frame) {
    const room = this.state.rooms.get(frame.room);
    if (!room || typeof frame.nick !== "string" || frame.nick === this.state.nick) return;
    room.typing.set(frame.nick, Date.now() + TYPING_SHOWN_MS);
    if (room.name === this.state.current) this.view.typing();
  }

  onError(frame) {
    const state = this.state;
    const detail = typeof frame.detail === "string" && frame.detail ? frame.detail : frame.code;
    const pending = frame.client_id ? this.sends.find(frame.client_id) : null;
    if (pending) return this.sends.refused(pending, frame.code, detail);
    if (frame.code === "rate_limited") return toast("You are sending too fast. Slow down a little.", "error");
    if (frame.code === "hello_first") return undefined;
    if (!state.welcomed && frame.code === "bad_request") {
      return this.view.askNick({
        first: !state.everWelcomed,
        error: `The server refused this nick: ${detail}`,
      });
    }
    if (state.nickRequest && frame.code === "bad_request") {
      state.nick = state.nickRequest.previous;
      state.nickRequest = null;
      this.view.me();
      return toast(`Could not change your nick: ${detail}`, "error");
    }
    return toast(detail, "error");
  }

  onNickGranted(nick) {
    if (typeof nick !== "string") return;
    this.state.nick = nick;
    this.state.nickRequest = null;
    this.view.me();
  }

  // ---- frames to the server ---------------------------------------------------------------

  /** Use `nick` from now on: rename if signed in, else sign in with it. */
  changeNick(nick) {
    const state = this.state;
    state.wantedNick = nick;
    state.saveNick();
    if (state.welcomed) {
      if (nick !== state.nick) {
        state.nickRequest = { nick, previous: state.nick };
        state.nick = nick;
        this.connection.send({ type: "nick", nick });
      }
    } else {
      state.nick = nick;
      if (this.connection.idle) this.connection.start();
      else if (this.connection.isOpen) this.connection.send({ type: "hello", nick });
    }
    this.view.me();
  }

  /** Tell the room on screen we are typing; false when we are not in it yet (nothing sent). */
  sendTyping() {
    const room = this.state.currentRoom;
    if (!this.state.welcomed || !room.joined) return false;
    this.connection.send({ type: "typing", room: room.name }, { droppable: true });
    return true;
  }
}
