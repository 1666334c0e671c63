"""`Chat`: the chat web app built from a `ChatConfig` (store, token, hub, routes, guard)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatdesk.asgi import App, Mount, Route, StaticFiles, WebSocketRoute
from chatdesk.chat import endpoints
from chatdesk.chat.access import Access
from chatdesk.chat.guard import Guard
from chatdesk.chat.hub import CLOSE_GOING_AWAY, CLOSE_POLICY, Hub
from chatdesk.chat.limits import ConnectionLimit
from chatdesk.chat.rooms import MAX_CONNECTIONS_PER_ADDRESS
from chatdesk.chat.store import Store

__all__ = ["Chat", "ChatConfig"]

TOKEN_CHECK_INTERVAL = 0.5  # seconds between checks for a token rotated by another process


@dataclass
class ChatConfig:
    """What a chat server needs to know; the listening port is never part of it."""

    data_dir: Path  # store (chat.db) and token live here
    lan_hosts: Sequence[str] = ()  # extra names/addresses valid in Host (LAN mode)
    owner_key: str | None = None  # in-process secret the launcher's own window joins with
    on_lan_change: Callable[[bool], None] | None = None  # the desktop switches LAN mode


def routes() -> list[Any]:
    """The chat's routes (every endpoint finds its `Chat` in `app.state.chat`)."""
    return [
        Route("/", endpoints.Homepage),
        Route("/echo", endpoints.EchoPage),
        WebSocketRoute("/ws", endpoints.Echo),
        WebSocketRoute("/chat", endpoints.ChatSocket),
        Route("/healthz", endpoints.Healthz),
        Route("/join", endpoints.Join),
        Route("/api/rooms", endpoints.Rooms),
        Route("/api/rooms/{room}/messages", endpoints.RoomMessages),
        Route("/api/search", endpoints.Search),
        Route("/api/invite", endpoints.Invite),
        Route("/api/token/rotate", endpoints.TokenRotate),
        Route("/api/lan", endpoints.Lan),
        Mount("/static", app=StaticFiles(directory=endpoints.WEB_DIR), name="static"),
    ]


class Chat:
    """The chat server's ASGI app and the state behind it.

    Opens the store and the token synchronously (raising `StoreError` / `AccessError` with a
    clear message); the app's lifespan starts the hub and, on shutdown, closes every socket.
    """

    def __init__(self, config: ChatConfig) -> None:
        self.config = config
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = Store.open(data_dir)
        try:
            self.access = Access(data_dir, config.owner_key)
        except BaseException:
            self.store.close()
            raise
        self.lan_hosts: tuple[str, ...] = tuple(config.lan_hosts)
        self.hub = Hub(self.store)
        self.connections = ConnectionLimit(MAX_CONNECTIONS_PER_ADDRESS)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.access.add_rotation_listener(self._on_rotation)
        inner = App(
            routes=routes(),
            lifespan=self._lifespan,
            exception_handlers={404: endpoints.unknown_path},
        )
        inner.state.chat = self
        self.guard = Guard(inner, self.access, self.lan_hosts)
        self.app = self.guard

    def set_lan_hosts(self, hosts: Sequence[str]) -> None:
        """Accept (and invite with) these LAN names and addresses; () = loopback only."""
        self.lan_hosts = tuple(hosts)
        self.guard.set_lan_hosts(self.lan_hosts)

    def close(self) -> None:
        """Close the store; call after the server stopped."""
        self.store.close()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self.hub.start()
        watcher = asyncio.create_task(self.access.watch(TOKEN_CHECK_INTERVAL))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self.hub.shutdown(CLOSE_GOING_AWAY)
            self._loop = None

    def _on_rotation(self) -> None:
        """The token changed: close every socket whose session it ended."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._close_ended_sessions()
        else:
            loop.call_soon_threadsafe(self._close_ended_sessions)

    def _close_ended_sessions(self) -> None:
        is_valid = self.access.is_valid
        self.hub.close_where(
            lambda client: client.session is None or not is_valid(client.session),
            CLOSE_POLICY,
        )
