"""Request: lazily parsed URL, headers, query, cookies; body, JSON and stream reading."""

from __future__ import annotations

from typing import Any

import httpx

from chatdesk.asgi import App, HTTPEndpoint, JSONResponse, Request, Route
from chatdesk.asgi.requests import cookie_parser
from tests.support.server import serve


class Reader(HTTPEndpoint):
    async def post(self, request: Request) -> Any:
        kind = request.query_params.get("kind")
        if kind == "twice":
            first = await request.body()
            second = await request.body()
            streamed = b"".join([chunk async for chunk in request.stream()])
            return JSONResponse([len(first), first == second == streamed])
        if kind == "stream-twice":
            chunks = [chunk async for chunk in request.stream()]
            try:
                [chunk async for chunk in request.stream()]
            except RuntimeError as exc:
                return JSONResponse([sum(map(len, chunks)), str(exc)])
        if kind == "json-twice":
            return JSONResponse([await request.json(), await request.json()])
        return JSONResponse(
            {
                "disconnected": await request.is_disconnected(),
                "host": request.url.hostname,
                "port": request.url.port,
                "scheme": request.url.scheme,
                "netloc": request.url.netloc,
                "len": len(request),
                "equal_self": request == request,
            }
        )


def test_body_is_cached_and_streams_only_once() -> None:
    with serve(App(routes=[Route("/", Reader)])) as running:
        big = b"x" * 300_000
        response = httpx.post(running.url, params={"kind": "twice"}, content=big)
        assert response.json() == [300_000, True]
        response = httpx.post(running.url, params={"kind": "stream-twice"}, content=big)
        assert response.json() == [300_000, "Stream consumed"]
        response = httpx.post(running.url, params={"kind": "json-twice"}, content="[1]")
        assert response.json() == [[1], [1]]


def test_url_comes_from_a_valid_host_header_else_the_server_address() -> None:
    with serve(App(routes=[Route("/", Reader)])) as running:
        response = httpx.post(running.url, headers={"host": "chat.example:8443"})
        body = response.json()
        assert (body["host"], body["port"], body["netloc"]) == (
            "chat.example",
            8443,
            "chat.example:8443",
        )
        assert body["disconnected"] is False and body["equal_self"] is True
        response = httpx.post(running.url, headers={"host": "evil/path"})
        assert response.json()["netloc"] == f"127.0.0.1:{running.port}"


def test_cookie_parser_is_lenient() -> None:
    assert cookie_parser('a=1; b=two; c="quoted"') == {"a": "1", "b": "two", "c": "quoted"}
    assert cookie_parser("bare; =empty; k=v=w;;") == {"": "empty", "k": "v=w"}
    assert cookie_parser('q="a\\"b"') == {"q": 'a"b'}
