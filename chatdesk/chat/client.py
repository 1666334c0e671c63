"""One `/chat` connection as the hub sees it: its session, nick, rooms, outbox and rate limit."""

from __future__ import annotations

from chatdesk.chat.access import Session
from chatdesk.chat.limits import TokenBucket
from chatdesk.chat.outbox import Outbox, send_event

__all__ = ["Client"]


class Client:
    """One `/chat` connection: its nick, joined rooms, outbox and rate limit."""

    __slots__ = ("bucket", "joined", "limited", "nick", "outbox", "session")

    outbox: Outbox  # set by `Hub.connect`

    def __init__(self, session: Session | None, bucket: TokenBucket) -> None:
        self.session = session
        self.nick: str | None = None
        self.joined: dict[str, bool] = {}  # room -> live (False while its replay runs)
        self.limited = 0  # rate-limited frames, less one for each accepted frame
        self.bucket = bucket

    def send(self, text: str) -> None:
        """Queue a frame for this client only."""
        self.outbox.push(send_event(text))

    def close(self, code: int, *, discard: bool = False) -> None:
        """Close this client's socket with `code`."""
        self.outbox.close(code, discard=discard)
