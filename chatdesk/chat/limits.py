"""Every limit of the chat, in one place: sizes, counts, rates, and the two limiters.

The web UI keeps its copies in `web/limits.js`; a test compares them with these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

__all__ = [
    "BURST_FRAMES",
    "CLIENT_ID_MAX",
    "DEFAULT_REPLAY",
    "FLOOD_CLOSE_AFTER",
    "FRAMES_PER_SECOND",
    "HISTORY_PAGE",
    "HISTORY_PAGE_MAX",
    "MAX_BODY_BYTES",
    "MAX_CONNECTIONS",
    "MAX_CONNECTIONS_PER_ADDRESS",
    "MAX_FRAME_BYTES",
    "MAX_ID",
    "NICK_MAX",
    "QUEUE_MAX_BYTES",
    "QUEUE_MAX_FRAMES",
    "REPLAY_HIGH_WATER",
    "REPLAY_PAGE",
    "ROOM_NAME_MAX",
    "SEARCH_LIMIT",
    "SEARCH_QUERY_MAX",
    "TEXT_MAX",
    "ConnectionLimit",
    "TokenBucket",
]

# What a client may send.
NICK_MAX = 32  # characters, after trimming
ROOM_NAME_MAX = 32
TEXT_MAX = 4000  # Unicode code points
CLIENT_ID_MAX = 64
MAX_ID = 2**63 - 1  # SQLite's largest integer; larger `after`/`before` values are bad requests
MAX_FRAME_BYTES = 64 * 1024  # a larger incoming frame closes the socket with 1009
MAX_BODY_BYTES = 64 * 1024  # an HTTP request body; chatdesk's API only takes small JSON
SEARCH_QUERY_MAX = 200  # characters

# How fast: a token bucket per connection, and when a flood ends it.
BURST_FRAMES = 20  # bucket capacity ...
FRAMES_PER_SECOND = 10.0  # ... and refill rate
FLOOD_CLOSE_AFTER = 50  # rate-limited frames (net of accepted ones) before closing with 1008

# How many: connections (the protocol asks for >= 16 per address).
MAX_CONNECTIONS_PER_ADDRESS = 32  # open /chat sockets per client address
MAX_CONNECTIONS = 2048  # in total; beyond it the server answers 503 (a room holds 1000 and more)

# How much is sent or held for one client.
QUEUE_MAX_FRAMES = 1000  # a client whose outgoing queue holds more is closed with 1013
QUEUE_MAX_BYTES = 1024 * 1024
REPLAY_HIGH_WATER = 200  # frames queued for one client before a replay waits for it to drain
DEFAULT_REPLAY = 50  # messages replayed by a join without `after`
REPLAY_PAGE = 500  # messages read per step of a longer replay
HISTORY_PAGE = 100  # messages per page of the history API, unless asked otherwise ...
HISTORY_PAGE_MAX = 500  # ... and at most
SEARCH_LIMIT = 50  # search results, best first


class TokenBucket:
    """A rate limit: bursts of `capacity` frames, `rate` frames a second."""

    __slots__ = ("_clock", "_last", "_tokens", "capacity", "rate")

    def __init__(self, capacity: int, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = float(capacity)
        self._last = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class ConnectionLimit:
    """Counts the open connections of each client address and refuses those over the limit."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        """Count one more connection from `address`; False (and nothing counted) if it is full."""
        if self._open[address] >= self.per_address:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        """One connection from `address` ended."""
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
