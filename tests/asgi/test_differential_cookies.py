"""Set-Cookie headers on Starlette 1.10 and on chatdesk.asgi: byte for byte the same.

`set_cookie` and `delete_cookie` are called with the same arguments on a response of each
toolkit and the headers compared, errors included (which exception, and its message). The clock
is fixed, since a deleted cookie's Expires is "now". Then the same app deletes cookies on real
uvicorn and the raw Set-Cookie bytes the client receives are compared.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette import applications, routing
from starlette import responses as starlette_responses

import chatdesk.asgi as tk
from tests.support.server import serve

RESPONSES = {"starlette": starlette_responses.Response, "chatdesk": tk.Response}

DELETE_CASES: list[dict[str, Any]] = [
    {},
    {"path": "/sub"},
    {"path": "/"},
    {"domain": "example.com"},
    {"secure": True},
    {"httponly": True},
    {"samesite": "strict"},
    {"samesite": "none", "secure": True},
    {"samesite": "Lax"},
    {"samesite": None},
    {"samesite": "bogus"},
    {"partitioned": False},
    {"partitioned": True},
    {"partitioned": True, "secure": True, "samesite": "none"},
    {"path": "/a", "domain": "b.example", "secure": True, "httponly": True, "samesite": "strict"},
    {
        "path": "/a",
        "domain": "b.example",
        "secure": True,
        "httponly": True,
        "samesite": None,
        "partitioned": False,
    },
]

SET_CASES: list[dict[str, Any]] = [
    {"value": "v"},
    {"value": "needs quoting; yes"},
    {"value": "v", "max_age": 10, "httponly": True},
    {"value": "v", "expires": 60},
    {"value": "v", "expires": "Thu, 01 Jan 2099 00:00:00 GMT"},
    {"value": "v", "expires": datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)},
    {"value": "v", "path": None, "samesite": None},
    {"value": "v", "partitioned": True},
]


def cookie_headers(name: str, method: str, key: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
    """The set-cookie header values a call adds, or the exception it raises."""
    response = RESPONSES[name]()
    try:
        getattr(response, method)(key, **kwargs)
    except Exception as exc:
        return ("raised", (type(exc).__name__, str(exc)))
    return ("ok", [value for header, value in response.raw_headers if header == b"set-cookie"])


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # http.cookies formats an integer Expires from time.time().
    monkeypatch.setattr(time, "time", lambda: 1_750_000_000.25)


@pytest.mark.usefixtures("fixed_clock")
@pytest.mark.parametrize("kwargs", DELETE_CASES, ids=repr)
def test_delete_cookie_matches_starlette(kwargs: dict[str, Any]) -> None:
    expected = cookie_headers("starlette", "delete_cookie", "session", kwargs)
    assert cookie_headers("chatdesk", "delete_cookie", "session", kwargs) == expected


@pytest.mark.usefixtures("fixed_clock")
@pytest.mark.parametrize("kwargs", SET_CASES, ids=repr)
def test_set_cookie_matches_starlette(kwargs: dict[str, Any]) -> None:
    expected = cookie_headers("starlette", "set_cookie", "session", kwargs)
    assert cookie_headers("chatdesk", "set_cookie", "session", kwargs) == expected


def build(name: str) -> Any:
    """An app that deletes the cookie `c` with the keyword arguments given as JSON in `?args=`."""
    if name == "starlette":
        App, Route = applications.Starlette, routing.Route
        PlainTextResponse = starlette_responses.PlainTextResponse
    else:
        App, Route, PlainTextResponse = tk.App, tk.Route, tk.PlainTextResponse

    async def delete(request: Any) -> Any:
        response = PlainTextResponse("deleted")
        response.delete_cookie("c", **json.loads(request.query_params["args"]))
        return response

    return App(routes=[Route("/delete", delete)])


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    with serve(build("starlette")) as oracle, serve(build("chatdesk")) as ours:
        yield {"starlette": oracle.url, "chatdesk": ours.url}


def received(url: str, kwargs: dict[str, Any]) -> tuple[int, list[bytes]]:
    response = httpx.get(url + "/delete", params={"args": json.dumps(kwargs)}, timeout=5)
    cookies = [value for name, value in response.headers.raw if name.lower() == b"set-cookie"]
    return response.status_code, cookies


WIRE_CASES = [case for case in DELETE_CASES if case.get("samesite") != "bogus"]


@pytest.mark.parametrize("kwargs", WIRE_CASES, ids=repr)
def test_deleted_cookie_headers_match_starlette_on_the_wire(
    servers: dict[str, str], kwargs: dict[str, Any]
) -> None:
    # Expires is the server's "now": retry until both answers fall within the same second.
    for _ in range(20):
        before = received(servers["starlette"], kwargs)
        actual = received(servers["chatdesk"], kwargs)
        after = received(servers["starlette"], kwargs)
        if before == after:
            break
    assert actual == before
