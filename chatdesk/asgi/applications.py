"""App: the ASGI application that routes to endpoints, behind its error-handling middleware."""

from __future__ import annotations

from ._started import NOT_STARTED, WATCH_KEY
from .datastructures import State
from .middleware import (
    HANDLERS_SCOPE_KEY,
    ExceptionHandlers,
    ExceptionMiddleware,
    Middleware,
    ServerErrorMiddleware,
)
from .routing import Router

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence
    from typing import Any, TypeVar

    from .datastructures import URLPath
    from .routing import BaseRoute
    from .types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send

    T = TypeVar("T")


class App:
    """An ASGI app: ServerErrorMiddleware, user middleware, ExceptionMiddleware, then the Router.

    Routes come from `routes=[Route(...), WebSocketRoute(...), Mount(...)]` or from the seed's
    registration API (`@app.route`, `add_route`, `@app.websocket_route`, `mount`).
    """

    def __init__(
        self,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan | None = None,
    ) -> None:
        self.debug = debug
        self.state = State()
        self.router = Router(routes, lifespan=lifespan)
        self.exception_handlers: dict[Any, ExceptionHandler] = dict(exception_handlers or {})
        self.user_middleware = list(middleware or [])
        self.middleware_stack: ASGIApp | None = None
        # The stack when it is a lone ServerErrorMiddleware, which __call__ then runs inline.
        self._error_layer: ServerErrorMiddleware | None = None

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap the router in the middleware, outermost first."""
        error_handler = None
        handlers: dict[Any, ExceptionHandler] = {}
        for key, handler in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = handler
            else:
                handlers[key] = handler
        # The router's own stack, skipping one await of Router.__call__ per request.
        app: ASGIApp = self.router.middleware_stack
        if not self.user_middleware:
            # Nothing between the two layers: one ServerErrorMiddleware does both jobs.
            self._error_layer = ServerErrorMiddleware(
                app, handler=error_handler, debug=self.debug, handlers=ExceptionHandlers(handlers)
            )
            return self._error_layer
        middleware = [
            Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug),
            *self.user_middleware,
            Middleware(ExceptionMiddleware, handlers=handlers, debug=self.debug),
        ]
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app

    @property
    def routes(self) -> list[BaseRoute]:
        return self.router.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        errors = self._error_layer
        if errors is None or scope["type"] == "lifespan":
            # Before the stack is built (the first call), with user middleware, or lifespan.
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            await self.middleware_stack(scope, receive, send)
            return
        # ServerErrorMiddleware.__call__, inline: every suspension of a request or WebSocket
        # session resumes through each frame of the stack, so the App spares one. Without user
        # middleware the router is next: its send needs no wrapper (see _started), and
        # _started.watch() is inline too, sparing a call on every request.
        scope[HANDLERS_SCOPE_KEY] = errors.handlers
        previous = scope.get(WATCH_KEY)
        started: Sequence[bool] = NOT_STARTED
        if scope["type"] == "http":
            if previous is not None and previous[0] is send:
                started = previous[1]  # mounted in an App that watches this very send
            else:
                started = [False]
                scope[WATCH_KEY] = (send, started)
        try:
            await errors.app(scope, receive, send)
        except Exception as exc:
            await errors.handle_error(exc, scope, receive, send, started)
        finally:
            scope[WATCH_KEY] = previous

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called `name` (raises NoMatchFound)."""
        return self.router.url_path_for(name, **path_params)

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        """Add an outermost user middleware (only before the app has served anything)."""
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def add_exception_handler(
        self, exc_class_or_status_code: int | type[Exception], handler: ExceptionHandler
    ) -> None:
        """Handle an exception class or an HTTPException status code (before the first request)."""
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add exception handlers after an application has started")
        self.exception_handlers[exc_class_or_status_code] = handler

    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve every path under `path` with `app`."""
        self.router.mount(path, app=app, name=name)

    def add_route(
        self,
        path: str,
        route: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Route HTTP requests for `path` to an endpoint class or a function."""
        self.router.add_route(
            path, route, methods=methods, name=name, include_in_schema=include_in_schema
        )

    def add_websocket_route(
        self, path: str, route: Callable[..., Any], name: str | None = None
    ) -> None:
        """Route WebSocket connections for `path` to an endpoint class or a function."""
        self.router.add_websocket_route(path, route, name=name)

    def route(
        self,
        path: str,
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> Callable[[T], T]:
        """Decorator form of add_route; returns the endpoint unchanged."""

        def decorator(endpoint: T) -> T:
            self.add_route(
                path,
                endpoint,  # type: ignore[arg-type]
                methods=methods,
                name=name,
                include_in_schema=include_in_schema,
            )
            return endpoint

        return decorator

    def websocket_route(self, path: str, name: str | None = None) -> Callable[[T], T]:
        """Decorator form of add_websocket_route; returns the endpoint unchanged."""

        def decorator(endpoint: T) -> T:
            self.add_websocket_route(path, endpoint, name=name)  # type: ignore[arg-type]
            return endpoint

        return decorator
