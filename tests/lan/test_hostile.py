"""Hostile requests against the full chat app, as tables: every one refused, the server unharmed."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from chatdesk.desktop.network import lan_addresses
from tests.lan.conftest import (
    CLOSE_CODES,
    ERROR_CODES,
    Target,
    assert_still_serving,
    open_client,
)
from tests.lan.rawhttp import exchange, host_header, parse, request, ws_handshake

# -- forged Host ---------------------------------------------------------------------------

LAN_ADDRESS = (lan_addresses() or ["192.0.2.2"])[0]
HOSTNAME = socket.gethostname().lower()
FORGED_HOSTS = [
    "evil.com:{port}",
    "evil.com",
    "localhost.evil.com:{port}",
    "127.0.0.1.evil.com:{port}",
    "127.0.0.1:{port}.evil.com",
    "127.0.0.1:{port}@evil.com",
    "evil.com#127.0.0.1:{port}",
    "evil.com:{port}/127.0.0.1:{port}",
    "evil127.0.0.1:{port}",
    "xlocalhost:{port}",
    "localhost:{port}:{port}",
    "127.0.0.1:0{port}",
    "127.0.0.1:1{port}",
    "127.0.0.1:80",
    "127.0.0.1",
    "localhost",
    "[::1]",
    "::1:{port}",
    "127.0.0.2:{port}",
    "127.1:{port}",
    "2130706433:{port}",
    "0x7f000001:{port}",
    "0.0.0.0:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "localhost.:{port}",
    f"{LAN_ADDRESS}:{{port}}",  # a LAN address in loopback mode
    f"{HOSTNAME}:{{port}}",
    f"{HOSTNAME}.local:{{port}}",
    "",
    " ",
]
HOST_ROUTES = ["/healthz", "/join?token={token}", "/", "/api/rooms", "/static/app.js"]


@pytest.mark.parametrize("route", HOST_ROUTES)
@pytest.mark.parametrize("host", FORGED_HOSTS)
def test_forged_hosts_are_refused_on_http(target: Target, host: str, route: str) -> None:
    headers = [("Host", host.format(port=target.port)), target.bearer]
    response = request(target.port, route.format(token=target.token), headers)
    assert response.status == 403
    assert target.token.encode() not in response.body
    assert response.header("set-cookie") is None


@pytest.mark.parametrize("host", FORGED_HOSTS)
def test_forged_hosts_are_refused_on_websocket(target: Target, host: str) -> None:
    headers = [("Host", host.format(port=target.port)), target.bearer]
    assert ws_handshake(target.port, "/chat", headers).status == 403


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="missing"),
        pytest.param([("Host", "127.0.0.1:{port}"), ("Host", "evil.com")], id="two, good first"),
        pytest.param([("Host", "evil.com"), ("Host", "127.0.0.1:{port}")], id="two, good last"),
        pytest.param([("Host", "127.0.0.1:{port}"), ("Host", "127.0.0.1:{port}")], id="two same"),
    ],
)
@pytest.mark.parametrize("path", ["/healthz", "/chat"])
def test_missing_or_doubled_host_is_refused(
    target: Target, headers: list[tuple[str, str]], path: str
) -> None:
    headers = [(k, v.format(port=target.port)) for k, v in headers] + [target.bearer]
    if path == "/chat":
        assert ws_handshake(target.port, path, headers).status == 403
    else:
        assert request(target.port, path, headers).status == 403


def test_every_loopback_spelling_with_the_port_is_accepted(target: Target) -> None:
    for name in ["127.0.0.1", "localhost", "LocalHost", "[::1]"]:
        headers = [host_header(target.port, name), target.bearer]
        assert request(target.port, "/healthz", headers).status == 200, name
        assert ws_handshake(target.port, "/chat", headers).status == 101, name


# -- forged Origin -------------------------------------------------------------------------

FORGED_ORIGINS = [
    "http://127.0.0.1:{port}.evil.com",
    "http://127.0.0.1:{port}@evil.com",
    "http://evil.com",
    "http://evil.com:{port}",
    "http://evil.127.0.0.1:{port}",
    "http://127.0.0.1",
    "http://127.0.0.1:{other}",
    "http://127.0.0.1:1{port}",
    "http://localhost:{port}",  # the Host says 127.0.0.1: another origin
    "http://[::1]:{port}",
    "http://127.0.0.1:{port}/",
    "http://127.0.0.1:{port}/chat",
    "http://127.0.0.1:{port}.",
    "http://127.0.0.1.:{port}",
    "https://127.0.0.1:{port}",
    "ws://127.0.0.1:{port}",
    "file://",
    "chrome-extension://abcdefghijklmnop",
    "null",
    "",
    "127.0.0.1:{port}",
    "xhttp://127.0.0.1:{port}",
    "http://127.0.0.1:{port}, http://evil.com",
    "http://user@127.0.0.1:{port}",
]


def forged_origin(origin: str, port: int) -> str:
    return origin.format(port=port, other=port + 1 if port < 65535 else port - 1)


@pytest.mark.parametrize("origin", FORGED_ORIGINS)
def test_forged_origins_are_refused_on_websocket(target: Target, origin: str) -> None:
    headers = [
        host_header(target.port),
        ("Origin", forged_origin(origin, target.port)),
        target.bearer,
    ]
    assert ws_handshake(target.port, "/chat", headers).status == 403


@pytest.mark.parametrize("origin", FORGED_ORIGINS)
def test_forged_origins_cannot_post(target: Target, origin: str) -> None:
    headers = [
        host_header(target.port),
        ("Origin", forged_origin(origin, target.port)),
        target.cookie,
        ("Content-Type", "application/json"),
    ]
    response = request(target.port, "/api/lan", headers, method="POST", body=b'{"enabled":true}')
    assert response.status == 403


def test_two_origin_headers_are_refused(target: Target) -> None:
    good = ("Origin", f"http://127.0.0.1:{target.port}")
    for pair in [[good, ("Origin", "http://evil.com")], [("Origin", "http://evil.com"), good]]:
        headers = [host_header(target.port), *pair, target.bearer]
        # uvicorn's sans-I/O WebSocket refuses the ambiguous handshake itself (400), before the
        # guard would (403): either way no handler runs.
        assert ws_handshake(target.port, "/chat", headers).status in (400, 403)


def test_the_exact_origin_is_accepted(target: Target) -> None:
    for name in ["127.0.0.1", "localhost"]:
        origin = ("Origin", f"http://{name}:{target.port}")
        headers = [host_header(target.port, name), origin, target.bearer]
        assert ws_handshake(target.port, "/chat", headers).status == 101, name


# -- credentials ---------------------------------------------------------------------------


def bad_credentials(target: Target) -> dict[str, list[tuple[str, str]]]:
    token = target.token
    access = target.chat.access
    value = access.join(token) or ""
    name = access.cookie_name
    return {
        "none": [],
        "empty bearer": [("Authorization", "Bearer ")],
        "bearer only": [("Authorization", "Bearer")],
        "wrong token": [("Authorization", "Bearer " + "A" * len(token))],
        "truncated token": [("Authorization", "Bearer " + token[:-1])],
        "half token": [("Authorization", "Bearer " + token[: len(token) // 2])],
        "extended token": [("Authorization", "Bearer " + token + "A")],
        "token twice": [("Authorization", "Bearer " + token + token)],
        "token with a NUL": [("Authorization", "Bearer " + token + "%00")],
        "basic scheme": [("Authorization", "Basic " + token)],
        "token scheme": [("Authorization", "Token " + token)],
        "no scheme": [("Authorization", token)],
        "scheme glued": [("Authorization", "Bearer" + token)],
        "bearer in another header": [("X-Authorization", "Bearer " + token)],
        "token header": [("X-Token", token)],
        "raw token as cookie": [("Cookie", f"{name}={token}")],
        "truncated cookie": [("Cookie", f"{name}={value[:-1]}")],
        "extended cookie": [("Cookie", f"{name}={value}0")],
        "cookie of another name": [("Cookie", f"chatdesk_00000000={value}")],
        "cookie name prefix": [("Cookie", f"x{name}={value}")],
        "cookie named token": [("Cookie", f"token={token}")],
        "token in user agent": [("User-Agent", token)],
        "token as referer": [("Referer", f"http://127.0.0.1:{target.port}/join?token={token}")],
    }


CREDENTIAL_CASES = [
    "none",
    "empty bearer",
    "bearer only",
    "wrong token",
    "truncated token",
    "half token",
    "extended token",
    "token twice",
    "token with a NUL",
    "basic scheme",
    "token scheme",
    "no scheme",
    "scheme glued",
    "bearer in another header",
    "token header",
    "raw token as cookie",
    "truncated cookie",
    "extended cookie",
    "cookie of another name",
    "cookie name prefix",
    "cookie named token",
    "token in user agent",
    "token as referer",
]
PROTECTED = ["/", "/api/rooms", "/api/invite", "/echo", "/static/app.js", "/nonexistent"]


@pytest.mark.parametrize("case", CREDENTIAL_CASES)
def test_bad_credentials_are_refused(target: Target, case: str) -> None:
    extra = bad_credentials(target)[case]
    for path in PROTECTED:
        response = request(target.port, path, [host_header(target.port), *extra])
        assert response.status == 401, path
        assert json.loads(response.body) == {"error": "unauthorized"}
    headers = [host_header(target.port), *extra]
    assert ws_handshake(target.port, "/chat", headers).status == 403
    assert ws_handshake(target.port, "/ws", headers).status == 403


@pytest.mark.parametrize(
    "target_path",
    [
        "/?token={token}",
        "/api/rooms?token={token}",
        "/api/rooms?access_token={token}",
        "/static/app.js?token={token}",
        "/join/../?token={token}",
        "/api/rooms;token={token}",
        "/{token}",
    ],
)
def test_tokens_in_query_strings_are_ignored(target: Target, target_path: str) -> None:
    path = target_path.format(token=target.token)
    assert request(target.port, path).status == 401
    assert ws_handshake(target.port, "/chat?token=" + target.token).status == 403


@pytest.mark.parametrize(
    "query",
    [
        "",
        "token=",
        "token={wrong}",
        "token={short}",
        "token={long}",
        "token={token}%00",
        "TOKEN={token}",
    ],
)
def test_join_with_a_bad_token_sets_nothing(target: Target, query: str) -> None:
    token = target.token
    query = query.format(token=token, wrong="A" * len(token), short=token[:-1], long=token + "A")
    response = request(target.port, "/join?" + query)
    assert response.status == 401
    assert response.header("set-cookie") is None


def test_join_with_the_token_sets_a_strict_cookie(target: Target) -> None:
    response = request(target.port, "/join?token=" + target.token)
    assert response.status == 303 and response.header(
        "location",
    ) in ("/", f"http://127.0.0.1:{target.port}/")
    cookie = response.header("set-cookie") or ""
    assert cookie.startswith(target.chat.access.cookie_name + "=")
    assert target.token not in cookie
    for attribute in ["HttpOnly", "SameSite=strict", "Path=/"]:
        assert attribute.lower() in cookie.lower()


@pytest.mark.parametrize(
    "authorization",
    ["Bearer {token}", "bearer {token}", "BEARER {token}", "Bearer  {token}", "Bearer {token} "],
)
def test_bearer_follows_rfc_6750(target: Target, authorization: str) -> None:
    """The scheme is case-insensitive and spaces around the token do not matter (RFC 6750)."""
    headers = [
        host_header(target.port),
        ("Authorization", authorization.format(token=target.token)),
    ]
    assert request(target.port, "/api/rooms", headers).status == 200


# -- path traversal on static files --------------------------------------------------------

TRAVERSALS = [
    "/static/../chat/access.py",
    "/static/../../chatdesk/chat/access.py",
    "/static/../../../../../../../../etc/passwd",
    "/static/%2e%2e/chat/access.py",
    "/static/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/static/..%2fchat%2faccess.py",
    "/static/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/%252e%252e/chat/access.py",
    "/static/%252e%252e%252fchat%252faccess.py",
    "/static/..%252f..%252f..%252f..%252f..%252f..%252fetc%252fpasswd",
    "/static/..\\chat\\access.py",
    "/static/..%5cchat%5caccess.py",
    "/static/..%5c..%5c..%5c..%5c..%5c..%5c..%5cetc%5cpasswd",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/%2Fetc%2Fpasswd",
    "/static/C:%5cWindows%5cwin.ini",
    "/static/app.js%00.txt",
    "/static/%00",
    "/static/..%00/chat/access.py",
    "/static/....//chat/access.py",
    "/static/.../chat/access.py",
    "/static/%c0%ae%c0%ae/chat/access.py",
    "/static/%e0%80%ae%e0%80%ae/chat/access.py",
    "/static/..;/chat/access.py",
    "/static/./../chat/access.py",
    "/static/app.js/../../chat/access.py",
    "/static/%2e%2e%2f%2e%2e%2fdata%2ftoken",
    "/static/../../../../../../proc/self/environ",
    "/static/../../../../../../proc/self/cmdline",
    "/static/",
    "/static",
    "/static/.",
    "/static/..",
    "/static/%2e",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_reads_nothing_outside_the_web_dir(target: Target, path: str) -> None:
    headers = [host_header(target.port), target.bearer]
    response = request(target.port, path, headers)
    if response.status == 307:  # /static -> /static/, on the same host
        assert response.header("location") == f"http://127.0.0.1:{target.port}/static/"
    else:
        assert response.status in (400, 404, 405), response.status
    body = response.body
    assert b"root:" not in body and b"import " not in body and target.token.encode() not in body
    assert b"PATH=" not in body and b"[fonts]" not in body
    assert response.header("x-content-type-options") == "nosniff"


def test_static_files_are_served_with_the_security_headers(target: Target) -> None:
    response = request(target.port, "/static/app.js", [host_header(target.port), target.bearer])
    assert response.status == 200
    assert response.header(
        "content-security-policy",
    ).startswith("default-src 'none'")
    assert response.header("x-frame-options") == "DENY"


# -- oversized, floods, malformed frames ---------------------------------------------------


def test_an_oversized_http_body_is_refused(target: Target) -> None:
    headers = [host_header(target.port), target.bearer, ("Content-Type", "application/json")]
    body = b'{"enabled": true, "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    response = request(target.port, "/api/lan", headers, method="POST", body=body)
    assert response.status == 413
    assert json.loads(response.body) == {"error": "body_too_large"}
    assert_still_serving(target, "big-body")


def test_a_body_of_unknown_length_is_refused(target: Target) -> None:
    head = (
        f"POST /api/lan HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
        f"Authorization: Bearer {target.token}\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    )
    chunked = b'10\r\n{"enabled":true}\r\n0\r\n\r\n'
    response = parse(exchange(target.port, head.encode() + chunked))
    assert response.status == 411
    assert_still_serving(target, "chunked-body")


def test_oversized_headers_are_refused(target: Target) -> None:
    headers = [host_header(target.port), target.bearer, ("X-Pad", "x" * 200_000)]
    try:
        status = request(target.port, "/api/rooms", headers).status
    except (ConnectionError, OSError):
        status = None  # the server may drop the connection instead
    assert status in (200, 400, 413, 431, None)  # any orderly answer; no crash
    assert_still_serving(target, "big-header")


OVERSIZED_FRAMES = {
    "text 64 KiB + 1": "x" * (64 * 1024 + 1),
    "binary 64 KiB + 1": b"x" * (64 * 1024 + 1),
    "text 1 MiB": json.dumps({"type": "send", "text": "x" * (1 << 20)}),
    "json just over": json.dumps({"type": "hello", "nick": "é" * (33 * 1024)}),
}


@pytest.mark.parametrize("case", list(OVERSIZED_FRAMES))
def test_oversized_frames_close_with_1009(target: Target, clients: Any, case: str) -> None:
    client = clients("big")
    client.send(OVERSIZED_FRAMES[case])
    assert client.answer() == 1009
    assert_still_serving(target, f"big-{case.split()[0]}")


def test_a_flood_is_rate_limited_and_harms_no_one(target: Target, clients: Any) -> None:
    flooder = clients("flooder")
    flooder.join("general")
    watcher = clients("watcher")
    watcher.join("general")
    for index in range(300):
        try:
            flooder.send(
                {"type": "send", "room": "general", "text": "spam", "client_id": f"f{index}"}
            )
        except ConnectionClosed:
            break
    answers = []
    while True:
        answer = flooder.answer(timeout=2)
        answers.append(answer)
        if isinstance(answer, int):
            break
        if answer.get("type") == "error" and answer.get("code") == "rate_limited":
            break
    assert any(
        a == 1008 or (isinstance(a, dict) and a.get("code") == "rate_limited") for a in answers
    ), answers
    assert_still_serving(target, "flood")


def test_a_connection_flood_harms_no_one(target: Target) -> None:
    opened = []
    try:
        for _ in range(40):
            try:
                opened.append(open_client(target))
            except Exception:
                break  # refusing beyond a per-address limit is allowed
        assert len(opened) >= 16  # the protocol promises at least 16 per address
    finally:
        for client in opened:
            client.close()
    assert_still_serving(target, "connections")


def deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


MALFORMED_FRAMES: dict[str, tuple[Any, set[Any]]] = {
    # name: (frame, acceptable answers: close codes or error codes)
    "not json": ("hello", {1003}),
    "truncated json": ('{"type": "hello", "nick": "a"', {1003}),
    "trailing comma": ('{"type": "hello",}', {1003}),
    "single quotes": ("{'type': 'hello'}", {1003}),
    "empty text": ("", {1003}),
    "nested 100k arrays (200 KB)": (deeply_nested(100_000), {1009}),
    "65k unclosed arrays": ("[" * 65_000, {1003}),
    "nested 30k arrays": (deeply_nested(30_000), {1003, "bad_request"}),
    "nested 100k objects": ('{"a":' * 10_000 + "1" + "}" * 10_000, {1003, "bad_request"}),
    "nested in a send": (
        '{"type":"send","room":"general","client_id":"n1","text":' + deeply_nested(20_000) + "}",
        {1003, "bad_request"},
    ),
    "invalid utf-8 binary": (b'{"type": "hello", "nick": "\xff\xfe"}', {1007}),
    "overlong utf-8 binary": (b'{"type":"hello","nick":"\xc0\xaf"}', {1007}),
    "lone surrogate escape": ('{"type":"hello","nick":"\\ud800"}', {"bad_request", 1007}),
    "utf-16 binary": ('{"type":"hello","nick":"a"}'.encode("utf-16"), {1007, 1003}),
    "binary not json": (b"\x00\x01\x02", {1003}),
    "json array": ("[1, 2, 3]", {"bad_request"}),
    "json number": ("42", {"bad_request"}),
    "json string": ('"hello"', {"bad_request"}),
    "json null": ("null", {"bad_request"}),
    "json true": ("true", {"bad_request"}),
    "huge number": ("1" + "0" * 5000, {"bad_request", 1003}),
    "NaN field": ('{"type":"join","room":"general","after":NaN}', {"bad_request", 1003}),
    "Infinity field": ('{"type":"join","room":"general","after":Infinity}', {"bad_request", 1003}),
    "no type": ({"nick": "a"}, {"bad_request"}),
    "type number": ({"type": 5}, {"bad_request"}),
    "type null": ({"type": None}, {"bad_request"}),
    "type list": ({"type": ["send"]}, {"bad_request"}),
    "unknown type": ({"type": "rm -rf"}, {"bad_request"}),
    "type with case": (
        {"type": "SEND", "room": "general", "text": "x", "client_id": "c"},
        {"bad_request"},
    ),
    "second hello": ({"type": "hello", "nick": "again"}, {"bad_request"}),
    "send not joined": (
        {"type": "send", "room": "random", "text": "x", "client_id": "nj"},
        {"not_joined"},
    ),
    "send text too long": (
        {"type": "send", "room": "general", "text": "x" * 4001, "client_id": "tl"},
        {"too_long"},
    ),
    "send text object": (
        {"type": "send", "room": "general", "text": {"a": 1}, "client_id": "to"},
        {"bad_request"},
    ),
    "send empty text": (
        {"type": "send", "room": "general", "text": "", "client_id": "et"},
        {"bad_request"},
    ),
    "send no client_id": ({"type": "send", "room": "general", "text": "x"}, {"bad_request"}),
    "send long client_id": (
        {"type": "send", "room": "general", "text": "x", "client_id": "c" * 65},
        {"bad_request"},
    ),
    "join bad room": ({"type": "join", "room": "../etc"}, {"bad_request"}),
    "join room upper": ({"type": "join", "room": "General"}, {"bad_request"}),
    "join room long": ({"type": "join", "room": "a" * 33}, {"bad_request"}),
    "join after negative": ({"type": "join", "room": "general", "after": -1}, {"bad_request"}),
    "join after float": ({"type": "join", "room": "general", "after": 1.5}, {"bad_request"}),
    "join after string": ({"type": "join", "room": "general", "after": "1"}, {"bad_request"}),
    "join after bool": ({"type": "join", "room": "general", "after": True}, {"bad_request"}),
    "join after 2**64": ({"type": "join", "room": "general", "after": 2**64}, {"bad_request"}),
    "nick control chars": ({"type": "nick", "nick": "a\x00b"}, {"bad_request"}),
    "nick blank": ({"type": "nick", "nick": "   "}, {"bad_request"}),
    "nick too long": ({"type": "nick", "nick": "n" * 33}, {"bad_request"}),
    "nick object": ({"type": "nick", "nick": {"x": 1}}, {"bad_request"}),
    "typing not joined": ({"type": "typing", "room": "random"}, {"not_joined"}),
    "leave not joined": ({"type": "leave", "room": "random"}, {"not_joined"}),
}


@pytest.mark.parametrize("case", list(MALFORMED_FRAMES))
def test_malformed_frames_get_documented_answers(target: Target, clients: Any, case: str) -> None:
    frame, acceptable = MALFORMED_FRAMES[case]
    client = clients("mal")
    client.join("general")
    client.send(frame)
    answer = client.answer()
    if isinstance(answer, int):
        assert answer in acceptable and answer in CLOSE_CODES, answer
    else:
        assert answer["type"] == "error", answer
        assert answer["code"] in acceptable and answer["code"] in ERROR_CODES, answer
        # the connection stays open and usable
        ack = client.post("after a mistake", f"ok-{time.monotonic_ns()}")
        assert ack["id"] > 0


def test_frames_before_hello_are_refused(clients: Any) -> None:
    client = clients()
    for frame in [
        {"type": "join", "room": "general"},
        {"type": "send", "room": "general", "text": "x", "client_id": "early"},
        {"type": "nick", "nick": "x"},
    ]:
        client.send(frame)
        answer = client.answer()
        assert isinstance(answer, dict) and answer["code"] == "hello_first", answer
    assert client.hello("late")["type"] == "welcome"


def test_the_server_survived_every_table(target: Target) -> None:
    assert_still_serving(target, "end")
