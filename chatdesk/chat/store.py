"""The durable message store: SQLite in WAL mode with group commit, full-text search by FTS5."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["DB_NAME", "SCHEMA_VERSION", "Message", "Store", "StoreError"]

logger = logging.getLogger("chatdesk.chat.store")

T = TypeVar("T")

DB_NAME = "chat.db"
GENERAL = "general"
MAX_PAGE = 500
MAX_BATCH = 1000
READERS = 2
BUSY_TIMEOUT_MS = 5000

# Each entry upgrades the schema from version i to version i + 1, in one transaction.
# To change the schema, append an entry: never edit one that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE rooms (
            name TEXT PRIMARY KEY,
            created TEXT NOT NULL
        ) WITHOUT ROWID""",
        # AUTOINCREMENT: ids are never reused, even after the newest messages are deleted.
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room TEXT NOT NULL,
            nick TEXT NOT NULL,
            text TEXT NOT NULL,
            ts TEXT NOT NULL,
            client_id TEXT NOT NULL,
            UNIQUE (room, client_id)
        )""",
        "CREATE INDEX messages_room_id ON messages (room, id)",
        """CREATE VIRTUAL TABLE messages_fts USING fts5(
            text, content = 'messages', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        )""",
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
        END""",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
        END""",
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
            INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
        END""",
        "INSERT INTO rooms (name, created) "
        "VALUES ('general', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

COLUMNS = "id, room, nick, text, ts, client_id"
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


class StoreError(Exception):
    """The store cannot be opened or cannot store a message; the text says why and what to do."""


