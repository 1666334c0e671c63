"""The App's own middleware: turning exceptions into responses, and declaring user middleware.

An error response may only be sent if no response has started. Knowing that for sure means
wrapping `send` (as Starlette does), which would cost every request about 0.3 µs, a closure and
an extra call per message: a fifth of the toolkit's whole overhead. Instead:

* the toolkit's responses note in the scope, under RESPONSE_STARTED, the id() of the `send` that
  carried their `http.response.start` whenever an exception can still follow it (a streamed or
  file body, a background task); a layer compares it with the id of its own `send`;
* otherwise (a raw ASGI app, user middleware or a handler sending by itself, or the server
  failing a body send) the error response is attempted anyway, and a start that the server
  refuses as out of order (uvicorn raises RuntimeError) is taken to mean the response had
  started. Only this case relies on the server's behaviour, which the ASGI spec leaves open.
"""

from __future__ import annotations

from ._callables import is_async_callable
from .concurrency import run_in_threadpool
from .exceptions import HTTPException, WebSocketException
from .responses import RESPONSE_STARTED

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from .requests import HTTPConnection, Request
    from .responses import Response
    from .types import ASGIApp, ExceptionHandler, Receive, Scope, Send
    from .websockets import WebSocket

#: Where ExceptionMiddleware leaves its handlers for function routes to use.
HANDLERS_SCOPE_KEY = "chatdesk.exception_handlers"


class Middleware:
    """A middleware class with the arguments to build it with: `Middleware(cls, *args, **kw)`."""

    def __init__(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        args = [repr(arg) for arg in self.args]
        args += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        name = getattr(self.cls, "__name__", "")
        return f"{self.__class__.__name__}({', '.join([name, *args])})"


async def _call_handler(handler: ExceptionHandler, conn: HTTPConnection, exc: Exception) -> Any:
    if is_async_callable(handler):
        return await handler(conn, exc)
    return await run_in_threadpool(handler, conn, exc)


def response_started(scope: Scope, send: Send) -> bool:
    """Whether one of the toolkit's responses has sent http.response.start through `send`."""
    return scope.get(RESPONSE_STARTED) == id(send)


async def _send_if_not_started(
    response: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> bool:
    """Send `response`; False if a response had already started (noted, or the server refused)."""
    if response_started(scope, send):
        return False
    try:
        await response(scope, receive, send)
    except RuntimeError:
        return False
    return True


class ExceptionHandlers:
    """Exception handlers keyed by status code (for HTTPException) or by exception class."""

    __slots__ = ("by_class", "by_status")

    def __init__(self, handlers: Mapping[Any, ExceptionHandler] | None = None) -> None:
        self.by_status: dict[int, ExceptionHandler] = {}
        self.by_class: dict[type[BaseException], ExceptionHandler] = {
            HTTPException: http_exception,
            WebSocketException: websocket_exception,
        }
        for key, handler in (handlers or {}).items():
            self.add(key, handler)

    def add(self, key: int | type[Exception], handler: ExceptionHandler) -> None:
        if isinstance(key, int):
            self.by_status[key] = handler
        else:
            assert issubclass(key, Exception)
            self.by_class[key] = handler

    def lookup(self, exc: Exception) -> ExceptionHandler | None:
        if self.by_status and isinstance(exc, HTTPException):
            handler = self.by_status.get(exc.status_code)
            if handler is not None:
                return handler
        for cls in type(exc).__mro__:
            handler = self.by_class.get(cls)
            if handler is not None:
                return handler
        return None

    async def handle(
        self, exc: Exception, conn: HTTPConnection, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer with the handler for `exc`; re-raise it when there is none."""
        handler = self.lookup(exc)
        if handler is None:
            raise exc
        if response_started(scope, send):
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        response = await _call_handler(handler, conn, exc)
        if response is not None and not await _send_if_not_started(response, scope, receive, send):
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        # A reused exception instance would otherwise pile up tracebacks.
        exc.__traceback__ = None


def connection(scope: Scope, receive: Receive, send: Send) -> HTTPConnection:
    """A Request or WebSocket over the scope, for an exception handler."""
    if scope["type"] == "http":
        from .requests import Request

        return Request(scope, receive, send)
    from .websockets import WebSocket

    return WebSocket(scope, receive, send)


async def http_exception(request: Request, exc: Exception) -> Response:
    """The default answer to HTTPException: its detail as text (no body for 204 and 304)."""
    from .responses import PlainTextResponse, Response

    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def websocket_exception(websocket: WebSocket, exc: Exception) -> None:
    """The default answer to WebSocketException: close with its code and reason."""
    assert isinstance(exc, WebSocketException)
    await websocket.close(code=exc.code, reason=exc.reason)


class ExceptionMiddleware:
    """Turns exceptions that have a handler (HTTPException by default) into responses."""

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[Any, ExceptionHandler] | None = None,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.debug = debug
        self.handlers = ExceptionHandlers(handlers)

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        self.handlers.add(exc_class_or_status_code, handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        scope[HANDLERS_SCOPE_KEY] = self.handlers
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            await self.handlers.handle(exc, connection(scope, receive, send), scope, receive, send)


class ServerErrorMiddleware:
    """Answers 500 to any exception escaping the app (if nothing was sent yet), then re-raises.

    Re-raising lets the server log the error. With `debug`, the answer is the traceback.

    Given `handlers`, it also does ExceptionMiddleware's work first, as if that were the next
    layer: the App uses this when no user middleware sits between the two, saving a layer.
    """

    def __init__(
        self,
        app: ASGIApp,
        handler: ExceptionHandler | None = None,
        debug: bool = False,
        handlers: ExceptionHandlers | None = None,
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if self.handlers is not None:
            scope[HANDLERS_SCOPE_KEY] = self.handlers
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            await self.handle_error(exc, scope, receive, send)

    async def handle_error(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer `exc` (with the handlers if given, else 500); re-raise what is not handled."""
        if self.handlers is not None:
            try:
                await self.handlers.handle(
                    exc, connection(scope, receive, send), scope, receive, send
                )
                return
            except Exception as unhandled:
                exc = unhandled
        await self._server_error(exc, scope, receive, send)
        raise exc

    async def _server_error(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["type"] != "http" or response_started(scope, send):
            return
        from .requests import Request

        request = Request(scope)
        if self.debug:
            response = await run_in_threadpool(self.debug_response, request, exc)
        elif self.handler is None:
            response = self.error_response(request, exc)
        else:
            response = await _call_handler(self.handler, request, exc)
        await _send_if_not_started(response, scope, receive, send)

    def error_response(self, request: Request, exc: Exception) -> Response:
        from .responses import PlainTextResponse

        return PlainTextResponse("Internal Server Error", status_code=500)

    def debug_response(self, request: Request, exc: Exception) -> Response:
        """The traceback: as a small HTML page if the client accepts HTML, else as text."""
        import html
        import traceback

        from .responses import HTMLResponse, PlainTextResponse

        text = "".join(traceback.format_exception(exc))
        if "text/html" in request.headers.get("accept", ""):
            title = html.escape(f"{type(exc).__name__}: {exc}")
            page = (
                f"<!DOCTYPE html><html><head><title>{title}</title></head>"
                f"<body><h1>500 Server Error</h1><pre>{html.escape(text)}</pre></body></html>"
            )
            return HTMLResponse(page, status_code=500)
        return PlainTextResponse(text, status_code=500)
