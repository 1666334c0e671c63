"""Who is live in each room, and the `presence` frames that tell the room's members.

Changes are announced once per short delay, whatever happened meanwhile: a frame per join to
every member would be quadratic in the room's size (and so would the frames' length) when many
join at once.
"""

from __future__ import annotations

import asyncio

from chatdesk.chat import protocol
from chatdesk.chat.client import Client
from chatdesk.chat.outbox import send_event

__all__ = ["Presence"]

PRESENCE_DELAY = 0.02  # seconds over which presence changes are sent as one frame ...
LARGE_PRESENCE_DELAY = 0.5  # ... or, in a room of LARGE_ROOM members or more, this long
LARGE_ROOM = 100


class Presence:
    """The live members of every room (those whose join finished its replay)."""

    def __init__(self) -> None:
        self._members: dict[str, dict[Client, None]] = {}  # room -> members, in join order
        self._due: set[str] = set()  # rooms with a presence frame scheduled

    def add(self, room: str, client: Client) -> None:
        """`client` is live in `room`; its members hear of it soon."""
        self._members.setdefault(room, {})[client] = None
        self._announce(room)

    def remove(self, room: str, client: Client) -> None:
        """`client` left `room`; its members hear of it soon."""
        members = self._members.get(room)
        if members is not None:
            members.pop(client, None)
            if not members:
                del self._members[room]
        self._announce(room)

    def renamed(self, client: Client) -> None:
        """`client` has a new nick: every room it is live in hears of it soon."""
        for room, live in client.joined.items():
            if live:
                self._announce(room)

    def members(self, room: str) -> tuple[Client, ...]:
        """The live members of `room`."""
        return tuple(self._members.get(room, ()))

    def online(self, room: str) -> list[str]:
        """The distinct nicks live in `room`, sorted."""
        nicks = {member.nick for member in self._members.get(room, ()) if member.nick}
        return sorted(nicks, key=lambda nick: (nick.casefold(), nick))

    def _announce(self, room: str) -> None:
        if room in self._due:
            return
        self._due.add(room)
        members = self._members.get(room)
        delay = PRESENCE_DELAY if not members or len(members) < LARGE_ROOM else LARGE_PRESENCE_DELAY
        asyncio.get_running_loop().call_later(delay, self._send, room)

    def _send(self, room: str) -> None:
        self._due.discard(room)
        members = self._members.get(room)
        if not members:
            return
        event = send_event(protocol.presence_frame(room, self.online(room)))
        for member in tuple(members):
            member.outbox.push(event)
