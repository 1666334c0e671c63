"""The same app on Starlette 1.10 (the oracle) and on chatdesk.asgi: the same bytes that matter.

Both run on real uvicorn servers; every case is sent to both on a fresh connection, and status,
the headers that carry meaning, the body, WebSocket frames and close codes are compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import RunningServer, serve

from .helpers import raw_request, wait_for, ws_session
from .sample_app import build, make_static_dir, toolkit

COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "etag",
    "last-modified",
    "allow",
    "x-handler",
    "x-tea",
    "content-range",
    "accept-ranges",
    "content-disposition",
    "set-cookie",
)


class Served:
    def __init__(self, server: RunningServer, closes: list[tuple[str, int]]) -> None:
        self.server = server
        self.closes = closes
        # One client (building one is slow); every request asks for its own connection.
        self.client = httpx.Client(base_url=server.url, timeout=5, headers={"connection": "close"})


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_static_dir(tmp_path_factory.mktemp("differential"))


@pytest.fixture(scope="module")
def servers(static_dir: Path) -> Iterator[dict[str, Served]]:
    oracle_closes: list[tuple[str, int]] = []
    chatdesk_closes: list[tuple[str, int]] = []
    oracle_app = build(toolkit("starlette"), static_dir, oracle_closes)
    chatdesk_app = build(toolkit("chatdesk"), static_dir, chatdesk_closes)
    with serve(oracle_app) as oracle, serve(chatdesk_app) as ours:
        served = {
            "starlette": Served(oracle, oracle_closes),
            "chatdesk": Served(ours, chatdesk_closes),
        }
        yield served
        for each in served.values():
            each.client.close()


def observe(served: Served, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """What a client sees on a fresh connection, with the server's address replaced by BASE."""
    server = served.server
    response = served.client.request(method, path, **kwargs)
    base = server.url.encode()
    headers = {
        name: ";".join(response.headers.get_list(name)).replace(server.url, "BASE")
        for name in COMPARED_HEADERS
        if name in response.headers
    }
    if "allow" in headers:
        # A route-level 405 joins a set: its order is arbitrary, so compare the verbs as a set.
        headers["allow"] = ", ".join(sorted(headers["allow"].split(", ")))
    return {
        "status": response.status_code,
        "headers": headers,
        "body": response.content.replace(base, b"BASE"),
    }


