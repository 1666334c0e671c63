// Small DOM, storage and formatting helpers shared by the chatdesk UI modules.

/** The element with this id (throws early when the markup and the script disagree). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/**
 * Build an element: el("span", {className: "x", text: "hi", attrs: {title: "t"}, data: {id: 1}}, child...).
 * Text always goes in as text nodes, never as markup.
 */
export function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value !== undefined && value !== null && value !== false)
      node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [name, value] of Object.entries(options.data || {})) {
    if (value !== undefined && value !== null) node.dataset[name] = String(value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** localStorage with a key prefix and JSON values; a blocked or full storage degrades to memory. */
export class Storage {
  constructor(prefix) {
    this.prefix = prefix;
    this.memory = new Map();
  }

  get(key, fallback = null) {
    try {
      const raw = window.localStorage.getItem(this.prefix + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return this.memory.has(key) ? this.memory.get(key) : fallback;
    }
  }

  set(key, value) {
    this.memory.set(key, value);
    try {
      window.localStorage.setItem(this.prefix + key, JSON.stringify(value));
    } catch {
      // Private mode or quota: the in-memory copy keeps this session working.
    }
  }

  remove(key) {
    this.memory.delete(key);
    try {
      window.localStorage.removeItem(this.prefix + key);
    } catch {
      // see set()
    }
  }
}

/** A client_id for a send: unique per message, short, from the CSPRNG (works outside secure contexts). */
export function newClientId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `c-${Date.now().toString(36)}-${hex}`;
}

/** Number of Unicode code points (the server counts these, not UTF-16 units). */
export function codePointLength(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const dayYearFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

export function formatTime(date) {
  return timeFormat.format(date);
}

export function formatFull(date) {
  return fullFormat.format(date);
}

/** "Today", "Yesterday", a weekday and date, or a full date for another year. */
export function formatDay(date, now = new Date()) {
  const key = dayKey(date);
  if (key === dayKey(now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday)) return "Yesterday";
  return date.getFullYear() === now.getFullYear() ? dayFormat.format(date) : dayYearFormat.format(date);
}

/** A short stamp for search results: the time today, else the date and time. */
export function formatStamp(date, now = new Date()) {
  if (dayKey(date) === dayKey(now)) return formatTime(date);
  return `${shortDateFormat.format(date)}, ${formatTime(date)}`;
}

/** The local calendar day of a date, as a comparable string. */
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** A stable colour slot (0..7) for a nick, so each person keeps one avatar colour. */
export function hueSlot(nick) {
  let hash = 0;
  for (const ch of nick) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % 8;
}

/** The first letter of a nick, for its avatar. */
export function initial(nick) {
  const first = Array.from(nick.trim())[0] || "?";
  return first.toUpperCase();
}

/** Copy text to the clipboard; falls back to a hidden textarea where the async API is missing. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the legacy path (permissions, unfocused document)
    }
  }
  const area = el("textarea", {
    className: "clipboard-helper",
    attrs: { readonly: true, "aria-hidden": "true" },
  });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}
