"""Class-based endpoints: HTTPEndpoint (one method per verb) and WebSocketEndpoint (hooks)."""

from __future__ import annotations

from . import status
from ._callables import accepted_keywords, is_async_callable, next_positional, select_keywords
from ._started import watched
from .concurrency import run_in_threadpool
from .exceptions import HTTPException
from .requests import Request
from .responses import MARKING_CALLS, PlainTextResponse
from .websockets import CONNECTED, DISCONNECTED, WebSocket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator
    from typing import Any, Literal

    from .responses import Response
    from .types import Message, Receive, Scope, Send

#: The verbs an HTTPEndpoint dispatches, in the order its Allow header lists them.
HTTP_VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")


def awaits_dispatch(app: object) -> bool:
    """Whether awaiting `app(scope, receive, send)` means awaiting that instance's `dispatch()`.

    True for endpoint classes that keep the stock construction and `__await__`: a route may then
    await `dispatch()` itself, sparing the `__await__` call and the coroutine wrapper it returns.
    """
    if not isinstance(app, type):
        return False
    construct: object = type(app).__call__
    new: object = app.__new__
    if construct is not type.__call__ or new is not object.__new__:
        return False
    return issubclass(app, _Endpoint) and app.__await__ is _Endpoint.__await__


class _Endpoint:
    """What both endpoint kinds share: made from (scope, receive, send), awaited as dispatch().

    Each class works its dispatch table out once; every subclass starts with its own None.
    """

    _scope_type: str
    _dispatch: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = None

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == self._scope_type
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        raise NotImplementedError


class _Handler:
    """How to call one handler method: its name, whether to await it, which path params it takes."""

    __slots__ = ("coroutine_function", "first_param", "is_async", "keywords", "name")

    def __init__(self, owner: type, name: str, positional: int) -> None:
        import inspect

        function = getattr(owner, name)
        self.name = name
        self.is_async = is_async_callable(function)
        # A plain function is looked up unbound here: its first parameter is `self`.
        static = inspect.getattr_static(owner, name)
        is_method = inspect.isfunction(static)
        self.keywords = accepted_keywords(function, positional + is_method)
        # The parameter after the positional ones, for a path param passed by position.
        self.first_param = next_positional(function, positional + is_method)
        # An async method defined on the class, when instances cannot shadow it (stock __init__
        # and attribute lookup): called unbound, `coroutine_function(endpoint, request)`.
        plain_instances = (
            inspect.getattr_static(owner, "__init__") is HTTPEndpoint.__init__
            and inspect.getattr_static(owner, "__getattribute__") is object.__getattribute__
        )
        self.coroutine_function: Callable[..., Awaitable[Any]] | None = (
            static if is_method and self.is_async and plain_instances else None
        )


class _HTTPDispatch:
    """An HTTPEndpoint class's allowed verbs and handlers, worked out once per class."""

    __slots__ = ("allow", "allowed_methods", "handlers", "method_not_allowed")

    def __init__(self, endpoint: type[HTTPEndpoint]) -> None:
        has_get = getattr(endpoint, "get", None) is not None
        self.allowed_methods = [
            verb
            for verb in HTTP_VERBS
            if getattr(endpoint, verb.lower(), None) is not None or (verb == "HEAD" and has_get)
        ]
        self.allow = ", ".join(self.allowed_methods)
        self.handlers: dict[str, _Handler] = {}
        for verb in self.allowed_methods:
            name = "get" if verb == "HEAD" and not hasattr(endpoint, "head") else verb.lower()
            self.handlers[verb] = _Handler(endpoint, name, positional=1)
        self.method_not_allowed = _Handler(endpoint, "method_not_allowed", positional=1)