HTTP_CASES: list[tuple[str, str, dict[str, Any]]] = [
    *[(verb, "/verbs", {}) for verb in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")],
    ("OPTIONS", "/verbs", {}),
    ("QUERY", "/verbs", {}),
    ("TRACE", "/verbs", {}),
    ("DISPATCH", "/verbs", {}),
    ("DISPATCH_HELPER", "/verbs", {}),
    ("get", "/verbs", {}),
    ("GET", "/post-only", {}),
    ("HEAD", "/post-only", {}),
    ("POST", "/post-only", {}),
    ("HEAD", "/with-head", {}),
    ("GET", "/with-head", {}),
    ("POST", "/disabled", {}),
    ("PUT", "/disabled", {}),
    ("POST", "/sync", {}),
    *[
        ("GET", f"/raises?kind={kind}", {})
        for kind in ("403", "404", "400", "500", "204", "304", "599", "detail", "value", "dict")
    ],
    ("GET", "/raises?kind=nan", {}),
    ("GET", "/restricted", {}),
    ("POST", "/restricted", {}),
    ("HEAD", "/restricted", {}),
    ("POST", "/restricted-multi", {}),
    ("DELETE", "/restricted-multi", {}),
    ("GET", "/params/str/hello%20world", {}),
    ("GET", "/params/str/a%2Fb", {}),
    ("GET", "/params/int/007", {}),
    ("GET", "/params/int/-1", {}),
    ("GET", "/params/int/4.5", {}),
    ("GET", "/params/float/3", {}),
    ("GET", "/params/float/2.50", {}),
    ("GET", "/params/float/1e5", {}),
    ("GET", "/params/path/a/b//c.txt", {}),
    ("GET", "/params/path/", {}),
    ("GET", f"/params/uuid/{uuid.UUID(int=7)}", {}),
    ("GET", f"/params/uuid/{uuid.UUID(int=7).hex.upper()}", {}),
    ("GET", "/params/uuid/not-a-uuid", {}),
    ("GET", "/params/two/x/5", {}),
    ("GET", "/order/special", {}),
    ("GET", "/order/other", {}),
    ("GET", "/request/nm?a=1&a=2&b=%20x&empty=&flag", {"headers": {"x-rep": "1"}}),
    (
        "GET",
        "/request/cookies",
        {"headers": {"cookie": 'a=1; b=two; c="quoted"; =bare; d'}},
    ),
    ("POST", "/request/body", {"content": b"\x00binary body" * 100}),
    ("POST", "/request/body?kind=json", {"content": '{"k": ["v", 1, null]}'}),
    ("POST", "/request/body?kind=json", {"content": "{not json"}),
    ("POST", "/request/body?kind=stream", {"content": b"streamed"}),
    ("GET", "/function", {}),
    ("HEAD", "/function", {}),
    ("POST", "/function", {}),
    ("GET", "/sync-function", {}),
    ("GET", "/same", {}),
    ("POST", "/same", {}),
    ("DELETE", "/same", {}),
    *[
        ("GET", f"/responses/{kind}", {})
        for kind in (
            "json",
            "json-none",
            "csv",
            "xml",
            "bare",
            "explicit",
            "latin",
            "html",
            "201",
            "204",
            "304",
            "length",
            "memoryview",
            "redirect",
            "redirect-301",
            "stream",
            "file",
            "file-named",
            "file-plain-name",
            "file-missing",
            "file-unknown",
        )
    ],
    ("HEAD", "/responses/file", {}),
    ("GET", "/responses/file", {"headers": {"range": "bytes=0-9"}}),
    ("GET", "/responses/file", {"headers": {"range": "bytes=-5"}}),
    ("GET", "/responses/file", {"headers": {"range": "bytes=200-"}}),
    ("GET", "/responses/file", {"headers": {"range": "bytes=5000-6000"}}),
    ("GET", "/responses/file", {"headers": {"range": "items=0-1"}}),
    ("GET", "/responses/file", {"headers": {"range": "bytes=9-3"}}),
    ("HEAD", "/responses/file", {"headers": {"range": "bytes=0-9"}}),
    ("GET", "/slash-target/", {}),
    ("GET", "/slash-target/?q=1", {}),
    ("POST", "/slash-target/", {}),
    ("HEAD", "/slash-target/", {}),
    ("GET", "/slash-dir", {}),
    ("GET", "/nope/", {}),
    ("GET", "/nope", {}),
    ("GET", "/sub", {}),
    ("GET", "/sub/items/3", {}),
    ("GET", "/sub/items/x", {}),
    ("GET", "/ep/anything/here", {}),
    ("DELETE", "/ep", {}),
    ("GET", "/ws/text", {}),
    ("GET", "/static/hello.txt", {}),
    ("HEAD", "/static/hello.txt", {}),
    ("POST", "/static/hello.txt", {}),
    ("GET", "/static/style.css", {}),
    ("GET", "/static/data.json", {}),
    ("GET", "/static/data.unknownext", {}),
    ("GET", "/static/sub", {}),
    ("GET", "/static/missing.txt", {}),
    ("GET", "/static/escape.txt", {}),
    ("GET", "/static/inside.txt", {}),
    ("GET", "/static/%2e%2e/secret.txt", {}),
    ("GET", "/static/sub/%2e%2e/%2e%2e/secret.txt", {}),
    ("GET", "/static/%2Fetc%2Fpasswd", {}),
    ("GET", "/static/..%5Csecret.txt", {}),
    ("GET", "/static/" + "a" * 300, {}),
    ("GET", "/static/hello.txt", {"headers": {"if-none-match": "*"}}),
    ("GET", "/static/hello.txt", {"headers": {"if-none-match": '"nope"'}}),
    (
        "GET",
        "/static/hello.txt",
        {"headers": {"if-modified-since": "Thu, 01 Jan 2099 00:00:00 GMT"}},
    ),
    (
        "GET",
        "/static/hello.txt",
        {"headers": {"if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT"}},
    ),
    ("GET", "/static/hello.txt", {"headers": {"range": "bytes=2-4"}}),
    ("GET", "/site/", {}),
    ("GET", "/site/sub", {}),
    ("GET", "/site/sub/", {}),
    ("GET", "/site/sub/page.html", {}),
    ("GET", "/site/missing", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), HTTP_CASES)
def test_http_matches_starlette(
    servers: dict[str, Served], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    expected = observe(servers["starlette"], method, path, **kwargs)
    actual = observe(servers["chatdesk"], method, path, **kwargs)
    assert actual == expected


def test_conditional_requests_match_starlette(servers: dict[str, Served]) -> None:
    etag = observe(servers["starlette"], "GET", "/static/hello.txt")["headers"]["etag"]
    modified = observe(servers["starlette"], "GET", "/static/hello.txt")["headers"]["last-modified"]
    for headers in (
        {"if-none-match": etag},
        {"if-none-match": f'"x", W/{etag}'},
        {"if-modified-since": modified},
        {"if-none-match": '"other"', "if-modified-since": modified},
        {"range": "bytes=0-3", "if-range": etag},
        {"range": "bytes=0-3", "if-range": '"stale"'},
    ):
        expected = observe(servers["starlette"], "GET", "/static/hello.txt", headers=headers)
        actual = observe(servers["chatdesk"], "GET", "/static/hello.txt", headers=headers)
        assert actual == expected, headers
        expected = observe(servers["starlette"], "GET", "/responses/file", headers=headers)
        actual = observe(servers["chatdesk"], "GET", "/responses/file", headers=headers)
        assert actual == expected, headers


RAW_PATHS = [
    "/static/../secret.txt",
    "/static/sub/../../secret.txt",
    "//etc/passwd",
    "/static//etc/passwd",
    "/static/%00",
    "/static/hello.txt%00.css",
    "/static/..\\secret.txt",
    "/static/%5C..%5Csecret.txt",
]


@pytest.mark.parametrize("path", RAW_PATHS)
def test_raw_paths_match_starlette(servers: dict[str, Served], path: str) -> None:
    expected = raw_request(servers["starlette"].server.port, f"GET {path} HTTP/1.1")
    actual = raw_request(servers["chatdesk"].server.port, f"GET {path} HTTP/1.1")
    assert (actual.status, actual.body) == (expected.status, expected.body)
    assert b"top secret" not in actual.body


WS_CASES: list[tuple[str, dict[str, Any]]] = [
    ("/ws/text", {"send": ["hi", ""], "expect": 2}),
    ("/ws/text", {"send": [b"bin"], "close": None}),
    ("/ws/bytes", {"send": [b"data", b""], "expect": 2}),
    ("/ws/bytes", {"send": ["text"], "close": None}),
    ("/ws/json", {"send": ['{"a": [1, 2]}', b'"bin"', "3.5", "null"], "expect": 4}),
    ("/ws/json", {"send": ["{bad"], "close": None}),
    ("/ws/none", {"send": ["t", b"b", "", b""], "expect": 4}),
    ("/ws/text", {"send": ["bye"], "expect": 1, "close": (4001, "bye")}),
    ("/ws/closer", {"send": ["close"], "close": None}),
    ("/ws/closer", {"send": ["close-then-send"], "close": None}),
    ("/ws/closer", {"send": ["raise"], "close": None}),
    ("/ws/closer", {"send": ["http"], "close": None}),
    ("/ws/closer", {"send": ["ws-exception"], "close": None}),
    ("/ws/closer", {"send": ["json"], "expect": 2}),
    ("/ws/deny", {}),
    ("/ws/deny?kind=raise", {}),
    ("/ws/deny?kind=http", {}),
    ("/ws/nowhere", {}),
    ("/verbs", {}),
    ("/ws/function", {"send": ["shout"], "expect": 1, "close": None}),
    (
        "/ws/protocols/lobby?q=1",
        {
            "expect": 1,
            "subprotocols": ["chat.v1", "chat.v2"],
            "additional_headers": {"x-h": "hv", "cookie": "c=cv"},
        },
    ),
]


def ws_observe(served: Served, path: str, options: dict[str, Any]) -> dict[str, Any]:
    outcome = ws_session(served.server.ws_url + path, **options)
    return {
        "frames": outcome.frames,
        "close": (outcome.close_code, outcome.close_reason),
        "rejected": (outcome.rejected_status, outcome.rejected_body),
        "subprotocol": outcome.subprotocol,
        "extra": outcome.response_headers.get("x-ws-extra"),
    }


@pytest.mark.parametrize(("path", "options"), WS_CASES)
def test_websocket_matches_starlette(
    servers: dict[str, Served], path: str, options: dict[str, Any]
) -> None:
    expected = ws_observe(servers["starlette"], path, options)
    actual = ws_observe(servers["chatdesk"], path, options)
    assert actual == expected


CLOSE_CODE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("/ws/text", {"close": (4001, "bye")}),
    ("/ws/text", {"close": (1000, "")}),
    ("/ws/text", {"send": [b"wrong"], "close": None}),
    ("/ws/json", {"send": ["{bad"], "close": None}),
    ("/ws/closer", {"send": ["close"], "close": None}),
    ("/ws/closer", {"send": ["raise"], "close": None}),
    ("/ws/closer", {"send": ["close-then-send"], "close": None}),
    ("/ws/deny", {}),
]


@pytest.mark.parametrize(("path", "options"), CLOSE_CODE_CASES)
def test_on_disconnect_codes_match_starlette(
    servers: dict[str, Served], path: str, options: dict[str, Any]
) -> None:
    seen = {}
    for name, served in servers.items():
        served.closes.clear()
        ws_session(served.server.ws_url + path, **options)
        expected_entries = 2 if "close-then-send" in options.get("send", []) else 1
        seen[name] = sorted(
            wait_for(lambda s=served, n=expected_entries: len(s.closes) >= n and s.closes)
        )
    assert seen["chatdesk"] == seen["starlette"]
