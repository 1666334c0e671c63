"""Property-based fuzzing of the `/chat` protocol: no crash, only documented answers, no loss."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from tests.lan.conftest import CLOSE_CODES, ERROR_CODES, TIMEOUT, ChatClient, Target, open_client

SERVER_FRAME_TYPES = {"welcome", "message", "ack", "presence", "typing", "error", "nick"}
CLIENT_TYPES = ["hello", "join", "leave", "send", "typing", "nick"]

printable = st.characters(blacklist_categories=("Cs",))  # a str frame must be encodable
short_text = st.text(printable, max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | short_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=12,
)
rooms = st.sampled_from(["general", "random", "fuzz-1"]) | short_text | json_values
protocol_frames = st.fixed_dictionaries(
    {"type": st.sampled_from([*CLIENT_TYPES, "bogus", ""]) | json_values},
    optional={
        "room": rooms,
        "nick": st.sampled_from(["fuzzer", "a" * 33, " "]) | short_text | json_values,
        "text": st.sampled_from(["hi", "x" * 4001, ""]) | st.text(printable, max_size=200),
        "client_id": st.text(printable, max_size=70) | json_values,
        "after": st.integers(min_value=-5, max_value=2**70) | json_values,
    },
).map(json.dumps)
frames = st.one_of(
    protocol_frames,
    protocol_frames.map(str.encode),  # JSON in binary frames
    json_values.map(json.dumps),
    st.text(printable, max_size=200),
    st.binary(max_size=200),
    st.sampled_from(["[" * 3000, "{" * 3000, '{"type":"send"', "\x00", ""]),
)


@pytest.fixture(scope="module")
def witness(target: Target) -> Iterator[ChatClient]:
    client = open_client(target, "witness")
    client.join("general")
    yield client
    client.close()


def exchange(client: ChatClient, batch: list[Any], sentinel: str) -> tuple[list[Any], int | None]:
    """Send the fuzz frames then a sentinel `send`; the frames up to its answer, or the close."""
    answers: list[Any] = []
    try:
        for frame in batch:
            client.socket.send(frame)
        client.send({"type": "send", "room": "general", "text": sentinel, "client_id": sentinel})
        while True:
            frame = json.loads(client.socket.recv(timeout=TIMEOUT))
            answers.append(frame)
            if frame.get("client_id") == sentinel and frame.get("type") in ("ack", "error"):
                return answers, None
    except ConnectionClosed as closed:
        return answers, closed.rcvd.code if closed.rcvd is not None else 1006


def post_within_rate_limit(client: ChatClient, text: str, client_id: str) -> tuple[int, str]:
    """Send a message (resending while told to slow down); its acked id and delivered text."""
    deadline = time.monotonic() + TIMEOUT
    acked: int | None = None
    while True:
        client.send({"type": "send", "room": "general", "text": text, "client_id": client_id})
        delivered: str | None = None
        while acked is None or delivered is None:
            frame = json.loads(client.socket.recv(timeout=TIMEOUT))
            if frame.get("client_id") != client_id:
                continue  # presence of the fuzzers coming and going
            if frame["type"] == "ack":
                acked = frame["id"]
            elif frame["type"] == "message":
                delivered = frame["text"]
            else:
                assert frame.get("code") == "rate_limited", frame
                assert time.monotonic() < deadline, "rate limited for too long"
                break
        else:
            assert acked is not None and delivered is not None
            return acked, delivered
        time.sleep(0.1)  # the documented sustained rate is 10 frames a second


def sent_messages(batch: list[Any]) -> list[tuple[str, Any]]:
    """(client_id, text) of every frame in the batch that may be a `send`."""
    sends = []
    for frame in batch:
        try:
            value = json.loads(frame)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if isinstance(value, dict) and isinstance(value.get("client_id"), str):
            sends.append((value["client_id"], value.get("text")))
    return sends


def stored_messages(target: Target) -> dict[int, str]:
    """Every message of the room `general`, read back over HTTP."""
    stored: dict[int, str] = {}
    after = 0
    headers = {"Authorization": f"Bearer {target.token}"}
    with httpx.Client(base_url=target.server.url, headers=headers, timeout=TIMEOUT) as http:
        while True:
            page = http.get("/api/rooms/general/messages", params={"after": after, "limit": 500})
            assert page.status_code == 200
            messages = page.json()["messages"]
            stored.update((m["id"], m["text"]) for m in messages)
            if not page.json()["has_more"]:
                return stored
            after = messages[-1]["id"]


def test_fuzzed_frames_get_only_documented_answers(target: Target, witness: ChatClient) -> None:
    acked: dict[int, str] = {}  # id -> text, of the messages whose text is known for sure
    used_client_ids: set[str] = set()
    serials = itertools.count()

    @settings(
        max_examples=60,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(batch=st.lists(frames, min_size=1, max_size=4))
    def fuzz(batch: list[Any]) -> None:
        serial = next(serials)
        sends = sent_messages(batch)
        client_ids = [client_id for client_id, _ in sends]
        # an ack names only the client_id: keep texts whose client_id is unambiguous
        known = {
            client_id: text
            for client_id, text in sends
            if client_ids.count(client_id) == 1 and client_id not in used_client_ids
        }
        used_client_ids.update(client_ids)
        sentinel = f"sentinel-{serial}"
        client = open_client(target, "fuzzer")
        try:
            client.join("general")
            answers, close_code = exchange(client, batch, sentinel)
        finally:
            client.close()

        for answer in answers:
            assert answer.get("type") in SERVER_FRAME_TYPES, answer
            if answer["type"] == "error":
                assert answer.get("code") in ERROR_CODES, answer
            if answer["type"] == "ack":
                assert answer["client_id"] in (*client_ids, sentinel), answer
                if answer["client_id"] == sentinel:
                    acked[answer["id"]] = sentinel
                elif isinstance(known.get(answer["client_id"]), str):
                    acked.setdefault(answer["id"], known[answer["client_id"]])
        assert close_code is None or close_code in CLOSE_CODES, close_code

        # another client is served all along, and what it sends is acked and delivered intact
        text = f"witness {serial} ✓"
        message_id, delivered = post_within_rate_limit(witness, text, f"w-{serial}")
        assert delivered == text
        acked[message_id] = text

    fuzz()

    assert len(acked) >= 60  # at least the witness's message of each example
    stored = stored_messages(target)  # general only: other rooms' messages are not checked
    for message_id, text in acked.items():
        if message_id in stored or text.startswith(("witness", "sentinel")):
            assert stored.get(message_id) == text, message_id
