"""Exceptions in an App mounted inside an App, on Starlette 1.10 and on chatdesk.asgi.

An endpoint of the mounted App raises, before its response started or after. Both toolkits must
do the same: send one response at most (a 500 only when nothing had started), and let the
exception reach the server (`RuntimeError` when a handled exception came too late), never
swallowing it nor starting a second response.

The apps are driven directly with a permissive `send`, one that accepts any message in any
order (the ASGI spec does not require a server to refuse a second `http.response.start`), so
the toolkits' own decisions show; then they run on real uvicorn, where what the client receives
and what the server logs are compared.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette import background as starlette_background
from starlette import middleware as starlette_middleware

from tests.support.server import serve

from .helpers import raw_request, run_get, wait_for
from .sample_app import toolkit

PATHS = [
    "/sub/raises",
    "/sub/self-send",
    "/sub/self-send-complete",
    "/sub/self-send-http",
    "/sub/custom-response",
    "/sub/function-custom-response",
    "/sub/stream",
    "/sub/background",
    "/sub/raw",
    "/sub/http-after-disconnect",
]


def namespace(name: str) -> SimpleNamespace:
    tk = toolkit(name)
    if name == "starlette":
        tk.BackgroundTask = starlette_background.BackgroundTask
        tk.Middleware = starlette_middleware.Middleware
    return tk


class PassThrough:
    """A user middleware that hands the app its own `send` (as most middleware do)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def forward(message: Any) -> None:
            await send(message)

        await self.app(scope, receive, forward)


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"x/y")]}


