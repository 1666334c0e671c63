"""Fan-out: delivering each published message to the sinks subscribed to its room."""

from __future__ import annotations

from typing import Protocol

from chatdesk.chat.outbox import Event, Sink

__all__ = ["Broadcaster", "LocalBroadcaster"]


class Broadcaster(Protocol):
    """Delivers published messages to the sinks subscribed to a room (in-process or brokered)."""

    def subscribe(self, room: str, key: object, sink: Sink) -> None:
        """Deliver `room`'s messages to `sink` (replacing the sink already under `key`)."""

    def unsubscribe(self, room: str, key: object) -> None:
        """Stop delivering `room`'s messages to the sink under `key`."""

    def publish(self, room: str, message_id: int, event: Event) -> None:
        """Deliver `event` (message `message_id`) to every sink of `room`; never waits."""


class LocalBroadcaster:
    """A `Broadcaster` for one process: a dict of rooms, each an ordered dict of sinks."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[object, Sink]] = {}

    def subscribe(self, room: str, key: object, sink: Sink) -> None:
        """See `Broadcaster.subscribe`."""
        self._rooms.setdefault(room, {})[key] = sink

    def unsubscribe(self, room: str, key: object) -> None:
        """See `Broadcaster.unsubscribe`."""
        sinks = self._rooms.get(room)
        if sinks is not None:
            sinks.pop(key, None)
            if not sinks:
                del self._rooms[room]

    def publish(self, room: str, message_id: int, event: Event) -> None:
        """See `Broadcaster.publish`."""
        sinks = self._rooms.get(room)
        if sinks:
            # A sink may unsubscribe itself (overflow closes its client): iterate over a copy.
            for sink in tuple(sinks.values()):
                sink(message_id, event)
