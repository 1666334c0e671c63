// The client's copies of the chat protocol's limits and of the WebSocket close codes it reacts to.
// The server defines each once (chatdesk/chat/limits.py, validation.py, chatdesk/asgi/status.py);
// tests/web/test_modules.py compares these with them. One `export const NAME = VALUE;` a line.

// What the server takes from a client.
export const ROOM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const ROOM_NAME_MAX = 32;
export const NICK_MAX = 32;
export const TEXT_MAX = 4000;
export const SEARCH_QUERY_MAX = 200;

// What it answers with: search results are capped, history comes in pages of the size asked for.
export const SEARCH_RESULTS_MAX = 50;
export const HISTORY_PAGE_SIZE = 50;

// The client's own pacing, deliberately below the server's rate limit (bursts and frames a second).
export const SEND_BURST_FRAMES = 16;
export const SEND_FRAMES_PER_SECOND = 8;

// WebSocket close codes (RFC 6455).
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_SERVICE_RESTART = 1012;
export const CLOSE_TRY_AGAIN_LATER = 1013;
