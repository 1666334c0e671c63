"""Fixtures for the hostile-network tests: a real `Chat` on uvicorn and a protocol client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chatdesk.chat.app import Chat, ChatConfig
from tests.support.server import RunningServer, serve

TIMEOUT = 5.0
WS_MAX_SIZE = 64 * 1024  # what the desktop configures: the protocol's frame limit
CLOSE_CODES = {1003, 1007, 1008, 1009}  # the documented answers to a malformed frame
ERROR_CODES = {"hello_first", "too_long", "not_joined", "rate_limited", "bad_request"}


@dataclass(frozen=True)
class Target:
    """A running chat server and how to authenticate to it."""

    chat: Chat
    server: RunningServer

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def token(self) -> str:
        return self.chat.access.token

    @property
    def bearer(self) -> tuple[str, str]:
        return ("Authorization", f"Bearer {self.token}")

    @property
    def cookie(self) -> tuple[str, str]:
        value = self.chat.access.join(self.token)
        assert value is not None
        return ("Cookie", f"{self.chat.access.cookie_name}={value}")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One chat server for a whole test module (tests must not rotate its token)."""
    chat = Chat(ChatConfig(data_dir=tmp_path_factory.mktemp("lan") / "data"))
    try:
        with serve(chat.app, ws_max_size=WS_MAX_SIZE) as server:
            yield Target(chat, server)
    finally:
        chat.close()


class Client:
    """A `/chat` protocol client over a real WebSocket."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.held: list[dict[str, Any]] = []

    def send(self, frame: Any) -> None:
        self.socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def expect(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The first frame of type `kind` matching `fields`; frames skipped are held."""
        for index, frame in enumerate(self.held):
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                return self.held.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame
            self.held.append(frame)

    def answer(self, timeout: float = TIMEOUT) -> dict[str, Any] | int:
        """The next frame that is not presence/typing/message, or the close code."""
        try:
            while True:
                frame = json.loads(self.socket.recv(timeout=timeout))
                if frame.get("type") not in ("presence", "typing", "message"):
                    return frame
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else 1006

    def hello(self, nick: str) -> dict[str, Any]:
        self.send({"type": "hello", "nick": nick})
        return self.expect("welcome")

    def join(self, room: str = "general", after: int | None = None) -> None:
        frame: dict[str, Any] = {"type": "join", "room": room}
        if after is not None:
            frame["after"] = after
        self.send(frame)
        self.expect("presence", room=room)

    def post(self, text: str, client_id: str, room: str = "general") -> dict[str, Any]:
        self.send({"type": "send", "room": room, "text": text, "client_id": client_id})
        return self.expect("ack", client_id=client_id)

    def close(self) -> None:
        self.socket.close()


def open_client(target: Target, nick: str | None = None, **options: Any) -> Client:
    socket = connect(
        f"{target.server.ws_url}/chat",
        additional_headers=[target.bearer],
        open_timeout=TIMEOUT,
        close_timeout=1,
        max_size=None,
        **options,
    ).__enter__()  # websockets wants a `with`; Client.close() is its end
    client = Client(socket)
    if nick is not None:
        client.hello(nick)
    return client


@pytest.fixture
def clients(target: Target) -> Iterator[Any]:
    """A factory of authenticated clients, all closed after the test."""
    opened: list[Client] = []

    def factory(nick: str | None = None, **options: Any) -> Client:
        client = open_client(target, nick, **options)
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.close()


def assert_still_serving(target: Target, tag: str) -> None:
    """A new client can still chat: its message is acked and comes back intact."""
    client = open_client(target, "witness")
    try:
        client.join("general")
        text = f"still here {tag} ✓"
        ack = client.post(text, f"witness-{tag}-{time.monotonic_ns()}")
        message = client.expect("message", id=ack["id"])
        assert message["text"] == text
    finally:
        client.close()
