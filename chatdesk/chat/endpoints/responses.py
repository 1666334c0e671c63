"""The answers the chat's endpoints share: JSON errors, standalone pages, the session cookie."""

from __future__ import annotations

from chatdesk.asgi import HTMLResponse, JSONResponse, Response
from chatdesk.asgi.requests import HTTPConnection
from chatdesk.chat.guard import PAGE_CSP

__all__ = [
    "NO_STORE",
    "SESSION_MAX_AGE",
    "bad_request",
    "forbidden",
    "is_host",
    "not_found",
    "page_response",
    "set_session_cookie",
]

NO_STORE = {"Cache-Control": "no-store"}
SESSION_MAX_AGE = 30 * 24 * 3600  # seconds; the token (and so the cookie) outlives restarts


def is_host(connection: HTTPConnection) -> bool:
    """Whether the request was authenticated as the host (owner key or a loopback peer)."""
    session = connection.scope.get("chatdesk.session")
    return getattr(session, "role", None) == "host"


def bad_request(detail: str) -> JSONResponse:
    """`400 {"error": "bad_request", "detail": ...}`."""
    return JSONResponse({"error": "bad_request", "detail": detail}, status_code=400)


def not_found(detail: str) -> JSONResponse:
    """`404 {"error": "not_found", "detail": ...}`."""
    return JSONResponse({"error": "not_found", "detail": detail}, status_code=404)


def forbidden() -> JSONResponse:
    """`403` for a guest on a host-only route."""
    return JSONResponse(
        {"error": "forbidden", "detail": "only the host may do this"}, status_code=403
    )


def page_response(page: bytes, status_code: int) -> HTMLResponse:
    """One of chatdesk's standalone pages (`chat.pages`), under the policy that allows its style."""
    headers = {**NO_STORE, "Content-Security-Policy": PAGE_CSP}
    return HTMLResponse(page, status_code=status_code, headers=headers)


def set_session_cookie(response: Response, name: str, value: str) -> None:
    """Give the browser its session: HttpOnly, SameSite=Strict, for the whole site."""
    response.set_cookie(
        name, value, max_age=SESSION_MAX_AGE, path="/", httponly=True, samesite="strict"
    )
