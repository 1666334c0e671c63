"""Writing `chat.db`: one thread commits whatever is queued in one transaction (group commit).

An append is durable (synchronous=FULL) before its future is settled. Per batch and event loop,
one callback runs on that loop: the commit listener with the new messages, in id order, then the
appenders' futures, so fan-out always precedes the acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatdesk.chat.database import COLUMNS, Message, StoreError

__all__ = ["Writer"]

logger = logging.getLogger("chatdesk.chat.store")

MAX_BATCH = 1000

INSERT_MESSAGE = (
    "INSERT INTO messages (room, nick, text, ts, client_id) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (room, client_id) DO NOTHING RETURNING id"
)
SELECT_BY_CLIENT_ID = f"SELECT {COLUMNS} FROM messages WHERE room = ? AND client_id = ?"
INSERT_ROOM = "INSERT INTO rooms (name, created) VALUES (?, ?) ON CONFLICT DO NOTHING"

# Errors raised while binding one message's values: nothing was executed, the batch goes on.
BINDING_ERRORS = (
    UnicodeEncodeError,
    OverflowError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
)


@dataclass(slots=True)
class _Append:
    room: str
    nick: str
    text: str
    client_id: str
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[Message, bool]]


@dataclass(slots=True)
class _CreateRoom:
    name: str
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


_Request = _Append | _CreateRoom
_STOP = object()


def utc_timestamp(seconds: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds and `Z`, e.g. `2026-11-23T19:00:00.123Z`."""
    if seconds is None:
        seconds = time.time()
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


class Writer:
    """The store's one writing connection and its thread; knows which rooms exist."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.listener: Callable[[list[Message]], None] | None = None
        self._connection = connection
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closing = threading.Lock()
        self._closed = False
        # The one cache of which rooms exist: written by the writer thread once a new room is
        # committed, read by any thread (a set's membership test is atomic).
        self._known_rooms = {name for (name,) in connection.execute("SELECT name FROM rooms")}
        self._thread = threading.Thread(
            target=self._run_writer, name="chatdesk-store-writer", daemon=True
        )
        self._thread.start()

    async def append(self, room: str, nick: str, text: str, client_id: str) -> tuple[Message, bool]:
        """Store a message; return once durable, with False if (room, client_id) was stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Message, bool]] = loop.create_future()
        self._submit(_Append(room, nick, text, client_id, loop, future))
        return await future

    async def create_room(self, name: str) -> None:
        """Create room `name` durably, if it does not exist yet."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._submit(_CreateRoom(name, loop, future))
        await future

    def has_room(self, name: str) -> bool:
        """Whether room `name` exists (committed); answered from memory, on any thread."""
        return name in self._known_rooms

    @property
    def closed(self) -> bool:
        """Whether it was closed (appends are refused)."""
        return self._closed

    def close(self) -> None:
        """Stop accepting appends, commit the pending ones, close the connection; idempotent."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()
        self._connection.close()

    def _submit(self, request: _Request) -> None:
        with self._closing:
            if self._closed:
                raise StoreError(f"the chat store {self.path} is closed")
            self._queue.put(request)

    def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            batch: list[_Request] = []
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
                if stopping or len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._commit(batch)
                except Exception:  # a bug must not end the writer: fail this batch only
                    logger.exception("chat store writer failed")
                    self._rollback()
                    self._fail(batch, StoreError(f"could not write the chat store {self.path}"))

    def _commit(self, batch: list[_Request]) -> None:
        connection = self._connection
        ts = utc_timestamp()
        results: list[tuple[_Request, Any, BaseException | None]] = []
        stored: list[tuple[asyncio.AbstractEventLoop, Message]] = []
        new_rooms: set[str] = set()
        try:
            connection.execute("BEGIN IMMEDIATE")
            for request in batch:
                try:
                    if isinstance(request, _CreateRoom):
                        self._ensure_room(request.name, ts, new_rooms)
                        results.append((request, None, None))
                        continue
                    self._ensure_room(request.room, ts, new_rooms)
                    message, created = self._insert(request, ts)
                except BINDING_ERRORS as exc:
                    results.append((request, None, StoreError(f"could not store this: {exc}")))
                    continue
                results.append((request, (message, created), None))
                if created:
                    stored.append((request.loop, message))
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._fail(batch, StoreError(f"could not write the chat store {self.path}: {exc}"))
            return
        self._known_rooms |= new_rooms
        self._deliver(results, stored)

    def _rollback(self) -> None:
        if self._connection.in_transaction:
            try:
                self._connection.execute("ROLLBACK")
            except sqlite3.Error:
                logger.exception("chat store rollback failed")

    def _ensure_room(self, name: str, ts: str, new_rooms: set[str]) -> None:
        if name not in self._known_rooms and name not in new_rooms:
            self._connection.execute(INSERT_ROOM, (name, ts))
            new_rooms.add(name)

    def _insert(self, request: _Append, ts: str) -> tuple[Message, bool]:
        room, nick, text, client_id = request.room, request.nick, request.text, request.client_id
        values = (room, nick, text, ts, client_id)
        rows = self._connection.execute(INSERT_MESSAGE, values).fetchall()
        if rows:
            return Message(rows[0][0], room, nick, text, ts, client_id), True
        # Already stored, maybe earlier in this very transaction: answer with the first one.
        row = self._connection.execute(SELECT_BY_CLIENT_ID, (room, client_id)).fetchone()
        return Message(*row), False

    def _deliver(
        self,
        results: list[tuple[_Request, Any, BaseException | None]],
        stored: list[tuple[asyncio.AbstractEventLoop, Message]],
    ) -> None:
        # One callback per loop and batch: the listener, then the appenders, in commit order.
        per_loop: dict[asyncio.AbstractEventLoop, tuple[list[Message], list[Any]]] = {}
        for loop, message in stored:
            per_loop.setdefault(loop, ([], []))[0].append(message)
        for request, result, error in results:
            per_loop.setdefault(request.loop, ([], []))[1].append((request.future, result, error))
        for loop, (messages, settlements) in per_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(self._settle, messages, settlements)

    def _fail(self, batch: list[_Request], error: StoreError) -> None:
        self._deliver([(request, None, error) for request in batch], [])

    def _settle(self, messages: list[Message], settlements: list[Any]) -> None:
        if messages and self.listener is not None:
            try:
                self.listener(messages)
            except Exception:
                logger.exception("chat store listener failed")
        for future, result, error in settlements:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