class HTTPEndpoint(_Endpoint):
    """An ASGI app that dispatches a request to the method named after its verb (`get`, `post`...).

    Path params go to a handler as keyword arguments when its signature names them (or takes
    **kwargs); they are always in `request.path_params`.
    """

    _scope_type = "http"
    _dispatch: _HTTPDispatch | None = None  # worked out on the first request

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self.receive = receive
        self._send = send

    @property
    def send(self) -> Send:
        """The request's `send`, for a handler that answers by itself: its start is marked for
        the error handling around it (see _started); the toolkit's responses need no wrapper."""
        return watched(self.scope, self._send)

    @send.setter
    def send(self, send: Send) -> None:
        self._send = send

    @classmethod
    def _dispatch_table(cls) -> _HTTPDispatch:
        table = cls._dispatch
        if table is None:
            table = cls._dispatch = _HTTPDispatch(cls)
        return table

    @property
    def _allowed_methods(self) -> list[str]:
        return list(self._dispatch_table().allowed_methods)

    async def dispatch(self) -> None:
        """Call the handler for the request's method and send the response it returns."""
        scope = self.scope
        request = Request(scope, self.receive, self._send)
        table = self._dispatch or self._dispatch_table()
        handler = table.handlers.get(scope["method"]) or table.method_not_allowed
        path_params = scope.get("path_params")
        function = handler.coroutine_function
        # The common calls spelled out: a getattr() or a **kwargs call would cost about as much
        # again as the call itself.
        if function is None:
            response = await self._call(handler, request, path_params)
        elif not path_params or not handler.keywords:
            response = await function(self, request)
        elif len(path_params) == 1 and handler.first_param in path_params:
            response = await function(self, request, path_params[handler.first_param])
        else:
            response = await self._call(handler, request, path_params)
        if type(response).__call__ in MARKING_CALLS:  # marks_its_start(), inline
            await response(scope, self.receive, self._send)
        else:
            await response(scope, self.receive, watched(scope, self._send))

    async def _call(
        self, handler: _Handler, request: Request, path_params: dict[str, Any] | None
    ) -> Response:
        """Call a handler in general: bound, with the path params it takes, in a thread if sync."""
        method = getattr(self, handler.name)
        kwargs = select_keywords(handler.keywords, path_params) if path_params else {}
        if handler.is_async:
            return await method(request, **kwargs)  # type: ignore[no-any-return]
        return await run_in_threadpool(method, request, **kwargs)

    async def method_not_allowed(self, request: Request) -> Response:
        """405 with Allow: raised inside an App (its handlers answer), returned when bare."""
        headers = {"Allow": self._dispatch_table().allow}
        if "app" in self.scope:
            raise HTTPException(status_code=405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


class _WebSocketDispatch:
    """A WebSocketEndpoint class's hook facts, worked out once per class."""

    __slots__ = ("connect_keywords", "inline_key")

    def __init__(self, endpoint: type[WebSocketEndpoint]) -> None:
        self.connect_keywords = _Handler(endpoint, "on_connect", positional=1).keywords
        encoding = endpoint.encoding
        # With the stock decode(), a text or bytes frame is taken straight from the message.
        inline = endpoint.decode is WebSocketEndpoint.decode and encoding in ("text", "bytes")
        self.inline_key: str | None = encoding if inline else None


class WebSocketEndpoint(_Endpoint):
    """An ASGI app running one WebSocket session through on_connect, on_receive, on_disconnect.

    `encoding` ("text", "bytes", "json" or None) decides what `on_receive` gets; a frame of the
    wrong kind (or malformed JSON) closes the connection with 1003.
    """

    encoding: Literal["text", "bytes", "json"] | None = None

    _scope_type = "websocket"
    _dispatch: _WebSocketDispatch | None = None  # worked out on the first connection

    @classmethod
    def _dispatch_table(cls) -> _WebSocketDispatch:
        table = cls._dispatch
        if table is None:
            table = cls._dispatch = _WebSocketDispatch(cls)
        return table

    async def dispatch(self) -> None:
        """Connect, feed every received frame to on_receive, then report the close code."""
        websocket = WebSocket(self.scope, self.receive, self.send)
        table = self._dispatch or self._dispatch_table()
        path_params = self.scope.get("path_params")
        if path_params and table.connect_keywords:
            await self.on_connect(websocket, **select_keywords(table.connect_keywords, path_params))
        else:
            await self.on_connect(websocket)

        close_code = status.WS_1000_NORMAL_CLOSURE
        receive = self.receive
        inline_key = table.inline_key
        on_receive = self.on_receive
        try:
            while True:
                if websocket.client_state is not CONNECTED:
                    # Rare: the connect message is still queued (no accept), or already closed.
                    message = await websocket.receive()
                else:
                    message = await receive()
                message_type = message["type"]
                if message_type == "websocket.receive":
                    data = message.get(inline_key) if inline_key is not None else None
                    if data is None:
                        data = await self.decode(websocket, message)
                    await on_receive(websocket, data)
                    del data, message  # an idle socket keeps no decoded frame alive
                elif message_type == "websocket.disconnect":
                    websocket.client_state = DISCONNECTED
                    close_code = int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
                    break
                # Any other message (e.g. a `websocket.connect` never consumed) is ignored.
        except Exception:
            close_code = status.WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        """The data of a websocket.receive message, as `encoding` asks."""
        encoding = self.encoding
        if encoding == "text":
            if message.get("text") is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected text websocket messages, but got bytes")
            return message["text"]
        if encoding == "bytes":
            if message.get("bytes") is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected bytes websocket messages, but got text")
            return message["bytes"]
        if encoding == "json":
            import json

            text = message.get("text")
            if text is None:
                text = message["bytes"].decode("utf-8")
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Malformed JSON data received.") from None
        assert encoding is None, f"Unsupported 'encoding' attribute {encoding}"
        text = message.get("text")
        return text if text is not None else message["bytes"]

    async def on_connect(self, websocket: WebSocket) -> None:
        """Override to handle a new connection; the default accepts it."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Override to handle a received message."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Override to handle the end of the connection."""
