"""Rooms, presence, typing, nicks, replay-then-live, and fan-out to every connected client.

Each stored message is serialised once, into one ASGI `websocket.send` event shared by every
recipient. Fan-out runs from the store's commit listener (so in id order) and never awaits: each
connection has an `Outbox` that sends at once when the socket is writable and otherwise queues,
up to a bound past which that one connection is closed with 1013. A slow reader therefore never
delays anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Protocol

from chatdesk.chat import protocol, rooms
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

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_POLICY",
    "CLOSE_SERVICE_RESTART",
    "CLOSE_TRY_AGAIN_LATER",
    "Broadcaster",
    "Client",
    "Hub",
    "LocalBroadcaster",
    "Outbox",
]

logger = logging.getLogger("chatdesk.chat")

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013

CLOSE_TIMEOUT = 2.0  # seconds shutdown waits for close frames to go out
PRESENCE_DELAY = 0.02  # seconds over which presence changes are sent as one frame ...
LARGE_PRESENCE_DELAY = 0.5  # ... or, in a room of LARGE_ROOM members or more, this long
LARGE_ROOM = 100
REPLAY_HIGH_WATER = 200  # frames queued for one client before a replay waits for it to drain

Event = dict[str, Any]  # an ASGI message, e.g. {"type": "websocket.send", "text": ...}
ASGISend = Callable[[Event], Awaitable[None]]
Sink = Callable[[int, Event], None]  # receives (message id, shared send event); never awaits


def send_event(text: str) -> Event:
    """The ASGI event sending one text frame (shared, never mutated, by all recipients)."""
    return {"type": "websocket.send", "text": text}


class Outbox:
    """One connection's outgoing frames: written at once while the socket takes them, else
    queued (at most QUEUE_MAX_FRAMES frames / QUEUE_MAX_BYTES characters) and written by a task.

    `push` never awaits. A full queue calls `on_overflow`; `close` sends a close frame after
    (or, when `discard` is set, instead of) the queued frames.
    """

    __slots__ = (
        "_backlog",
        "_backlog_size",
        "_close",
        "_close_code",
        "_closed",
        "_drained",
        "_on_overflow",
        "_send",
        "_writer",
    )

    def __init__(
        self,
        send: ASGISend,
        close: Callable[[int], Awaitable[None]],
        on_overflow: Callable[[], None],
    ) -> None:
        self._send = send
        self._close = close
        self._on_overflow = on_overflow
        self._backlog: deque[Event] | None = None  # made on first use: most never need it
        self._backlog_size = 0
        self._writer: asyncio.Task[None] | None = None
        self._drained: asyncio.Event | None = None
        self._close_code: int | None = None
        self._closed = False

    @property
    def closing(self) -> bool:
        """Whether a close was requested (nothing more is accepted)."""
        return self._close_code is not None or self._closed

    @property
    def queued(self) -> int:
        """Frames waiting for the socket to take them."""
        return len(self._backlog) if self._backlog else 0

    def push(self, event: Event) -> None:
        """Send `event` now if the socket is writable, else queue it; never waits."""
        self.deliver(0, event)

    def deliver(self, message_id: int, event: Event) -> None:
        """A `Sink` (the fan-out's hot path): push a broadcast message's shared event."""
        if self._writer is None and self._close_code is None and not self._closed:
            # Run the ASGI send until its first suspension. An open, writable socket completes
            # it synchronously (the server writes to its transport and returns): no task, no
            # queue hop, which is what keeps fan-out to many clients cheap. Only a socket under
            # backpressure leaves a suspended send, which the writer task then finishes.
            coroutine = self._send(event)
            try:
                waiting_on = coroutine.send(None)  # type: ignore[attr-defined]
            except StopIteration:
                return
            except Exception:
                self._closed = True  # the connection is gone; its receive loop cleans up
                return
            self._start_writer(coroutine, waiting_on)
        elif self._close_code is None and not self._closed:
            self._enqueue(event)

    def _enqueue(self, event: Event) -> None:
        if self._backlog is None:
            self._backlog = deque()
        size = len(event["text"])
        if (
            len(self._backlog) >= rooms.QUEUE_MAX_FRAMES
            or self._backlog_size + size > rooms.QUEUE_MAX_BYTES
        ):
            self._on_overflow()
            return
        self._backlog.append(event)
        self._backlog_size += size

    async def drain(self, below: int = 0) -> None:
        """Wait until at most `below` frames are queued (or the outbox is closing)."""
        while self.queued > below and self._writer is not None and not self.closing:
            if self._drained is None:
                self._drained = asyncio.Event()
            self._drained.clear()
            await self._drained.wait()

    def close(self, code: int, *, discard: bool = False) -> None:
        """Close the socket with `code`, after the queued frames unless `discard`."""
        if self._close_code is not None or self._closed:
            return
        self._close_code = code
        if discard:
            self._backlog = None
            self._backlog_size = 0
        if self._writer is None:
            self._start_writer()
        elif discard:
            self._writer.cancel()  # a send stuck behind a full socket: close instead
        self._wake_drainers()

    async def wait_closed(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the writer to finish its close."""
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(writer), timeout)

    def detach(self) -> None:
        """The connection ended: drop what is queued and stop writing."""
        self._closed = True
        self._backlog = None
        self._backlog_size = 0
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
        self._wake_drainers()

    def _start_writer(self, suspended: Any = None, waiting_on: Any = None) -> None:
        task = asyncio.get_running_loop().create_task(self._write(suspended, waiting_on))
        task.add_done_callback(functools.partial(self._writer_done, suspended, waiting_on))
        self._writer = task

    async def _write(self, suspended: Any, waiting_on: Any) -> None:
        task = asyncio.current_task()
        try:
            try:
                if suspended is not None:
                    await _finish_suspended(suspended, waiting_on)
                while (backlog := self._backlog) and not self._closed:
                    event = backlog.popleft()
                    self._backlog_size -= len(event["text"])
                    if self._drained is not None and len(backlog) <= REPLAY_HIGH_WATER // 2:
                        self._drained.set()
                    await self._send(event)
            except asyncio.CancelledError:
                if self._closed or self._close_code is None or task is None:
                    raise
                task.uncancel()  # close(discard=True) interrupted a send stuck on a full socket
            if self._close_code is not None and not self._closed:
                self._closed = True
                # No timeout: a close stuck behind a full socket completes when the peer reads
                # or goes away; either way the connection's own end cleans up.
                with contextlib.suppress(Exception):
                    await self._close(self._close_code)
        except Exception:
            self._closed = True
            self._backlog = None
            self._backlog_size = 0
        finally:
            # Cleared here, in the task's last step, so that a push never queues behind a
            # writer that has already finished.
            if self._writer is task:
                self._writer = None
            self._wake_drainers()

    def _writer_done(self, suspended: Any, waiting_on: Any, task: asyncio.Task[None]) -> None:
        # Matters only for a writer cancelled before it ever ran: cancel the send it was to
        # finish, and still send the close that cancelled it.
        if suspended is not None and inspect.getcoroutinestate(suspended) == inspect.CORO_SUSPENDED:
            _cancel_suspended(suspended, waiting_on)
        if self._writer is task:
            self._writer = None
            if task.cancelled() and self._close_code is not None and not self._closed:
                self._start_writer()
        self._wake_drainers()

    def _wake_drainers(self) -> None:
        if self._drained is not None:
            self._drained.set()


