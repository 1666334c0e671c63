"""The hub's parts without a server: outboxes, fan-out, replay-then-live, nicks, rate limits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from chatdesk.chat.broadcast import LocalBroadcaster
from chatdesk.chat.hub import Hub
from chatdesk.chat.limits import QUEUE_MAX_FRAMES, TokenBucket
from chatdesk.chat.outbox import Outbox, send_event
from chatdesk.chat.store import Store


class FakeSocket:
    """An ASGI send that can be made to stall, like a socket whose peer stopped reading."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed: int | None = None
        self.writable = asyncio.Event()
        self.writable.set()

    async def send(self, event: dict[str, Any]) -> None:
        await self.writable.wait()
        self.sent.append(json.loads(event["text"]))

    async def close(self, code: int) -> None:
        await self.writable.wait()
        self.closed = code

    def types(self) -> list[str]:
        return [frame["type"] for frame in self.sent]


def frame(n: int) -> dict[str, Any]:
    return send_event(json.dumps({"type": "test", "n": n}))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_writable_socket_is_written_at_once_without_a_task():
    async def main() -> None:
        socket = FakeSocket()
        outbox = Outbox(socket.send, socket.close, lambda: None)
        outbox.push(frame(1))
        assert socket.sent == [{"type": "test", "n": 1}]  # before any await
        assert outbox.queued == 0

    asyncio.run(main())


def test_a_stalled_socket_queues_in_order_then_catches_up():
    async def main() -> None:
        socket = FakeSocket()
        outbox = Outbox(socket.send, socket.close, lambda: None)
        socket.writable.clear()
        for n in range(5):
            outbox.push(frame(n))
        await settle()
        assert socket.sent == [] and outbox.queued == 4
        socket.writable.set()
        await settle()
        assert [f["n"] for f in socket.sent] == [0, 1, 2, 3, 4]
        outbox.push(frame(5))
        assert socket.sent[-1]["n"] == 5  # writable again: sent at once

    asyncio.run(main())


def test_a_full_queue_overflows_and_a_discarding_close_skips_the_backlog():
    async def main() -> None:
        socket = FakeSocket()
        overflowed: list[bool] = []
        outbox = Outbox(socket.send, socket.close, lambda: overflowed.append(True))
        socket.writable.clear()
        for n in range(QUEUE_MAX_FRAMES + 1):  # one in flight, the rest queued
            outbox.push(frame(n))
        assert not overflowed
        outbox.push(frame(-1))
        assert overflowed == [True]
        outbox.close(1013, discard=True)
        outbox.push(frame(-2))  # ignored once closing
        await settle()
        socket.writable.set()
        await outbox.wait_closed(1)
        assert socket.closed == 1013
        assert socket.sent == []  # the stuck send was abandoned, the backlog dropped

    asyncio.run(main())


def test_a_graceful_close_sends_the_backlog_first():
    async def main() -> None:
        socket = FakeSocket()
        outbox = Outbox(socket.send, socket.close, lambda: None)
        socket.writable.clear()
        for n in range(3):
            outbox.push(frame(n))
        outbox.close(1001)
        socket.writable.set()
        await outbox.wait_closed(1)
        assert [f["n"] for f in socket.sent] == [0, 1, 2] and socket.closed == 1001

    asyncio.run(main())


def test_a_send_that_fails_marks_the_outbox_closed():
    async def main() -> None:
        async def broken(event: dict[str, Any]) -> None:
            raise OSError("connection lost")

        outbox = Outbox(broken, FakeSocket().close, lambda: None)
        outbox.push(frame(1))
        assert outbox.closing
        outbox.push(frame(2))  # no error, nothing happens

    asyncio.run(main())


def test_the_token_bucket_allows_bursts_then_the_sustained_rate():
    now = [0.0]
    bucket = TokenBucket(20, 10.0, lambda: now[0])
    assert all(bucket.take() for _ in range(20))
    assert not bucket.take()
    now[0] += 0.1
    assert bucket.take() and not bucket.take()
    now[0] += 100
    assert sum(bucket.take() for _ in range(100)) == 20


def test_the_local_broadcaster_delivers_to_each_room_s_sinks():
    broadcaster = LocalBroadcaster()
    got: list[tuple[str, int]] = []
    broadcaster.subscribe("a", 1, lambda mid, ev: got.append(("one", mid)))
    broadcaster.subscribe("a", 2, lambda mid, ev: got.append(("two", mid)))
    broadcaster.subscribe("b", 1, lambda mid, ev: got.append(("b", mid)))
    broadcaster.publish("a", 7, {})
    broadcaster.unsubscribe("a", 1)
    broadcaster.publish("a", 8, {})
    broadcaster.publish("nobody", 9, {})
    assert got == [("one", 7), ("two", 7), ("two", 8)]


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(tmp_path)
    yield store
    store.close()


