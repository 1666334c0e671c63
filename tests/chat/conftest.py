"""Fixtures for chat tests: a real `Chat` on a real uvicorn, and a small protocol client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chatdesk.chat.app import Chat, ChatConfig
from tests.support.server import RunningServer, serve

# uvicorn's own limit is set a little above the protocol's 64 KiB, so that the endpoint's
# defensive check is what a 64 KiB + 1 byte frame meets (the desktop sets exactly 64 KiB).
TEST_WS_MAX_SIZE = 64 * 1024 + 4096
TIMEOUT = 5.0


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[Chat]:
    """A `Chat` on a fresh data directory, closed after the test."""
    chat = Chat(ChatConfig(data_dir=tmp_path / "data"))
    try:
        yield chat
    finally:
        chat.close()


@pytest.fixture
def server(chat: Chat) -> Iterator[RunningServer]:
    """`chat` served by uvicorn on a loopback port."""
    with serve(chat.app, ws_max_size=TEST_WS_MAX_SIZE) as running:
        yield running


@pytest.fixture
def http(server: RunningServer, chat: Chat) -> Iterator[httpx.Client]:
    """An HTTP client for `server`, authenticated with the room token."""
    headers = {"Authorization": f"Bearer {chat.access.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=TIMEOUT) as client:
        yield client


class ChatClient:
    """A `/chat` protocol client over a real WebSocket, for tests."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.held: list[dict[str, Any]] = []  # frames read while looking for another type

    def send(self, frame: Any) -> None:
        self.socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame, held ones first."""
        if self.held:
            return self.held.pop(0)
        return json.loads(self.socket.recv(timeout=timeout))

    def expect(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The first frame of type `kind` (matching `fields`); other frames are held."""
        deadline = time.monotonic() + timeout
        for index, frame in enumerate(self.held):
            if _matches(frame, kind, fields):
                return self.held.pop(index)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} frame {fields} within {timeout} s: {self.held}")
            frame = json.loads(self.socket.recv(timeout=remaining))
            if _matches(frame, kind, fields):
                return frame
            self.held.append(frame)

    def hello(self, nick: str) -> dict[str, Any]:
        self.send({"type": "hello", "nick": nick})
        return self.expect("welcome")

    def join(self, room: str = "general", after: int | None = None) -> dict[str, Any]:
        """Join `room`; returns the presence frame that ends the replay."""
        frame: dict[str, Any] = {"type": "join", "room": room}
        if after is not None:
            frame["after"] = after
        self.send(frame)
        return self.expect("presence", room=room)

    def post(self, text: str, client_id: str, room: str = "general") -> dict[str, Any]:
        """Send a message and return its ack."""
        self.send({"type": "send", "room": room, "text": text, "client_id": client_id})
        return self.expect("ack", client_id=client_id)

    def messages_until(self, last_id: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Every message frame up to and including id `last_id`."""
        found = []
        while True:
            frame = self.expect("message", timeout=timeout)
            found.append(frame)
            if frame["id"] >= last_id:
                return found

    def close_code(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; the close code it sent."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.socket.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        raise TimeoutError("the server did not close the socket")

    def close(self) -> None:
        self.socket.close()


def _matches(frame: dict[str, Any], kind: str, fields: dict[str, Any]) -> bool:
    return frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())


def open_socket(server: RunningServer, token: str, path: str = "/chat", **options: Any) -> Any:
    """A raw WebSocket to `path`, authenticated with `token`."""
    return connect(
        f"{server.ws_url}{path}",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=TIMEOUT,
        close_timeout=1,
        legacy=True,  # websockets 17: a connection that is not a context manager
        **options,
    )


@pytest.fixture
def connect_chat(server: RunningServer, chat: Chat) -> Iterator[Any]:
    """A factory of authenticated `ChatClient`s, all closed after the test."""
    opened: list[ChatClient] = []

    def factory(nick: str | None = None, **options: Any) -> ChatClient:
        client = ChatClient(open_socket(server, chat.access.token, **options))
        opened.append(client)
        if nick is not None:
            client.hello(nick)
        return client

    yield factory
    for client in opened:
        client.close()