@dataclass(frozen=True, slots=True)
class Message:
    """One stored chat message."""

    id: int
    room: str
    nick: str
    text: str
    ts: str
    client_id: str

    def to_dict(self) -> dict[str, object]:
        """The protocol's `message` frame."""
        return {
            "type": "message",
            "id": self.id,
            "room": self.room,
            "nick": self.nick,
            "text": self.text,
            "ts": self.ts,
            "client_id": self.client_id,
        }


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
        self._writer = writer
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closing = threading.Lock()
        self._closed = False
        self._listener: Callable[[list[Message]], None] | None = None
        self._known_rooms = {name for (name,) in writer.execute("SELECT name FROM rooms")}
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="chatdesk-store-reader")
        self._reader_local = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._writer_thread = threading.Thread(
            target=self._run_writer, name="chatdesk-store-writer", daemon=True
        )
        self._writer_thread.start()

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating or migrating) `chat.db` in the data directory `path`."""
        db = Path(path) / DB_NAME
        _prepare_file(db)
        try:
            writer = _connect(db)
        except sqlite3.Error as exc:
            raise _open_error(db, exc) from None
        try:
            _configure_writer(db, writer)
            _migrate(db, writer)
            return cls(db, writer)
        except BaseException:
            writer.close()
            raise

    def set_listener(self, on_commit: Callable[[list[Message]], None]) -> None:
        """Call `on_commit(new_messages)` on the appenders' loop once per durable batch, in
        commit order, before those appenders' awaits return."""
        self._listener = on_commit

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
        limit = max(1, min(int(limit), MAX_PAGE))
        return await self._read(self._read_history, room, after, before, limit)

    async def search(
        self, query: str, *, room: str | None = None, limit: int = 50
    ) -> list[Message]:
        """Messages matching every word of plain-text `query`, best match first."""
        expression = match_expression(query)
        if expression is None:
            return []
        limit = max(1, min(int(limit), MAX_PAGE))
        return await self._read(self._read_search, expression, room, limit)

    async def rooms(self) -> list[tuple[str, int]]:
        """Every room as (name, last_id), `general` first then by name; last_id 0 if empty."""
        return await self._read(self._read_rooms)

    async def room_exists(self, name: str) -> bool:
        """Whether room `name` exists."""
        return await self._read(self._read_room_exists, name)

    def close(self) -> None:
        """Stop accepting appends, commit the pending ones, close every connection; idempotent."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer_thread.join()
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for connection in self._reader_connections:
                connection.close()
            self._reader_connections.clear()
        self._writer.close()

    # Writing: one thread commits whatever is queued in one transaction (group commit).

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
        connection = self._writer
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
        if self._writer.in_transaction:
            try:
                self._writer.execute("ROLLBACK")
            except sqlite3.Error:
                logger.exception("chat store rollback failed")

    def _ensure_room(self, name: str, ts: str, new_rooms: set[str]) -> None:
        if name not in self._known_rooms and name not in new_rooms:
            self._writer.execute(INSERT_ROOM, (name, ts))
            new_rooms.add(name)

    def _insert(self, request: _Append, ts: str) -> tuple[Message, bool]:
        room, nick, text, client_id = request.room, request.nick, request.text, request.client_id
        rows = self._writer.execute(INSERT_MESSAGE, (room, nick, text, ts, client_id)).fetchall()
        if rows:
            return Message(rows[0][0], room, nick, text, ts, client_id), True
        # Already stored, maybe earlier in this very transaction: answer with the first one.
        row = self._writer.execute(SELECT_BY_CLIENT_ID, (room, client_id)).fetchone()
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
        if messages and self._listener is not None:
            try:
                self._listener(messages)
            except Exception:
                logger.exception("chat store listener failed")
        for future, result, error in settlements:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    # Reading: a pool of threads with their own connections (WAL readers never block the writer).

    async def _read(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._readers, function, *args)
        except RuntimeError:
            if self._closed:
                raise StoreError(f"the chat store {self.path} is closed") from None
            raise
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise StoreError(f"could not read the chat store {self.path}: {exc}") from None

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._reader_local, "connection", None)
        if connection is None:
            connection = _connect(self.path)
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

    def _read_room_exists(self, name: str) -> bool:
        row = self._reader().execute("SELECT 1 FROM rooms WHERE name = ?", (name,)).fetchone()
        return row is not None


# Opening: every way a data directory can be unusable becomes one clear StoreError.


def _prepare_file(db: Path) -> None:
    """Create the data directory and an owner-only `chat.db`, or explain why not."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StoreError(
            f"cannot create the data directory {db.parent}: {exc.strerror}; "
            "choose a writable data directory"
        ) from None
    if db.is_dir():
        raise StoreError(f"{db} is a directory, not a chat database; move it out of the way")
    try:
        fd = os.open(db, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise StoreError(
            f"cannot open the chat database {db} for writing: {exc.strerror}; "
            "check the permissions of the file and of its directory"
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StoreError(f"{db} is not a regular file; move it out of the way")
        os.fchmod(fd, 0o600)  # chat history is private, whatever the umask
    finally:
        os.close(fd)


def _connect(db: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are explicit. Any thread may use (never concurrently) or
    # close the connection; the store confines each to one thread while it is open.
    connection = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def _configure_writer(db: Path, connection: sqlite3.Connection) -> None:
    try:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        connection.execute("PRAGMA synchronous = FULL")
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
        if not connection.execute(
            "SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_FTS5'"
        ).fetchone():
            raise StoreError(
                f"cannot open {db}: this Python's SQLite was built without FTS5; "
                "use a Python whose sqlite3 module has FTS5"
            )
    except sqlite3.Error as exc:
        raise _open_error(db, exc) from None
    if mode.lower() != "wal":
        raise StoreError(
            f"cannot use write-ahead logging for {db} (journal mode {mode}); "
            "put the data directory on a local file system"
        )


def _migrate(db: Path, connection: sqlite3.Connection) -> None:
    try:
        connection.execute("BEGIN IMMEDIATE")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{db} was written by a newer chatdesk (schema version {version}, this one "
                f"knows up to {SCHEMA_VERSION}); upgrade chatdesk or use another data directory"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
        connection.execute("COMMIT")
    except BaseException as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _open_error(db, exc) from None
        raise


def _open_error(db: Path, exc: sqlite3.Error) -> StoreError:
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return StoreError(
            f"{db} is not a usable chat database ({exc}); "
            "move it aside to start an empty chat, or restore it from a backup"
        )
    return StoreError(
        f"cannot open the chat database {db} ({exc}); "
        "check that its directory is writable and the disk is not full"
    )
