"""chatdesk.asgi: a Starlette-compatible toolkit of class-based HTTP and WebSocket endpoints."""

from . import status
from .applications import App
from .background import BackgroundTask, BackgroundTasks
from .concurrency import run_in_threadpool
from .datastructures import URL, Headers, QueryParams
from .endpoints import HTTPEndpoint, WebSocketEndpoint
from .exceptions import HTTPException, WebSocketException
from .middleware import Middleware
from .requests import Request
from .responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from .routing import Mount, NoMatchFound, Route, WebSocketRoute
from .staticfiles import StaticFiles
from .websockets import WebSocket, WebSocketDisconnect, WebSocketState

__all__ = [
    "URL",
    "App",
    "BackgroundTask",
    "BackgroundTasks",
    "FileResponse",
    "HTMLResponse",
    "HTTPEndpoint",
    "HTTPException",
    "Headers",
    "JSONResponse",
    "Middleware",
    "Mount",
    "NoMatchFound",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Route",
    "StaticFiles",
    "StreamingResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketEndpoint",
    "WebSocketException",
    "WebSocketRoute",
    "WebSocketState",
    "run_in_threadpool",
    "status",
]
