"""The chat's HTTP API: rooms, history pages, search, and the host's invite, token and LAN.

Protocol 1 (`chat-protocol.md`) plus these extensions, which the web UI uses:

* `GET /api/invite` (host only): `{"lan": bool, "lan_available": bool, "links": [LINK...]}`,
  LINK = `{"host", "url", "qr_svg"}` for loopback and, in LAN mode, each LAN address or name.
* `POST /api/token/rotate` (host only): replaces the room token, ends every guest session;
  `200 {"status": "rotated"}`.
* `POST /api/lan` (host only) with `{"enabled": bool}`: asks the desktop to switch LAN mode;
  `202 {"lan": bool}`, `409` when this server cannot switch, `400` for a bad body.

Guests get `403 {"error": "forbidden", ...}` from the host-only routes.
"""

from __future__ import annotations

import json

from chatdesk.asgi import BackgroundTask, HTTPEndpoint, JSONResponse, Request, Response
from chatdesk.chat import protocol, validation
from chatdesk.chat.endpoints.responses import (
    NO_STORE,
    bad_request,
    forbidden,
    is_host,
    not_found,
    set_session_cookie,
)
from chatdesk.chat.endpoints.services import services
from chatdesk.chat.invite import invite_links
from chatdesk.chat.limits import HISTORY_PAGE, HISTORY_PAGE_MAX, SEARCH_LIMIT, SEARCH_QUERY_MAX
from chatdesk.chat.validation import InvalidValue

__all__ = ["Invite", "Lan", "RoomMessages", "Rooms", "Search", "TokenRotate"]

LAN_BODY_MAX = 1024  # bytes of `{"enabled": ...}`, generously


class Rooms(HTTPEndpoint):
    """`GET /api/rooms`: every room with its last id and how many are online."""

    async def get(self, request: Request) -> Response:
        room_list = await services(request.scope).hub.room_list()
        return JSONResponse({"rooms": room_list}, headers=NO_STORE)


class RoomMessages(HTTPEndpoint):
    """`GET /api/rooms/{room}/messages?after=&before=&limit=`: a page of a room's history."""

    async def get(self, request: Request) -> Response:
        room = request.path_params["room"]
        params = request.query_params
        try:
            validation.check_room(room)
            after = _id_param(params.get("after"), "after")
            before = _id_param(params.get("before"), "before")
            limit = _limit_param(params.get("limit"))
        except InvalidValue as exc:
            return bad_request(str(exc))
        store = services(request.scope).store
        if not store.has_room(room):
            return not_found(f"there is no room {room!r}")
        messages, has_more = await store.history(room, after=after, before=before, limit=limit)
        return JSONResponse(
            {"messages": [protocol.message_object(m) for m in messages], "has_more": has_more},
            headers=NO_STORE,
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
        if room is not None and not validation.is_room_name(room):
            return bad_request("room is not a valid room name")
        found = await services(request.scope).store.search(query, room=room, limit=SEARCH_LIMIT)
        return JSONResponse(
            {"messages": [protocol.message_object(m) for m in found]}, headers=NO_STORE
        )


class Invite(HTTPEndpoint):
    """`GET /api/invite` (host only): invite links with their QR codes, and the LAN state."""

    async def get(self, request: Request) -> Response:
        if not is_host(request):
            return forbidden()
        chat = services(request.scope)
        port = request.scope["server"][1]
        return JSONResponse(
            {
                "lan": chat.reach.lan,
                "lan_available": chat.switch_lan is not None,
                "links": invite_links(chat.reach.hosts, port, chat.access.token),
            },
            headers=NO_STORE,
        )


class TokenRotate(HTTPEndpoint):
    """`POST /api/token/rotate` (host only): a new room token; every guest session ends.

    The host who asked stays signed in: a browser whose session came from the old token gets
    one made from the new token with the answer.
    """

    async def post(self, request: Request) -> Response:
        if not is_host(request):
            return forbidden()
        access = services(request.scope).access
        token = access.rotate()
        response = JSONResponse({"status": "rotated"}, headers=NO_STORE)
        session = request.scope.get("chatdesk.session")
        if access.cookie_name in request.cookies and not getattr(session, "owner", False):
            cookie = access.join(token)
            assert cookie is not None
            set_session_cookie(response, access.cookie_name, cookie)
        return response


class Lan(HTTPEndpoint):
    """`POST /api/lan` (host only) with `{"enabled": bool}`: switch LAN mode (the desktop does)."""

    async def post(self, request: Request) -> Response:
        if not is_host(request):
            return forbidden()
        switch_lan = services(request.scope).switch_lan
        if switch_lan is None:
            return JSONResponse(
                {"error": "not_available", "detail": "this server cannot switch LAN mode"},
                status_code=409,
            )
        body = await request.body()
        try:
            enabled = json.loads(body)["enabled"] if len(body) <= LAN_BODY_MAX else None
        except (ValueError, TypeError, KeyError):
            enabled = None
        if not isinstance(enabled, bool):
            return bad_request('the body must be {"enabled": true} or {"enabled": false}')
        # After the response: the switch restarts the listener that serves this request.
        return JSONResponse(
            {"lan": enabled},
            status_code=202,
            headers=NO_STORE,
            background=BackgroundTask(switch_lan, enabled),
        )


def _id_param(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise InvalidValue(f"{name} must be a non-negative integer")
    return validation.check_message_id(int(value), name)


def _limit_param(value: str | None) -> int:
    if value is None:
        return HISTORY_PAGE
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise InvalidValue(f"limit must be an integer from 1 to {HISTORY_PAGE_MAX}")
    if not 1 <= int(value) <= HISTORY_PAGE_MAX:
        raise InvalidValue(f"limit must be an integer from 1 to {HISTORY_PAGE_MAX}")
    return int(value)
