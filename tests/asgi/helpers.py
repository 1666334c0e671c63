"""Small clients for the toolkit's tests: raw HTTP over a socket, and WebSocket sessions."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(port: int, request_line: str, headers: dict[str, str] | None = None) -> RawResponse:
    """Send one request exactly as written (no client-side path normalisation)."""
    lines = [request_line, f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), parsed, body)


@dataclass
class WebSocketOutcome:
    """What a client saw: the frames received, then how the connection ended."""

    frames: list[Any] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    rejected_status: int | None = None
    rejected_body: bytes = b""
    subprotocol: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)


async def _session(
    url: str, send: list[Any], expect: int, close: tuple[int, str] | None, **kwargs: Any
) -> WebSocketOutcome:
    outcome = WebSocketOutcome()
    try:
        async with websockets.connect(url, open_timeout=5, close_timeout=2, **kwargs) as ws:
            outcome.subprotocol = ws.subprotocol
            outcome.response_headers = {k.lower(): v for k, v in ws.response.headers.raw_items()}
            try:
                for frame in send:
                    await ws.send(frame)
                for _ in range(expect):
                    outcome.frames.append(await asyncio.wait_for(ws.recv(), 5))
                if close is not None:
                    await ws.close(*close)
                else:
                    await asyncio.wait_for(ws.recv(), 5)
            except ConnectionClosed:
                pass
            await ws.wait_closed()
            received = ws.protocol.close_rcvd
            if received is not None:
                outcome.close_code = received.code
                outcome.close_reason = received.reason
            else:
                outcome.close_code = 1006
    except InvalidStatus as exc:
        outcome.rejected_status = exc.response.status_code
        outcome.rejected_body = exc.response.body or b""
    return outcome


def ws_session(
    url: str,
    send: list[Any] = (),  # type: ignore[assignment]
    expect: int = 0,
    close: tuple[int, str] | None = (1000, ""),
    **kwargs: Any,
) -> WebSocketOutcome:
    """Connect, send frames, read `expect` frames, then close (or wait for the server's close)."""
    return asyncio.run(_session(url, list(send), expect, close, **kwargs))


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def uvicorn_process(target: str, *options: str) -> Iterator[str]:
    """Run `python -m uvicorn target` in a subprocess on a free loopback port; yield its URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"uvicorn exited early:\n{output}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_for(ready, timeout=15)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def run_get(app: Any, path: str, timeout: float = 5.0) -> tuple[list[Any], BaseException | None]:
    """One GET through `app` with a permissive server (it accepts any message in any order):
    the messages the app sent, and the exception that escaped it, if any."""
    sent: list[Any] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    requests = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, Any]:
        return next(requests, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> BaseException | None:
        try:
            await asyncio.wait_for(app(scope, receive, send), timeout)
        except Exception as exc:
            return exc
        return None

    return sent, asyncio.run(run())
