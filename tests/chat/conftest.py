"""Fixtures for chat tests: a real `Chat` on a real uvicorn, and protocol clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatdesk.chat.app import Chat, ChatConfig
from tests.support.chat_client import TIMEOUT, ChatClient
from tests.support.chat_client import open_socket as open_ws
from tests.support.server import RunningServer, serve

__all__ = ["TEST_WS_MAX_SIZE", "TIMEOUT", "ChatClient", "open_socket"]

# uvicorn's own limit is set a little above the protocol's 64 KiB, so that the endpoint's
# defensive check is what a 64 KiB + 1 byte frame meets (the desktop sets exactly 64 KiB).
TEST_WS_MAX_SIZE = 64 * 1024 + 4096


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


def open_socket(server: RunningServer, token: str, path: str = "/chat", **options: Any) -> Any:
    """A raw WebSocket to `path`, authenticated with `token`."""
    return open_ws(server.ws_url, [("Authorization", f"Bearer {token}")], path, **options)


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
