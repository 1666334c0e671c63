"""Every seed snippet, run unchanged (but for its imports) under a real uvicorn, does what the
seed says."""

from __future__ import annotations

import httpx

from tests.asgi.helpers import uvicorn_process, ws_session


def test_hello_endpoint_class_is_the_whole_app() -> None:
    with uvicorn_process("examples.hello_endpoint:App", "--lifespan", "off") as url:
        response = httpx.get(url + "/")
        assert (response.status_code, response.text) == (200, "Hello, world!")
        assert httpx.head(url).status_code == 200
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            response = httpx.request(method, url)
            assert response.status_code == 405
            assert response.headers["allow"] == "GET, HEAD"


def test_app_routes_homepage_and_user() -> None:
    with uvicorn_process("examples.app_routes:app") as url, httpx.Client(base_url=url) as client:
        assert client.get("/").text == "Hello, world!"
        assert client.get("/tom").text == "Hello, tom"
        assert client.get("/j%C3%BCrgen").text == "Hello, jürgen"
        assert client.post("/").status_code == 405
        assert client.delete("/tom").status_code == 405
        assert client.get("/a/b").status_code == 404


def test_bytes_websocket_endpoint_echoes_with_a_prefix() -> None:
    with uvicorn_process("examples.ws_bytes_endpoint:App", "--lifespan", "off") as url:
        ws_url = url.replace("http", "ws", 1) + "/"
        outcome = ws_session(ws_url, send=[b"hello", b"\x00\xff"], expect=2)
        assert outcome.frames == [b"Message: hello", b"Message: \x00\xff"]
        # A text frame is not bytes: the endpoint closes with 1003.
        assert ws_session(ws_url, send=["text"], close=None).close_code == 1003


def test_chat_page_and_echo() -> None:
    with uvicorn_process("examples.ws_chat:app") as url:
        page = httpx.get(url)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>WebSocket Chat</h1>" in page.text
        assert 'new WebSocket("ws://" + location.host + "/ws")' in page.text
        ws_url = url.replace("http", "ws", 1) + "/ws"
        outcome = ws_session(ws_url, send=["hi", "ünïcode"], expect=2)
        assert outcome.frames == ["Message text was: hi", "Message text was: ünïcode"]
