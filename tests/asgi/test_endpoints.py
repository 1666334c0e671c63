"""HTTPEndpoint and WebSocketEndpoint: dispatch, the seed's keyword path params, bare use."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

import chatdesk.asgi.endpoints as endpoints_module
from chatdesk.asgi import (
    App,
    HTTPEndpoint,
    JSONResponse,
    PlainTextResponse,
    Route,
    WebSocket,
    WebSocketEndpoint,
    WebSocketRoute,
)
from tests.support.server import serve

from .helpers import wait_for, ws_session


class Named(HTTPEndpoint):
    async def get(self, request: Any, username: str) -> Any:
        return JSONResponse({"kw": username, "params": request.path_params})


class Modern(HTTPEndpoint):
    async def get(self, request: Any) -> Any:
        return JSONResponse({"params": request.path_params})


class AnyKeywords(HTTPEndpoint):
    async def get(self, request: Any, **kwargs: Any) -> Any:
        return JSONResponse({"kw": kwargs})


class KeywordOnly(HTTPEndpoint):
    async def get(self, request: Any, *, n: int, missing: str = "default") -> Any:
        return JSONResponse({"n": n, "type": type(n).__name__, "missing": missing})


class SomeNames(HTTPEndpoint):
    async def get(self, request: Any, a: str) -> Any:
        return JSONResponse({"a": a, "params": request.path_params})


class SyncNamed(HTTPEndpoint):
    def get(self, request: Any, username: str) -> Any:
        main = request.scope["loop_thread"]
        return JSONResponse({"kw": username, "in_worker": threading.get_ident() != main})


class SecondParam(HTTPEndpoint):
    # The path param is not the parameter right after `request`: it must go by keyword.
    async def get(self, request: Any, first: str = "default", username: str = "") -> Any:
        return JSONResponse({"first": first, "username": username})


class ShadowedPerInstance(HTTPEndpoint):
    def __init__(self, scope: Any, receive: Any, send: Any) -> None:
        super().__init__(scope, receive, send)
        self.get = self.instead

    async def get(self, request: Any, username: str) -> Any:
        return JSONResponse({"handler": "class"})

    async def instead(self, request: Any, username: str) -> Any:
        return JSONResponse({"handler": "instance", "kw": username})


class OwnAwait(HTTPEndpoint):
    def __await__(self) -> Any:
        return PlainTextResponse("own __await__")(self.scope, self.receive, self.send).__await__()

    async def get(self, request: Any) -> Any:
        return PlainTextResponse("dispatch")


class Chat(WebSocketEndpoint):
    encoding = "text"

    async def on_connect(self, websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.send_text(f"room={room} params={websocket.path_params}")


class ChatKwargs(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket, **kwargs: Any) -> None:
        await websocket.accept()
        await websocket.send_text(f"kwargs={sorted(kwargs.items())}")


class ChatModern(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"params={websocket.path_params}")


class LoopThreadMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["loop_thread"] = threading.get_ident()
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Any:
    from chatdesk.asgi import Middleware

    app = App(
        routes=[
            Route("/named/{username}", Named),
            Route("/modern/{username}", Modern),
            Route("/any/{x}/{y:int}", AnyKeywords),
            Route("/kwonly/{n:int}", KeywordOnly),
            Route("/some/{a}/{b}", SomeNames),
            Route("/sync/{username}", SyncNamed),
            Route("/second/{username}", SecondParam),
            Route("/shadowed/{username}", ShadowedPerInstance),
            Route("/own-await", OwnAwait),
            WebSocketRoute("/chat/{room}", Chat),
            WebSocketRoute("/chat-kwargs/{room}/{n:int}", ChatKwargs),
            WebSocketRoute("/chat-modern/{room}", ChatModern),
        ],
        middleware=[Middleware(LoopThreadMiddleware)],
    )
    with serve(app) as running:
        yield running


def get_json(server: Any, path: str) -> Any:
    response = httpx.get(server.url + path, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_named_path_param_is_passed_as_keyword(server: Any) -> None:
    assert get_json(server, "/named/alice") == {"kw": "alice", "params": {"username": "alice"}}


def test_handler_without_the_param_still_gets_path_params(server: Any) -> None:
    assert get_json(server, "/modern/bob") == {"params": {"username": "bob"}}


def test_var_keyword_handler_gets_every_param_converted(server: Any) -> None:
    assert get_json(server, "/any/p/5") == {"kw": {"x": "p", "y": 5}}


def test_keyword_only_param_is_passed_and_others_keep_defaults(server: Any) -> None:
    assert get_json(server, "/kwonly/7") == {"n": 7, "type": "int", "missing": "default"}


def test_only_the_params_the_handler_names_are_passed(server: Any) -> None:
    assert get_json(server, "/some/1/2") == {"a": "1", "params": {"a": "1", "b": "2"}}


def test_a_param_not_next_after_request_is_passed_by_keyword(server: Any) -> None:
    assert get_json(server, "/second/carol") == {"first": "default", "username": "carol"}


def test_a_handler_set_on_the_instance_is_the_one_called(server: Any) -> None:
    assert get_json(server, "/shadowed/dave") == {"handler": "instance", "kw": "dave"}


def test_an_endpoint_with_its_own_await_is_awaited_through_it(server: Any) -> None:
    response = httpx.get(server.url + "/own-await", timeout=5)
    assert response.text == "own __await__"


def test_sync_handler_gets_keywords_in_a_worker_thread(server: Any) -> None:
    assert get_json(server, "/sync/carol") == {"kw": "carol", "in_worker": True}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/chat/lobby", "room=lobby params={'room': 'lobby'}"),
        ("/chat-kwargs/r/3", "kwargs=[('n', 3), ('room', 'r')]"),
        ("/chat-modern/x", "params={'room': 'x'}"),
    ],
)
def test_on_connect_gets_path_params_only_when_it_accepts_them(
    server: Any, path: str, expected: str
) -> None:
    outcome = ws_session(server.ws_url + path, expect=1)
    assert outcome.frames == [expected]


def test_handler_signatures_are_inspected_once_per_class(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = endpoints_module.accepted_keywords

    def counting(func: Any, positional: int) -> Any:
        calls.append(func)
        return original(func, positional)

    monkeypatch.setattr(endpoints_module, "accepted_keywords", counting)

    class Fresh(HTTPEndpoint):
        async def get(self, request: Any, name: str) -> Any:
            return PlainTextResponse(name)

    app = App(routes=[Route("/{name}", Fresh)])
    with serve(app) as running, httpx.Client(base_url=running.url) as client:
        assert [client.get(f"/n{i}").text for i in range(3)] == ["n0", "n1", "n2"]
    # Once for get (also serving HEAD) and once for method_not_allowed, on the first request.
    assert len(calls) == 3 and calls[0] is calls[1]


def test_subclass_does_not_reuse_its_parents_dispatch_table() -> None:
    class Parent(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("parent")

    class Child(Parent):
        async def post(self, request: Any) -> Any:
            return PlainTextResponse("child")

    assert Parent._dispatch_table().allow == "GET, HEAD"
    assert Child._dispatch_table().allow == "GET, HEAD, POST"


class Bare(HTTPEndpoint):
    async def get(self, request: Any) -> Any:
        return PlainTextResponse(f"bare {request.path_params} {'app' in request.scope}")

    async def put(self, request: Any) -> Any:
        from chatdesk.asgi import HTTPException

        raise HTTPException(403)


class BareSocket(WebSocketEndpoint):
    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_json({"got": data})


def test_bare_http_endpoint_is_a_whole_asgi_app() -> None:
    with serve(Bare, lifespan="off") as running, httpx.Client(base_url=running.url) as client:
        response = client.get("/any/path")
        assert (response.status_code, response.text) == (200, "bare {} False")
        response = client.post("/")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, PUT"
        assert response.text == "Method Not Allowed"
    # Without an App nothing turns HTTPException into a response: the server answers 500.
    with serve(Bare, lifespan="off") as running:
        assert httpx.put(running.url).status_code == 500


def test_bare_websocket_endpoint_is_a_whole_asgi_app() -> None:
    with serve(BareSocket, lifespan="off") as running:
        outcome = ws_session(running.ws_url + "/x", send=['{"a": 1}'], expect=1)
    assert outcome.frames == ['{"got":{"a":1}}']


def test_unsupported_encoding_fails_on_the_first_message() -> None:
    closes: list[int] = []

    class Odd(WebSocketEndpoint):
        encoding = "xml"  # type: ignore[assignment]

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            closes.append(close_code)

    with serve(App(routes=[WebSocketRoute("/", Odd)])) as running:
        outcome = ws_session(running.ws_url, send=["x"], close=None)
        wait_for(lambda: closes)
    assert outcome.close_code == 1006
    assert closes == [1011]
