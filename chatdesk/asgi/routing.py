"""Routing: Route, WebSocketRoute and Mount match a scope; the Router tries them in order.

One module, as `starlette.routing` is (so imports from it port unchanged), and one concept: how
a path reaches an endpoint. Its size is the Router's inlined fast path and url_path_for.
"""

from __future__ import annotations

import enum
import functools
import types

from ._callables import CO_ASYNC_GENERATOR, CO_GENERATOR, code_flags, is_async_callable
from ._started import NOT_STARTED, WATCH_KEY, watch, watched
from .concurrency import run_in_threadpool
from .convertors import CONVERTOR_TYPES, PathConvertor, StringConvertor
from .datastructures import URL, URLPath
from .endpoints import HTTPEndpoint, WebSocketEndpoint, awaits_dispatch
from .exceptions import HTTPException
from .middleware import HANDLERS_SCOPE_KEY
from .requests import Request
from .responses import PlainTextResponse, RedirectResponse, marks_its_start
from .websockets import WebSocket, WebSocketClose

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Sequence
    from re import Pattern
    from typing import Any, Literal

    from .convertors import Convertor
    from .middleware import ExceptionHandlers, Middleware
    from .types import ASGIApp, Lifespan, Receive, Scope, Send


class NoMatchFound(Exception):
    """No route has that name and exactly those path params (raised by url_path_for)."""

    def __init__(self, name: str, path_params: dict[str, Any]) -> None:
        params = ", ".join(list(path_params.keys()))
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1
    FULL = 2


# Module constants: an Enum member looked up on its class costs more per request.
NONE, PARTIAL, FULL = Match.NONE, Match.PARTIAL, Match.FULL
_NO_MATCH: tuple[Match, Scope] = (NONE, {})

# `{name}` or `{name:type}` in a route path, and `{name}` in its format string.
_PARAM_PATTERN = r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}"
_PARAM_FORMAT_PATTERN = r"{([a-zA-Z_][a-zA-Z0-9_]*)}"


def get_route_path(scope: Scope) -> str:
    """The part of the scope's path that routes below the current root_path match."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


def compile_path(path: str) -> tuple[Pattern[str], str, dict[str, Convertor[Any]]]:
    """The anchored regex, the format string and the convertors of a route path like "/{id:int}"."""
    import re

    path_regex = "^"
    path_format = ""
    duplicated: set[str] = set()
    convertors: dict[str, Convertor[Any]] = {}
    index = 0
    for match in re.finditer(_PARAM_PATTERN, path):
        name, convertor_type = match.groups("str")
        convertor_type = convertor_type.lstrip(":")
        assert convertor_type in CONVERTOR_TYPES, f"Unknown path convertor '{convertor_type}'"
        convertor = CONVERTOR_TYPES[convertor_type]
        path_regex += re.escape(path[index : match.start()]) + f"(?P<{name}>{convertor.regex})"
        path_format += path[index : match.start()] + "{" + name + "}"
        if name in convertors:
            duplicated.add(name)
        convertors[name] = convertor
        index = match.end()
    if duplicated:
        names = ", ".join(sorted(duplicated))
        ending = "s" if len(duplicated) > 1 else ""
        raise ValueError(f"Duplicated param name{ending} {names} at path {path}")
    path_regex += re.escape(path[index:]) + "$"
    path_format += path[index:]
    return re.compile(path_regex), path_format, convertors


def replace_params(
    path: str, convertors: dict[str, Convertor[Any]], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill `{name}` slots of a format string; returns the path and the unused params."""
    if not path_params:
        return path, path_params
    import re

    parts = re.split(_PARAM_FORMAT_PATTERN, path)
    for i in range(1, len(parts), 2):
        key = parts[i]
        if key in path_params:
            parts[i] = convertors[key].to_string(path_params.pop(key))
        else:
            parts[i] = "{" + key + "}"
    return "".join(parts), path_params


def get_name(endpoint: Callable[..., Any]) -> str:
    return getattr(endpoint, "__name__", endpoint.__class__.__name__)


