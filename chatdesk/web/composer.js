// The message box: it grows with its text, counts characters near the limit, sends on Enter
// (Shift+Enter is a new line), and tells the room we are typing, at most every few seconds.

import { TEXT_MAX } from "./limits.js";
import { byId, codePointLength } from "./util.js";

const TYPING_SEND_EVERY_MS = 3000;
const HEIGHT_MAX_PX = 200;
const COUNT_SHOWN_WITHIN = 500; // characters of the limit

/** The composer form; `actions`: send(text), and typing() which is false when nothing was sent. */
export class Composer {
  constructor(state, actions) {
    this.state = state;
    this.actions = actions;
    this.form = byId("composer-form");
    this.textarea = byId("composer");
    this.count = byId("composer-count");
    this.sendButton = byId("send");
    this.typingSentAt = 0;
    this.bind();
  }

  focus() {
    this.textarea.focus();
  }

  /** Another room is on screen: its name in the placeholder, and typing notices start afresh. */
  roomChanged() {
    this.textarea.placeholder = `Message #${this.state.current}`;
    this.typingSentAt = 0;
  }

  bind() {
    const textarea = this.textarea;
    textarea.addEventListener("input", () => {
      this.update();
      if (textarea.value.trim()) this.typed();
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  /** Fit the height to the text; show the count near the limit and refuse to send over it. */
  update() {
    const textarea = this.textarea;
    textarea.style.height = "auto";
    textarea.style.height = `${Math.min(textarea.scrollHeight + 2, HEIGHT_MAX_PX)}px`;
    const length = codePointLength(textarea.value);
    this.count.textContent = length > TEXT_MAX - COUNT_SHOWN_WITHIN ? `${length} / ${TEXT_MAX}` : "";
    this.count.classList.toggle("over", length > TEXT_MAX);
    this.sendButton.disabled = length > TEXT_MAX;
  }

  submit() {
    const text = this.textarea.value.replace(/^\s*\n/, "").replace(/\s+$/, "");
    if (!text.trim() || codePointLength(text) > TEXT_MAX) return;
    this.actions.send(text);
    this.typingSentAt = 0;
    this.textarea.value = "";
    this.update();
    this.textarea.focus();
  }

  typed() {
    const now = Date.now();
    if (now - this.typingSentAt < TYPING_SEND_EVERY_MS) return;
    if (this.actions.typing()) this.typingSentAt = now;
  }
}
