"""The guard on a real uvicorn: exact Host and Origin, authentication, security headers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from chatdesk.chat.access import Access
from chatdesk.chat.guard import CSP, Guard
from tests.lan.rawhttp import host_header, request, ws_handshake
from tests.support.server import RunningServer, accept_lifespan, serve


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Says who the guard let in; its own weak CSP must be replaced."""
    if scope["type"] == "lifespan":
        await accept_lifespan(receive, send)
        return
    session = scope.get("chatdesk.session")
    role = session.role if session else "anonymous"
    if scope["type"] == "http":
        headers = [(b"content-type", b"text/plain"), (b"Content-Security-Policy", b"default-src *")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": f"{role} {scope['path']}".encode()})
    else:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": role})
        await send({"type": "websocket.close", "code": 1000})


@pytest.fixture
def access(tmp_path: Path) -> Access:
    return Access(tmp_path, owner_key="owner-key-for-tests-0123456789")


@pytest.fixture
def guard(access: Access) -> Guard:
    return Guard(tiny_app, access)


@pytest.fixture
def server(guard: Guard) -> Iterator[RunningServer]:
    with serve(guard) as running:
        yield running


def auth(access: Access) -> dict[str, str]:
    return {"Authorization": f"Bearer {access.token}"}


def assert_security_headers(headers: Any) -> None:
    get = headers.get if hasattr(headers, "get") else headers.header
    assert get("x-content-type-options") == "nosniff"
    assert get("referrer-policy") == "no-referrer"
    assert get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in get("content-security-policy")


# -- Host ----------------------------------------------------------------------------------


def test_loopback_hosts_with_the_port_are_accepted(server: RunningServer, access: Access) -> None:
    bearer = ("Authorization", f"Bearer {access.token}")
    for name in ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"]:
        response = request(server.port, "/x", [host_header(server.port, name), bearer])
        assert response.status == 200, name
        assert response.body == b"host /x"


@pytest.mark.parametrize(
    "host",
    [
        "evil.com:{port}",
        "localhost.evil.com:{port}",
        "127.0.0.1.evil.com:{port}",
        "127.0.0.1:{port}.evil.com",
        "127.0.0.1",
        "localhost",
        "127.0.0.1:1{port}",
        "127.0.0.2:{port}",
        "0.0.0.0:{port}",
        "[::ffff:127.0.0.1]:{port}",
        "localhost.:{port}",
        "xlocalhost:{port}",
        "127.0.0.1 :{port}",
        "127.0.0.1:{port} x",
        "evil.com:{port} ",
        "",
    ],
)
def test_other_hosts_are_refused(server: RunningServer, access: Access, host: str) -> None:
    bearer = ("Authorization", f"Bearer {access.token}")
    response = request(server.port, "/healthz", [("Host", host.format(port=server.port)), bearer])
    assert response.status == 403
    assert_security_headers(response)
    assert json.loads(response.body) == {"error": "host_not_allowed"}


@pytest.mark.parametrize("padding", [" ", "\t", " \t "])
def test_the_guard_judges_the_host_the_server_trimmed(access: Access, padding: str) -> None:
    # RFC 9110 section 5.5: a field value has no leading or trailing whitespace, and uvicorn
    # strips it. The guard then sees this machine's exact Host, and accepts it.
    guard = Guard(tiny_app, access)
    seen: list[bytes] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.extend(value for key, value in scope["headers"] if key == b"host")
        await guard(scope, receive, send)

    bearer = ("Authorization", f"Bearer {access.token}")
    with serve(recording) as running:
        host = f"127.0.0.1:{running.port}"
        response = request(running.port, "/x", [("Host", f"{padding}{host}{padding}"), bearer])
    assert seen == [host.encode()]
    assert response.status == 200
    assert response.body == b"host /x"


@pytest.mark.parametrize("padding", [" ", "\t"])
def test_the_guard_itself_trims_nothing(access: Access, padding: str) -> None:
    # A server that passed whitespace through would get a refusal, not a lenient match.
    guard = Guard(tiny_app, access)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", f"127.0.0.1:8000{padding}".encode()),
            (b"authorization", f"Bearer {access.token}".encode()),
        ],
    }
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 403


