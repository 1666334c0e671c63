// chatdesk's chat UI: rooms, messages, presence and typing over the /chat WebSocket (protocol.js),
// history and search over the HTTP API (api.js). This file builds the pieces and connects them:
// user actions and server frames change the state (state.js), then the views render it.

import { Api } from "./api.js";
import { Banner } from "./banner.js";
import { Composer } from "./composer.js";
import { Connection, chatUrl } from "./connection.js";
import { History } from "./history.js";
import { Invite } from "./invite.js";
import { NickDialog } from "./nick-dialog.js";
import { Protocol } from "./protocol.js";
import { RoomView } from "./room-view.js";
import { Rooms } from "./rooms.js";
import { Search } from "./search.js";
import { Sends } from "./sends.js";
import { bindShortcuts } from "./shortcuts.js";
import { Sidebar } from "./sidebar.js";
import { ChatState } from "./state.js";

const RENDERED_MARK = "chatdesk:rendered"; // read by the desktop self-test (window.py)

const state = new ChatState();
const api = new Api({ unauthorized: () => protocol.onSessionEnded() });
const connection = new Connection(chatUrl(), {
  open: () => protocol.onOpen(),
  frame: (frame) => protocol.onFrame(frame),
  closed: (info) => protocol.onClosed(info),
  countdown: (seconds) => protocol.onCountdown(seconds),
  unauthorized: () => protocol.onSessionEnded(),
});

// The views: each owns its part of the page, renders from the state, and reports what the user did.
const roomView = new RoomView(state, {
  retry: (clientId) => sends.retry(clientId),
  discard: (clientId) => {
    sends.discard(clientId);
    composer.focus();
  },
  loadOlder: () => history.loadOlder(),
  reachedBottom: () => rooms.markRead(state.currentRoom),
});
const sidebar = new Sidebar(state, {
  switchRoom: (name) => rooms.switchTo(name),
  leaveRoom: (name) => rooms.leave(name),
  addRoom: (name) => {
    rooms.add(name);
    composer.focus();
  },
});
const composer = new Composer(state, {
  send: (text) => sends.send(text),
  typing: () => protocol.sendTyping(),
});
const nickDialog = new NickDialog(state, {
  change: (nick) => {
    protocol.changeNick(nick);
    composer.focus();
  },
});
const banner = new Banner({ retry: () => connection.reconnectNow() });
const search = new Search({
  fetchResults: (query, options) => api.search(query, options),
  jumpTo: (roomName, id) => rooms.jumpTo(roomName, id),
});
const invite = new Invite();

/** What the state's owners ask to have rendered again; each renders the current state. */
const view = {
  all() {
    sidebar.renderRooms();
    roomView.renderHeader();
    composer.roomChanged();
    roomView.render();
    view.people();
    roomView.renderTyping();
    sidebar.renderMe();
    sidebar.renderSuggestions();
  },
  roomList: () => sidebar.renderRooms(),
  people() {
    sidebar.renderPeople();
    roomView.renderMeta();
  },
  me: () => sidebar.renderMe(),
  suggestions: () => sidebar.renderSuggestions(),
  status: (text) => sidebar.setStatus(text),
  closeDrawer: () => sidebar.setDrawerOpen(false),
  messages: (options) => roomView.render(options),
  appended: (message, own) => roomView.append(message, own),
  pending: (options) => roomView.renderPending(options),
  historyTop: () => roomView.renderHistoryTop(),
  olderMessages: (room) => roomView.prepend(room),
  highlight: (id) => roomView.highlight(id),
  typing: () => roomView.renderTyping(),
  banner,
  askNick: (options) => nickDialog.open(options),
  host: (isHost) => invite.setHost(isHost),
};

// The state's owners: they change it in answer to the user, the server and the network.
const sends = new Sends(state, { connection, view, rejoin: (roomName) => rooms.join(roomName) });
const history = new History(state, { api, view, markRead: (room) => rooms.markRead(room) });
const rooms = new Rooms(state, { connection, history, sends, view });
const protocol = new Protocol(state, { connection, sends, rooms, view });

bindShortcuts({ step: (offset) => rooms.step(offset), focusSearch: () => search.focus() });
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) rooms.markRead(state.currentRoom);
});
view.all();
if (state.wantedNick) {
  connection.start();
} else {
  view.status("Choose a nick to start");
  nickDialog.open({ first: true });
}
// For debugging from the console (and for tests that need a way around the UI).
window.chatdesk = { state, connection, timeline: roomView.timeline, send: (text) => sends.send(text) };
// Two frames after start-up the first one is on screen: a user-timing mark for start-up checks.
requestAnimationFrame(() => requestAnimationFrame(() => performance.mark(RENDERED_MARK)));