def build(
    tk: SimpleNamespace, *, outer_middleware: bool, inner_middleware: bool, inner_handler: bool
) -> tuple[Any, list[str]]:
    """The outer App mounting an inner App at /sub; returns it and the inner 500 handler's calls."""
    calls: list[str] = []

    class Raises(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            raise ValueError("before the start")

    class SelfSend(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            await self.send(START)
            await self.send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise ValueError("after the start")

    class SelfSendComplete(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            await self.send(START)
            await self.send({"type": "http.response.body", "body": b"complete"})
            raise ValueError("after the whole response")

    class SelfSendHTTP(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            await self.send(START)
            await self.send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise tk.HTTPException(403)

    class StartsThenRaises(tk.Response):
        def __init__(self, exc: Exception) -> None:
            super().__init__()
            self.exc = exc

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send(START)
            raise self.exc

    class CustomResponse(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return StartsThenRaises(ValueError("in the response"))

    async def function_custom_response(request: Any) -> Any:
        return StartsThenRaises(tk.HTTPException(409))

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first"
        raise ValueError("mid-stream")

    class Stream(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.StreamingResponse(chunks())

    def fail() -> None:
        raise ValueError("in the background")

    class Background(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.PlainTextResponse("sent", background=tk.BackgroundTask(fail))

    async def raw_app(scope: Any, receive: Any, send: Any) -> None:
        await send(START)
        raise ValueError("in a raw app")

    class AfterDisconnect(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            await self.send(START)
            await self.send({"type": "http.response.body", "body": b"partial", "more_body": True})
            while (await self.receive())["type"] != "http.disconnect":
                pass
            raise tk.HTTPException(403)

    async def server_error(request: Any, exc: Exception) -> Any:
        calls.append(f"{request.url.path}: {exc!r}")
        return tk.PlainTextResponse("custom 500", status_code=500)

    inner = tk.App(
        routes=[
            tk.Route("/raises", Raises),
            tk.Route("/self-send", SelfSend),
            tk.Route("/self-send-complete", SelfSendComplete),
            tk.Route("/self-send-http", SelfSendHTTP),
            tk.Route("/custom-response", CustomResponse),
            tk.Route("/function-custom-response", function_custom_response),
            tk.Route("/stream", Stream),
            tk.Route("/background", Background),
            tk.Route("/raw", raw_app),
            tk.Route("/http-after-disconnect", AfterDisconnect),
        ],
        middleware=[tk.Middleware(PassThrough)] if inner_middleware else None,
        exception_handlers={Exception: server_error} if inner_handler else None,
    )
    outer = tk.App(
        routes=[tk.Mount("/sub", app=inner)],
        middleware=[tk.Middleware(PassThrough)] if outer_middleware else None,
    )
    return outer, calls


def summary(message: dict[str, Any]) -> tuple[Any, ...]:
    if message["type"] == "http.response.start":
        return (message["type"], message["status"], sorted(message.get("headers", [])))
    return (message["type"], bytes(message.get("body", b"")), message.get("more_body", False))


def drive(app: Any, path: str) -> dict[str, Any]:
    """One GET through `app` with a permissive server: what it sent, and what escaped it."""
    sent, error = run_get(app, path)
    escaped = None
    if error is not None:
        cause = type(error.__cause__).__name__ if error.__cause__ is not None else None
        escaped = (type(error).__name__, str(error), cause)
    return {"sent": [summary(message) for message in sent], "escaped": escaped}


CONFIGURATIONS = [
    {"outer_middleware": outer, "inner_middleware": inner, "inner_handler": handler}
    for outer in (False, True)
    for inner in (False, True)
    for handler in (False, True)
]


def config_id(config: dict[str, bool]) -> str:
    return "-".join(name for name, on in config.items() if on) or "plain"


@pytest.mark.parametrize("config", CONFIGURATIONS, ids=config_id)
@pytest.mark.parametrize("path", PATHS)
def test_a_mounted_app_failing_matches_starlette(path: str, config: dict[str, bool]) -> None:
    seen = {}
    for name in ("starlette", "chatdesk"):
        app, calls = build(namespace(name), **config)
        seen[name] = {**drive(app, path), "handler calls": calls}
    assert seen["chatdesk"] == seen["starlette"]


def test_at_most_one_response_starts() -> None:
    for path in PATHS:
        for config in CONFIGURATIONS:
            app, _ = build(namespace("chatdesk"), **config)
            sent = drive(app, path)["sent"]
            starts = [message for message in sent if message[0] == "http.response.start"]
            assert len(starts) == 1, (path, config, sent)


class ServerLog(logging.Handler):
    """The exceptions uvicorn logs ("Exception in ASGI application")."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append((type(record.exc_info[1]).__name__, str(record.exc_info[1])))


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    config = {"outer_middleware": False, "inner_middleware": False, "inner_handler": False}
    oracle_app, _ = build(namespace("starlette"), **config)
    chatdesk_app, _ = build(namespace("chatdesk"), **config)
    server_log = logging.getLogger("uvicorn.error")
    with serve(oracle_app) as oracle, serve(chatdesk_app) as ours:
        # Added once running: uvicorn configures its loggers when it starts.
        log = ServerLog()
        server_log.addHandler(log)
        try:
            yield {"starlette": oracle, "chatdesk": ours, "log": log}
        finally:
            server_log.removeHandler(log)


def leave_early(port: int, path: str) -> bytes:
    """Send a GET, read until the first body bytes arrive, then hang up."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        received = b""
        while b"partial" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.partition(b"\r\n")[0]


def logged_errors(log: ServerLog) -> list[tuple[str, str]]:
    # Whatever the server logs for this request arrives within the wait; none may be expected.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not log.errors:
        time.sleep(0.01)
    time.sleep(0.05)
    return list(log.errors)


@pytest.mark.parametrize("path", [path for path in PATHS if "disconnect" not in path])
def test_what_the_client_and_the_server_log_see_matches_starlette(
    servers: dict[str, Any], path: str
) -> None:
    seen = {}
    log: ServerLog = servers["log"]
    for name in ("starlette", "chatdesk"):
        log.errors.clear()
        response = raw_request(servers[name].port, f"GET {path} HTTP/1.1")
        headers = {key: response.headers.get(key) for key in ("content-type", "content-length")}
        seen[name] = (response.status, headers, response.body, logged_errors(log))
    assert seen["chatdesk"] == seen["starlette"]
    assert seen["chatdesk"][3], "the exception reaches the server"


def test_a_handled_exception_after_the_client_left_still_reaches_the_server(
    servers: dict[str, Any],
) -> None:
    # uvicorn drops what is sent after the client left: a second start would not be refused,
    # so only the toolkit itself can tell that the response had started.
    seen = {}
    log: ServerLog = servers["log"]
    for name in ("starlette", "chatdesk"):
        log.errors.clear()
        status_line = leave_early(servers[name].port, "/sub/http-after-disconnect")
        seen[name] = (status_line, logged_errors(log))
    assert seen["chatdesk"] == seen["starlette"]
    assert seen["chatdesk"][1] == [
        ("RuntimeError", "Caught handled exception, but response already started.")
    ]


def test_the_server_is_still_healthy(servers: dict[str, Any]) -> None:
    wait_for(lambda: raw_request(servers["chatdesk"].port, "GET /sub/nope HTTP/1.1").status == 404)
