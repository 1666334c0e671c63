"""The App's own middleware: turning exceptions into responses, and declaring user middleware.

An error response may only be sent if no response has started on the layer's `send`, and only
the toolkit can know it for sure: a server need not refuse a second http.response.start (uvicorn
does not, once the client has left). Each layer watches its `send` for the start (HTTP only), as
`chatdesk.asgi._started` explains.
"""

from __future__ import annotations

from ._callables import is_async_callable
from ._started import NOT_STARTED, WATCH_KEY, watch, watched
from .concurrency import run_in_threadpool
from .exceptions import HTTPException, WebSocketException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
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
        self,
        exc: Exception,
        conn: HTTPConnection,
        scope: Scope,
        receive: Receive,
        send: Send,
        response_started: bool,
    ) -> None:
        """Answer with the handler for `exc`; re-raise it when there is none.

        A handled exception after the response started is a RuntimeError: it cannot be answered.
        """
        handler = self.lookup(exc)
        if handler is None:
            raise exc
        if response_started:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        response = await _call_handler(handler, conn, exc)
        if response is not None:
            await response(scope, receive, send)
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
        scope_type = scope["type"]
        if scope_type == "lifespan":
            await self.app(scope, receive, send)
            return
        scope[HANDLERS_SCOPE_KEY] = self.handlers
        previous = scope.get(WATCH_KEY)
        # Inside is the router: the toolkit's responses mark their start themselves.
        started: Sequence[bool] = watch(scope, send) if scope_type == "http" else NOT_STARTED
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            conn = connection(scope, receive, send)
            await self.handlers.handle(exc, conn, scope, receive, send, started[0])
        finally:
            scope[WATCH_KEY] = previous


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
        scope_type = scope["type"]
        if scope_type == "lifespan":
            await self.app(scope, receive, send)
            return
        if self.handlers is not None:
            scope[HANDLERS_SCOPE_KEY] = self.handlers
        previous = scope.get(WATCH_KEY)
        started: Sequence[bool] = NOT_STARTED
        inner_send = send
        if scope_type == "http":
            started = watch(scope, send)
            inner_send = watched(scope, send)  # inside may be user middleware
        try:
            await self.app(scope, receive, inner_send)
        except Exception as exc:
            await self.handle_error(exc, scope, receive, send, started)
        finally:
            scope[WATCH_KEY] = previous

    async def handle_error(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send, started: Sequence[bool]
    ) -> None:
        """Answer `exc` (handlers, else 500) unless `started[0]`; re-raise what is not handled."""
        if self.handlers is not None:
            try:
                conn = connection(scope, receive, send)
                await self.handlers.handle(exc, conn, scope, receive, send, started[0])
                return
            except Exception as unhandled:
                exc = unhandled
        if scope["type"] == "http":
            await self._server_error(exc, scope, receive, send, started[0])
        raise exc

    async def _server_error(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send, response_started: bool
    ) -> None:
        from .requests import Request

        # As in Starlette, the answer is made (a custom handler called) even once a response
        # has started; it is only not sent.
        request = Request(scope)
        if self.debug:
            response = await run_in_threadpool(self.debug_response, request, exc)
        elif self.handler is None:
            response = self.error_response(request, exc)
        else:
            response = await _call_handler(self.handler, request, exc)
        if not response_started:
            await response(scope, receive, send)

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
