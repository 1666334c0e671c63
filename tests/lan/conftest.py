"""Fixtures for the hostile-network tests: a real `Chat` on uvicorn, and protocol clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chatdesk.asgi import status
from chatdesk.chat import protocol
from chatdesk.chat.app import Chat, ChatConfig
from tests.support.chat_client import TIMEOUT, ChatClient, open_socket
from tests.support.server import RunningServer, serve

__all__ = ["CLOSE_CODES", "ERROR_CODES", "TIMEOUT", "ChatClient", "Target", "open_client"]
WS_MAX_SIZE = 64 * 1024  # what the desktop configures: the protocol's frame limit
# The documented answers to a malformed frame: a close code, or an error frame.
CLOSE_CODES = {
    status.WS_1003_UNSUPPORTED_DATA,
    status.WS_1007_INVALID_FRAME_PAYLOAD_DATA,
    status.WS_1008_POLICY_VIOLATION,
    status.WS_1009_MESSAGE_TOO_BIG,
}
ERROR_CODES = {
    protocol.HELLO_FIRST,
    protocol.TOO_LONG,
    protocol.NOT_JOINED,
    protocol.RATE_LIMITED,
    protocol.BAD_REQUEST,
}


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


def open_client(target: Target, nick: str | None = None, **options: Any) -> ChatClient:
    """A client of `target` with the room token (and, given `nick`, its hello done)."""
    client = ChatClient(
        open_socket(target.server.ws_url, [target.bearer], max_size=None, **options)
    )
    if nick is not None:
        client.hello(nick)
    return client


@pytest.fixture
def clients(target: Target) -> Iterator[Any]:
    """A factory of authenticated clients, all closed after the test."""
    opened: list[ChatClient] = []

    def factory(nick: str | None = None, **options: Any) -> ChatClient:
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
