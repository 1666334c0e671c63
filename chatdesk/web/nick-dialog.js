// The nick dialog: choose a nick on first start, change it later (the sidebar's pencil button),
// or fix one the server refused.

import { byId } from "./util.js";
import { nickProblem } from "./validation.js";

/** The #nick-dialog; `change(nick)` is called with a valid nick once the dialog has closed. */
export class NickDialog {
  constructor(state, { change }) {
    this.state = state;
    this.change = change;
    this.dialog = byId("nick-dialog");
    this.input = byId("nick-input");
    this.bind();
  }

  /** Show the dialog: a welcome when `first`, else a change; `error` says why the last nick failed. */
  open({ first, error = "" }) {
    byId("nick-title").textContent = first ? "Welcome to chatdesk" : "Change your nick";
    byId("nick-lead").textContent = first
      ? "Pick a nick: it is how the others in the room will see you."
      : "Everyone in your rooms will see the new nick from now on.";
    byId("nick-submit").textContent = first ? "Start chatting" : "Save";
    byId("nick-cancel").hidden = first || !this.state.wantedNick;
    byId("nick-error").textContent = error;
    this.input.value = this.state.nick || this.state.wantedNick || "";
    if (!this.dialog.open) this.dialog.showModal();
    this.input.focus();
    this.input.select();
  }

  bind() {
    const dialog = this.dialog;
    const input = this.input;
    byId("nick-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const nick = input.value.trim();
      const problem = nickProblem(nick);
      byId("nick-error").textContent = problem || "";
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) {
        input.focus();
        return;
      }
      dialog.close();
      this.change(nick);
    });
    // Without a nick there is no chat: the first dialog cannot be dismissed.
    dialog.addEventListener("cancel", (event) => {
      if (!this.state.wantedNick) event.preventDefault();
    });
    byId("nick-cancel").addEventListener("click", () => dialog.close());
    byId("nick-change").addEventListener("click", () => this.open({ first: false }));
  }
}
