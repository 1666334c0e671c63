"""URL, QueryParams, Headers, MutableHeaders, State: the value types, without a server."""

from __future__ import annotations

import pytest

from chatdesk.asgi import URL, Headers, QueryParams
from chatdesk.asgi.datastructures import MutableHeaders, State, URLPath


def test_url_components_and_replace() -> None:
    url = URL("https://user:pw@example.com:8443/a/b?x=1&y=2#frag")
    assert (url.scheme, url.hostname, url.port, url.path) == ("https", "example.com", 8443, "/a/b")
    assert (url.query, url.fragment, url.username, url.password) == (
        "x=1&y=2",
        "frag",
        "user",
        "pw",
    )
    assert url.is_secure
    assert str(url.replace(path="/c", fragment="")) == "https://user:pw@example.com:8443/c?x=1&y=2"
    assert str(url.replace(port=9000, hostname="h")) == "https://user:pw@h:9000/a/b?x=1&y=2#frag"
    assert "********" in repr(url)
    assert url.include_query_params(z="3").query == "x=1&y=2&z=3"
    assert url.remove_query_params("x").query == "y=2"
    assert url.replace_query_params(a="b").query == "a=b"
    assert url == str(url)


def test_url_from_scope() -> None:
    scope = {
        "type": "http",
        "scheme": "http",
        "server": ("::1", 80),
        "path": "/a?b#c",
        "query_string": b"q=1",
        "headers": [],
    }
    assert str(URL(scope=scope)) == "http://[::1]/a%3Fb%23c?q=1"
    scope["headers"] = [(b"host", b"[::1]:99999")]
    assert str(URL(scope=scope)) == "http://[::1]/a%3Fb%23c?q=1"
    scope["headers"] = [(b"host", b"chat.local:8000")]
    assert str(URL(scope=scope)) == "http://chat.local:8000/a%3Fb%23c?q=1"


def test_url_path_makes_absolute_urls() -> None:
    path = URLPath("/ws", protocol="websocket")
    assert str(path.make_absolute_url("https://h/app/")) == "wss://h/app/ws"
    assert str(URLPath("//x").make_absolute_url("http://h")) == "http://h/%2Fx"


def test_query_params_multi_values() -> None:
    params = QueryParams(b"a=1&a=2&b=%20x&empty=&flag")
    assert params["a"] == "2" and params.getlist("a") == ["1", "2"]
    assert params["b"] == " x" and params["empty"] == "" and "flag" in params
    assert params.multi_items() == [
        ("a", "1"),
        ("a", "2"),
        ("b", " x"),
        ("empty", ""),
        ("flag", ""),
    ]
    assert str(QueryParams([("k", "v w")])) == "k=v+w"
    assert QueryParams({"a": "1"}) == QueryParams("a=1")


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    headers = Headers(raw=[(b"x-rep", b"1"), (b"content-type", b"text/plain"), (b"x-rep", b"2")])
    assert headers["X-Rep"] == "1" and headers.getlist("x-rep") == ["1", "2"]
    assert "Content-Type" in headers and 5 not in headers
    assert headers.keys() == ["x-rep", "content-type", "x-rep"]
    with pytest.raises(KeyError):
        headers["missing"]
    mutable = headers.mutablecopy()
    mutable["X-Rep"] = "3"
    assert mutable.getlist("x-rep") == ["3"]
    mutable.append("x-rep", "4")
    assert mutable.setdefault("x-rep", "5") == "3"
    del mutable["content-type"]
    mutable.add_vary_header("Origin")
    assert mutable.raw == [(b"x-rep", b"3"), (b"x-rep", b"4"), (b"vary", b"Origin")]
    assert headers.getlist("x-rep") == ["1", "2"]
    assert Headers({"A": "b"}) == Headers(raw=[(b"a", b"b")])
    assert isinstance(MutableHeaders(), Headers)


def test_state_is_attribute_access_over_a_dict() -> None:
    backing: dict[str, object] = {}
    state = State(backing)
    state.db = "x"
    assert backing == {"db": "x"} and state.db == "x"
    del state.db
    with pytest.raises(AttributeError, match="no attribute 'db'"):
        state.db  # noqa: B018
