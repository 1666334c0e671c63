// The chat's HTTP API as the UI uses it: the room list, history pages and search, as JSON.

import { HISTORY_PAGE_SIZE } from "./limits.js";

/** A non-2xx answer; `status` is its HTTP status. */
export class HttpError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

/** Whether `error` is a 401: the session ended (and the API has already said so). */
export function isUnauthorized(error) {
  return error instanceof HttpError && error.status === 401;
}

/** GETs from the API; a 401 answer calls `unauthorized()` before the promise rejects with HttpError. */
export class Api {
  constructor({ unauthorized }) {
    this.unauthorized = unauthorized;
  }

  /** `{rooms: [{name, last_id, online}...]}` */
  rooms() {
    return this.getJSON("/api/rooms");
  }

  /** The newest page of `roomName`'s history: `{messages, has_more}`, ascending ids. */
  latestMessages(roomName) {
    return this.getJSON(`${messagesPath(roomName)}?limit=${HISTORY_PAGE_SIZE}`);
  }

  /** The page of `roomName`'s history just before message `beforeId`. */
  olderMessages(roomName, beforeId) {
    return this.getJSON(`${messagesPath(roomName)}?before=${beforeId}&limit=${HISTORY_PAGE_SIZE}`);
  }

  /** `{messages}` matching `query`, best first; `signal` aborts it. */
  search(query, { signal } = {}) {
    return this.getJSON(`/api/search?q=${encodeURIComponent(query)}`, { signal });
  }

  async getJSON(url, { signal } = {}) {
    const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" }, signal });
    if (response.status === 401) this.unauthorized();
    if (!response.ok) throw new HttpError(response.status);
    return response.json();
  }
}

function messagesPath(roomName) {
  return `/api/rooms/${encodeURIComponent(roomName)}/messages`;
}
