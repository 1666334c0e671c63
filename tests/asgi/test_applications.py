"""App: exception handlers, the 500 layer, user middleware, lifespan and state."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from chatdesk.asgi import (
    App,
    HTTPEndpoint,
    HTTPException,
    JSONResponse,
    Middleware,
    PlainTextResponse,
    Route,
    StreamingResponse,
)
from tests.support.server import serve

from .helpers import ROOT, free_port, wait_for


class Teapot(Exception):
    pass


class Thrower(HTTPEndpoint):
    async def get(self, request: Any) -> Any:
        kind = request.query_params["kind"]
        if kind == "teapot":
            raise Teapot()
        if kind == "value":
            raise ValueError("broken")
        if kind == "stream":

            async def body() -> AsyncIterator[bytes]:
                yield b"partial"
                raise ValueError("mid-stream")

            return StreamingResponse(body())
        raise HTTPException(int(kind))


def teapot_handler(request: Any, exc: Exception) -> Any:
    return JSONResponse({"teapot": request.url.path}, status_code=418)


async def gone_handler(request: Any, exc: Exception) -> Any:
    return PlainTextResponse("custom gone", status_code=410)


async def server_error_handler(request: Any, exc: Exception) -> Any:
    return PlainTextResponse(f"custom 500: {exc}", status_code=500)


def test_exception_handlers_by_class_and_status() -> None:
    app = App(
        routes=[Route("/", Thrower)],
        exception_handlers={Teapot: teapot_handler, 410: gone_handler},
    )
    with serve(app) as running:
        response = httpx.get(running.url, params={"kind": "teapot"})
        assert (response.status_code, response.json()) == (418, {"teapot": "/"})
        response = httpx.get(running.url, params={"kind": "410"})
        assert (response.status_code, response.text) == (410, "custom gone")
        response = httpx.get(running.url, params={"kind": "409"})
        assert (response.status_code, response.text) == (409, "Conflict")


def test_unhandled_exception_is_a_500_then_reaches_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server_log = logging.getLogger("uvicorn.error")
    with serve(App(routes=[Route("/", Thrower)])) as running:
        # Added once running: uvicorn configures its loggers when it starts.
        server_log.addHandler(caplog.handler)
        try:
            response = httpx.get(running.url, params={"kind": "value"})
            wait_for(lambda: "ValueError: broken" in caplog.text)
        finally:
            server_log.removeHandler(caplog.handler)
    assert (response.status_code, response.text) == (500, "Internal Server Error")


def test_custom_500_handler_and_debug_traceback() -> None:
    app = App(routes=[Route("/", Thrower)], exception_handlers={Exception: server_error_handler})
    with serve(app) as running:
        response = httpx.get(running.url, params={"kind": "value"})
        assert (response.status_code, response.text) == (500, "custom 500: broken")
    with serve(App(routes=[Route("/", Thrower)], debug=True)) as running:
        response = httpx.get(running.url, params={"kind": "value"})
        assert response.status_code == 500
        assert "ValueError: broken" in response.text
        assert response.headers["content-type"].startswith("text/plain")
        response = httpx.get(running.url, params={"kind": "value"}, headers={"accept": "text/html"})
        assert "<pre>" in response.text and "ValueError: broken" in response.text


def test_error_after_the_response_started_does_not_send_a_second_response() -> None:
    with serve(App(routes=[Route("/", Thrower)])) as running:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(running.url, params={"kind": "stream"})
        # The server is still healthy.
        assert httpx.get(running.url, params={"kind": "404"}).status_code == 404


class Tagging:
    """A user middleware that tags every HTTP response."""

    def __init__(self, app: Any, tag: str) -> None:
        self.app = app
        self.tag = tag

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-tag", self.tag.encode())]
            await send(message)

        await self.app(scope, receive, tagged if scope["type"] == "http" else send)


def test_user_middleware_runs_outside_the_exception_handlers() -> None:
    app = App(
        routes=[Route("/", Thrower)],
        middleware=[Middleware(Tagging, "outer"), Middleware(Tagging, tag="inner")],
        exception_handlers={Teapot: teapot_handler},
    )
    with serve(app) as running:
        response = httpx.get(running.url, params={"kind": "teapot"})
        assert response.status_code == 418
        assert response.headers.get_list("x-tag") == ["inner", "outer"]
        response = httpx.get(running.url, params={"kind": "value"})
        assert response.status_code == 500
        assert "x-tag" not in response.headers


def test_add_middleware_after_start_is_refused() -> None:
    app = App(routes=[Route("/", Thrower)])
    app.add_middleware(Tagging, tag="late")
    with serve(app) as running:
        assert httpx.get(running.url, params={"kind": "404"}).headers["x-tag"] == "late"
    with pytest.raises(RuntimeError, match="after an application has started"):
        app.add_middleware(Tagging, tag="too late")


class StateReader(HTTPEndpoint):
    async def get(self, request: Any) -> Any:
        return JSONResponse(
            {
                "db": request.state.db,
                "app_state": request.app.state.name,
                "url_for": str(request.url_for("state")),
            }
        )


def test_lifespan_state_reaches_requests_and_shutdown_runs() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        app.state.name = "chat"
        yield {"db": "connected"}
        events.append("shutdown")

    app = App(routes=[Route("/", StateReader, name="state")], lifespan=lifespan)
    with serve(app) as running:
        assert events == ["startup"]
        response = httpx.get(running.url)
        assert response.json() == {
            "db": "connected",
            "app_state": "chat",
            "url_for": running.url + "/",
        }
    assert events == ["startup", "shutdown"]


def test_failed_startup_stops_the_server() -> None:
    command = [sys.executable, "-m", "uvicorn", "tests.asgi.isolated_app:failing_app"]
    command += ["--host", "127.0.0.1", "--port", str(free_port())]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "RuntimeError: cannot start: no database" in result.stderr
    assert "Application startup failed" in result.stderr


def test_exception_handlers_cannot_change_after_start() -> None:
    app = App()
    app.add_exception_handler(Teapot, teapot_handler)
    with serve(app) as running:
        assert httpx.get(running.url).status_code == 404
    with pytest.raises(RuntimeError):
        app.add_exception_handler(410, gone_handler)
