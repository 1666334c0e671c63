"""What the chat accepts from a client: room names, nicks, texts, client ids and message ids.

Every validator returns the normalised value or raises `InvalidValue` with a message fit to show
to the user; the protocol layer turns it into an error frame, the API into a 400.
"""

from __future__ import annotations

import re
import unicodedata

from chatdesk.chat.limits import CLIENT_ID_MAX, MAX_ID, NICK_MAX, ROOM_NAME_MAX, TEXT_MAX

__all__ = [
    "ROOM_PATTERN",
    "InvalidValue",
    "TooLong",
    "check_client_id",
    "check_message_id",
    "check_nick",
    "check_room",
    "check_text",
    "is_room_name",
]

ROOM_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{ROOM_NAME_MAX - 1}}}")

# Control and format characters, line/paragraph separators, and lone surrogates (which JSON
# escapes can produce but UTF-8 cannot carry) have no place in a nick.
_NICK_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})


class InvalidValue(ValueError):
    """A client-supplied value breaks the protocol's rules; the message says which."""


class TooLong(InvalidValue):
    """A message text is longer than the protocol allows."""


def is_room_name(name: object) -> bool:
    """True when `name` is a valid room name (`^[a-z0-9][a-z0-9_-]{0,31}$`)."""
    return isinstance(name, str) and ROOM_PATTERN.fullmatch(name) is not None


def check_room(name: object) -> str:
    """`name` if it is a valid room name, else `InvalidValue`."""
    if not is_room_name(name):
        raise InvalidValue(
            "room names are 1 to 32 characters: lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    assert isinstance(name, str)
    return name


def check_nick(nick: object) -> str:
    """The trimmed nick if it is 1..32 characters without control characters."""
    if not isinstance(nick, str):
        raise InvalidValue("nick must be a string")
    nick = nick.strip()
    if not nick:
        raise InvalidValue("nick must not be empty")
    if len(nick) > NICK_MAX:
        raise InvalidValue(f"nick must be at most {NICK_MAX} characters")
    if any(unicodedata.category(char) in _NICK_FORBIDDEN for char in nick):
        raise InvalidValue("nick must not contain control or invisible characters")
    return nick


def check_text(text: object) -> str:
    """`text` if it is 1..4000 code points of valid Unicode; `TooLong` if longer."""
    if not isinstance(text, str):
        raise InvalidValue("text must be a string")
    if not text:
        raise InvalidValue("text must not be empty")
    if len(text) > TEXT_MAX:
        raise TooLong(f"text must be at most {TEXT_MAX} characters")
    _check_encodable(text, "text")
    return text


def check_client_id(client_id: object) -> str:
    """`client_id` if it is a string of 1..64 characters."""
    if not isinstance(client_id, str) or not client_id:
        raise InvalidValue("client_id must be a non-empty string")
    if len(client_id) > CLIENT_ID_MAX:
        raise InvalidValue(f"client_id must be at most {CLIENT_ID_MAX} characters")
    _check_encodable(client_id, "client_id")
    return client_id


def check_message_id(value: object, name: str) -> int:
    """`value` if it is an integer id in 0..2**63-1 (booleans are not integers here)."""
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise InvalidValue(f"{name} must be a non-negative integer")
    return value


def _check_encodable(value: str, name: str) -> None:
    # json.loads turns "\ud800" into a lone surrogate, which cannot be stored or sent as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{name} must be valid Unicode (no lone surrogates)") from None
