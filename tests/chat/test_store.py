"""chatdesk.chat.store: durable group-committed appends, idempotency, history, search, errors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chatdesk.chat.database import SCHEMA_VERSION
from chatdesk.chat.protocol import message_object
from chatdesk.chat.store import Message, Store, StoreError
from chatdesk.datadir import DataDir

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(store: Store, test: Callable[[Store], Awaitable[T]]) -> T:
    """Run `test(store)` on a fresh event loop."""
    return asyncio.run(test(store))  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path)
    yield opened
    opened.close()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` on the loop until it holds, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


@contextlib.contextmanager
def write_lock(store: Store) -> Iterator[None]:
    """Hold the database's write lock from another connection: the writer waits meanwhile."""
    blocker = sqlite3.connect(store.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        yield
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()


async def stalled_append(store: Store) -> asyncio.Task[tuple[Message, bool]]:
    """An append the writer has taken and holds while `write_lock` lasts: appends made
    meanwhile queue up for the next batch."""
    taken = threading.Event()
    commit = store._writer._commit

    def commit_and_signal(batch: list[Any]) -> None:
        taken.set()
        commit(batch)

    store._writer._commit = commit_and_signal  # type: ignore[method-assign]
    task = asyncio.create_task(store.append("general", "stall", "first", "stall"))
    await until(taken.is_set)
    return task


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make `path` unwritable, for root too (the immutable attribute), then restore it."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("root ignores permission bits and chattr is not available")
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("root ignores permission bits and this file system refuses chattr +i")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


# Appending


def test_ids_increase_across_rooms_and_messages_are_complete(store: Store) -> None:
    async def test(store: Store) -> list[tuple[Message, bool]]:
        return [
            await store.append(room, "alice", f"hello {n}", f"c-{n}")
            for n, room in enumerate(["general", "dev", "general", "random", "dev"])
        ]

    results = run(store, test)
    ids = [message.id for message, _ in results]
    assert ids == sorted(ids) and len(set(ids)) == 5 and ids[0] > 0
    assert all(created for _, created in results)
    message = results[1][0]
    assert (message.room, message.nick, message.text, message.client_id) == (
        "dev",
        "alice",
        "hello 1",
        "c-1",
    )
    assert TS.match(message.ts)
    assert message_object(message) == {
        "type": "message",
        "id": message.id,
        "room": "dev",
        "nick": "alice",
        "text": "hello 1",
        "ts": message.ts,
        "client_id": "c-1",
    }


def test_retry_with_same_client_id_returns_first_message(store: Store) -> None:
    async def test(store: Store) -> None:
        first, created = await store.append("general", "alice", "hi", "c-1")
        assert created
        again, created = await store.append("general", "alice-2", "hi again", "c-1")
        assert (again, created) == (first, False)
        other_room, created = await store.append("dev", "alice", "hi", "c-1")
        assert created and other_room.id > first.id
        messages, _ = await store.history("general")
        assert messages == [first]

    run(store, test)


def test_concurrent_appends_share_a_batch_and_duplicates_in_it_are_stored_once(
    store: Store,
) -> None:
    batches: list[list[Message]] = []
    store.set_listener(batches.append)

    async def test(store: Store) -> None:
        with write_lock(store):
            first = await stalled_append(store)
            rest = [
                asyncio.create_task(store.append("general", nick, text, client_id))
                for nick, text, client_id in [
                    ("b", "two", "c-2"),
                    ("c", "two again", "c-2"),
                    ("d", "three", "c-3"),
                ]
            ]
            await until(lambda: store._writer._queue.qsize() == 3)
        one, two, two_again, three = await asyncio.gather(first, *rest)
        assert one[1] and two[1] and three[1]
        assert (two[0].nick, two[0].text) == ("b", "two")
        assert two_again == (two[0], False)
        assert [[m.id for m in batch] for batch in batches] == [
            [one[0].id],
            [two[0].id, three[0].id],
        ]

    run(store, test)


def test_listener_sees_each_batch_before_its_appenders_resume(store: Store) -> None:
    seen: list[int] = []
    calls: list[list[int]] = []
    threads: set[threading.Thread] = set()

    def on_commit(messages: list[Message]) -> None:
        threads.add(threading.current_thread())
        calls.append([message.id for message in messages])
        seen.extend(message.id for message in messages)

    store.set_listener(on_commit)

    async def sender(store: Store, n: int) -> None:
        for i in range(10):
            message, _ = await store.append(f"room-{n % 3}", "x", "text", f"{n}-{i}")
            assert message.id in seen

    async def test(store: Store) -> None:
        await asyncio.gather(*(sender(store, n) for n in range(20)))
        before = len(calls)
        _, created = await store.append("room-0", "x", "text", "0-0")
        assert not created and len(calls) == before  # nothing new, nothing to fan out

    run(store, test)
    assert threads == {threading.main_thread()}  # the loop's thread
    assert seen == sorted(seen) and len(set(seen)) == 200
    assert all(call == sorted(call) and call for call in calls)
    assert len(calls) < 200  # concurrent senders shared commits


def test_listener_errors_do_not_lose_the_ack(store: Store) -> None:
    def broken(messages: list[Message]) -> None:
        raise RuntimeError("listener bug")

    store.set_listener(broken)

    async def test(store: Store) -> None:
        message, created = await store.append("general", "a", "hi", "c-1")
        assert created and (await store.history("general"))[0] == [message]

    run(store, test)


def test_unstorable_text_fails_only_its_own_append(store: Store) -> None:
    async def test(store: Store) -> None:
        with write_lock(store):
            await stalled_append(store)
            tasks = [
                asyncio.create_task(store.append("general", "a", text, f"c-{n}"))
                for n, text in enumerate(["fine", "\ud800 lone surrogate", "also fine"])
            ]
            await until(lambda: store._writer._queue.qsize() == 3)  # one batch
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[1], StoreError)
        assert results[0][1] and results[2][1]  # type: ignore[index]
        messages, _ = await store.history("general")
        assert [m.text for m in messages] == ["first", "fine", "also fine"]
        with pytest.raises(StoreError):
            await store.create_room("\udc80")
        with pytest.raises(StoreError):
            await store.history("\udc80")
        assert (await store.append("general", "a", "still fine", "c-3"))[1]

    run(store, test)


