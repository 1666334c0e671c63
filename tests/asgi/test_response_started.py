"""After a response has started, the App's error handling sends no error response.

The server here accepts any message, in any order (the ASGI spec does not require a server to
refuse a second `http.response.start`), so these tests see what the toolkit itself decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatdesk.asgi import (
    App,
    BackgroundTask,
    FileResponse,
    HTTPEndpoint,
    HTTPException,
    Middleware,
    PlainTextResponse,
    Route,
    StreamingResponse,
)

from .helpers import run_get


class Boom(Exception):
    pass


async def chunks_then_boom() -> AsyncIterator[bytes]:
    yield b"first"
    raise Boom()


def fail() -> None:
    raise Boom()


def forbid() -> None:
    raise HTTPException(403)


class Stream(HTTPEndpoint):
    async def get(self, request: Any) -> StreamingResponse:
        return StreamingResponse(chunks_then_boom(), media_type="text/plain")


class Background(HTTPEndpoint):
    async def get(self, request: Any) -> PlainTextResponse:
        return PlainTextResponse("sent", background=BackgroundTask(fail))


class BackgroundForbidden(HTTPEndpoint):
    async def get(self, request: Any) -> PlainTextResponse:
        return PlainTextResponse("sent", background=BackgroundTask(forbid))


class MissingFile(HTTPEndpoint):
    async def get(self, request: Any) -> FileResponse:
        return FileResponse("/nonexistent/chatdesk-test-file")


class SelfSend(HTTPEndpoint):
    async def get(self, request: Any) -> PlainTextResponse:
        await self.send({"type": "http.response.start", "status": 200, "headers": []})
        raise Boom()


class SelfSendForbidden(HTTPEndpoint):
    async def get(self, request: Any) -> PlainTextResponse:
        await self.send({"type": "http.response.start", "status": 200, "headers": []})
        raise HTTPException(403)


APP = App(
    routes=[
        Route("/self-send", SelfSend),
        Route("/self-send-forbidden", SelfSendForbidden),
        Route("/stream", Stream),
        Route("/background", Background),
        Route("/background-forbidden", BackgroundForbidden),
        Route("/missing-file", MissingFile),
    ]
)


def request(path: str, app: Any = APP) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Run one GET through the App with a permissive server; the messages sent and the error."""
    return run_get(app, path)


def starts(sent: list[dict[str, Any]]) -> list[int]:
    return [m["status"] for m in sent if m["type"] == "http.response.start"]


def test_a_stream_failing_midway_gets_no_second_start() -> None:
    sent, error = request("/stream")
    assert starts(sent) == [200]
    assert isinstance(error, Boom)


def test_a_failing_background_task_gets_no_second_start() -> None:
    sent, error = request("/background")
    assert starts(sent) == [200]
    assert sent[1]["body"] == b"sent"
    assert isinstance(error, Boom)


def test_a_handled_exception_after_the_response_is_not_answered() -> None:
    sent, error = request("/background-forbidden")
    assert starts(sent) == [200]
    assert isinstance(error, RuntimeError)
    assert str(error) == "Caught handled exception, but response already started."
    assert isinstance(error.__cause__, HTTPException)


def test_an_error_before_the_start_is_still_answered_with_500() -> None:
    sent, error = request("/missing-file")
    assert starts(sent) == [500]
    assert sent[1]["body"] == b"Internal Server Error"
    assert isinstance(error, RuntimeError)


def test_a_handler_sending_by_itself_then_failing_gets_no_second_start() -> None:
    sent, error = request("/self-send")
    assert starts(sent) == [200]
    assert isinstance(error, Boom)


def test_a_handled_exception_after_a_start_the_handler_sent_is_not_swallowed() -> None:
    sent, error = request("/self-send-forbidden")
    assert starts(sent) == [200]
    assert isinstance(error, RuntimeError)
    assert isinstance(error.__cause__, HTTPException)


class PassThrough:
    """A user middleware: with it, the App's error layers are ServerErrorMiddleware and
    ExceptionMiddleware, each watching its own `send` (chatdesk.asgi._started)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.mark.parametrize("path", ["/stream", "/background", "/self-send"])
def test_without_the_watch_the_server_would_have_got_a_second_start(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The watch on `send` is what prevents it: unwatched, the permissive server sees two starts.
    import chatdesk.asgi.middleware as middleware

    app = App(routes=APP.routes, middleware=[Middleware(PassThrough)])
    assert starts(request(path, app)[0]) == [200]
    monkeypatch.setattr(middleware, "watch", lambda scope, send: [False])  # a flag nobody sets
    app = App(routes=APP.routes, middleware=[Middleware(PassThrough)])
    assert starts(request(path, app)[0]) == [200, 500]
