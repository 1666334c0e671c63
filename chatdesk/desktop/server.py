"""ServerThread: sockets bound first, then uvicorn serving them in a background thread.

uvicorn is imported when a server is made, not with this module: binding the sockets comes
first at start-up, and the window's start-up need not wait for uvicorn's imports.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import socket
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chatdesk.chat.limits import MAX_CONNECTIONS, MAX_FRAME_BYTES
from chatdesk.chat.links import LOOPBACK, bare_host, url_host
from chatdesk.desktop.network import is_wildcard

if TYPE_CHECKING:
    import uvicorn

__all__ = ["BindError", "ServerError", "ServerThread", "bind_sockets", "listen_addresses"]

WS_MAX_SIZE = MAX_FRAME_BYTES + 1024  # slack, so that the app (not uvicorn) answers with 1009
GRACEFUL_SHUTDOWN_SECONDS = 4  # with the join, a stop completes within the protocol's 5 s


class BindError(Exception):
    """A listening socket could not be bound (port in use, address not on this machine)."""


class ServerError(Exception):
    """The server thread did not start, or stopped on its own."""


def listen_addresses(lan: bool, host: str | None) -> list[str]:
    """The addresses to bind: loopback; in LAN mode every interface, or `host` plus loopback."""
    address = bare_host(host) if host and host != "localhost" else LOOPBACK
    if not lan:
        return [address]
    if is_wildcard(host):
        return ["0.0.0.0", "::"]
    return list(dict.fromkeys([address, LOOPBACK]))


def bind_sockets(addresses: Sequence[str], port: int) -> list[socket.socket]:
    """Bind and listen on every address with one port (the first bound picks it if `port` is 0).

    Binding before the server starts leaves no find-a-port-then-bind race, and connections made
    before uvicorn is ready wait in the backlog. The IPv6 wildcard is skipped where IPv6 is off.
    """
    sockets: list[socket.socket] = []
    try:
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                if address == "::":
                    continue
                raise
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                if address == "::" and exc.errno != errno.EADDRINUSE:  # no IPv6 here
                    sockets.pop().close()
                    continue
                where = f"{url_host(address)}:{port}"
                raise BindError(f"cannot listen on {where}: {exc.strerror}") from None
            sock.listen(2048)
            sock.set_inheritable(False)
            port = sock.getsockname()[1]
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def uvicorn_config(app: Any) -> uvicorn.Config:
    """chatdesk's uvicorn settings: fast paths, protocol limits, no token-bearing access log."""
    import uvicorn

    return uvicorn.Config(
        app,
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        ws="websockets-sansio",  # uvicorn's lighter WebSocket protocol (~21 KB per idle socket)
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        interface="asgi3",
        lifespan="on",
        ws_max_size=WS_MAX_SIZE,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,  # no compression next to secrets, nor per-client CPU
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        limit_concurrency=MAX_CONNECTIONS,
        log_config=None,  # the launcher configures logging (a file; tokens redacted)
        log_level="warning",
        access_log=False,  # request lines carry /join?token=...
        server_header=False,
        proxy_headers=False,
    )


class ServerThread:
    """uvicorn serving `app` on already bound `sockets` in a daemon thread."""

    def __init__(self, app: Any, sockets: list[socket.socket]) -> None:
        self.sockets = sockets
        self.port: int = sockets[0].getsockname()[1]
        import uvicorn

        self._server = uvicorn.Server(uvicorn_config(app))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="chatdesk-server", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=self.sockets)
        except BaseException as exc:  # reported by start() or alive()
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; return once accepting, or raise ServerError (the thread then ended)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_sockets()
                raise ServerError(self._failure())
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"the server did not start within {timeout:g} s")
            time.sleep(0.005)

    def _failure(self) -> str:
        if self._error is not None and not isinstance(self._error, SystemExit):
            return f"the server failed to start: {self._error}"
        return "the server failed to start (the application's startup failed)"

    def alive(self) -> bool:
        """Whether the server still runs (False after a crash or a stop)."""
        return self._thread.is_alive()

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 1.0) -> bool:
        """Stop gracefully (WebSockets get 1012); force it after `timeout`; whether it ended."""
        self._server.should_exit = True
        if self._thread.ident is None:
            self._close_sockets()
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(1.0)
        self._close_sockets()
        return not self._thread.is_alive()

    def _close_sockets(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
