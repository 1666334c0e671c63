"""Routing: path compilation, convertors, first-match-wins, reversal, mounts, seed registration."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from chatdesk.asgi import (
    App,
    HTTPEndpoint,
    Mount,
    NoMatchFound,
    PlainTextResponse,
    Route,
    WebSocketEndpoint,
    WebSocketRoute,
)
from chatdesk.asgi.convertors import CONVERTOR_TYPES
from chatdesk.asgi.routing import Router, compile_path
from tests.support.server import serve

from .helpers import ws_session


def text_endpoint(text: str) -> type[HTTPEndpoint]:
    class Endpoint(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse(f"{text} {request.path_params}")

    Endpoint.__name__ = text
    return Endpoint


def test_compile_path_builds_anchored_regex_format_and_convertors() -> None:
    regex, path_format, convertors = compile_path("/users/{id:int}/files/{rest:path}")
    assert regex.pattern == "^/users/(?P<id>[0-9]+)/files/(?P<rest>.*)$"
    assert path_format == "/users/{id}/files/{rest}"
    assert set(convertors) == {"id", "rest"}
    assert compile_path("/a.b")[0].match("/aXb") is None


def test_bad_paths_are_rejected() -> None:
    with pytest.raises(ValueError, match="Duplicated param name x at path"):
        compile_path("/{x}/{x:int}")
    with pytest.raises(AssertionError, match="Unknown path convertor 'nope'"):
        compile_path("/{x:nope}")
    with pytest.raises(AssertionError, match="must start with '/'"):
        Route("no-slash", text_endpoint("x"))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("str", "abc", "abc"),
        ("path", "a/b//c", "a/b//c"),
        ("int", 7, "7"),
        ("float", 2.5, "2.5"),
        ("float", 3.0, "3"),
        ("uuid", uuid.UUID(int=1), str(uuid.UUID(int=1))),
    ],
)
def test_convertors_write_values_back(kind: str, value: Any, expected: str) -> None:
    assert CONVERTOR_TYPES[kind].to_string(value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [("str", "a/b"), ("str", ""), ("int", -1), ("float", -1.0), ("float", float("nan"))],
)
def test_convertors_refuse_values_that_would_not_match(kind: str, value: Any) -> None:
    with pytest.raises(AssertionError):
        CONVERTOR_TYPES[kind].to_string(value)


def routes_app() -> App:
    class Socket(WebSocketEndpoint):
        pass

    async def function(request: Any) -> Any:
        return PlainTextResponse("function")

    inner = [Route("/items/{item_id:int}", text_endpoint("Item"), name="item")]
    return App(
        routes=[
            Route("/{name}", text_endpoint("Catchall")),
            Route("/about", text_endpoint("About")),
            Route("/files/{rest:path}", text_endpoint("Files"), name="files"),
            Route("/fn", function),
            WebSocketRoute("/ws/{room}", Socket, name="ws"),
            Mount("/api", routes=inner, name="api"),
            Mount("/plain", routes=[Route("/x", text_endpoint("X"), name="x")]),
        ]
    )


def test_url_path_for_finds_routes_by_name_and_exact_params() -> None:
    app = routes_app()
    assert app.url_path_for("Catchall", name="n") == "/n"
    assert app.url_path_for("files", rest="a/b c") == "/files/a/b c"
    assert app.url_path_for("function") == "/fn"
    assert app.url_path_for("api:item", item_id=3) == "/api/items/3"
    assert app.url_path_for("api", path="/docs") == "/api/docs"
    assert app.url_path_for("x") == "/plain/x"
    ws_path = app.url_path_for("ws", room="r")
    assert (ws_path, ws_path.protocol) == ("/ws/r", "websocket")
    assert app.url_path_for("About").protocol == "http"
    with pytest.raises(NoMatchFound, match='No route exists for name "About" and params "x, y"'):
        app.url_path_for("About", x=1, y=2)
    with pytest.raises(NoMatchFound):
        app.url_path_for("files")


def test_first_full_match_wins_even_over_a_later_static_path() -> None:
    with serve(routes_app()) as running, httpx.Client(base_url=running.url) as client:
        assert client.get("/about").text == "Catchall {'name': 'about'}"
        assert client.get("/files/a/b").text == "Files {'rest': 'a/b'}"
        assert client.get("/api/items/4").text == "Item {'item_id': 4}"


def test_routes_added_after_serving_started_are_found() -> None:
    app = App(routes=[Route("/one", text_endpoint("One"))])
    with serve(app) as running, httpx.Client(base_url=running.url) as client:
        assert client.get("/one").status_code == 200
        assert client.get("/two").status_code == 404
        app.add_route("/two", text_endpoint("Two"))
        assert client.get("/two").text == "Two {}"
        app.routes.insert(0, Route("/one", text_endpoint("First")))
        assert client.get("/one").text == "First {}"


def test_seed_registration_api_returns_the_class_unchanged() -> None:
    app = App()

    @app.route("/")
    class Homepage(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("home")

    @app.route("/post", methods=["post"], name="poster")
    class Poster(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("never")

        async def post(self, request: Any) -> Any:
            return PlainTextResponse("posted")

    @app.websocket_route("/ws")
    class Echo(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: Any, data: Any) -> None:
            await websocket.send_text(f"echo {data}")

    class Other(WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            await websocket.accept()
            await websocket.send_text("other")

    app.add_websocket_route("/other", Other, name="other")
    app.mount("/mounted", Homepage, name="m")

    assert isinstance(Homepage, type) and issubclass(Homepage, HTTPEndpoint)
    assert Echo.encoding == "text"
    assert app.url_path_for("poster") == "/post"
    assert app.url_path_for("m", path="x") == "/mounted/x"
    with serve(app) as running, httpx.Client(base_url=running.url) as client:
        assert client.get("/").text == "home"
        assert client.post("/post").text == "posted"
        response = client.get("/post")
        assert (response.status_code, response.headers["allow"]) == (405, "POST")
        assert client.get("/mounted/deep/path").text == "home"
        assert ws_session(running.ws_url + "/ws", send=["hi"], expect=1).frames == ["echo hi"]
        assert ws_session(running.ws_url + "/other", expect=1).frames == ["other"]


def test_router_alone_answers_404_without_an_app() -> None:
    router = Router(routes=[Route("/x", text_endpoint("X"))])
    with serve(router) as running:
        response = httpx.get(running.url + "/missing")
        assert (response.status_code, response.text) == (404, "Not Found")
        response = httpx.post(running.url + "/x")
        assert response.status_code == 405


def test_positional_arguments_are_accepted() -> None:
    endpoint = text_endpoint("Pos")
    route = Route("/p", endpoint, ["GET"], "pos")
    assert (route.methods, route.name) == ({"GET", "HEAD"}, "pos")
    assert WebSocketRoute("/w", endpoint, "w").name == "w"
    assert Mount("/m", endpoint, None, "m").name == "m"


def test_route_subclasses_keep_their_own_matching() -> None:
    class CaseInsensitiveRoute(Route):
        def matches(self, scope: Any) -> Any:
            return self.match_path(scope, scope["path"])

        def match_path(self, scope: Any, route_path: str) -> Any:
            return super().match_path(scope, route_path.lower())

    app = App(
        routes=[
            Route("/exact", text_endpoint("Exact")),
            CaseInsensitiveRoute("/about", text_endpoint("About")),
            Route("/{name}", text_endpoint("Catchall")),
        ]
    )
    with serve(app) as running, httpx.Client(base_url=running.url) as client:
        assert client.get("/ABOUT").text == "About {}"
        assert client.get("/about").text == "About {}"
        assert client.get("/exact").text == "Exact {}"
        assert client.get("/EXACT").text == "Catchall {'name': 'EXACT'}"
