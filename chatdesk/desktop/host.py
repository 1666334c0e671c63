"""The chat this process hosts: its listening sockets, the chat app, and uvicorn serving it.

Thread ownership: one thread, the supervisor, makes and drives a `Host` (the main thread without a
window, pywebview's task thread with one); every method is its own. Two events come from other
threads, each through a thread-safe hand-off: the Invite panel's LAN switch (`request_lan`, on the
server's thread) and a token rotation (`token_rotated`, set on whichever thread rotated it).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from chatdesk.chat.config import ChatConfig
from chatdesk.chat.links import LOOPBACK, Reach, join_url
from chatdesk.desktop import paths
from chatdesk.desktop.errors import LaunchError
from chatdesk.desktop.instance import InstanceLock
from chatdesk.desktop.server import (
    BindError,
    ServerError,
    ServerThread,
    bind_sockets,
    listen_addresses,
)
from chatdesk.desktop.settings import Settings
from chatdesk.desktop.state import recall, remember

if TYPE_CHECKING:
    from chatdesk.chat.access import Access

__all__ = ["ChatFactory", "ChatServer", "Host", "real_chat"]

logger = logging.getLogger("chatdesk.launcher")

SUPERVISE_INTERVAL = 0.1  # seconds between the supervisor's looks at switches, rotations, crashes


class ChatServer(Protocol):
    """What the desktop needs of a chat server (`chat.Chat`)."""

    @property
    def app(self) -> Any:
        """The ASGI app to serve."""

    @property
    def access(self) -> Access:
        """Its room token and sessions."""

    def close(self) -> None:
        """Close it, once the server stopped."""


ChatFactory = Callable[[ChatConfig], ChatServer]


def real_chat(config: ChatConfig) -> ChatServer:
    """The chat app of `config` (opens the store and the token; raises with a clear message)."""
    from chatdesk.chat.app import Chat

    return Chat(config)


class Host:
    """Serves one data directory's chat, restarting its listener when LAN mode is switched."""

    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        instance: InstanceLock,
        *,
        owner_key: str,
        chat_factory: ChatFactory = real_chat,
        out: TextIO | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.reach = Reach(lan=settings.lan, loopback=_loopback(settings))
        self.token_rotated = threading.Event()  # set by the chat; cleared by the supervisor
        self._instance = instance
        self._owner_key = owner_key  # the window's credential: lives in this process only
        self._chat_factory = chat_factory
        self._out = out if out is not None else sys.stdout
        self._sockets: list[socket.socket] = []
        self._chat: ChatServer | None = None
        self._server: ServerThread | None = None
        self._lan_request: bool | None = None  # written by the server's thread, under the lock
        self._lan_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port it listens on (once bound)."""
        return int(self._sockets[0].getsockname()[1])

    @property
    def bound(self) -> bool:
        """Whether it holds listening sockets."""
        return bool(self._sockets)

    @property
    def serving(self) -> bool:
        """Whether the chat is open and uvicorn serves it."""
        return self._server is not None

    # -- start and stop ------------------------------------------------------------------------

    def bind(self, port: int | None = None) -> None:
        """Listen on `port`, or on the set or remembered one; a remembered port that is taken
        moves, loudly. LaunchError when it cannot listen."""
        may_move = False
        if port is None:
            port = self.settings.port
            if not port:
                remembered = recall(self.data_dir).port
                port, may_move = remembered or 0, remembered is not None
        addresses = listen_addresses(self.reach.lan, self.settings.host)
        try:
            self._sockets = bind_sockets(addresses, port)
            return
        except BindError as exc:
            if not may_move:
                raise LaunchError(str(exc)) from None
        try:
            self._sockets = bind_sockets(addresses, 0)
        except BindError as exc:
            raise LaunchError(str(exc)) from None
        logger.warning(
            "port %d, this chat's port last time, is taken: serving on port %d instead, "
            "so links and open tabs with the old port no longer reach this chat",
            port,
            self.port,
        )

    def start(self) -> None:
        """Open the chat and serve it on the bound sockets; LaunchError (sockets closed)."""
        if self.reach.lan:
            self.reach = Reach(lan=True, lan_hosts=self._lan_hosts(), loopback=self.reach.loopback)
        config = ChatConfig(
            data_dir=self.data_dir,
            reach=self.reach,
            owner_key=self._owner_key,
            switch_lan=self.request_lan,
        )
        try:
            chat = self._chat_factory(config)
        except Exception as exc:
            self._close_sockets()
            logger.info("opening the chat failed", exc_info=True)  # the log file only
            raise LaunchError(f"cannot open the chat in {self.data_dir}: {exc}") from None
        server = ServerThread(chat.app, self._sockets)
        try:
            server.start()
        except ServerError as exc:
            chat.close()
            raise LaunchError(f"{exc} (details in {paths.log_dir()})") from None
        self._chat, self._server = chat, server
        chat.access.add_rotation_listener(self.token_rotated.set)
        try:
            remember(self.data_dir, port=server.port)
        except OSError as exc:
            logger.warning("cannot remember port %d for %s: %s", server.port, self.data_dir, exc)

    def announce(self) -> None:
        """Tell the world where the chat is: the runtime file, then the join links on stdout."""
        self._instance.publish(self.port, lan=self.reach.lan)
        self._print_join_urls()

    def stop(self) -> None:
        """Stop the server gracefully (bounded), then close the chat and the sockets."""
        server, chat = self._server, self._chat
        self._server = self._chat = None
        if server is not None and not server.stop():
            logger.error("the server did not stop in time")
        if chat is not None:
            try:
                chat.close()
            except Exception:
                logger.exception("closing the chat failed")
        self._close_sockets()

    # -- what the user sees --------------------------------------------------------------------

    def join_urls(self) -> list[str]:
        """The room's join links: the Invite panel's list, loopback first."""
        assert self._chat is not None
        return self.reach.join_urls(self.port, self._chat.access.token)

    def owner_url(self) -> str:
        """The window's own link: its owner key, never printed, never on a command line."""
        return join_url(self.reach.loopback, self.port, self._owner_key)

    def _print_join_urls(self) -> None:
        for url in self.join_urls():
            print(f"chatdesk: open {url}", file=self._out, flush=True)

    # -- supervision: LAN switches from the UI, rotations, crashes -----------------------------

    def request_lan(self, enabled: bool) -> None:
        """The Invite panel's switch (called on the server's thread): switch LAN mode soon."""
        with self._lan_lock:
            self._lan_request = bool(enabled)

    def supervise(
        self, done: threading.Event, stopping: threading.Event, close: Callable[[], None]
    ) -> str | None:
        """Until `done`: carry out LAN switches, announce rotations; `close()` on `stopping` or
        when the server dies. Returns why it failed, or None."""
        while not done.wait(SUPERVISE_INTERVAL):
            if stopping.is_set():
                close()
                return None
            with self._lan_lock:
                request, self._lan_request = self._lan_request, None
            if self.token_rotated.is_set():
                self.token_rotated.clear()
                self._announce_new_token()
            try:
                if request is not None and request != self.reach.lan:
                    self._switch_lan(request)
                elif self._server is None or not self._server.alive():
                    raise LaunchError(f"the server stopped unexpectedly (see {paths.log_dir()})")
            except LaunchError as exc:
                close()
                return str(exc)
        return None

    def _announce_new_token(self) -> None:
        """The room token changed (the Invite panel, or --rotate-token): print the new links."""
        print(
            "chatdesk: the room token was replaced; earlier invite links no longer work",
            file=sys.stderr,
            flush=True,
        )
        self._print_join_urls()

    def _switch_lan(self, enabled: bool) -> None:
        """Restart the listener on the same port for the new mode; remember the choice."""
        port = self.port
        self.stop()
        self.reach = Reach(lan=enabled, loopback=self.reach.loopback)
        try:
            self.bind(port)
            self.start()
        except LaunchError as exc:
            logger.error("cannot switch LAN mode %s: %s", "on" if enabled else "off", exc)
            self.reach = Reach(lan=not enabled, loopback=self.reach.loopback)
            self.bind(port)
            self.start()
            self.announce()
            return
        try:
            remember(self.data_dir, lan=enabled)
        except OSError as exc:
            logger.warning("cannot remember LAN mode for %s: %s", self.data_dir, exc)
        self.announce()

    # -- internals -----------------------------------------------------------------------------

    def _lan_hosts(self) -> tuple[str, ...]:
        """This machine's LAN addresses and names, but IPv6 ones where IPv6 is not listened on."""
        from chatdesk.desktop.network import allowed_lan_hosts

        ipv6 = any(":" in sock.getsockname()[0] for sock in self._sockets)
        return tuple(h for h in allowed_lan_hosts(self.settings.host) if ipv6 or ":" not in h)

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []


def _loopback(settings: Settings) -> str:
    """The loopback host of the links: a loopback address set without LAN mode, or 127.0.0.1."""
    host = settings.host
    if not settings.lan and host and host != "localhost":
        return host
    return LOOPBACK