def _is_function(endpoint: Any) -> bool:
    """Whether a route should treat `endpoint` as `func(request)` rather than as an ASGI app."""
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return isinstance(endpoint, types.FunctionType | types.MethodType)


def _watching(app: ASGIApp) -> ASGIApp:
    """`app`, code outside the toolkit, handed a send that marks its response start (_started)."""

    async def watching_app(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, watched(scope, send))

    return watching_app


def _is_endpoint_class(endpoint: object) -> bool:
    """Whether `endpoint` is one of the toolkit's endpoint classes (or a subclass)."""
    return isinstance(endpoint, type) and issubclass(endpoint, HTTPEndpoint | WebSocketEndpoint)


def _is_toolkit_app(app: object) -> bool:
    """Whether `app` is one of the toolkit's apps, which mark their responses' start."""
    from .applications import App
    from .staticfiles import StaticFiles

    return isinstance(app, App | Router | StaticFiles)


def _wrap_middleware(app: ASGIApp, middleware: Sequence[Middleware] | None) -> ASGIApp:
    for cls, args, kwargs in reversed(middleware or ()):
        app = cls(app, *args, **kwargs)
    return app


def request_response(func: Callable[[Request], Any]) -> ASGIApp:
    """An ASGI app calling `func(request)` (in a worker thread if sync) and sending its response.

    Inside an App, its exception handlers answer what `func` or the response raise.
    """
    is_async = is_async_callable(func)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        handlers: ExceptionHandlers | None = scope.get(HANDLERS_SCOPE_KEY)
        previous = scope.get(WATCH_KEY)
        started: Sequence[bool] = NOT_STARTED
        if handlers is not None:
            if previous is not None and previous[0] is send:
                started = previous[1]  # the App watches this very send, usually
            else:
                started = watch(scope, send)
        request = Request(scope, receive, send)
        try:
            if is_async:
                response = await func(request)
            else:
                response = await run_in_threadpool(func, request)
            if marks_its_start(response):
                await response(scope, receive, send)
            else:
                await response(scope, receive, watched(scope, send))
        except Exception as exc:
            if handlers is None:
                raise
            await handlers.handle(exc, request, scope, receive, send, started[0])
        finally:
            scope[WATCH_KEY] = previous

    return app


def websocket_session(func: Callable[[WebSocket], Any]) -> ASGIApp:
    """An ASGI app running the coroutine function `func(websocket)`.

    Inside an App, its exception handlers answer what `func` raises.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        try:
            await func(websocket)
        except Exception as exc:
            handlers: ExceptionHandlers | None = scope.get(HANDLERS_SCOPE_KEY)
            if handlers is None:
                raise
            await handlers.handle(exc, websocket, scope, receive, send, response_started=False)

    return app


class BaseRoute:
    """Something the Router can match a scope against and hand the scope to."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raise NotImplementedError()

    def match_path(self, scope: Scope, route_path: str) -> tuple[Match, Scope]:
        """`matches`, given the route path the Router already worked out."""
        return self.matches(scope)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NotImplementedError()

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Handle a matched scope (an `async def handle` works as well)."""
        raise NotImplementedError()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Use the route alone as an ASGI app: 404 (or a WebSocket close) when it does not match."""
        match, child_scope = self.matches(scope)
        if match is Match.NONE:
            if scope["type"] == "http":
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            elif scope["type"] == "websocket":
                await WebSocketClose()(scope, receive, send)
            return
        scope.update(child_scope)
        await self.handle(scope, receive, send)


