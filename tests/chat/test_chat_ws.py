"""The `/chat` protocol over a real server: messages, replay, idempotency, errors, limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatdesk.chat.app import Chat, ChatConfig
from chatdesk.chat.limits import MAX_CONNECTIONS_PER_ADDRESS
from tests.chat.conftest import TEST_WS_MAX_SIZE, ChatClient, open_socket
from tests.support.server import serve


def seed(chat: Chat, room: str, count: int) -> None:
    """Store `count` messages in `room` before the server starts (no listener yet)."""

    async def append_all() -> None:
        await chat.store.create_room(room)
        for n in range(1, count + 1):
            await chat.store.append(room, "seed", f"m{n}", f"seed-{n}")

    asyncio.run(append_all())


# -- messages ------------------------------------------------------------------------------------


def test_every_member_sees_every_message_in_order(connect_chat):
    clients = [connect_chat(nick) for nick in ("alice", "bob", "carol")]
    for client in clients:
        client.join()
    acks = [client.post(f"hello from {i}", f"c-{i}") for i, client in enumerate(clients)]
    ids = [ack["id"] for ack in acks]
    assert ids == sorted(ids) and len(set(ids)) == 3
    for client in clients:
        frames = client.messages_until(ids[-1])
        assert [f["id"] for f in frames] == ids
        assert [f["text"] for f in frames] == ["hello from 0", "hello from 1", "hello from 2"]
        assert [f["nick"] for f in frames] == ["alice", "bob", "carol"]
        assert all(f["room"] == "general" and f["ts"].endswith("Z") for f in frames)


def test_rooms_are_separate_and_joining_creates_one(connect_chat, http):
    alice, bob = connect_chat("alice"), connect_chat("bob")
    alice.join("dev")
    bob.join("general")
    alice.post("only dev", "d-1", room="dev")
    bob.post("only general", "g-1")
    assert alice.expect("message")["text"] == "only dev"
    assert bob.expect("message")["text"] == "only general"
    assert not [f for f in alice.held + bob.held if f["type"] == "message"]
    names = [room["name"] for room in http.get("/api/rooms").json()["rooms"]]
    assert names == ["general", "dev"]


def test_replay_after_an_id_then_live(tmp_path: Path):
    chat = Chat(ChatConfig(tmp_path / "data"))
    seed(chat, "general", 60)
    try:
        with serve(chat.app, ws_max_size=TEST_WS_MAX_SIZE) as server:
            client = ChatClient(open_socket(server, chat.access.token))
            client.hello("late")
            client.join(after=41)
            replayed = [f for f in client.held if f["type"] == "message"]
            assert [f["id"] for f in replayed] == list(range(42, 61))
            client.held.clear()
            ack = client.post("live", "live-1")
            assert client.expect("message")["id"] == ack["id"] == 61
            client.close()
    finally:
        chat.close()


def test_join_without_after_replays_the_last_50(tmp_path: Path):
    chat = Chat(ChatConfig(tmp_path / "data"))
    seed(chat, "general", 60)
    seed(chat, "small", 3)
    try:
        with serve(chat.app, ws_max_size=TEST_WS_MAX_SIZE) as server:
            client = ChatClient(open_socket(server, chat.access.token))
            client.hello("new")
            client.join()
            ids = [f["id"] for f in client.held if f["type"] == "message"]
            assert ids == list(range(11, 61))
            client.held.clear()
            client.join("small")
            assert [f["text"] for f in client.held if f["type"] == "message"] == ["m1", "m2", "m3"]
            client.close()
    finally:
        chat.close()


def test_no_gap_and_no_duplicate_between_replay_and_live(connect_chat):
    writers = [connect_chat(f"writer{i}") for i in range(4)]
    for writer in writers:
        writer.join()
    start = threading.Barrier(len(writers) + 1)
    last_ids: list[int] = []

    def write(index: int, writer: ChatClient) -> None:
        start.wait()
        for n in range(18):  # within the burst: nothing is rate limited
            writer.send(
                {
                    "type": "send",
                    "room": "general",
                    "text": f"{index}/{n}",
                    "client_id": f"{index}-{n}",
                }
            )
        last_ids.append(
            max(writer.expect("ack", client_id=f"{index}-{n}")["id"] for n in range(18))
        )

    threads = [threading.Thread(target=write, args=(i, w)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    joiners = [connect_chat(f"joiner{i}") for i in range(3)]
    start.wait()
    for joiner in joiners:  # joins land at different points of the write burst
        joiner.send({"type": "join", "room": "general", "after": 0})
    for thread in threads:
        thread.join()
    last = max(last_ids)
    assert last == 4 * 18
    for joiner in joiners:
        ids = [frame["id"] for frame in joiner.messages_until(last)]
        assert ids == list(range(1, last + 1))


def test_a_repeated_client_id_is_acked_with_the_first_id_and_not_sent_again(connect_chat):
    observer = connect_chat("observer")
    observer.join()
    alice = connect_chat("alice")
    alice.join()
    first = alice.post("original", "retry-me")
    alice.close()
    # A reconnect under another nick retries the same client_id.
    bob = connect_chat("bob")
    bob.join(after=first["id"])
    again = bob.post("a retry with other text", "retry-me")
    assert again["id"] == first["id"]
    later = bob.post("next", "next-1")
    frames = observer.messages_until(later["id"])
    assert [(f["id"], f["text"], f["nick"]) for f in frames] == [
        (first["id"], "original", "alice"),
        (later["id"], "next", "bob"),
    ]
    bob_frames = bob.messages_until(later["id"])
    assert [f["id"] for f in bob_frames] == [later["id"]]


def test_the_same_client_id_in_another_room_is_another_message(connect_chat):
    alice = connect_chat("alice")
    alice.join("general")
    alice.join("other")
    one = alice.post("a", "same", room="general")
    two = alice.post("b", "same", room="other")
    assert one["id"] != two["id"]


# -- nicks, presence, typing --------------------------------------------------------------------


def test_nicks_are_unique_among_those_online(connect_chat):
    first = connect_chat()
    assert first.hello("alice")["nick"] == "alice"
    assert connect_chat().hello("alice")["nick"] == "alice-2"
    assert connect_chat().hello("ALICE")["nick"] == "ALICE-3"
    welcome = connect_chat().hello("  bob  ")
    assert welcome["nick"] == "bob"
    assert welcome["protocol"] == 1
    assert welcome["rooms"] == [{"name": "general", "last_id": 0, "online": 0}]
    first.close()
    assert connect_chat().hello("alice")["nick"] == "alice"  # freed when its holder left


def test_a_long_nick_keeps_its_suffix_within_32_characters(connect_chat):
    nick = "x" * 32
    connect_chat(nick)
    second = connect_chat().hello(nick)["nick"]
    assert second == "x" * 30 + "-2"


def test_presence_goes_to_everyone_in_the_room_after_each_change(connect_chat):
    alice = connect_chat("alice")
    assert alice.join()["online"] == ["alice"]
    bob = connect_chat("bob")
    assert bob.join()["online"] == ["alice", "bob"]
    assert alice.expect("presence")["online"] == ["alice", "bob"]
    bob.send({"type": "nick", "nick": "robert"})
    assert bob.expect("nick") == {"type": "nick", "nick": "robert"}
    assert alice.expect("presence")["online"] == ["alice", "robert"]
    assert bob.expect("presence")["online"] == ["alice", "robert"]
    bob.send({"type": "leave", "room": "general"})
    assert alice.expect("presence")["online"] == ["alice"]
    bob.join()
    alice.expect("presence", online=["alice", "robert"])
    bob.close()
    assert alice.expect("presence")["online"] == ["alice"]


def test_renaming_to_a_taken_nick_gets_a_suffix(connect_chat):
    connect_chat("alice")
    bob = connect_chat("bob")
    bob.send({"type": "nick", "nick": "alice"})
    assert bob.expect("nick")["nick"] == "alice-2"
    bob.send({"type": "nick", "nick": "a\u2028b"})
    assert bob.expect("error")["code"] == "bad_request"


def test_typing_goes_to_the_others_only(connect_chat):
    alice, bob = connect_chat("alice"), connect_chat("bob")
    alice.join()
    bob.join()
    alice.send({"type": "typing", "room": "general"})
    assert bob.expect("typing") == {"type": "typing", "room": "general", "nick": "alice"}
    alice.send({"type": "send", "room": "general", "text": "x", "client_id": "t-1"})
    alice.expect("ack")
    assert not [f for f in alice.held if f["type"] == "typing"]


# -- errors ---------------------------------------------------------------------------------------


def test_anything_before_hello_is_hello_first(connect_chat):
    client = connect_chat()
    for frame in (
        {"type": "join", "room": "general"},
        {"type": "send", "room": "general", "text": "x", "client_id": "early"},
        {"type": "bogus"},
        [1, 2],
    ):
        client.send(frame)
        error = client.expect("error")
        assert error["code"] == "hello_first", frame
    assert error.get("client_id") is None
    client.send({"type": "send", "room": "general", "text": "x", "client_id": "early"})
    assert client.expect("error")["client_id"] == "early"


def test_a_refused_hello_may_be_retried_and_a_second_hello_is_refused(connect_chat):
    client = connect_chat()
    for nick in ("", "   ", "x" * 33, "tab\there", "zero\u200bwidth", 7, None):
        client.send({"type": "hello", "nick": nick})
        assert client.expect("error")["code"] == "bad_request", nick
    assert client.hello("carol")["nick"] == "carol"
    client.send({"type": "hello", "nick": "dave"})
    assert client.expect("error")["code"] == "bad_request"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "send", "room": "general", "text": "x" * 4001, "client_id": "long"}, "too_long"),
        ({"type": "send", "room": "nowhere", "text": "x", "client_id": "nj"}, "not_joined"),
        ({"type": "typing", "room": "nowhere"}, "not_joined"),
        ({"type": "leave", "room": "nowhere"}, "not_joined"),
        ({"type": "nope"}, "bad_request"),
        ({"room": "general"}, "bad_request"),
        ("[]", "bad_request"),
        ('"text"', "bad_request"),
        ({"type": "join", "room": "General"}, "bad_request"),
        ({"type": "join", "room": "-x"}, "bad_request"),
        ({"type": "join", "room": "x" * 33}, "bad_request"),
        ({"type": "join", "room": "general", "after": -1}, "bad_request"),
        ({"type": "join", "room": "general", "after": True}, "bad_request"),
        ({"type": "join", "room": "general", "after": 1.5}, "bad_request"),
        ({"type": "join", "room": "general", "after": 2**64}, "bad_request"),
        ({"type": "send", "room": "general", "text": "", "client_id": "e"}, "bad_request"),
        ({"type": "send", "room": "general", "text": "x", "client_id": ""}, "bad_request"),
        ({"type": "send", "room": "general", "text": "x", "client_id": "c" * 65}, "bad_request"),
        ({"type": "send", "room": "general", "text": 5, "client_id": "n"}, "bad_request"),
        ({"type": "send", "room": "general", "text": "x"}, "bad_request"),
        ('{"type":"send","room":"general","text":"\\ud800","client_id":"s"}', "bad_request"),
    ],
)
def test_mistakes_get_an_error_frame_and_the_socket_stays_open(connect_chat, frame, code):
    client = connect_chat("erin")
    client.join()
    client.send(frame)
    error = client.expect("error")
    assert error["code"] == code
    assert isinstance(error["detail"], str) and error["detail"]
    if isinstance(frame, dict) and frame.get("type") == "send" and frame.get("client_id"):
        assert error["client_id"] == frame["client_id"]
    assert client.post("still open", "after-error")["id"] >= 1


def test_text_of_exactly_4000_code_points_is_accepted(connect_chat):
    client = connect_chat("max")
    client.join()
    text = "\U0001f600" * 4000  # 4000 code points, 16000 UTF-8 bytes
    ack = client.post(text, "big")
    assert client.expect("message", id=ack["id"])["text"] == text


def test_joining_twice_is_a_bad_request(connect_chat):
    client = connect_chat("twice")
    client.join()
    client.send({"type": "join", "room": "general"})
    assert client.expect("error")["code"] == "bad_request"


def test_binary_frames_of_utf8_json_are_accepted(connect_chat):
    client = connect_chat()
    client.send(json.dumps({"type": "hello", "nick": "bin\u00e4r"}).encode())
    assert client.expect("welcome")["nick"] == "bin\u00e4r"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", 1003),
        ("{", 1003),
        (b"\xff\xfe{}", 1007),
        ("[" * 100_000 + "]" * 100_000, 1009),
        (b"\x00" * (64 * 1024 + 1), 1009),
        ("x" * (64 * 1024 + 1), 1009),
    ],
    ids=["text", "truncated", "invalid-utf8", "deep-and-big", "bytes-over-64k", "text-over-64k"],
)
def test_frames_that_cannot_be_read_close_the_socket(connect_chat, payload, code):
    client = connect_chat("closer")
    client.send(payload)
    assert client.close_code() == code


def test_deeply_nested_json_closes_with_1003(connect_chat):
    client = connect_chat("deep")
    client.send("[" * 30_000 + "]" * 30_000)
    assert client.close_code() == 1003


def test_the_server_limit_itself_closes_with_1009(chat, tmp_path):
    with serve(chat.app, ws_max_size=64 * 1024) as server:
        client = ChatClient(open_socket(server, chat.access.token))
        client.send("x" * (64 * 1024 + 1))
        assert client.close_code() == 1009


# -- rate limits -------------------------------------------------------------------------------


def test_over_the_rate_limit_frames_are_refused_not_processed(connect_chat):
    client = connect_chat("fast")
    client.join()
    for n in range(30):
        client.send({"type": "send", "room": "general", "text": f"{n}", "client_id": f"r-{n}"})
    acked: dict[str, int] = {}
    limited: set[str] = set()
    stored: set[str] = set()
    while len(acked) + len(limited) < 30:
        frame = client.recv()
        if frame["type"] == "message":
            stored.add(frame["client_id"])
        elif frame["type"] == "ack":
            acked[frame["client_id"]] = frame["id"]
        elif frame["type"] == "error":
            assert frame["code"] == "rate_limited"
            limited.add(frame["client_id"])
    assert 18 <= len(acked) < 30  # a burst of 20 frames, hello and join included
    assert limited and not set(acked) & limited
    assert stored == set(acked)  # each message frame goes out before its ack


def test_a_client_that_keeps_flooding_is_closed_with_1008(connect_chat):
    client = connect_chat("flood")
    client.join()
    with contextlib.suppress(ConnectionClosed):  # the server may close it mid-flood
        for _ in range(200):
            client.send({"type": "typing", "room": "general"})
    assert client.close_code() == 1008


def test_a_client_address_may_hold_16_connections(connect_chat):
    clients = [connect_chat(f"user{i}") for i in range(16)]
    presence = [client.join() for client in clients]
    assert len(presence[-1]["online"]) == 16


def test_connections_over_the_per_address_limit_are_refused_until_one_closes(server, chat):
    sockets = [open_socket(server, chat.access.token) for _ in range(MAX_CONNECTIONS_PER_ADDRESS)]
    try:
        with pytest.raises(InvalidStatus) as refused:
            open_socket(server, chat.access.token)
        assert refused.value.response.status_code == 429
        assert json.loads(refused.value.response.body)["error"] == "too_many_connections"
        sockets.pop().close()
        # The server counts the closed one off when its session ends: poll for the free slot.
        deadline = time.monotonic() + 5
        while True:
            try:
                sockets.append(open_socket(server, chat.access.token))
                break
            except InvalidStatus:
                assert time.monotonic() < deadline, "the closed connection was never counted off"
                time.sleep(0.02)
    finally:
        for socket in sockets:
            socket.close()


# -- sessions, the seed's echo, shutdown -------------------------------------------------------


def test_rotating_the_token_closes_sessions_made_with_the_old_one(connect_chat, chat):
    client = connect_chat("guest")
    client.join()
    chat.access.rotate()
    assert client.close_code() == 1008


def test_a_websocket_without_credentials_is_refused(server, chat):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(server, "wrong-token")
    assert refused.value.response.status_code == 403


def test_the_seed_echo_endpoint(server, chat):
    socket = open_socket(server, chat.access.token, path="/ws")
    try:
        socket.send("hi there")
        assert socket.recv(timeout=5) == "Message text was: hi there"
    finally:
        socket.close()


def test_stopping_the_server_closes_sockets_with_going_away_or_restart(chat):
    with serve(chat.app, ws_max_size=TEST_WS_MAX_SIZE) as server:
        client = ChatClient(open_socket(server, chat.access.token))
        client.hello("leaving")
        client.join()
    assert client.close_code() in (1001, 1012)


def test_welcome_tells_the_host_from_a_guest(server, chat):
    # Every test client is a loopback peer, which is the host; a guest's welcome is covered by
    # the LAN test, whose client is on another host.
    client = ChatClient(open_socket(server, chat.access.token))
    try:
        assert client.hello("owner")["host"] is True
    finally:
        client.close()
