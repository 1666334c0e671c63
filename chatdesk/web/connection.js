// The /chat WebSocket: JSON frames, reconnection with capped exponential backoff and jitter,
// and client-side pacing that stays under the server's rate limit (limits.js).

import {
  CLOSE_ABNORMAL,
  CLOSE_NORMAL,
  CLOSE_SERVICE_RESTART,
  SEND_BURST_FRAMES,
  SEND_FRAMES_PER_SECOND,
} from "./limits.js";

const MAX_DELAY_MS = 15000;
const FIRST_DELAY_MS = 1000;
const RESTART_DELAY_MS = 400;

export class Connection {
  /**
   * handlers: open(), frame(object), closed({code, reason, delayMs, opened}),
   * countdown(secondsLeft), unauthorized().
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.ticker = null;
    this.reconnectAt = 0;
    this.stopped = false;
    this.queue = [];
    this.tokens = SEND_BURST_FRAMES;
    this.refilledAt = performance.now();
    this.drainTimer = null;
  }

  /** True once the socket is open (frames can be sent). */
  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** True when neither connected nor waiting to reconnect: start() is what would connect. */
  get idle() {
    return !this.socket && !this.timer;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.socket) this.socket.close(CLOSE_NORMAL);
  }

  /** The server welcomed us: the next drop starts the backoff from the beginning. */
  markHealthy() {
    this.attempt = 0;
  }

  /** Skip the countdown and try at once. */
  reconnectNow() {
    if (this.socket || this.stopped) return;
    this.clearTimers();
    this.connect();
  }

  /**
   * Queue a frame; frames leave in order, paced to the server's rate limit.
   * A droppable frame (typing) is discarded instead of waiting. Returns false when not sent.
   */
  send(frame, { droppable = false } = {}) {
    if (!this.isOpen) return false;
    this.refill();
    if (droppable && (this.queue.length > 0 || this.tokens < 1)) return false;
    this.queue.push(JSON.stringify(frame));
    this.drain();
    return true;
  }

  connect() {
    this.clearTimers();
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect({ code: CLOSE_ABNORMAL, reason: "", opened: false });
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.queue = [];
      this.tokens = SEND_BURST_FRAMES;
      this.refilledAt = performance.now();
      this.handlers.open();
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame === "object" && typeof frame.type === "string") this.handlers.frame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.queue = [];
      if (this.stopped) return;
      this.scheduleReconnect({ code: event.code, reason: event.reason, opened });
    });
  }

  async scheduleReconnect(info) {
    if (!info.opened && (await this.sessionEnded())) {
      this.handlers.unauthorized();
      return;
    }
    const delayMs = this.nextDelay(info.code);
    this.reconnectAt = performance.now() + delayMs;
    this.handlers.closed({ ...info, delayMs });
    this.timer = setTimeout(() => this.connect(), delayMs);
    this.tick();
    this.ticker = setInterval(() => this.tick(), 250);
  }

  tick() {
    const left = Math.max(0, Math.ceil((this.reconnectAt - performance.now()) / 1000));
    this.handlers.countdown(left);
  }

  /** Exponential backoff with "equal jitter", capped; a service restart is retried quickly. */
  nextDelay(code) {
    if (code === CLOSE_SERVICE_RESTART && this.attempt === 0) {
      this.attempt = 1;
      return RESTART_DELAY_MS + Math.random() * RESTART_DELAY_MS;
    }
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /** A refused handshake looks like any network error; ask the HTTP side whether we lost the session. */
  async sessionEnded() {
    try {
      const response = await fetch("/api/rooms", { cache: "no-store" });
      return response.status === 401;
    } catch {
      return false;
    }
  }

  refill() {
    const now = performance.now();
    const earned = ((now - this.refilledAt) / 1000) * SEND_FRAMES_PER_SECOND;
    this.tokens = Math.min(SEND_BURST_FRAMES, this.tokens + earned);
    this.refilledAt = now;
  }

  drain() {
    if (this.drainTimer !== null) return;
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1 && this.isOpen) {
      this.socket.send(this.queue.shift());
      this.tokens -= 1;
    }
    if (this.queue.length > 0 && this.isOpen) {
      const waitMs = Math.ceil(((1 - this.tokens) / SEND_FRAMES_PER_SECOND) * 1000);
      this.drainTimer = setTimeout(
        () => {
          this.drainTimer = null;
          this.drain();
        },
        Math.max(waitMs, 20),
      );
    }
  }

  clearTimers() {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    clearTimeout(this.drainTimer);
    this.timer = null;
    this.ticker = null;
    this.drainTimer = null;
  }
}

/** ws(s)://this-host/chat */
export function chatUrl(path = "/chat") {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}
