"""The incoming connection: HTTPConnection (shared by HTTP and WebSocket) and Request."""

from __future__ import annotations

from collections.abc import Mapping

from .datastructures import URL, Address, Headers, QueryParams, State, URLPath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterator
    from typing import Any

    from .types import Message, Receive, Scope, Send

    _ScopeView = Mapping[str, Any]
else:
    _ScopeView = Mapping


class ClientDisconnect(Exception):
    """The client went away while the request body was being read."""


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parse a Cookie header leniently, as browsers send it (split on `;` then `=`)."""
    from http.cookies import _unquote

    cookies: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        if "=" in chunk:
            key, value = chunk.split("=", 1)
        else:
            # No '=': a value with an empty name, as browsers treat it.
            key, value = "", chunk
        key, value = key.strip(), value.strip()
        if key or value:
            cookies[key] = _unquote(value)
    return cookies


async def _empty_receive() -> Message:
    raise RuntimeError("Receive channel has not been made available")


async def _empty_send(message: Message) -> None:
    raise RuntimeError("Send channel has not been made available")


class HTTPConnection(_ScopeView):
    """A read-only view of an HTTP or WebSocket connection's scope; parsed lazily."""

    # Parsed on first use; class-level defaults keep construction to one assignment.
    _headers: Headers | None = None
    _url: URL | None = None
    _base_url: URL | None = None
    _query_params: QueryParams | None = None
    _cookies: dict[str, str] | None = None
    _state: State | None = None

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        assert scope["type"] in ("http", "websocket")
        self.scope = scope

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # Two connections are equal only when they are the same object.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        return self.scope["app"]

    @property
    def url(self) -> URL:
        if self._url is None:
            self._url = URL(scope=self.scope)
        return self._url

    @property
    def base_url(self) -> URL:
        if self._base_url is None:
            scope = dict(self.scope)
            app_root_path = scope.get("app_root_path", scope.get("root_path", ""))
            path = app_root_path if app_root_path.endswith("/") else app_root_path + "/"
            scope["path"] = path
            scope["query_string"] = b""
            scope["root_path"] = app_root_path
            self._base_url = URL(scope=scope)
        return self._base_url

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(scope=self.scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query_params is None:
            self._query_params = QueryParams(self.scope["query_string"])
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        return self.scope.get("path_params", {})  # type: ignore[no-any-return]

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for value in self.headers.getlist("cookie"):
                cookies.update(cookie_parser(value))
            self._cookies = cookies
        return self._cookies

    @property
    def client(self) -> Address | None:
        host_port = self.scope.get("client")
        if host_port is not None:
            return Address(*host_port)
        return None

    @property
    def state(self) -> State:
        if self._state is None:
            self.scope.setdefault("state", {})
            self._state = State(self.scope["state"])
        return self._state

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """The absolute URL of the route called `name`."""
        url_path_provider = self.scope.get("router") or self.scope.get("app")
        if url_path_provider is None:
            raise RuntimeError("The `url_for` method can only be used inside an app or router.")
        url_path: URLPath = url_path_provider.url_path_for(name, **path_params)
        return url_path.make_absolute_url(base_url=self.base_url)


class Request(HTTPConnection):
    """An HTTP request: the connection plus its method and body."""

    _body: bytes | None = None
    _json: Any = None
    _json_loaded = False
    _stream_consumed = False
    _is_disconnected = False

    def __init__(
        self, scope: Scope, receive: Receive = _empty_receive, send: Send = _empty_send
    ) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self._receive = receive
        self._send = send

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def receive(self) -> Receive:
        return self._receive

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """Yield the body in chunks as they arrive (or the cached body)."""
        if self._body is not None:
            yield self._body
            yield b""
            return
        if self._stream_consumed:
            raise RuntimeError("Stream consumed")
        while not self._stream_consumed:
            message = await self._receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if not message.get("more_body", False):
                    self._stream_consumed = True
                if body:
                    yield body
            elif message["type"] == "http.disconnect":
                self._is_disconnected = True
                raise ClientDisconnect()
        yield b""

    async def body(self) -> bytes:
        """The whole body (read once, then cached)."""
        if self._body is None:
            chunks = [chunk async for chunk in self.stream()]
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        """The body parsed as JSON (cached)."""
        if not self._json_loaded:
            import json

            self._json = json.loads(await self.body())
            self._json_loaded = True
        return self._json

    async def is_disconnected(self) -> bool:
        """Whether the client has gone away (without waiting for it)."""
        if not self._is_disconnected:
            import asyncio

            message: Message = {}
            # Look at whatever the server has queued, without blocking.
            task = asyncio.ensure_future(self._receive())
            await asyncio.sleep(0)
            if task.done():
                message = task.result()
            else:
                task.cancel()
            if message.get("type") == "http.disconnect":
                self._is_disconnected = True
        return self._is_disconnected

    async def send_push_promise(self, path: str) -> None:
        """Ask the server to push `path` (only with the http.response.push extension)."""
        if "http.response.push" in self.scope.get("extensions", {}):
            raw_headers = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name in ("accept", "accept-encoding", "accept-language", "cache-control")
                for value in self.headers.getlist(name)
            ]
            await self._send({"type": "http.response.push", "path": path, "headers": raw_headers})