def test_write_failure_fails_the_batch_and_the_writer_survives(store: Store) -> None:
    async def test(store: Store) -> None:
        await store.append("general", "a", "before", "c-0")
        # A database at its size limit fails like a full disk (SQLITE_FULL).
        pages = store._writer._connection.execute("PRAGMA page_count").fetchone()[0]
        store._writer._connection.execute(f"PRAGMA max_page_count = {pages}")
        big = "x" * 4000
        results = await asyncio.gather(
            *(store.append("general", "a", big, f"c-{n}") for n in range(1, 4)),
            return_exceptions=True,
        )
        assert all(isinstance(result, StoreError) for result in results)
        assert "full" in str(results[0])
        store._writer._connection.execute("PRAGMA max_page_count = 1073741823")
        _, created = await store.append("general", "a", big, "c-1")
        assert created
        messages, _ = await store.history("general")
        assert [m.client_id for m in messages] == ["c-0", "c-1"]

    run(store, test)


# Reading


def test_history_pages_in_every_direction(store: Store) -> None:
    async def test(store: Store) -> None:
        ids = []
        for n in range(7):
            await store.append("dev", "x", "noise", f"d-{n}")
            ids.append((await store.append("general", "x", f"m{n}", f"g-{n}"))[0].id)

        async def page(**kwargs: Any) -> tuple[list[int], bool]:
            messages, has_more = await store.history("general", **kwargs)
            assert all(m.room == "general" for m in messages)
            return [m.id for m in messages], has_more

        assert await page(limit=3) == (ids[4:], True)
        assert await page(limit=7) == (ids, False)
        assert await page() == (ids, False)
        assert await page(before=ids[4], limit=3) == (ids[1:4], True)
        assert await page(before=ids[3], limit=3) == (ids[:3], False)
        assert await page(after=ids[1], limit=3) == (ids[2:5], True)
        assert await page(after=ids[3], limit=3) == (ids[4:], False)
        assert await page(after=0, limit=2) == (ids[:2], True)
        assert await page(after=ids[-1]) == ([], False)
        assert await page(after=ids[0], before=ids[4], limit=2) == (ids[1:3], True)
        assert await page(after=ids[0], before=ids[4], limit=3) == (ids[1:4], False)
        assert await page(limit=0) == (ids[-1:], True)  # clamped to 1
        assert await store.history("nowhere") == ([], False)

    run(store, test)


