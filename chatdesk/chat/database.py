"""`chat.db`: its schema, what a message row is, and opening it (checks, WAL, migrations).

Every way a data directory can be unusable becomes one `StoreError` that says what to do.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from chatdesk.files import private_dir

__all__ = ["COLUMNS", "SCHEMA_VERSION", "Message", "StoreError", "connect", "open_writer"]

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


COLUMNS = "id, room, nick, text, ts, client_id"  # a message row, in Message's field order


@dataclass(frozen=True, slots=True)
class Message:
    """One stored chat message."""

    id: int
    room: str
    nick: str
    text: str
    ts: str
    client_id: str


class StoreError(Exception):
    """The store cannot be opened or cannot store a message; the text says why and what to do."""


def open_writer(db: Path) -> sqlite3.Connection:
    """The writer's connection to `db`, created or migrated to SCHEMA_VERSION; or StoreError."""
    _prepare_file(db)
    try:
        writer = connect(db)
    except sqlite3.Error as exc:
        raise _open_error(db, exc) from None
    try:
        _configure_writer(db, writer)
        _migrate(db, writer)
    except BaseException:
        writer.close()
        raise
    return writer


def _prepare_file(db: Path) -> None:
    """Create the data directory and an owner-only `chat.db`, or explain why not."""
    try:
        private_dir(db.parent)
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


def connect(db: Path) -> sqlite3.Connection:
    """A connection to `db` in autocommit mode, waiting up to 5 s for locks."""
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
