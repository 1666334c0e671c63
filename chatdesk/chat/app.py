"""`Chat`: the composition root of one chat server (store, token, hub, routes, guard)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from chatdesk.asgi import App, Mount, Route, StaticFiles, WebSocketRoute, status
from chatdesk.asgi.routing import BaseRoute
from chatdesk.chat import endpoints
from chatdesk.chat.access import Access
from chatdesk.chat.config import ChatConfig
from chatdesk.chat.endpoints import Services
from chatdesk.chat.guard import Guard
from chatdesk.chat.hub import Hub
from chatdesk.chat.limits import MAX_CONNECTIONS_PER_ADDRESS, ConnectionLimit
from chatdesk.chat.pages import WEB_DIR
from chatdesk.chat.store import Store
from chatdesk.datadir import DataDir

__all__ = ["Chat", "ChatConfig", "routes"]

TOKEN_CHECK_INTERVAL = 0.5  # seconds between checks for a token rotated by another process


def routes() -> list[BaseRoute]:
    """The chat's routes (every endpoint finds the chat's parts in `app.state.services`)."""
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
        Mount("/static", app=StaticFiles(directory=WEB_DIR), name="static"),
    ]


class Chat:
    """The chat server's ASGI app (`app`) and the parts behind it.

    Opens the store and the token synchronously (raising `StoreError` / `AccessError` with a
    clear message); the app's lifespan starts the hub and, on shutdown, closes every socket.
    """

    def __init__(self, config: ChatConfig) -> None:
        data_dir = DataDir(Path(config.data_dir)).create()
        self.store = Store.open(data_dir.root)
        try:
            self.access = Access(data_dir.root, config.owner_key)
        except BaseException:
            self.store.close()
            raise
        self.hub = Hub(self.store)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.access.add_rotation_listener(self._on_rotation)
        inner = App(
            routes=routes(),
            lifespan=self._lifespan,
            exception_handlers={404: endpoints.unknown_path},
        )
        inner.state.services = Services(
            store=self.store,
            hub=self.hub,
            access=self.access,
            connections=ConnectionLimit(MAX_CONNECTIONS_PER_ADDRESS),
            reach=config.reach,
            switch_lan=config.switch_lan,
        )
        self.app = Guard(inner, self.access, config.reach.lan_hosts if config.reach.lan else ())

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
            await self.hub.shutdown(status.WS_1001_GOING_AWAY)
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
            status.WS_1008_POLICY_VIOLATION,
        )
