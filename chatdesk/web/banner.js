// The banner above the messages: the connection's troubles, a reconnect countdown with a
// "Retry now" button, and a brief "Connected" once it is back.

import { byId } from "./util.js";

const FLASH_MS = 2000;

/** The #banner; `retry()` runs when its "Retry now" button is pressed. */
export class Banner {
  constructor({ retry }) {
    this.node = byId("banner");
    this.text = byId("banner-text");
    this.retryButton = byId("banner-retry");
    this.timer = null;
    this.retryButton.addEventListener("click", () => retry());
  }

  /** Show `text` until replaced or hidden; kind is "ok", "warn" or "error". */
  show(text, kind, { retry = false } = {}) {
    clearTimeout(this.timer);
    this.node.className = `banner ${kind}`;
    this.text.textContent = text;
    this.retryButton.hidden = !retry;
    this.node.hidden = false;
  }

  /** Show `text` for a moment. */
  flash(text, kind) {
    this.show(text, kind);
    this.timer = setTimeout(() => this.hide(), FLASH_MS);
  }

  hide() {
    clearTimeout(this.timer);
    this.node.hidden = true;
  }
}
