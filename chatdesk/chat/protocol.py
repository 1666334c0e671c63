"""The `/chat` WebSocket protocol: client frames parsed into commands, server frames built.

Parsing takes the decoded JSON value of one frame and returns a typed command, or raises
`ProtocolError` carrying the protocol's error code. Server frames are serialised here, once, to
the compact JSON text that goes on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chatdesk.chat import validation
from chatdesk.chat.store import Message
from chatdesk.chat.validation import InvalidValue, TooLong

__all__ = [
    "BAD_REQUEST",
    "HELLO_FIRST",
    "NOT_JOINED",
    "PROTOCOL_VERSION",
    "RATE_LIMITED",
    "TOO_LONG",
    "Command",
    "Hello",
    "Join",
    "Leave",
    "Nick",
    "ProtocolError",
    "Send",
    "Typing",
    "ack_frame",
    "dumps",
    "error_frame",
    "message_frame",
    "message_object",
    "nick_frame",
    "parse_command",
    "presence_frame",
    "room_object",
    "typing_frame",
    "welcome_frame",
]

PROTOCOL_VERSION = 1

HELLO_FIRST = "hello_first"
TOO_LONG = "too_long"
NOT_JOINED = "not_joined"
RATE_LIMITED = "rate_limited"
BAD_REQUEST = "bad_request"


class ProtocolError(Exception):
    """A client frame broke the protocol; answered with an `error` frame, the socket stays open."""

    def __init__(self, code: str, detail: str, client_id: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_id = client_id


@dataclass(frozen=True, slots=True)
class Hello:
    nick: str


@dataclass(frozen=True, slots=True)
class Join:
    room: str
    after: int | None = None


@dataclass(frozen=True, slots=True)
class Leave:
    room: str


@dataclass(frozen=True, slots=True)
class Send:
    room: str
    text: str
    client_id: str


@dataclass(frozen=True, slots=True)
class Typing:
    room: str


@dataclass(frozen=True, slots=True)
class Nick:
    nick: str


Command = Hello | Join | Leave | Send | Typing | Nick


def parse_command(data: object) -> Command:
    """The command in one decoded client frame; `ProtocolError` when it is not a valid one."""
    if not isinstance(data, dict):
        raise ProtocolError(BAD_REQUEST, "a frame must be a JSON object")
    kind = data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError(BAD_REQUEST, f"unknown frame type: {_describe(kind)}")
    client_id = data.get("client_id") if kind == "send" else None
    if not isinstance(client_id, str):
        client_id = None
    try:
        return parser(data)
    except TooLong as exc:
        raise ProtocolError(TOO_LONG, str(exc), client_id) from None
    except InvalidValue as exc:
        raise ProtocolError(BAD_REQUEST, str(exc), client_id) from None


def _parse_hello(data: Mapping[str, Any]) -> Hello:
    return Hello(validation.check_nick(data.get("nick")))


def _parse_join(data: Mapping[str, Any]) -> Join:
    after = data.get("after")
    if after is not None:
        after = validation.check_message_id(after, "after")
    return Join(validation.check_room(data.get("room")), after)


def _parse_leave(data: Mapping[str, Any]) -> Leave:
    return Leave(validation.check_room(data.get("room")))


def _parse_send(data: Mapping[str, Any]) -> Send:
    client_id = validation.check_client_id(data.get("client_id"))
    room = validation.check_room(data.get("room"))
    return Send(room, validation.check_text(data.get("text")), client_id)


def _parse_typing(data: Mapping[str, Any]) -> Typing:
    return Typing(validation.check_room(data.get("room")))


def _parse_nick(data: Mapping[str, Any]) -> Nick:
    return Nick(validation.check_nick(data.get("nick")))


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Command]] = {
    "hello": _parse_hello,
    "join": _parse_join,
    "leave": _parse_leave,
    "send": _parse_send,
    "typing": _parse_typing,
    "nick": _parse_nick,
}


def _describe(kind: object) -> str:
    if isinstance(kind, str):
        return repr(kind[:40])
    return "missing" if kind is None else f"not a string ({type(kind).__name__})"


# -- server frames ---------------------------------------------------------------------------

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(frame: Mapping[str, object]) -> str:
    """`frame` as compact JSON text (UTF-8 characters kept as they are)."""
    return _encode(frame)


def welcome_frame(
    nick: str, room_list: Iterable[Mapping[str, object]], *, host: bool = False
) -> str:
    """The answer to a successful `hello`; `host` (an extension) tells the host's own client."""
    return dumps(
        {
            "type": "welcome",
            "protocol": PROTOCOL_VERSION,
            "nick": nick,
            "rooms": list(room_list),
            "host": host,
        }
    )


def message_object(message: Message) -> dict[str, object]:
    """A stored message as the protocol's MESSAGE object (a frame; an item of API lists)."""
    return {
        "type": "message",
        "id": message.id,
        "room": message.room,
        "nick": message.nick,
        "text": message.text,
        "ts": message.ts,
        "client_id": message.client_id,
    }


def message_frame(message: Message) -> str:
    """A stored message as a `message` frame."""
    return dumps(message_object(message))


def room_object(name: str, last_id: int, online: int) -> dict[str, object]:
    """The protocol's ROOM object: a room, its newest message id and how many are online."""
    return {"name": name, "last_id": last_id, "online": online}


def ack_frame(client_id: str, message_id: int) -> str:
    """Confirms that the message with `client_id` is durably stored under `message_id`."""
    return dumps({"type": "ack", "client_id": client_id, "id": message_id})


def nick_frame(nick: str) -> str:
    """The answer to a `nick` command: the nick granted (an extension of protocol 1)."""
    return dumps({"type": "nick", "nick": nick})


def presence_frame(room: str, online: Iterable[str]) -> str:
    """Who is in `room` now."""
    return dumps({"type": "presence", "room": room, "online": list(online)})


def typing_frame(room: str, nick: str) -> str:
    """`nick` is typing in `room`."""
    return dumps({"type": "typing", "room": room, "nick": nick})


def error_frame(code: str, detail: str, client_id: str | None = None) -> str:
    """An `error` frame; `client_id` when the mistake was a `send` that had one."""
    frame: dict[str, object] = {"type": "error", "code": code, "detail": detail}
    if client_id is not None:
        frame["client_id"] = client_id
    return dumps(frame)