class _PathRoute(BaseRoute):
    """A route on one path pattern (the shared matching of Route and WebSocketRoute)."""

    scope_type = ""
    protocol: Literal["http", "websocket", ""] = ""
    methods: set[str] | None = None
    path: str
    endpoint: Any
    name: str
    app: ASGIApp
    # Whether `app` is an endpoint class whose dispatch() can be awaited directly.
    awaits_dispatch: bool
    path_regex: Pattern[str]
    path_format: str
    param_convertors: dict[str, Convertor[Any]]

    def _compile(self, path: str) -> None:
        assert path.startswith("/"), "Routed paths must start with '/'"
        # Read on every request: found faster on the instance than on the class.
        self.scope_type = type(self).scope_type
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        # A path without params is matched by string comparison.
        self.static_path = None if self.param_convertors else path
        # When every param is a string, the regex's groupdict() already holds the values.
        self._strings_only = all(
            type(convertor) in (StringConvertor, PathConvertor)
            for convertor in self.param_convertors.values()
        )
        # "/prefix/{name}" (one str param, last) is matched without the regex, as it would match.
        self.str_tail: tuple[str, str] | None = None
        if len(self.param_convertors) == 1:
            name, convertor = next(iter(self.param_convertors.items()))
            prefix = self.path_format[: -len(name) - 2]
            if type(convertor) is StringConvertor and self.path_format == prefix + "{" + name + "}":
                self.str_tail = (prefix, name)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return self.match_path(scope, get_route_path(scope))

    def match_params(self, scope: Scope, route_path: str) -> dict[str, Any] | None:
        """The path params (merged over the outer ones) if scope type and path match, else None.

        Methods are not considered: a method mismatch is a partial match.
        """
        if scope["type"] != self.scope_type:
            return None
        static_path = self.static_path
        str_tail = self.str_tail
        if static_path is not None:
            if route_path != static_path:
                return None
            path_params: dict[str, Any] = {}
        elif str_tail is not None:
            prefix, name = str_tail
            if not route_path.startswith(prefix):
                return None
            value = route_path[len(prefix) :]
            if not value or "/" in value:
                return None
            path_params = {name: value}
        else:
            match = self.path_regex.match(route_path)
            if match is None:
                return None
            path_params = match.groupdict()
            if not self._strings_only:
                convertors = self.param_convertors
                for key, value in path_params.items():
                    path_params[key] = convertors[key].convert(value)
        outer_params = scope.get("path_params")
        if outer_params:
            path_params = {**outer_params, **path_params}
        return path_params

    def match_path(self, scope: Scope, route_path: str) -> tuple[Match, Scope]:
        path_params = self.match_params(scope, route_path)
        if path_params is None:
            return _NO_MATCH
        child_scope = {"endpoint": self.endpoint, "path_params": path_params}
        methods = self.methods
        if methods and scope["method"] not in methods:
            return PARTIAL, child_scope
        return FULL, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or path_params.keys() != self.param_convertors.keys():
            raise NoMatchFound(name, path_params)
        path, remaining = replace_params(self.path_format, self.param_convertors, path_params)
        assert not remaining
        return URLPath(path=path, protocol=self.protocol)


class Route(_PathRoute):
    """An HTTP route: a function `func(request) -> response`, or any ASGI app (an HTTPEndpoint).

    A function route allows GET (and HEAD) unless `methods` says otherwise; a class route allows
    every method unless `methods` restricts it.
    """

    scope_type = "http"
    protocol: Literal["http", "websocket", ""] = "http"

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.include_in_schema = include_in_schema
        self.methods = None
        if _is_function(endpoint):
            self.app = request_response(endpoint)
            if methods is None:
                methods = ["GET"]
        else:
            self.app = endpoint
        self.awaits_dispatch = not middleware and awaits_dispatch(self.app)
        self.app = _wrap_middleware(self.app, middleware)
        if middleware or not (_is_function(endpoint) or _is_endpoint_class(endpoint)):
            self.app = _watching(self.app)
        if methods is not None:
            self.methods = {method.upper() for method in methods}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self._compile(path)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: the caller awaits the endpoint directly.
        methods = self.methods
        if methods and scope["method"] not in methods:
            return self.method_not_allowed(scope, receive, send)
        if self.awaits_dispatch:
            return self.app(scope, receive, send).dispatch()  # type: ignore[attr-defined,no-any-return]
        return self.app(scope, receive, send)

    async def method_not_allowed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """405 with Allow: raised inside an App (its handlers answer), sent directly otherwise."""
        headers = {"Allow": ", ".join(self.methods or ())}
        if "app" in scope:
            raise HTTPException(status_code=405, headers=headers)
        response = PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)
        await response(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Route)
            and self.path == other.path
            and self.endpoint == other.endpoint
            and self.methods == other.methods
        )

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        methods = sorted(self.methods or [])
        return (
            f"{self.__class__.__name__}(path={self.path!r}, name={self.name!r}, "
            f"methods={methods!r})"
        )


