"""Parsing client frames and building server frames (no server needed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatdesk.chat import limits, validation
from chatdesk.chat.protocol import (
    Hello,
    Join,
    Leave,
    Nick,
    ProtocolError,
    Send,
    Typing,
    ack_frame,
    error_frame,
    nick_frame,
    parse_command,
    presence_frame,
    typing_frame,
    welcome_frame,
)
from chatdesk.chat.store import Message


@pytest.mark.parametrize(
    ("frame", "command"),
    [
        ({"type": "hello", "nick": " alice "}, Hello("alice")),
        ({"type": "join", "room": "general"}, Join("general", None)),
        ({"type": "join", "room": "dev_2-x", "after": 41}, Join("dev_2-x", 41)),
        ({"type": "join", "room": "general", "after": None}, Join("general", None)),
        ({"type": "leave", "room": "general"}, Leave("general")),
        (
            {"type": "send", "room": "general", "text": "hi", "client_id": "c-1"},
            Send("general", "hi", "c-1"),
        ),
        ({"type": "typing", "room": "general"}, Typing("general")),
        ({"type": "nick", "nick": "bob"}, Nick("bob")),
        ({"type": "typing", "room": "general", "extra": [1]}, Typing("general")),
    ],
)
def test_valid_frames_become_commands(frame, command):
    assert parse_command(frame) == command


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ([], "bad_request"),
        ("hello", "bad_request"),
        (None, "bad_request"),
        ({}, "bad_request"),
        ({"type": 1}, "bad_request"),
        ({"type": "HELLO", "nick": "a"}, "bad_request"),
        ({"type": "hello"}, "bad_request"),
        ({"type": "hello", "nick": "a\nb"}, "bad_request"),
        ({"type": "hello", "nick": "a\u202eb"}, "bad_request"),
        ({"type": "hello", "nick": "a\u2029b"}, "bad_request"),
        ({"type": "hello", "nick": "\ud800"}, "bad_request"),
        ({"type": "join", "room": "a" * 33}, "bad_request"),
        ({"type": "join", "room": "_a"}, "bad_request"),
        ({"type": "join", "room": "general", "after": "1"}, "bad_request"),
        ({"type": "join", "room": "general", "after": False}, "bad_request"),
        ({"type": "join", "room": "general", "after": 2**63}, "bad_request"),
        ({"type": "send", "room": "general", "text": "x" * 4001, "client_id": "c"}, "too_long"),
        ({"type": "send", "room": "general", "text": "\udfff", "client_id": "c"}, "bad_request"),
        ({"type": "send", "room": "general", "text": "x", "client_id": 5}, "bad_request"),
    ],
)
def test_invalid_frames_raise_the_protocol_error_code(frame, code):
    with pytest.raises(ProtocolError) as raised:
        parse_command(frame)
    assert raised.value.code == code
    assert raised.value.detail


def test_errors_about_a_send_carry_its_client_id():
    with pytest.raises(ProtocolError) as raised:
        parse_command({"type": "send", "room": "Bad", "text": "x", "client_id": "c-9"})
    assert raised.value.client_id == "c-9"
    with pytest.raises(ProtocolError) as raised:
        parse_command({"type": "join", "room": "Bad", "client_id": "c-9"})
    assert raised.value.client_id is None


def test_limits_are_counted_in_code_points():
    assert parse_command(
        {"type": "send", "room": "r", "text": "\U0001f600" * limits.TEXT_MAX, "client_id": "c"}
    )
    assert parse_command({"type": "hello", "nick": "\u00e9" * limits.NICK_MAX}).nick
    assert parse_command({"type": "send", "room": "r", "text": "x", "client_id": "c" * 64})


@given(st.text(max_size=40))
def test_nick_rule_is_total(nick):
    try:
        accepted = validation.check_nick(nick)
    except validation.InvalidValue:
        return
    assert 1 <= len(accepted) <= limits.NICK_MAX and accepted == accepted.strip()
    accepted.encode("utf-8")


@given(st.text(max_size=40))
def test_room_rule_matches_the_pattern(name):
    import re

    assert validation.is_room_name(name) == bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name))


def test_server_frames_are_compact_json_keeping_unicode():
    message = Message(42, "general", "\u00e4lice", "hi \u2603", "2026-11-23T19:00:00.123Z", "c-1")
    from chatdesk.chat.protocol import message_frame

    text = message_frame(message)
    assert text == (
        '{"type":"message","id":42,"room":"general","nick":"\u00e4lice","text":"hi \u2603",'
        '"ts":"2026-11-23T19:00:00.123Z","client_id":"c-1"}'
    )
    assert json.loads(ack_frame("c-1", 42)) == {"type": "ack", "client_id": "c-1", "id": 42}
    assert json.loads(presence_frame("r", ["a", "b"])) == {
        "type": "presence",
        "room": "r",
        "online": ["a", "b"],
    }
    assert json.loads(typing_frame("r", "a")) == {"type": "typing", "room": "r", "nick": "a"}
    assert json.loads(nick_frame("a-2")) == {"type": "nick", "nick": "a-2"}
    assert json.loads(error_frame("too_long", "d")) == {
        "type": "error",
        "code": "too_long",
        "detail": "d",
    }
    assert json.loads(error_frame("rate_limited", "d", "c"))["client_id"] == "c"
    welcome = json.loads(welcome_frame("a", [{"name": "general", "last_id": 0, "online": 1}]))
    assert welcome == {
        "type": "welcome",
        "protocol": 1,
        "nick": "a",
        "rooms": [{"name": "general", "last_id": 0, "online": 1}],
        "host": False,
    }
    assert json.loads(welcome_frame("a", [], host=True))["host"] is True
