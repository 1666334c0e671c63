"""The chat's HTTP and WebSocket endpoints, as `chatdesk.asgi` endpoint classes.

Protocol 1 (docs: `chat-protocol.md`) plus these extensions, which the web UI uses:

* `GET /api/invite` (host only): `{"lan": bool, "lan_available": bool, "links": [LINK...]}`,
  LINK = `{"host", "url", "qr_svg"}` for loopback and, in LAN mode, each LAN address or name.
* `POST /api/token/rotate` (host only): replaces the room token, ends every guest session;
  `200 {"status": "rotated"}`.
* `POST /api/lan` (host only) with `{"enabled": bool}`: asks the desktop to switch LAN mode;
  `202 {"lan": bool}`, `409` when this server cannot switch, `400` for a bad body.
* On `/chat`, a `nick` command is answered with `{"type": "nick", "nick": GRANTED}`.

Guests get `403 {"error": "forbidden", ...}` from the host-only routes. Every endpoint finds the
running `Chat` in `request.app.state.chat`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import chatdesk
from chatdesk.asgi import (
    BackgroundTask,
    HTMLResponse,
    HTTPEndpoint,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Request,
    Response,
    WebSocket,
    WebSocketEndpoint,
)
from chatdesk.asgi.requests import HTTPConnection
from chatdesk.chat import pages, rooms
from chatdesk.chat.guard import PAGE_CSP
from chatdesk.chat.hub import CLOSE_TRY_AGAIN_LATER, Client
from chatdesk.chat.invite import invite_links
from chatdesk.chat.pages import WEB_DIR
from chatdesk.chat.rooms import InvalidValue

if TYPE_CHECKING:
    from chatdesk.chat.app import Chat

__all__ = [
    "WEB_DIR",
    "ChatSocket",
    "Echo",
    "EchoPage",
    "Healthz",
    "Homepage",
    "Invite",
    "Join",
    "Lan",
    "RoomMessages",
    "Rooms",
    "Search",
    "TokenRotate",
    "page_response",
    "unknown_path",
]

SESSION_MAX_AGE = 30 * 24 * 3600  # seconds; the token (and so the cookie) outlives restarts
SEARCH_QUERY_MAX = 200  # characters
SEARCH_LIMIT = 50

CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_TOO_BIG = 1009

_NO_STORE = {"Cache-Control": "no-store"}


def chat_of(connection: HTTPConnection) -> Chat:
    """The `Chat` serving this request."""
    return chat_of_scope(connection.scope)


def chat_of_scope(scope: Any) -> Chat:
    """The `Chat` serving an ASGI scope (the App's `state.chat`)."""
    chat: Chat = scope["app"].state.chat
    return chat


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


def page_response(page: bytes, status_code: int) -> HTMLResponse:
    """One of chatdesk's standalone pages (`chat.pages`), under the policy that allows its style."""
    headers = {**_NO_STORE, "Content-Security-Policy": PAGE_CSP}
    return HTMLResponse(page, status_code=status_code, headers=headers)


async def unknown_path(request: Request, exc: Exception) -> Response:
    """The 404 for a path nothing serves: a page for a browser, plain text for a program."""
    if "text/html" in request.headers.get("accept", ""):
        return page_response(pages.NOT_FOUND, 404)
    return PlainTextResponse("Not Found", status_code=404)


def forbidden() -> JSONResponse:
    """`403` for a guest on a host-only route."""
    return JSONResponse(
        {"error": "forbidden", "detail": "only the host may do this"}, status_code=403
    )


class _WebFile:
    """A file of the web UI, read once on first use."""

    def __init__(self, name: str) -> None:
        self.path = WEB_DIR / name
        self._content: bytes | None = None

    def response(self) -> HTMLResponse:
        if self._content is None:
            self._content = self.path.read_bytes()
        return HTMLResponse(self._content, headers=_NO_STORE)


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


class Echo(WebSocketEndpoint):
    """`/ws`: the seed's Echo endpoint."""

    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_text(f"Message text was: {data}")


class Healthz(HTTPEndpoint):
    """`GET /healthz`: liveness and version (no authentication)."""

    async def get(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": chatdesk.__version__}, headers=_NO_STORE)


class Join(HTTPEndpoint):
    """`GET /join?token=TOKEN`: trade the room token for a session cookie, then go to `/`."""

    async def get(self, request: Request) -> Response:
        access = chat_of(request).access
        candidate = request.query_params.get("token")
        cookie = access.join(candidate) if candidate else None
        if cookie is None:
            return page_response(pages.BAD_INVITE, 401)
        response = RedirectResponse("/", status_code=303, headers=_NO_STORE)
        _set_session_cookie(response, access.cookie_name, cookie)
        return response


class Rooms(HTTPEndpoint):
    """`GET /api/rooms`: every room with its last id and how many are online."""

    async def get(self, request: Request) -> Response:
        return JSONResponse({"rooms": await chat_of(request).hub.room_list()}, headers=_NO_STORE)


class RoomMessages(HTTPEndpoint):
    """`GET /api/rooms/{room}/messages?after=&before=&limit=`: a page of a room's history."""

    async def get(self, request: Request) -> Response:
        room = request.path_params["room"]
        params = request.query_params
        try:
            rooms.check_room(room)
            after = _id_param(params.get("after"), "after")
            before = _id_param(params.get("before"), "before")
            limit = _limit_param(params.get("limit"))
        except InvalidValue as exc:
            return bad_request(str(exc))
        store = chat_of(request).store
        if not await store.room_exists(room):
            return not_found(f"there is no room {room!r}")
        messages, has_more = await store.history(room, after=after, before=before, limit=limit)
        return JSONResponse(
            {"messages": [message.to_dict() for message in messages], "has_more": has_more},
            headers=_NO_STORE,
        )


class Search(HTTPEndpoint):
    """`GET /api/search?q=TEXT[&room=NAME]`: matching messages, best first, at most 50."""

    async def get(self, request: Request) -> Response:
        query = (request.query_params.get("q") or "").strip()
        room = request.query_params.get("room")
        if not query:
            return bad_request("q must not be empty")
        if len(query) > SEARCH_QUERY_MAX:
            return bad_request(f"q must be at most {SEARCH_QUERY_MAX} characters")
        if room is not None and not rooms.is_room_name(room):
            return bad_request("room is not a valid room name")
        found = await chat_of(request).store.search(query, room=room, limit=SEARCH_LIMIT)
        return JSONResponse(
            {"messages": [message.to_dict() for message in found]}, headers=_NO_STORE
        )


class Invite(HTTPEndpoint):
    """`GET /api/invite` (host only): invite links with their QR codes, and the LAN state."""

    async def get(self, request: Request) -> Response:
        if not is_host(request):
            return forbidden()
        chat = chat_of(request)
        port = request.scope["server"][1]
        hosts = ["127.0.0.1", *chat.lan_hosts]
        return JSONResponse(
            {
                "lan": bool(chat.lan_hosts),
                "lan_available": chat.config.on_lan_change is not None,
                "links": invite_links(hosts, port, chat.access.token),
            },
            headers=_NO_STORE,
        )


class TokenRotate(HTTPEndpoint):
    """`POST /api/token/rotate` (host only): a new room token; every guest session ends.

    The host who asked stays signed in: a browser whose session came from the old token gets
    one made from the new token with the answer.
    """

    async def post(self, request: Request) -> Response:
        if not is_host(request):
            return forbidden()
        access = chat_of(request).access
        token = access.rotate()
        response = JSONResponse({"status": "rotated"}, headers=_NO_STORE)
        session = request.scope.get("chatdesk.session")
        if access.cookie_name in request.cookies and not getattr(session, "owner", False):
            cookie = access.join(token)
            assert cookie is not None
            _set_session_cookie(response, access.cookie_name, cookie)
        return response


class Lan(HTTPEndpoint):
    """`POST /api/lan` (host only) with `{"enabled": bool}`: switch LAN mode (the desktop does)."""

    async def post(self, request: Request) -> Response:
        if not is_host(request):
            return forbidden()
        on_lan_change = chat_of(request).config.on_lan_change
        if on_lan_change is None:
            return JSONResponse(
                {"error": "not_available", "detail": "this server cannot switch LAN mode"},
                status_code=409,
            )
        body = await request.body()
        try:
            enabled = json.loads(body)["enabled"] if len(body) <= 1024 else None
        except (ValueError, TypeError, KeyError):
            enabled = None
        if not isinstance(enabled, bool):
            return bad_request('the body must be {"enabled": true} or {"enabled": false}')
        # After the response: the switch restarts the listener that serves this request.
        return JSONResponse(
            {"lan": enabled},
            status_code=202,
            headers=_NO_STORE,
            background=BackgroundTask(on_lan_change, enabled),
        )


_CLOSED = object()  # what decode() returns for a frame that closed the socket


class ChatSocket(WebSocketEndpoint):
    """`/chat`: the chat protocol (JSON frames, text or UTF-8 binary)."""

    encoding = "json"
    client: Client | None = None
    address: str | None = None  # counted against the per-address limit while connected

    async def on_connect(self, websocket: WebSocket) -> None:
        chat = chat_of(websocket)
        address = websocket.client.host if websocket.client else ""
        if not chat.connections.acquire(address):
            await _refuse_handshake(websocket, 429, "too_many_connections")
            return
        self.address = address
        try:
            await websocket.accept()
        except BaseException:
            self._release()
            raise
        # The hub writes straight to the ASGI send: frames are pre-built, shared events.
        self.client = chat.hub.connect(
            self.send, websocket.close, websocket.scope.get("chatdesk.session")
        )

    async def decode(self, websocket: WebSocket, message: Any) -> Any:
        """The frame's JSON value; a frame that is too big, not UTF-8 or not JSON closes."""
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            if len(data) > rooms.MAX_FRAME_BYTES:
                return self._close(CLOSE_TOO_BIG)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return self._close(CLOSE_INVALID_PAYLOAD)
        elif len(text) * 4 > rooms.MAX_FRAME_BYTES and len(text.encode()) > rooms.MAX_FRAME_BYTES:
            return self._close(CLOSE_TOO_BIG)
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return self._close(CLOSE_UNSUPPORTED_DATA)

    def _close(self, code: int) -> object:
        # Closing here, rather than raising as the stock decode() does, ends the session cleanly:
        # the receive loop next gets the disconnect, without an error logged for a bad client.
        if self.client is not None:
            chat_of_scope(self.scope).hub.close(self.client, code)
        return _CLOSED

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        if data is not _CLOSED and self.client is not None:
            await chat_of(websocket).hub.receive(self.client, data)

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        if self.client is not None:
            chat_of(websocket).hub.disconnect(self.client)
        self._release()

    def _release(self) -> None:
        if self.address is not None:
            chat_of_scope(self.scope).connections.release(self.address)
            self.address = None


def _set_session_cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name, value, max_age=SESSION_MAX_AGE, path="/", httponly=True, samesite="strict"
    )


async def _refuse_handshake(websocket: WebSocket, status: int, error: str) -> None:
    """Refuse a WebSocket before accept: an HTTP `status` where the server can, else close 1013."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": error, "detail": "too many connections from this address"}
        await websocket.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await websocket.close(CLOSE_TRY_AGAIN_LATER)


def _id_param(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise InvalidValue(f"{name} must be a non-negative integer")
    return rooms.check_message_id(int(value), name)


def _limit_param(value: str | None) -> int:
    if value is None:
        return 100
    if not value.isascii() or not value.isdigit() or len(value) > 6 or not 1 <= int(value) <= 500:
        raise InvalidValue("limit must be an integer from 1 to 500")
    return int(value)