class WebSocketRoute(_PathRoute):
    """A WebSocket route: a coroutine function `func(websocket)`, or any ASGI app."""

    scope_type = "websocket"
    protocol: Literal["http", "websocket", ""] = "websocket"

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        app = websocket_session(endpoint) if _is_function(endpoint) else endpoint
        self.awaits_dispatch = not middleware and awaits_dispatch(app)
        self.app = _wrap_middleware(app, middleware)
        self._compile(path)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if self.awaits_dispatch:
            return self.app(scope, receive, send).dispatch()  # type: ignore[attr-defined,no-any-return]
        return self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, WebSocketRoute)
            and self.path == other.path
            and self.endpoint == other.endpoint
        )

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(path={self.path!r}, name={self.name!r})"


class Mount(BaseRoute):
    """Hands every path under `path` to an ASGI app (or to a Router over `routes`).

    The child scope keeps the full path and gets the prefix appended to its root_path.
    """

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        assert path == "" or path.startswith("/"), "Routed paths must start with '/'"
        assert app is not None or routes is not None, (
            "Either 'app=...', or 'routes=' must be specified"
        )
        self.path = path.rstrip("/")
        self._base_app: ASGIApp = app if app is not None else Router(routes=routes)
        self.app = _wrap_middleware(self._base_app, middleware)
        if middleware or not _is_toolkit_app(self._base_app):
            self.app = _watching(self.app)
        self.name = name
        self.path_regex, self.path_format, self.param_convertors = compile_path(
            self.path + "/{path:path}"
        )

    @property
    def routes(self) -> list[BaseRoute]:
        return getattr(self._base_app, "routes", [])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return self.match_path(scope, get_route_path(scope))

    def match_path(self, scope: Scope, route_path: str) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return _NO_MATCH
        match = self.path_regex.match(route_path)
        if match is None:
            return _NO_MATCH
        convertors = self.param_convertors
        matched = {key: convertors[key].convert(value) for key, value in match.groupdict().items()}
        remaining_path = "/" + matched.pop("path")
        matched_path = route_path[: -len(remaining_path)]
        root_path = scope.get("root_path", "")
        path_params = dict(scope.get("path_params", {}))
        path_params.update(matched)
        return FULL, {
            "path_params": path_params,
            # The top-level root_path, kept for url_for in every nested scope.
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + matched_path,
            "endpoint": self.app,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if self.name is not None and name == self.name and "path" in path_params:
            path_params["path"] = path_params["path"].lstrip("/")
            path, remaining = replace_params(self.path_format, self.param_convertors, path_params)
            if not remaining:
                return URLPath(path=path)
        elif self.name is None or name.startswith(self.name + ":"):
            remaining_name = name if self.name is None else name[len(self.name) + 1 :]
            path_kwarg = path_params.get("path")
            path_params["path"] = ""
            path_prefix, remaining = replace_params(
                self.path_format, self.param_convertors, path_params
            )
            if path_kwarg is not None:
                remaining["path"] = path_kwarg
            for route in self.routes or []:
                try:
                    url = route.url_path_for(remaining_name, **remaining)
                except NoMatchFound:
                    continue
                return URLPath(path=path_prefix.rstrip("/") + str(url), protocol=url.protocol)
        raise NoMatchFound(name, path_params)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return self.app(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mount) and self.path == other.path and self.app == other.app

    __hash__ = BaseRoute.__hash__

    def __repr__(self) -> str:
        name = self.name or ""
        return f"{self.__class__.__name__}(path={self.path!r}, name={name!r}, app={self.app!r})"


# Route classes whose matching the Router may inline or index (subclasses might override it).
_OWN_PATH_ROUTES = (Route, WebSocketRoute)
_INDEXED_ROUTES = (Route, WebSocketRoute, Mount)


def _own_static_path(route: BaseRoute) -> str | None:
    """The path of one of the toolkit's own parameterless routes, else None."""
    if isinstance(route, _PathRoute) and type(route) in _OWN_PATH_ROUTES:
        return route.static_path
    return None


class _DefaultLifespan:
    """The lifespan of an app that was given none: start and stop at once."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __call__(self, app: object) -> _DefaultLifespan:
        return self


class Router:
    """Tries its routes in order: the first full match handles the scope; else the first partial
    match (a 405); else a slash-toggled redirect; else 404 (or a WebSocket close)."""

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        redirect_slashes: bool = True,
        default: ASGIApp | None = None,
        lifespan: Lifespan | None = None,
        *,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.routes: list[BaseRoute] = [] if routes is None else list(routes)
        self.redirect_slashes = redirect_slashes
        self.default: ASGIApp = self.not_found if default is None else default
        self.lifespan_context: Lifespan = (
            _DefaultLifespan() if lifespan is None else _as_context_factory(lifespan)
        )
        self.middleware_stack: ASGIApp = _wrap_middleware(self.app, middleware)
        self._indexed_routes: list[BaseRoute] | None = None
        self._indexed_count = 0
        self._static_index: dict[str, list[BaseRoute]] = {}
        self._dynamic_routes: list[BaseRoute] = []

    def _candidates(self, route_path: str) -> list[BaseRoute]:
        """The routes that can match `route_path`, in order (all of them unless it is static)."""
        routes = self.routes
        # Rebuilt when routes were added (or the list replaced) since the index was made.
        if self._indexed_routes is not routes or self._indexed_count != len(routes):
            self._rebuild_index()
        return self._static_index.get(route_path, self._dynamic_routes)

    def _rebuild_index(self) -> None:
        # The candidates for a path, still in order (so the first match still wins), without the
        # routes that cannot match it: for each parameterless route path, the routes whose
        # pattern matches that path; for any other path, every route but the parameterless ones.
        # Only the toolkit's own route classes are left out (a subclass may match differently).
        routes = self.routes
        index: dict[str, list[BaseRoute]] = {}
        for route in routes:
            static_path = _own_static_path(route)
            if static_path is not None and static_path not in index:
                index[static_path] = [
                    candidate
                    for candidate in routes
                    if type(candidate) not in _INDEXED_ROUTES
                    or candidate.path_regex.match(static_path)  # type: ignore[attr-defined]
                ]
        self._static_index = index
        self._dynamic_routes = [route for route in routes if _own_static_path(route) is None]
        self._indexed_routes = routes
        self._indexed_count = len(routes)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        if "app" in scope:
            raise HTTPException(status_code=404)
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called `name` with exactly these params."""
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the lifespan context across the ASGI lifespan protocol."""
        import traceback

        started = False
        app = scope.get("app")
        await receive()
        try:
            async with self.lifespan_context(app) as maybe_state:
                if maybe_state is not None:
                    if "state" not in scope:
                        raise RuntimeError(
                            'The server does not support "state" in the lifespan scope.'
                        )
                    scope["state"].update(maybe_state)
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()
        except BaseException:
            failure = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
            await send({"type": failure, "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.middleware_stack(scope, receive, send)

    def app(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Dispatch the scope to the matching route: returns what to await.

        Not a coroutine itself, so that the route's endpoint is awaited directly by the caller:
        one frame fewer on every request, and on every resumption of a WebSocket session.
        """
        scope_type = scope["type"]
        if "router" not in scope:
            scope["router"] = self
        if scope_type == "lifespan":
            return self.lifespan(scope, receive, send)

        route_path = get_route_path(scope) if scope.get("root_path") else scope["path"]
        routes = self.routes
        if self._indexed_routes is routes and self._indexed_count == len(routes):
            candidates = self._static_index.get(route_path, self._dynamic_routes)
        else:
            candidates = self._candidates(route_path)
        partial: BaseRoute | None = None
        partial_scope: Scope  # assigned together with `partial`
        for route in candidates:
            if route.__class__ in _OWN_PATH_ROUTES:
                # Route.match_path and Route.handle, inline, without the child scope's dict;
                # the two commonest kinds of path are matched inline too, as match_params would.
                static_path = route.static_path
                str_tail = route.str_tail
                if static_path is not None:
                    if static_path != route_path or route.scope_type != scope_type:
                        continue
                    outer_params = scope.get("path_params")
                    path_params: dict[str, Any] | None = dict(outer_params) if outer_params else {}
                elif str_tail is not None:
                    prefix, name = str_tail
                    if route.scope_type != scope_type or not route_path.startswith(prefix):
                        continue
                    value = route_path[len(prefix) :]
                    if not value or "/" in value:
                        continue
                    outer_params = scope.get("path_params")
                    path_params = {**outer_params, name: value} if outer_params else {name: value}
                else:
                    path_params = route.match_params(scope, route_path)
                    if path_params is None:
                        continue
                methods = route.methods
                if not methods or scope["method"] in methods:
                    scope["route"] = route
                    scope["endpoint"] = route.endpoint
                    scope["path_params"] = path_params
                    if route.awaits_dispatch:
                        return route.app(scope, receive, send).dispatch()  # type: ignore[attr-defined,no-any-return]
                    return route.app(scope, receive, send)
                if partial is None:
                    partial = route
                    partial_scope = {"endpoint": route.endpoint, "path_params": path_params}
                continue
            match, child_scope = route.match_path(scope, route_path)
            if match is FULL:
                scope["route"] = route
                scope.update(child_scope)
                if route.__class__ not in _INDEXED_ROUTES:
                    send = watched(scope, send)  # a route class of its own
                return route.handle(scope, receive, send)
            if match is PARTIAL and partial is None:
                partial, partial_scope = route, child_scope

        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            if partial.__class__ not in _INDEXED_ROUTES:
                send = watched(scope, send)
            return partial.handle(scope, receive, send)
        return self.no_route(scope, receive, send, route_path)

    async def no_route(self, scope: Scope, receive: Receive, send: Send, route_path: str) -> None:
        """Nothing matched: redirect to the slash-toggled path if that matches, else `default`."""
        if scope["type"] == "http" and self.redirect_slashes and route_path != "/":
            redirect_scope = dict(scope)
            if route_path.endswith("/"):
                redirect_scope["path"] = redirect_scope["path"].rstrip("/")
                toggled = route_path.rstrip("/")
            else:
                redirect_scope["path"] = redirect_scope["path"] + "/"
                toggled = route_path + "/"
            for route in self._candidates(toggled):
                match, _ = route.match_path(redirect_scope, toggled)
                if match is not Match.NONE:
                    redirect = RedirectResponse(url=str(URL(scope=redirect_scope)))
                    await redirect(scope, receive, send)
                    return

        await self.default(scope, receive, send)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Router) and self.routes == other.routes

    __hash__ = object.__hash__

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        self.routes.append(Mount(path, app=app, name=name))

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.routes.append(
            Route(path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        )

    def add_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None
    ) -> None:
        self.routes.append(WebSocketRoute(path, endpoint, name=name))


def _as_context_factory(lifespan: Any) -> Lifespan:
    """Accept an async context manager factory; (async) generator functions are wrapped."""
    flags = code_flags(lifespan) if isinstance(lifespan, types.FunctionType) else 0
    if flags & CO_ASYNC_GENERATOR:
        from contextlib import asynccontextmanager

        return asynccontextmanager(lifespan)
    if flags & CO_GENERATOR:
        from contextlib import asynccontextmanager, contextmanager

        sync_context = contextmanager(lifespan)

        @asynccontextmanager
        async def async_context(app: Any) -> Any:
            with sync_context(app) as state:
                yield state

        return async_context
    return lifespan  # type: ignore[no-any-return]