def test_search_ranks_filters_and_survives_hostile_queries(store: Store) -> None:
    async def test(store: Store) -> None:
        texts = [
            ("general", "the deploy went fine"),
            ("general", "deploy deploy deploy: the deploy script"),
            ("dev", "we should deploy on Friday"),
            ("general", "lunch?"),
            ("general", 'she said "NEAR(a b)" AND (OR) * ^ -x'),
            ("dev", "Crème brûlée für alle 日本語"),
        ]
        for n, (room, text) in enumerate(texts):
            await store.append(room, "x", text, f"c-{n}")

        async def found(query: str, room: str | None = None) -> list[str]:
            return [m.text for m in await store.search(query, room=room)]

        best = await found("deploy")
        assert best[0] == texts[1][1] and len(best) == 3
        assert await found("deploy", room="dev") == [texts[2][1]]
        assert await found("deploy friday") == [texts[2][1]]
        assert await found("depl") == best  # the last word is a prefix
        assert await found("lunch deploy") == []
        assert await found("creme brulee") == [texts[5][1]]
        assert await found("FÜR") == [texts[5][1]]
        assert await found('"NEAR(a') == [texts[4][1]]
        for hostile in [
            "",
            "   ",
            '"',
            '""',
            "*",
            "a*",
            "AND",
            "OR OR",
            "NOT deploy",
            "NEAR(deploy fine)",
            "deploy NEAR/2 fine",
            "(deploy",
            "deploy)",
            "text:deploy",
            "{text}: deploy",
            "^deploy",
            "deploy + fine",
            "-deploy",
            "'; DROP TABLE messages; --",
            "🙂",
            "\x00",
            "\ud800",
            "a\ud800b",
            "日本語",
            "a" * 5000,
        ]:
            assert isinstance(await store.search(hostile), list), hostile
        assert await found("") == await found("?!.") == []
        assert len(await store.search("deploy", limit=1)) == 1

    run(store, test)


def test_rooms_and_room_creation(store: Store) -> None:
    async def test(store: Store) -> None:
        assert await store.rooms() == [("general", 0)]
        await store.create_room("zeta")
        await store.create_room("zeta")
        await store.create_room("alpha")
        last, _ = await store.append("beta", "x", "hi", "c-1")
        assert store.has_room("beta") and store.has_room("zeta")
        assert not store.has_room("gamma")
        assert await store.rooms() == [("general", 0), ("alpha", 0), ("beta", last.id), ("zeta", 0)]

    run(store, test)


# Opening, migrating, closing


def test_reopen_keeps_everything_and_ids_are_never_reused(tmp_path: Path) -> None:
    async def fill(store: Store) -> Message:
        await store.create_room("empty")
        return (await store.append("dev", "alice", "remember me", "c-1"))[0]

    store = Store.open(tmp_path)
    first = run(store, fill)
    store.close()
    with contextlib.closing(sqlite3.connect(DataDir(tmp_path).database)) as db:
        db.execute("DELETE FROM messages")
        db.commit()
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

    async def check(store: Store) -> None:
        assert await store.rooms() == [("general", 0), ("dev", 0), ("empty", 0)]
        again, created = await store.append("dev", "alice", "remember me", "c-1")
        assert created and again.id > first.id

    store = Store.open(tmp_path)
    try:
        run(store, check)
    finally:
        store.close()


@pytest.mark.parametrize("initial", ["missing", "empty file", "empty v0 database"])
def test_migrates_a_new_or_empty_database(tmp_path: Path, initial: str) -> None:
    data = tmp_path / "data" / "nested"
    if initial != "missing":
        data.mkdir(parents=True)
        DataDir(data).database.touch(mode=0o644)
    if initial == "empty v0 database":
        with contextlib.closing(sqlite3.connect(DataDir(data).database)) as db:
            db.execute("PRAGMA user_version = 0")
            db.execute("VACUUM")
    store = Store.open(data)
    try:
        assert run(store, lambda s: s.rooms()) == [("general", 0)]
        wal = data / "chat.db-wal"
        for path in [DataDir(data).database, wal]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(DataDir(data).database)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_from_a_newer_chatdesk_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    with contextlib.closing(sqlite3.connect(DataDir(tmp_path).database)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer chatdesk") as info:
        Store.open(tmp_path)
    assert str(DataDir(tmp_path).database) in str(info.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "torn page"])
def test_corrupt_database_is_refused(tmp_path: Path, damage: str) -> None:
    db = DataDir(tmp_path).database
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    else:
        store = Store.open(tmp_path)

        async def fill(store: Store) -> None:
            for n in range(40):
                await store.append("general", "x", "y" * 500, str(n))

        run(store, fill)
        store.close()
        content = bytearray(db.read_bytes())
        if damage == "truncated":
            del content[len(content) // 2 :]
        else:
            content[-4096 * 3 : -4096] = os.urandom(4096 * 2)
        db.write_bytes(bytes(content))
    before = db.read_bytes()
    with pytest.raises(StoreError, match="not a usable chat database") as info:
        Store.open(tmp_path)
    assert str(db) in str(info.value) and "\n" not in str(info.value)
    assert db.read_bytes() == before  # left as it was, for the user to inspect or restore


def test_unusable_locations_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the data directory"):
        Store.open(tmp_path / "file" / "data")
    DataDir(tmp_path / "dir").database.mkdir(parents=True)
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path / "dir")
    with pytest.raises(StoreError, match="cannot open the chat database"):
        Store.open(Path("/proc"))  # a directory nobody, root included, may create files in


