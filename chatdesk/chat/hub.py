"""The hub: the chat's live state (clients, nicks, rooms joined) and the `/chat` commands.

Each stored message is serialised once, into one ASGI `websocket.send` event shared by every
recipient. Fan-out runs from the store's commit listener (so in id order) through the
broadcaster to each client's `Outbox`, and never awaits: a slow reader delays nobody else.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chatdesk.asgi import status
from chatdesk.chat import protocol
from chatdesk.chat.access import Session
from chatdesk.chat.broadcast import Broadcaster, LocalBroadcaster
from chatdesk.chat.client import Client
from chatdesk.chat.limits import (
    BURST_FRAMES,
    DEFAULT_REPLAY,
    FLOOD_CLOSE_AFTER,
    FRAMES_PER_SECOND,
    QUEUE_MAX_FRAMES,
    REPLAY_HIGH_WATER,
    REPLAY_PAGE,
    TokenBucket,
)
from chatdesk.chat.nicks import Nicks
from chatdesk.chat.outbox import ASGISend, Event, Outbox, Sink, send_event
from chatdesk.chat.presence import Presence
from chatdesk.chat.protocol import (
    BAD_REQUEST,
    HELLO_FIRST,
    NOT_JOINED,
    RATE_LIMITED,
    Hello,
    Join,
    Leave,
    Nick,
    ProtocolError,
    Send,
    Typing,
)
from chatdesk.chat.store import Message, Store, StoreError

__all__ = ["Hub"]

logger = logging.getLogger("chatdesk.chat")

CLOSE_TIMEOUT = 2.0  # seconds shutdown waits for close frames to go out


class Hub:
    """The chat's live state: clients, their nicks and rooms; it serves `/chat` frames."""

    def __init__(self, store: Store, broadcaster: Broadcaster | None = None) -> None:
        self.store = store
        self.broadcaster: Broadcaster = broadcaster or LocalBroadcaster()
        self.presence = Presence()
        self._clients: dict[Client, None] = {}
        self.nicks = Nicks()
        self._handlers: dict[type, Callable[[Client, Any], Awaitable[None]]] = {
            Join: self._join,
            Leave: self._leave,
            Send: self._send,
            Typing: self._typing,
            Nick: self._rename,
        }

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Fan out every message the store commits from now on."""
        self.store.set_listener(self._on_commit)

    async def shutdown(
        self, code: int = status.WS_1001_GOING_AWAY, timeout: float = CLOSE_TIMEOUT
    ) -> None:
        """Close every client's socket with `code`, waiting at most `timeout` seconds."""
        clients = list(self._clients)
        for client in clients:
            client.close(code)
        if clients:
            await asyncio.wait(
                [asyncio.ensure_future(c.outbox.wait_closed(timeout)) for c in clients],
                timeout=timeout,
            )

    def close_where(
        self, predicate: Callable[[Client], bool], code: int = status.WS_1008_POLICY_VIOLATION
    ) -> int:
        """Close every client for which `predicate(client)` holds; how many."""
        doomed = [client for client in self._clients if predicate(client)]
        for client in doomed:
            self.close(client, code)
        return len(doomed)

    def close(self, client: Client, code: int) -> None:
        """Close `client`'s socket with `code` (after what is queued for it) and forget it."""
        self._drop(client)
        client.close(code)

    # -- connections -------------------------------------------------------------------------

    def connect(
        self, send: ASGISend, close: Callable[[int], Awaitable[None]], session: Session | None
    ) -> Client:
        """Register a new, accepted connection; `send` is its ASGI send, `close(code)` closes it."""
        client = Client(session, TokenBucket(BURST_FRAMES, FRAMES_PER_SECOND, time.monotonic))
        client.outbox = Outbox(send, close, functools.partial(self._overflow, client))
        self._clients[client] = None
        return client

    def disconnect(self, client: Client) -> None:
        """The connection ended: leave every room, free the nick, stop writing."""
        self._drop(client)
        client.outbox.detach()

    async def receive(self, client: Client, data: object) -> None:
        """Handle one decoded client frame: rate limit, parse, act, answer errors in-band."""
        if client.outbox.closing:
            return
        if not client.bucket.take():
            client.limited += 1
            if client.limited >= FLOOD_CLOSE_AFTER:
                self.close(client, status.WS_1008_POLICY_VIOLATION)
                return
            client.send(
                protocol.error_frame(RATE_LIMITED, "too many frames; slow down", _client_id(data))
            )
            return
        if client.limited:
            client.limited -= 1  # a client that slows down recovers; one that floods does not
        try:
            await self._handle(client, data)
        except ProtocolError as error:
            client.send(protocol.error_frame(error.code, error.detail, error.client_id))
        except StoreError:
            logger.exception("chat store failed; closing a client so that it retries")
            self.close(client, status.WS_1011_INTERNAL_ERROR)

    async def _handle(self, client: Client, data: object) -> None:
        if client.nick is None:
            if not (isinstance(data, dict) and data.get("type") == "hello"):
                raise ProtocolError(HELLO_FIRST, "send a hello frame first", _client_id(data))
            command = protocol.parse_command(data)
            assert isinstance(command, Hello)
            await self._hello(client, command)
            return
        command = protocol.parse_command(data)
        if isinstance(command, Hello):
            raise ProtocolError(BAD_REQUEST, "hello was already accepted")
        await self._handlers[type(command)](client, command)

    # -- commands ----------------------------------------------------------------------------

    async def _hello(self, client: Client, command: Hello) -> None:
        client.nick = self.nicks.grant(command.nick, client)
        is_host = client.session is not None and client.session.role == "host"
        client.send(protocol.welcome_frame(client.nick, await self.room_list(), host=is_host))

    async def _rename(self, client: Client, command: Nick) -> None:
        old = client.nick
        assert old is not None
        if command.nick == old:
            client.send(protocol.nick_frame(old))
            return
        self.nicks.release(old, client)
        client.nick = self.nicks.grant(command.nick, client)
        client.send(protocol.nick_frame(client.nick))
        self.presence.renamed(client)

    async def _join(self, client: Client, command: Join) -> None:
        room = command.room
        if room in client.joined:
            raise ProtocolError(BAD_REQUEST, f"already joined {room}")
        if not self.store.has_room(room):
            await self.store.create_room(room)
        if client.outbox.closing:
            return
        # Subscribe first, buffering live messages, then replay history: a message committed
        # while history is read is in the buffer, the history, or both, never in neither.
        buffered: list[tuple[int, Event]] = []

        def buffer(message_id: int, event: Event) -> None:
            if len(buffered) >= QUEUE_MAX_FRAMES:
                self._overflow(client)
            else:
                buffered.append((message_id, event))

        client.joined[room] = False
        self.broadcaster.subscribe(room, client, buffer)
        replayed_up_to = await self._replay(client, room, command.after)
        if room not in client.joined or client.outbox.closing:
            return
        for message_id, event in buffered:
            if message_id > replayed_up_to:
                client.outbox.push(event)
        self.broadcaster.subscribe(room, client, self._live_sink(client, room, replayed_up_to))
        client.joined[room] = True
        self.presence.add(room, client)

    def _live_sink(self, client: Client, room: str, replayed_up_to: int) -> Sink:
        """`client`'s live sink in `room` once its replay sent every id up to `replayed_up_to`.

        A message is readable as soon as it is committed, but published a moment later, on the
        loop: the replay may have sent one whose publication is still to come. Such late ones
        are dropped; from the first newer message on, the outbox takes every delivery directly.
        """
        deliver = client.outbox.deliver

        def catching_up(message_id: int, event: Event) -> None:
            if message_id <= replayed_up_to:
                return
            self.broadcaster.subscribe(room, client, deliver)
            deliver(message_id, event)

        return catching_up

    async def _replay(self, client: Client, room: str, after: int | None) -> int:
        """Send `room`'s stored messages with id > `after` (or the last 50); the last id sent,
        0 if none (every message buffered meanwhile is then new to the client)."""
        outbox = client.outbox
        if after is None:
            messages, _ = await self.store.history(room, limit=DEFAULT_REPLAY)
            for message in messages:
                outbox.push(send_event(protocol.message_frame(message)))
            return messages[-1].id if messages else 0
        sent = 0
        more = True
        while more and not outbox.closing:
            messages, more = await self.store.history(
                room, after=max(after, sent), limit=REPLAY_PAGE
            )
            for message in messages:
                outbox.push(send_event(protocol.message_frame(message)))
                if outbox.queued > REPLAY_HIGH_WATER:
                    await outbox.drain(REPLAY_HIGH_WATER // 2)
            if messages:
                sent = messages[-1].id
        return sent

    async def _leave(self, client: Client, command: Leave) -> None:
        if command.room not in client.joined:
            raise ProtocolError(NOT_JOINED, f"not joined to {command.room}")
        self._leave_room(client, command.room)

    async def _send(self, client: Client, command: Send) -> None:
        if command.room not in client.joined:
            raise ProtocolError(NOT_JOINED, f"not joined to {command.room}", command.client_id)
        assert client.nick is not None
        # The order a message takes: committed durably (the append's await), fanned out to the
        # room by the store's commit listener (_on_commit, before that await returns), and only
        # then acknowledged to its sender, whose ack therefore follows the message frame.
        message, _ = await self.store.append(
            command.room, client.nick, command.text, command.client_id
        )
        # A repeated client_id stored nothing: the ack names the first message, and no second
        # message frame goes out (the store's listener only sees new messages).
        client.send(protocol.ack_frame(message.client_id, message.id))

    async def _typing(self, client: Client, command: Typing) -> None:
        if command.room not in client.joined:
            raise ProtocolError(NOT_JOINED, f"not joined to {command.room}")
        assert client.nick is not None
        event = send_event(protocol.typing_frame(command.room, client.nick))
        for member in self.presence.members(command.room):
            if member is not client:
                member.outbox.push(event)

    # -- queries -------------------------------------------------------------------------------

    async def room_list(self) -> list[dict[str, object]]:
        """Every room as the protocol's ROOM objects."""
        return [
            protocol.room_object(name, last_id, len(self.presence.online(name)))
            for name, last_id in await self.store.rooms()
        ]

    # -- internals -----------------------------------------------------------------------------

    def _on_commit(self, messages: list[Message]) -> None:
        publish = self.broadcaster.publish
        for message in messages:
            publish(message.room, message.id, send_event(protocol.message_frame(message)))

    def _leave_room(self, client: Client, room: str) -> None:
        live = client.joined.pop(room, False)
        self.broadcaster.unsubscribe(room, client)
        if live:
            self.presence.remove(room, client)

    def _overflow(self, client: Client) -> None:
        """`client` cannot keep up: close it with 1013 without delaying anyone else."""
        self._drop(client)
        client.close(status.WS_1013_TRY_AGAIN_LATER, discard=True)

    def _drop(self, client: Client) -> None:
        """Forget `client`: its rooms (with presence updates), its nick."""
        if self._clients.pop(client, False) is False:
            return
        for room in tuple(client.joined):
            self._leave_room(client, room)
        if client.nick is not None:
            self.nicks.release(client.nick, client)


def _client_id(data: object) -> str | None:
    """The client_id of a `send` frame, for error frames about it."""
    if isinstance(data, dict) and data.get("type") == "send":
        client_id = data.get("client_id")
        if isinstance(client_id, str):
            return client_id
    return None