def test_a_missing_or_doubled_host_is_refused(server: RunningServer, access: Access) -> None:
    bearer = ("Authorization", f"Bearer {access.token}")
    assert request(server.port, "/healthz", [bearer]).status == 403
    doubled = [host_header(server.port), host_header(server.port, "evil.com"), bearer]
    assert request(server.port, "/healthz", doubled).status == 403
    same_twice = [host_header(server.port), host_header(server.port), bearer]
    assert request(server.port, "/healthz", same_twice).status == 403


def test_lan_hosts_are_accepted_only_once_set(
    server: RunningServer, guard: Guard, access: Access
) -> None:
    bearer = ("Authorization", f"Bearer {access.token}")
    names = ["192.0.2.10", "myhost.local", "fd00::10"]
    spelled = ["192.0.2.10", "MyHost.local", "[fd00::10]"]
    for name in spelled:
        assert request(server.port, "/", [host_header(server.port, name), bearer]).status == 403
    guard.set_lan_hosts(names)
    for name in spelled:
        response = request(server.port, "/", [host_header(server.port, name), bearer])
        assert response.status == 200, name
        assert response.body == b"host /"  # the peer is loopback, whatever the Host says
    for name in ["myhost", "myhost.local.evil", "192.0.2.1", "192.0.2.100", "fd00::10"]:
        assert request(server.port, "/", [host_header(server.port, name), bearer]).status == 403
    guard.set_lan_hosts(())
    assert (
        request(server.port, "/", [host_header(server.port, "myhost.local"), bearer]).status == 403
    )


def test_the_port_comes_from_the_server(guard: Guard) -> None:
    assert b"localhost:8123" in guard.allowed_hosts(8123)
    assert b"localhost:80" not in guard.allowed_hosts(8123)
    assert guard.allowed_hosts(8123) is guard.allowed_hosts(8123)  # computed once per port


# -- authentication ------------------------------------------------------------------------