def test_unwritable_directory_or_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with unwritable(empty), pytest.raises(StoreError, match="cannot open the chat database"):
        Store.open(empty)
    assert not DataDir(empty).database.exists()

    Store.open(tmp_path).close()
    with unwritable(tmp_path), pytest.raises(StoreError, match="cannot open the chat database"):
        Store.open(tmp_path)  # the write-ahead log cannot be created
    with unwritable(DataDir(tmp_path).database), pytest.raises(StoreError, match="for writing"):
        Store.open(tmp_path)


def test_close_commits_pending_appends_and_then_refuses(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    committed: list[Message] = []
    store.set_listener(committed.extend)

    async def test(store: Store) -> None:
        tasks = [
            asyncio.create_task(store.append("general", "x", f"m{n}", f"c-{n}")) for n in range(50)
        ]
        await asyncio.sleep(0)  # let every task queue its append
        store.close()  # blocks the loop until the writer has committed them all
        store.close()
        results = await asyncio.gather(*tasks)
        assert [m for m, _ in results] == committed and len(committed) == 50
        with pytest.raises(StoreError, match="closed"):
            await store.append("general", "x", "late", "c-late")
        with pytest.raises(StoreError, match="closed"):
            await store.history("general")

    run(store, test)
    reopened = Store.open(tmp_path)
    try:
        messages, _ = run(reopened, lambda s: s.history("general", limit=500))
        assert messages == committed
    finally:
        reopened.close()


def test_slow_reads_run_off_the_loop_and_do_not_delay_appends(store: Store) -> None:
    release = threading.Event()
    reader_threads: list[threading.Thread] = []
    read_history = store._read_history

    def slow_history(*args: Any) -> Any:
        reader_threads.append(threading.current_thread())
        assert release.wait(10)
        return read_history(*args)

    store._read_history = slow_history  # type: ignore[method-assign]

    async def test(store: Store) -> None:
        slow = asyncio.create_task(store.history("general"))
        await until(lambda: bool(reader_threads))
        for n in range(20):
            await store.append("general", "x", f"m{n}", f"c-{n}")
        assert await store.rooms() == [("general", 20)]  # the other reader still serves
        assert not slow.done()
        release.set()
        messages, has_more = await slow
        assert len(messages) == 20 and not has_more

    run(store, test)
    assert reader_threads[0] is not threading.main_thread()


def test_store_opened_without_a_loop_serves_successive_loops(store: Store) -> None:
    calls: list[int] = []
    store.set_listener(lambda messages: calls.append(len(messages)))
    for n in range(3):
        message, created = run(store, lambda s, n=n: s.append("general", "x", "hi", f"c-{n}"))
        assert created
    assert run(store, lambda s: s.rooms()) == [("general", message.id)]
    assert calls == [1, 1, 1]


CRASHING_SENDER = """
import asyncio, sys
from pathlib import Path
from chatdesk.chat.store import Store

store = Store.open(Path(sys.argv[1]))

async def sender(k):
    for i in range(1_000_000):
        message, _ = await store.append(f"room-{k % 2}", "x", "text", f"{k}-{i}")
        print(message.id, message.client_id, flush=True)

async def main():
    await asyncio.gather(*(sender(k) for k in range(8)))

asyncio.run(main())
"""


def test_every_acked_message_survives_kill_9(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_SENDER, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    acked: dict[int, str] = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:
            message_id, client_id = line.split()
            acked[int(message_id)] = client_id
            if len(acked) == 300:
                break
        process.send_signal(signal.SIGKILL)  # mid-stream: appends are in flight
        for line in process.stdout:
            if line.endswith("\n"):
                message_id, client_id = line.split()
                acked[int(message_id)] = client_id
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL and len(acked) >= 300

    store = Store.open(tmp_path)
    try:
        with contextlib.closing(sqlite3.connect(DataDir(tmp_path).database)) as db:
            rows = dict(db.execute("SELECT id, client_id FROM messages").fetchall())
            per_client = db.execute(
                "SELECT count(*) FROM messages GROUP BY room, client_id HAVING count(*) > 1"
            ).fetchall()
    finally:
        store.close()
    assert {i: rows.get(i) for i in acked} == acked
    assert per_client == []
