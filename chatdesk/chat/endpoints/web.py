"""What a browser navigates to: the chat UI, the seed's echo page, `/join`, `/healthz`, and
the page for a path nothing serves."""

from __future__ import annotations

import chatdesk
from chatdesk.asgi import (
    HTMLResponse,
    HTTPEndpoint,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Request,
    Response,
)
from chatdesk.chat import pages
from chatdesk.chat.endpoints.responses import NO_STORE, page_response, set_session_cookie
from chatdesk.chat.endpoints.services import services
from chatdesk.chat.pages import WEB_DIR

__all__ = ["EchoPage", "Healthz", "Homepage", "Join", "unknown_path"]


class _WebFile:
    """A file of the web UI, read once on first use."""

    def __init__(self, name: str) -> None:
        self.path = WEB_DIR / name
        self._content: bytes | None = None

    def response(self) -> HTMLResponse:
        if self._content is None:
            self._content = self.path.read_bytes()
        return HTMLResponse(self._content, headers=NO_STORE)


_INDEX = _WebFile("index.html")
_ECHO = _WebFile("echo.html")


class Homepage(HTTPEndpoint):
    """`GET /`: the chat UI."""

    async def get(self, request: Request) -> Response:
        return _INDEX.response()


class EchoPage(HTTPEndpoint):
    """`GET /echo`: the seed's chat page (its script, `echo.js`, connects to `/ws`)."""

    async def get(self, request: Request) -> Response:
        return _ECHO.response()


class Healthz(HTTPEndpoint):
    """`GET /healthz`: liveness and version (no authentication)."""

    async def get(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": chatdesk.__version__}, headers=NO_STORE)


class Join(HTTPEndpoint):
    """`GET /join?token=TOKEN`: trade the room token for a session cookie, then go to `/`."""

    async def get(self, request: Request) -> Response:
        access = services(request.scope).access
        candidate = request.query_params.get("token")
        cookie = access.join(candidate) if candidate else None
        if cookie is None:
            return page_response(pages.BAD_INVITE, 401)
        response = RedirectResponse("/", status_code=303, headers=NO_STORE)
        set_session_cookie(response, access.cookie_name, cookie)
        return response


async def unknown_path(request: Request, exc: Exception) -> Response:
    """The 404 for a path nothing serves: a page for a browser, plain text for a program."""
    if "text/html" in request.headers.get("accept", ""):
        return page_response(pages.NOT_FOUND, 404)
    return PlainTextResponse("Not Found", status_code=404)