def test_replay_then_live_has_no_gap_and_no_duplicate_at_the_seam(store):
    """Messages committed just before and while history is read reach the joiner once each."""

    async def main() -> None:
        hub = Hub(store)
        hub.start()
        writer_socket = FakeSocket()
        writer = hub.connect(writer_socket.send, writer_socket.close, None)
        await hub.receive(writer, {"type": "hello", "nick": "w"})
        await hub.receive(writer, {"type": "join", "room": "general"})
        for n in range(3):
            await store.append("general", "w", f"old {n}", f"old-{n}")

        read_history = store.history

        async def history_with_concurrent_commits(*args: Any, **kwargs: Any) -> Any:
            # Committed after the joiner subscribed: in the buffer and in the history read.
            await store.append("general", "w", "before read", "before-read")
            page = await read_history(*args, **kwargs)
            # Committed after the history was read: only in the buffer.
            await store.append("general", "w", "after read", "after-read")
            return page

        store.history = history_with_concurrent_commits  # type: ignore[method-assign]
        joiner_socket = FakeSocket()
        joiner = hub.connect(joiner_socket.send, joiner_socket.close, None)
        await hub.receive(joiner, {"type": "hello", "nick": "j"})
        await hub.receive(joiner, {"type": "join", "room": "general", "after": 1})
        store.history = read_history  # type: ignore[method-assign]
        await store.append("general", "w", "live", "live")
        texts = [f["text"] for f in joiner_socket.sent if f["type"] == "message"]
        assert texts == ["old 1", "old 2", "before read", "after read", "live"]
        ids = [f["id"] for f in joiner_socket.sent if f["type"] == "message"]
        assert ids == sorted(set(ids))

    asyncio.run(main())


class HeldBroadcaster(LocalBroadcaster):
    """A LocalBroadcaster whose publications can be held back, like a loop busy elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[str, int, Any]] | None = None

    def publish(self, room: str, message_id: int, event: Any) -> None:
        if self.held is None:
            super().publish(room, message_id, event)
        else:
            self.held.append((room, message_id, event))

    def release(self) -> None:
        held, self.held = self.held or [], None
        for publication in held:
            super().publish(*publication)


def test_a_message_published_after_the_replay_sent_it_is_not_sent_again(store):
    """A commit is readable before it is published: the replay may send it first."""

    async def main() -> None:
        broadcaster = HeldBroadcaster()
        hub = Hub(store, broadcaster)
        hub.start()
        await store.append("general", "w", "old", "old")
        broadcaster.held = []
        await store.append("general", "w", "committed, not yet published", "late")
        socket = FakeSocket()
        joiner = hub.connect(socket.send, socket.close, None)
        await hub.receive(joiner, {"type": "hello", "nick": "j"})
        await hub.receive(joiner, {"type": "join", "room": "general", "after": 0})
        broadcaster.release()  # the late publication reaches the joiner's live sink
        await store.append("general", "w", "live", "live")
        texts = [f["text"] for f in socket.sent if f["type"] == "message"]
        assert texts == ["old", "committed, not yet published", "live"]

    asyncio.run(main())


def test_one_serialised_event_is_shared_by_every_recipient(store):
    async def main() -> None:
        hub = Hub(store)
        hub.start()
        events: list[list[dict[str, Any]]] = []
        for n in range(3):
            got: list[dict[str, Any]] = []
            events.append(got)

            async def send(event: dict[str, Any], got: list[dict[str, Any]] = got) -> None:
                got.append(event)

            client = hub.connect(send, FakeSocket().close, None)
            await hub.receive(client, {"type": "hello", "nick": f"n{n}"})
            await hub.receive(client, {"type": "join", "room": "general"})
        await store.append("general", "x", "shared", "shared-1")
        delivered = [next(e for e in got if '"shared"' in e["text"]) for got in events]
        assert delivered[0] is delivered[1] is delivered[2]

    asyncio.run(main())


def test_nicks_are_granted_unique_and_freed_on_disconnect(store):
    async def main() -> None:
        hub = Hub(store)
        hub.start()
        sockets = [FakeSocket() for _ in range(3)]
        clients = [hub.connect(s.send, s.close, None) for s in sockets]
        for client in clients:
            await hub.receive(client, {"type": "hello", "nick": "Ann"})
        assert [c.nick for c in clients] == ["Ann", "Ann-2", "Ann-3"]
        hub.disconnect(clients[0])
        await hub.receive(clients[2], {"type": "nick", "nick": "ann"})
        assert clients[2].nick == "ann"
        assert sockets[2].sent[-1] == {"type": "nick", "nick": "ann"}

    asyncio.run(main())


def test_shutdown_closes_every_socket(store):
    async def main() -> None:
        hub = Hub(store)
        hub.start()
        sockets = [FakeSocket() for _ in range(3)]
        for socket in sockets:
            hub.connect(socket.send, socket.close, None)
        await hub.shutdown(1001, timeout=1)
        assert [s.closed for s in sockets] == [1001, 1001, 1001]

    asyncio.run(main())


def test_a_join_after_an_id_beyond_the_last_still_gets_live_messages(store):
    async def main() -> None:
        hub = Hub(store)
        hub.start()
        read_history = store.history

        async def history_then_commit(*args: Any, **kwargs: Any) -> Any:
            page = await read_history(*args, **kwargs)
            await store.append("general", "w", "during the join", "during")
            return page

        store.history = history_then_commit  # type: ignore[method-assign]
        socket = FakeSocket()
        client = hub.connect(socket.send, socket.close, None)
        await hub.receive(client, {"type": "hello", "nick": "j"})
        await hub.receive(client, {"type": "join", "room": "general", "after": 10**12})
        store.history = read_history  # type: ignore[method-assign]
        await store.append("general", "w", "after the join", "after")
        texts = [f["text"] for f in socket.sent if f["type"] == "message"]
        assert texts == ["during the join", "after the join"]

    asyncio.run(main())