async def _finish_suspended(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
    """Drive a coroutine that was started outside any task, from where it suspended, to its end."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)  # a bare `yield`: it only gave up the loop for a turn
            else:
                await asyncio.wait((waiting_on,))  # do not raise its outcome here: ...
        except BaseException:
            _cancel_suspended(coroutine, waiting_on)
            raise
        try:
            waiting_on = coroutine.send(None)  # ... the coroutine reads it when it resumes
        except StopIteration:
            return


def _cancel_suspended(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
    """Cancel a suspended coroutine as cancelling its task would: cancel the future it awaits,
    then let it unwind from there (its `finally` blocks and cleanup run)."""
    if asyncio.isfuture(waiting_on):
        waiting_on.cancel()
        try:
            coroutine.send(None)
        except BaseException:  # the CancelledError (or whatever it became) ends it
            return
    coroutine.close()


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


class _TokenBucket:
    """Per-connection rate limit: bursts of `capacity` frames, `rate` frames a second."""

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


class Client:
    """One `/chat` connection: its nick, joined rooms, outbox and rate limit."""

    __slots__ = ("bucket", "joined", "limited", "nick", "outbox", "session")

    outbox: Outbox  # set by `Hub.connect`

    def __init__(self, session: object, bucket: _TokenBucket) -> None:
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


class Hub:
    """The chat's live state: clients, their nicks and rooms; it serves `/chat` frames."""

    def __init__(self, store: Store, broadcaster: Broadcaster | None = None) -> None:
        self.store = store
        self.broadcaster: Broadcaster = broadcaster or LocalBroadcaster()
        self._clients: dict[Client, None] = {}
        self._nicks: dict[str, Client] = {}  # casefolded nick -> holder
        self._members: dict[str, dict[Client, None]] = {}  # room -> live members
        self._known_rooms: set[str] = set()
        self._presence_due: set[str] = set()  # rooms with a presence frame scheduled
        self._running = False
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
        self._running = True

    async def shutdown(self, code: int = CLOSE_GOING_AWAY, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close every client's socket with `code`, waiting at most `timeout` seconds."""
        self._running = False
        clients = list(self._clients)
        for client in clients:
            client.close(code)
        if clients:
            await asyncio.wait(
                [asyncio.ensure_future(c.outbox.wait_closed(timeout)) for c in clients],
                timeout=timeout,
            )

    def close_where(self, predicate: Callable[[Client], bool], code: int = CLOSE_POLICY) -> int:
        """Close every client for which `predicate(client)` holds; how many."""
        doomed = [client for client in self._clients if predicate(client)]
        for client in doomed:
            self._drop(client)
            client.close(code)
        return len(doomed)

    def close(self, client: Client, code: int) -> None:
        """Close `client`'s socket with `code` (after what is queued for it) and forget it."""
        self._drop(client)
        client.close(code)

    @property
    def clients(self) -> Iterable[Client]:
        """The connected clients."""
        return tuple(self._clients)

    # -- connections -------------------------------------------------------------------------

    def connect(
        self, send: ASGISend, close: Callable[[int], Awaitable[None]], session: object
    ) -> Client:
        """Register a new, accepted connection; `send` is its ASGI send, `close(code)` closes it."""
        bucket = _TokenBucket(rooms.BURST_FRAMES, rooms.FRAMES_PER_SECOND, time.monotonic)
        client = Client(session, bucket)
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
            if client.limited >= rooms.FLOOD_CLOSE_AFTER:
                self._drop(client)
                client.close(CLOSE_POLICY)
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
            self._drop(client)
            client.close(CLOSE_INTERNAL_ERROR)

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
        client.nick = self._grant_nick(command.nick, client)
        is_host = getattr(client.session, "role", None) == "host"
        client.send(protocol.welcome_frame(client.nick, await self.room_list(), host=is_host))

    async def _rename(self, client: Client, command: Nick) -> None:
        old = client.nick
        assert old is not None
        if command.nick == old:
            client.send(protocol.nick_frame(old))
            return
        self._nicks.pop(old.casefold(), None)
        client.nick = self._grant_nick(command.nick, client)
        client.send(protocol.nick_frame(client.nick))
        for room in [room for room, live in client.joined.items() if live]:
            self._announce_presence(room)

    async def _join(self, client: Client, command: Join) -> None:
        room = command.room
        if room in client.joined:
            raise ProtocolError(BAD_REQUEST, f"already joined {room}")
        if room not in self._known_rooms:
            await self.store.create_room(room)
            self._known_rooms.add(room)
        if client.outbox.closing:
            return
        # Subscribe first, buffering live messages, then replay history: a message committed
        # while history is read is in the buffer, the history, or both, never in neither.
        buffered: list[tuple[int, Event]] = []

        def buffer(message_id: int, event: Event) -> None:
            if len(buffered) >= rooms.QUEUE_MAX_FRAMES:
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
        self._members.setdefault(room, {})[client] = None
        self._announce_presence(room)

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
            messages, _ = await self.store.history(room, limit=rooms.DEFAULT_REPLAY)
            for message in messages:
                outbox.push(send_event(protocol.message_frame(message)))
            return messages[-1].id if messages else 0
        sent = 0
        more = True
        while more and not outbox.closing:
            messages, more = await self.store.history(
                room, after=max(after, sent), limit=rooms.REPLAY_PAGE
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
        for member in tuple(self._members.get(command.room, ())):
            if member is not client:
                member.outbox.push(event)

    # -- queries -------------------------------------------------------------------------------

    def online(self, room: str) -> list[str]:
        """The distinct nicks joined to `room`, sorted."""
        nicks = {member.nick for member in self._members.get(room, ()) if member.nick}
        return sorted(nicks, key=lambda nick: (nick.casefold(), nick))

    async def room_list(self) -> list[dict[str, object]]:
        """Every room as the protocol's ROOM objects."""
        found = await self.store.rooms()
        self._known_rooms.update(name for name, _ in found)
        return [
            {"name": name, "last_id": last_id, "online": len(self.online(name))}
            for name, last_id in found
        ]

    # -- internals -----------------------------------------------------------------------------

    def _on_commit(self, messages: list[Message]) -> None:
        publish = self.broadcaster.publish
        for message in messages:
            publish(message.room, message.id, send_event(protocol.message_frame(message)))

    def _grant_nick(self, wanted: str, client: Client) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`... : the first not held by another client."""
        nick = wanted
        suffix = 1
        while (holder := self._nicks.get(nick.casefold())) is not None and holder is not client:
            suffix += 1
            tail = f"-{suffix}"
            nick = wanted[: rooms.NICK_MAX - len(tail)].rstrip() + tail
        self._nicks[nick.casefold()] = client
        return nick

    def _leave_room(self, client: Client, room: str) -> None:
        live = client.joined.pop(room, False)
        self.broadcaster.unsubscribe(room, client)
        if live:
            members = self._members.get(room)
            if members is not None:
                members.pop(client, None)
                if not members:
                    del self._members[room]
            self._announce_presence(room)

    def _announce_presence(self, room: str) -> None:
        """Send `room`'s presence to its members soon, once for every change made meanwhile.

        Coalescing matters when many join at once: a frame per join to every member would be
        quadratic in the room's size (and so would the frames' length).
        """
        if room in self._presence_due:
            return
        self._presence_due.add(room)
        members = self._members.get(room)
        delay = PRESENCE_DELAY if not members or len(members) < LARGE_ROOM else LARGE_PRESENCE_DELAY
        asyncio.get_running_loop().call_later(delay, self._send_presence, room)

    def _send_presence(self, room: str) -> None:
        self._presence_due.discard(room)
        members = self._members.get(room)
        if not members:
            return
        event = send_event(protocol.presence_frame(room, self.online(room)))
        for member in tuple(members):
            member.outbox.push(event)

    def _overflow(self, client: Client) -> None:
        """`client` cannot keep up: close it with 1013 without delaying anyone else."""
        self._drop(client)
        client.close(CLOSE_TRY_AGAIN_LATER, discard=True)

    def _drop(self, client: Client) -> None:
        """Forget `client`: its rooms (with presence updates), its nick."""
        if self._clients.pop(client, False) is False:
            return
        for room in tuple(client.joined):
            self._leave_room(client, room)
        if client.nick is not None and self._nicks.get(client.nick.casefold()) is client:
            del self._nicks[client.nick.casefold()]


def _client_id(data: object) -> str | None:
    """The client_id of a `send` frame, for error frames about it."""
    if isinstance(data, dict) and data.get("type") == "send":
        client_id = data.get("client_id")
        if isinstance(client_id, str):
            return client_id
    return None