def test_healthz_and_join_need_no_credentials(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/healthz").text == "anonymous /healthz"
    assert httpx.get(f"{server.url}/join").text == "anonymous /join"
    assert httpx.head(f"{server.url}/join").status_code == 200
    assert httpx.post(f"{server.url}/join").status_code == 401
    assert httpx.get(f"{server.url}/join/").status_code == 401
    assert httpx.get(f"{server.url}/healthz/x").status_code == 401


def test_public_routes_still_see_a_session(server: RunningServer, access: Access) -> None:
    assert httpx.get(f"{server.url}/join", headers=auth(access)).text == "host /join"


def test_unauthenticated_programs_get_json_401(server: RunningServer, access: Access) -> None:
    response = httpx.get(f"{server.url}/api/rooms?token={access.token}")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_security_headers(response.headers)


def test_unauthenticated_browsers_get_a_friendly_page(server: RunningServer) -> None:
    response = httpx.get(server.url + "/", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "invite link" in response.text
    assert "<script" not in response.text
    assert_security_headers(response.headers)
    # the page's only inline CSS is allowed by its hash, and nothing else inline is
    style = re.search(r"<style>(.*?)</style>", response.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    csp = response.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}';" in csp
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp


@pytest.mark.parametrize(
    ("site", "mode", "reloads"),
    [
        ("cross-site", "navigate", True),  # a link on another site: the cookie was withheld
        ("same-origin", "navigate", False),  # the reload itself: no loop
        ("none", "navigate", False),  # typed or opened from outside the browser
        ("same-site", "navigate", False),
        ("cross-site", "no-cors", False),  # not a page load
    ],
)
def test_a_page_load_from_another_site_is_retried_once_from_this_origin(
    server: RunningServer, site: str, mode: str, reloads: bool
) -> None:
    headers = {"Accept": "text/html", "Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode}
    response = httpx.get(server.url + "/", headers=headers)
    assert response.status_code == 401
    assert "invite link" in response.text
    assert ("<meta http-equiv=refresh content=0>" in response.text) is reloads


def test_cookies_authenticate(server: RunningServer, access: Access) -> None:
    value = access.join(access.token)
    cookies = {access.cookie_name: value or ""}
    assert httpx.get(server.url + "/", cookies=cookies).text == "host /"
    assert (
        httpx.get(server.url + "/", cookies={access.cookie_name: access.token}).status_code == 401
    )


def test_responses_carry_the_security_headers(server: RunningServer, access: Access) -> None:
    response = httpx.get(server.url + "/", headers=auth(access))
    assert response.status_code == 200
    assert response.headers.get_list("content-security-policy") == [CSP]  # the app's is replaced
    assert_security_headers(response.headers)


def test_a_rotation_locks_the_old_token_out(server: RunningServer, access: Access) -> None:
    old = auth(access)
    access.rotate()
    assert httpx.get(server.url + "/", headers=old).status_code == 401
    assert httpx.get(server.url + "/", headers=auth(access)).status_code == 200


def test_cross_origin_posts_are_refused(server: RunningServer, access: Access) -> None:
    url = f"{server.url}/api/token/rotate"
    same = {**auth(access), "Origin": server.url}
    assert httpx.post(url, headers=same).status_code == 200
    assert httpx.post(url, headers=auth(access)).status_code == 200  # programs send no Origin
    for origin in ["http://localhost:1", "null", f"http://127.0.0.1:{server.port}.evil.com"]:
        response = httpx.post(url, headers={**auth(access), "Origin": origin})
        assert response.status_code == 403, origin
    assert (
        httpx.get(server.url + "/", headers={**auth(access), "Origin": "null"}).status_code == 200
    )


# -- WebSocket -----------------------------------------------------------------------------


def test_websockets_need_credentials(server: RunningServer, access: Access) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.ws_url}/chat", open_timeout=5).close()
    assert refused.value.response.status_code == 403
    assert refused.value.response.headers["x-frame-options"] == "DENY"
    with connect(f"{server.ws_url}/chat", additional_headers=auth(access), open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "host"


def test_websocket_origin_must_match_the_host(server: RunningServer, access: Access) -> None:
    url = f"{server.ws_url}/chat"
    with connect(url, origin=server.url, additional_headers=auth(access), open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "host"
    for origin in [
        f"http://localhost:{server.port}",
        f"https://127.0.0.1:{server.port}",
        f"http://127.0.0.1:{server.port}.evil.com",
        f"http://127.0.0.1:{server.port + 1}",
        "null",
    ]:
        headers = [host_header(server.port), ("Origin", origin), *auth(access).items()]
        assert ws_handshake(server.port, "/chat", headers).status == 403, origin


def test_websocket_host_is_checked(server: RunningServer, access: Access) -> None:
    headers = [host_header(server.port, "evil.com"), *auth(access).items()]
    assert ws_handshake(server.port, "/chat", headers).status == 403
    assert ws_handshake(server.port, "/chat", [host_header(server.port)]).status == 403
    ok = [host_header(server.port), *auth(access).items()]
    assert ws_handshake(server.port, "/chat", ok).status == 101


def test_without_the_denial_extension_a_websocket_is_closed(access: Access) -> None:
    guard = Guard(tiny_app, access)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/chat",
        "headers": [(b"host", b"127.0.0.1:9")],
        "server": ("127.0.0.1", 9),
        "client": ("127.0.0.1", 5),
    }
    asyncio.run(guard(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_refusals_are_logged_without_secrets(
    server: RunningServer, access: Access, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatdesk.security")
    value = access.join(access.token) or ""
    request(server.port, f"/x?token={access.token}", [host_header(server.port, "evil.com")])
    request(
        server.port,
        f"/x?token={access.token}",
        [host_header(server.port), ("Cookie", f"{access.cookie_name}={value}x")],
    )
    headers = [host_header(server.port), ("Origin", "null"), ("Authorization", "Bearer " + value)]
    ws_handshake(server.port, f"/chat?token={access.token}", headers)
    messages = [r.getMessage() for r in caplog.records if r.name == "chatdesk.security"]
    assert len(messages) == 3, messages
    assert "host not allowed" in messages[0] and "/x" in messages[0]
    assert "unauthorized" in messages[1]
    assert "origin not allowed" in messages[2]
    for message in messages:
        assert access.token not in message and value not in message and "token=" not in message
