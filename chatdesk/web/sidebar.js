// The sidebar: the rooms with their unread counts (and the total in the page title), the box to
// join or create a room, who is online, our own nick and status; on a phone, a drawer.

import { DEFAULT_ROOM } from "./state.js";
import { byId, el, hueSlot, initial } from "./util.js";
import { roomProblem } from "./validation.js";

const BASE_TITLE = "chatdesk";
const UNREAD_SHOWN_MAX = 99;

/** Renders `state` into the sidebar; `actions`: switchRoom(name), leaveRoom(name), addRoom(name). */
export class Sidebar {
  constructor(state, actions) {
    this.state = state;
    this.actions = actions;
    this.app = document.querySelector(".app");
    this.toggle = byId("sidebar-toggle");
    this.bindRoomForm();
    this.bindDrawer();
  }

  /** The room list, and the unread total in the page title. */
  renderRooms() {
    const list = byId("rooms");
    const items = this.state.roomNames.map((name) => this.roomItem(name));
    const focusedRoom = document.activeElement?.closest?.("#rooms .room")?.dataset.room;
    list.replaceChildren(...items);
    if (focusedRoom) list.querySelector(`.room[data-room="${focusedRoom}"]`)?.focus();
    this.renderTitle();
  }

  roomItem(name) {
    const room = this.state.room(name);
    const active = name === this.state.current;
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
      const count = room.unread > UNREAD_SHOWN_MAX ? `${UNREAD_SHOWN_MAX}+` : String(room.unread);
      button.append(
        el("span", { className: "unread", text: count, attrs: { "aria-label": `${room.unread} unread` } }),
      );
    }
    button.addEventListener("click", () => this.actions.switchRoom(name));
    const item = el("li", { className: "room-item" }, button);
    if (name !== DEFAULT_ROOM) {
      const leave = el("button", {
        className: "room-leave icon-button",
        attrs: { type: "button", "aria-label": `Leave #${name}`, title: `Leave #${name}` },
      });
      leave.append(svgIcon("M4 4l8 8M12 4l-8 8"));
      leave.addEventListener("click", () => this.actions.leaveRoom(name));
      item.append(leave);
    }
    return item;
  }

  renderTitle() {
    let total = 0;
    for (const room of this.state.rooms.values()) total += room.unread;
    document.title = total > 0 ? `(${total}) ${BASE_TITLE}` : BASE_TITLE;
  }

  /** Who is online in the room on screen. */
  renderPeople() {
    const names = [...this.state.currentRoom.online].sort((a, b) => a.localeCompare(b));
    byId("online-count").textContent = names.length > 0 ? String(names.length) : "";
    if (names.length === 0) {
      const note = this.state.welcomed ? "Joining…" : "Not connected";
      byId("online").replaceChildren(el("li", { className: "people-empty", text: note }));
      return;
    }
    byId("online").replaceChildren(...names.map((nick) => this.person(nick)));
  }

  person(nick) {
    return el(
      "li",
      { className: "person", data: { nick } },
      el("span", {
        className: `avatar small hue-${hueSlot(nick)}`,
        text: initial(nick),
        attrs: { "aria-hidden": "true" },
      }),
      el("span", { className: "person-name", text: nick, attrs: { dir: "auto" } }),
      nick === this.state.nick ? el("span", { className: "person-you", text: "you" }) : null,
    );
  }

  /** Our nick and avatar. */
  renderMe() {
    const nick = this.state.nick || "";
    byId("me-nick").textContent = nick;
    const avatar = byId("me-avatar");
    avatar.className = nick ? `avatar hue-${hueSlot(nick)}` : "avatar empty";
    avatar.textContent = nick ? initial(nick) : "";
  }

  /** The rooms the room box suggests: known ones we are not in. */
  renderSuggestions() {
    const options = [...this.state.knownRooms]
      .filter((name) => !this.state.roomNames.includes(name))
      .sort()
      .map((name) => el("option", { attrs: { value: name } }));
    byId("room-suggestions").replaceChildren(...options);
  }

  /** The connection status under our nick ("Online" shows as online, anything else as not). */
  setStatus(text) {
    const status = byId("me-status");
    status.textContent = text;
    status.dataset.state = text === "Online" ? "online" : "offline";
  }

  bindRoomForm() {
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
      this.actions.addRoom(name);
    });
  }

  /** On narrow screens the sidebar is a drawer, opened from the header's button. */
  bindDrawer() {
    this.toggle.addEventListener("click", () => this.setDrawerOpen(!this.drawerOpen));
    byId("sidebar-scrim").addEventListener("click", () => this.setDrawerOpen(false));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setDrawerOpen(false);
    });
  }

  get drawerOpen() {
    return this.app.classList.contains("sidebar-open");
  }

  /** Open or close the drawer: the focus goes into it, and back to its button when it closes. */
  setDrawerOpen(open) {
    const wasOpen = this.drawerOpen;
    this.app.classList.toggle("sidebar-open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
    if (open && !wasOpen) document.querySelector("#rooms .room.active")?.focus();
    else if (!open && wasOpen && byId("sidebar").contains(document.activeElement)) this.toggle.focus();
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
