"""The HTTP API over a real server: rooms, history pages, search, errors, auth, extensions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

import chatdesk
from chatdesk.chat.app import Chat, ChatConfig
from tests.chat.conftest import TEST_WS_MAX_SIZE, TIMEOUT, ChatClient, open_socket
from tests.support.server import RunningServer, serve


def store_messages(chat: Chat, room: str, texts: list[str]) -> None:
    """Append `texts` to `room` through the store, before the server starts."""

    async def append_all() -> None:
        await chat.store.create_room(room)
        for n, text in enumerate(texts):
            await chat.store.append(room, "seed", text, f"{room}-{n}")

    asyncio.run(append_all())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chat, RunningServer]]:
    """One served chat for the read-only tests: general has ids 1..25, dev 26..28."""
    chat = Chat(ChatConfig(data_dir=tmp_path_factory.mktemp("api") / "data"))
    try:
        store_messages(chat, "general", [f"message {n}" for n in range(1, 26)])
        store_messages(chat, "dev", ["the quick brown fox", "lazy dogs sleep", "quick quick"])
        with serve(chat.app, ws_max_size=TEST_WS_MAX_SIZE) as server:
            yield chat, server
    finally:
        chat.close()


@pytest.fixture(scope="module")
def api(seeded: tuple[Chat, RunningServer]) -> Iterator[httpx.Client]:
    """An authenticated HTTP client of the seeded chat."""
    chat, server = seeded
    headers = {"Authorization": f"Bearer {chat.access.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=TIMEOUT) as client:
        yield client


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [message["id"] for message in response.json()["messages"]]


def test_healthz_needs_no_credentials(seeded):
    response = httpx.get(f"{seeded[1].url}/healthz", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": chatdesk.__version__}


def test_rooms_list_names_last_ids_and_online(api, seeded):
    chat, server = seeded
    alice = ChatClient(open_socket(server, chat.access.token))
    try:
        alice.hello("alice")
        alice.join("dev")
        rooms = api.get("/api/rooms").json()["rooms"]
    finally:
        alice.close()
    assert rooms == [
        {"name": "general", "last_id": 25, "online": 0},
        {"name": "dev", "last_id": 28, "online": 1},
    ]


def test_messages_without_cursors_are_the_newest_page(api):
    assert ids(api.get("/api/rooms/general/messages", params={"limit": 10})) == list(range(16, 26))
    response = api.get("/api/rooms/general/messages", params={"limit": 10})
    assert response.json()["has_more"] is True
    everything = api.get("/api/rooms/general/messages")
    assert ids(everything) == list(range(1, 26)) and everything.json()["has_more"] is False
    message = everything.json()["messages"][0]
    assert set(message) == {"type", "id", "room", "nick", "text", "ts", "client_id"}
    assert message["text"] == "message 1" and message["room"] == "general"


def test_messages_after_an_id_are_the_oldest_newer_ones(api):
    page = api.get("/api/rooms/general/messages", params={"after": 5, "limit": 10})
    assert ids(page) == list(range(6, 16)) and page.json()["has_more"] is True
    last = api.get("/api/rooms/general/messages", params={"after": 15, "limit": 10})
    assert ids(last) == list(range(16, 26)) and last.json()["has_more"] is False
    empty = api.get("/api/rooms/general/messages", params={"after": 25})
    assert ids(empty) == [] and empty.json()["has_more"] is False


def test_messages_before_an_id_are_the_newest_older_ones(api):
    page = api.get("/api/rooms/general/messages", params={"before": 20, "limit": 5})
    assert ids(page) == [15, 16, 17, 18, 19] and page.json()["has_more"] is True
    first = api.get("/api/rooms/general/messages", params={"before": 6, "limit": 5})
    assert ids(first) == [1, 2, 3, 4, 5] and first.json()["has_more"] is False


def test_limit_bounds(api):
    assert len(ids(api.get("/api/rooms/general/messages", params={"limit": 1}))) == 1
    assert len(ids(api.get("/api/rooms/general/messages", params={"limit": 500}))) == 25


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"limit": ""},
        {"after": "x"},
        {"after": -1},
        {"after": "1.5"},
        {"before": "9" * 30},
        {"after": "\u0661"},  # an Arabic-Indic digit is not an id
    ],
)
def test_bad_history_parameters_are_400(api, query):
    response = api.get("/api/rooms/general/messages", params=query)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request" and body["detail"]


@pytest.mark.parametrize("room", ["General", "-dash", "x" * 33, "a b", "caf\u00e9"])
def test_an_invalid_room_name_is_400(api, room):
    response = api.get(f"/api/rooms/{room}/messages")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_a_missing_room_is_404(api):
    response = api.get("/api/rooms/nowhere/messages")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_search_finds_best_matches_in_every_room_or_one(api):
    found = api.get("/api/search", params={"q": "quick"}).json()["messages"]
    assert {m["text"] for m in found} == {"the quick brown fox", "quick quick"}
    assert found[0]["text"] == "quick quick"  # the better match first
    only = api.get("/api/search", params={"q": "message", "room": "dev"}).json()["messages"]
    assert only == []
    many = api.get("/api/search", params={"q": "message"}).json()["messages"]
    assert len(many) == 25 and all(m["room"] == "general" for m in many)


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "   "}, {"q": "x", "room": "Bad!"}])
def test_bad_search_parameters_are_400(api, query):
    response = api.get("/api/search", params=query)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/api/rooms"),
        ("GET", "/api/rooms/general/messages"),
        ("GET", "/api/search?q=x"),
        ("GET", "/api/invite"),
        ("GET", "/echo"),
        ("GET", "/static/app.js"),
        ("GET", "/api/rooms?token=TOKEN"),
    ],
)
def test_unauthenticated_requests_get_401(seeded, method, path):
    chat, server = seeded
    path = path.replace("TOKEN", chat.access.token)  # a token anywhere but /join is ignored
    response = httpx.request(method, f"{server.url}{path}", timeout=TIMEOUT)
    assert response.status_code == 401


def test_join_sets_a_session_cookie_and_redirects(seeded):
    chat, server = seeded
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        wrong = client.get("/join", params={"token": "wrong"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert client.get("/join").status_code == 401
        joined = client.get("/join", params={"token": chat.access.token})
        assert joined.status_code == 303 and joined.headers["location"] == "/"
        cookie = joined.headers["set-cookie"]
        assert cookie.startswith(f"{chat.access.cookie_name}=")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
            assert attribute.lower() in cookie.lower()
        assert chat.access.token not in cookie
        assert client.get("/api/rooms").status_code == 200  # the cookie authenticates


def test_the_ui_and_its_assets_are_served(api):
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in page.text
    assert api.get("/static/app.js").status_code == 200
    echo = api.get("/echo")
    assert echo.status_code == 200 and "/static/echo.js" in echo.text
    assert api.get("/static/../chat/store.py").status_code == 404


def test_invite_lists_links_with_qr_codes_for_the_host(api, seeded):
    chat, server = seeded
    invite = api.get("/api/invite").json()
    assert invite["lan"] is False and invite["lan_available"] is False
    [link] = invite["links"]
    assert link["url"] == f"http://127.0.0.1:{server.port}/join?token={chat.access.token}"
    assert link["qr_svg"].startswith("<svg")


def test_rotating_the_token_ends_token_sessions(http, server, chat):
    old = chat.access.token
    response = http.post("/api/token/rotate", headers={"Origin": server.url})
    assert response.status_code == 200 and response.json() == {"status": "rotated"}
    assert chat.access.token != old
    assert http.get("/api/rooms").status_code == 401


def test_lan_switch_is_409_when_the_server_cannot_switch(http, server):
    response = http.post("/api/lan", json={"enabled": True}, headers={"Origin": server.url})
    assert response.status_code == 409


def test_lan_switch_calls_the_desktop_after_answering(tmp_path):
    calls: list[bool] = []
    chat = Chat(ChatConfig(tmp_path / "data", switch_lan=calls.append))
    try:
        with (
            serve(chat.app) as server,
            httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {chat.access.token}", "Origin": server.url},
                timeout=TIMEOUT,
            ) as client,
        ):
            assert client.post("/api/lan", json={"enabled": "yes"}).status_code == 400
            assert client.post("/api/lan", content=b"{").status_code == 400
            response = client.post("/api/lan", json={"enabled": True})
            assert response.status_code == 202 and response.json() == {"lan": True}
            assert client.get("/api/invite").json()["lan_available"] is True
    finally:
        chat.close()
    assert calls == [True]
