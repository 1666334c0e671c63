"""The durable message store: SQLite in WAL mode with group commit, full-text search by FTS5.

Appends go through the one writer (`chat.writer`); reads are served by a small pool of reader
threads, each with its own connection (WAL readers never block the writer). Nothing blocks the
event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from chatdesk.chat.database import COLUMNS, Message, StoreError, connect, open_writer
from chatdesk.chat.limits import HISTORY_PAGE_MAX
from chatdesk.chat.writer import Writer
from chatdesk.datadir import DataDir

__all__ = ["Message", "Store", "StoreError"]

T = TypeVar("T")

READERS = 2


def match_expression(query: str) -> str | None:
    """An FTS5 expression matching every word of plain-text `query`, or None if it has none."""
    query = query.encode("utf-8", "replace").decode()  # lone surrogates cannot be stored anyway
    terms = [term for term in query.split() if any(char.isalnum() for char in term)]
    if not terms:
        return None
    # Each term is quoted as a phrase, so FTS5 operators and syntax in it are plain text.
    phrases = ['"' + term.replace('"', '""') + '"' for term in terms]
    phrases[-1] += "*"  # the last word may still be being typed
    return " ".join(phrases)


class Store:
    """Messages and rooms in `chat.db`: appends group-committed by one writer thread, reads
    served by a small pool of reader threads; never blocks the event loop."""

    def __init__(self, path: Path, writer: sqlite3.Connection) -> None:
        self.path = path
        self._writer = Writer(path, writer)
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="chatdesk-store-reader")
        self._reader_local = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (creating or migrating) the message store of the data directory `data_dir`."""
        db = DataDir(Path(data_dir)).database
        writer = open_writer(db)
        try:
            return cls(db, writer)
        except BaseException:
            writer.close()
            raise

    def set_listener(self, on_commit: Callable[[list[Message]], None]) -> None:
        """Call `on_commit(new_messages)` on the appenders' loop once per durable batch, in
        commit order, before those appenders' awaits return."""
        self._writer.listener = on_commit

    async def append(self, room: str, nick: str, text: str, client_id: str) -> tuple[Message, bool]:
        """Store a message; return once durable, with False if (room, client_id) was stored."""
        return await self._writer.append(room, nick, text, client_id)

    async def create_room(self, name: str) -> None:
        """Create room `name` durably, if it does not exist yet."""
        await self._writer.create_room(name)

    async def history(
        self,
        room: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> tuple[list[Message], bool]:
        """A page of `room` in ascending id order, and whether more exist in the direction read:
        with `after`, the oldest newer than it; otherwise the newest older than `before`."""
        limit = max(1, min(int(limit), HISTORY_PAGE_MAX))
        return await self._read(self._read_history, room, after, before, limit)

    async def search(
        self, query: str, *, room: str | None = None, limit: int = 50
    ) -> list[Message]:
        """Messages matching every word of plain-text `query`, best match first."""
        expression = match_expression(query)
        if expression is None:
            return []
        limit = max(1, min(int(limit), HISTORY_PAGE_MAX))
        return await self._read(self._read_search, expression, room, limit)

    async def rooms(self) -> list[tuple[str, int]]:
        """Every room as (name, last_id), `general` first then by name; last_id 0 if empty."""
        return await self._read(self._read_rooms)

    def has_room(self, name: str) -> bool:
        """Whether room `name` exists (committed); answered from memory, on any thread."""
        return self._writer.has_room(name)

    def close(self) -> None:
        """Stop accepting appends, commit the pending ones, close every connection; idempotent."""
        self._writer.close()
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for connection in self._reader_connections:
                connection.close()
            self._reader_connections.clear()

    # Reading: a pool of threads with their own connections (WAL readers never block the writer).

    async def _read(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._readers, function, *args)
        except RuntimeError:
            if self._writer.closed:
                raise StoreError(f"the chat store {self.path} is closed") from None
            raise
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise StoreError(f"could not read the chat store {self.path}: {exc}") from None

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._reader_local, "connection", None)
        if connection is None:
            connection = connect(self.path)
            connection.execute("PRAGMA query_only = ON")
            with self._reader_lock:
                self._reader_connections.append(connection)
            self._reader_local.connection = connection
        return connection

    def _read_history(
        self, room: str, after: int | None, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        conditions: list[str] = ["room = ?"]
        parameters: list[object] = [room]
        if after is not None:
            conditions.append("id > ?")
            parameters.append(int(after))
        if before is not None:
            conditions.append("id < ?")
            parameters.append(int(before))
        order = "ASC" if after is not None else "DESC"
        rows = self._reader().execute(
            f"SELECT {COLUMNS} FROM messages WHERE {' AND '.join(conditions)} "
            f"ORDER BY id {order} LIMIT ?",
            (*parameters, limit + 1),
        )
        messages = [Message(*row) for row in rows]
        has_more = len(messages) > limit
        del messages[limit:]
        if order == "DESC":
            messages.reverse()
        return messages, has_more

    def _read_search(self, expression: str, room: str | None, limit: int) -> list[Message]:
        columns = ", ".join(f"m.{column}" for column in COLUMNS.split(", "))
        in_room = "" if room is None else "AND m.room = ?"
        rows = self._reader().execute(
            f"SELECT {columns} FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? {in_room} "
            "ORDER BY bm25(messages_fts), m.id DESC LIMIT ?",
            (expression, limit) if room is None else (expression, room, limit),
        )
        return [Message(*row) for row in rows]

    def _read_rooms(self) -> list[tuple[str, int]]:
        rows = self._reader().execute(
            "SELECT name, (SELECT coalesce(max(id), 0) FROM messages WHERE room = rooms.name) "
            "FROM rooms ORDER BY name != 'general', name"
        )
        return [(name, last_id) for name, last_id in rows]
