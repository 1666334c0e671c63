"""Run an ASGI app on a real uvicorn server, on a real loopback socket, in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass(frozen=True)
class RunningServer:
    """Where a test server listens."""

    host: str
    port: int
    server: uvicorn.Server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


def bind_loopback(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 (a free port by default), not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.contextmanager
def serve(app: Any, *, timeout: float = 10.0, **config: Any) -> Iterator[RunningServer]:
    """Serve `app` with uvicorn (httptools, websockets-sansio) until the block exits."""
    sock = bind_loopback()
    options: dict[str, Any] = {
        "log_level": "warning",
        "http": "httptools",
        "ws": "websockets-sansio",
        "lifespan": "auto",
    }
    options.update(config)
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("test server exited before it started")
            if time.monotonic() > deadline:
                raise TimeoutError("test server did not start in time")
            time.sleep(0.005)
        yield RunningServer("127.0.0.1", sock.getsockname()[1], server)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("test server did not stop in time")


async def accept_lifespan(receive: Any, send: Any) -> None:
    """A test app's lifespan: start up, then shut down when asked."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return
