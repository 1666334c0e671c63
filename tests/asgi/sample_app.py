"""One application, written once against the Starlette API, built on either toolkit.

The differential suite builds it on Starlette 1.10 (the test-only oracle) and on chatdesk.asgi
and compares what both send on the wire.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def toolkit(name: str) -> SimpleNamespace:
    """The names the sample app uses, from "starlette" or "chatdesk"."""
    if name == "starlette":
        from starlette import applications, endpoints, exceptions, responses, routing, staticfiles

        return SimpleNamespace(
            App=applications.Starlette,
            HTTPEndpoint=endpoints.HTTPEndpoint,
            WebSocketEndpoint=endpoints.WebSocketEndpoint,
            HTTPException=exceptions.HTTPException,
            WebSocketException=exceptions.WebSocketException,
            Response=responses.Response,
            PlainTextResponse=responses.PlainTextResponse,
            HTMLResponse=responses.HTMLResponse,
            JSONResponse=responses.JSONResponse,
            RedirectResponse=responses.RedirectResponse,
            FileResponse=responses.FileResponse,
            StreamingResponse=responses.StreamingResponse,
            Route=routing.Route,
            WebSocketRoute=routing.WebSocketRoute,
            Mount=routing.Mount,
            StaticFiles=staticfiles.StaticFiles,
        )
    import chatdesk.asgi as tk

    return SimpleNamespace(**{name: getattr(tk, name) for name in tk.__all__})


def build(tk: SimpleNamespace, static_dir: Path, closes: list[tuple[str, int]]) -> Any:
    """The sample app; WebSocket endpoints append (path, close_code) to `closes`."""

    class Verbs(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.PlainTextResponse("get", headers={"x-handler": "get"})

        async def post(self, request: Any) -> Any:
            return tk.PlainTextResponse("post")

        async def put(self, request: Any) -> Any:
            return tk.PlainTextResponse("put")

        async def patch(self, request: Any) -> Any:
            return tk.PlainTextResponse("patch")

        async def delete(self, request: Any) -> Any:
            return tk.PlainTextResponse("delete")

        def dispatch_helper(self) -> None:
            """Not a verb: must never be reachable as a method name."""

    class PostOnly(tk.HTTPEndpoint):
        async def post(self, request: Any) -> Any:
            return tk.PlainTextResponse("post")

    class WithHead(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.PlainTextResponse("from get")

        async def head(self, request: Any) -> Any:
            return tk.Response(headers={"x-handler": "head"})

    class Disabled(Verbs):
        post = None

    class SyncEndpoint(tk.HTTPEndpoint):
        def get(self, request: Any) -> Any:
            return tk.PlainTextResponse(str(threading.get_ident()))

        def post(self, request: Any) -> Any:
            raise tk.HTTPException(status_code=409)

    class AsyncThread(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.PlainTextResponse(str(threading.get_ident()))

    class Raises(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            kind = request.query_params.get("kind")
            if kind == "value":
                raise ValueError("boom")
            if kind == "dict":
                return {"not": "a response"}
            if kind == "nan":
                return tk.JSONResponse({"x": float("nan")})
            if kind == "detail":
                raise tk.HTTPException(418, "I am a teapot", headers={"x-tea": "yes"})
            raise tk.HTTPException(int(kind or 403))

    class Params(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            params = {
                key: [type(value).__name__, str(value)]
                for key, value in request.path_params.items()
            }
            return tk.JSONResponse(params)

    class Special(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.PlainTextResponse("special")

    class Echo(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            query = request.query_params
            return tk.JSONResponse(
                {
                    "url": str(request.url),
                    "path": request.url.path,
                    "query": query.multi_items(),
                    "a": query.get("a"),
                    "a_all": query.getlist("a"),
                    "flag": "flag" in query,
                    "rep": request.headers.getlist("x-rep"),
                    "rep_first": request.headers.get("X-Rep"),
                    "cookies": request.cookies,
                    "params": request.path_params,
                    "method": request.method,
                    "client": request.client.host,
                    "root_path": request.scope.get("root_path"),
                    "base_url": str(request.base_url),
                    "url_for": str(request.url_for("params-int", n=5)),
                }
            )

        async def post(self, request: Any) -> Any:
            kind = request.query_params.get("kind")
            if kind == "json":
                return tk.JSONResponse(await request.json())
            if kind == "stream":
                chunks = [chunk async for chunk in request.stream()]
                return tk.JSONResponse([len(chunk) for chunk in chunks if chunk][:1])
            return tk.Response(await request.body(), media_type="application/octet-stream")

    class Item(tk.HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return tk.JSONResponse(
                {
                    "path": request.url.path,
                    "root_path": request.scope["root_path"],
                    "params": request.path_params,
                }
            )

    async def function_endpoint(request: Any) -> Any:
        return tk.PlainTextResponse("function")

    async def same_get(request: Any) -> Any:
        return tk.PlainTextResponse("same get")

    async def same_post(request: Any) -> Any:
        return tk.PlainTextResponse("same post")

    def sync_function(request: Any) -> Any:
        return tk.PlainTextResponse("sync function")

    async def responses(request: Any) -> Any:
        kind = request.path_params["kind"]
        text = 'héllo ☃ 日本 "q"\n'
        made = {
            "json": lambda: tk.JSONResponse(
                {"msg": text, "emoji": "🙂", 1: 2.0, "n": None, "l": [True, False]}
            ),
            "json-none": lambda: tk.JSONResponse(None),
            "csv": lambda: tk.Response("a,b", media_type="text/csv"),
            "xml": lambda: tk.Response("<a/>", media_type="application/xml"),
            "bare": lambda: tk.Response(b"bytes"),
            "explicit": lambda: tk.Response("x", headers={"Content-Type": "text/plain"}),
            "latin": lambda: tk.Response("é", media_type="text/plain; charset=latin-1"),
            "html": lambda: tk.HTMLResponse("<p>hi</p>"),
            "201": lambda: tk.Response(status_code=201),
            "204": lambda: tk.Response(status_code=204),
            "304": lambda: tk.Response(status_code=304),
            "length": lambda: tk.Response("abc", headers={"content-length": "3"}),
            "memoryview": lambda: tk.Response(memoryview(b"view")),
            "redirect": lambda: tk.RedirectResponse("/a b/ü?x=1 2&y=é#frag"),
            "redirect-301": lambda: tk.RedirectResponse("https://example.com/", status_code=301),
            "stream": lambda: tk.StreamingResponse(
                iter([b"one ", "two ", b"three"]), media_type="text/plain"
            ),
            "file": lambda: tk.FileResponse(static_dir / "hello.txt"),
            "file-named": lambda: tk.FileResponse(static_dir / "hello.txt", filename="hé llo.txt"),
            "file-plain-name": lambda: tk.FileResponse(static_dir / "hello.txt", filename="a.txt"),
            "file-missing": lambda: tk.FileResponse(static_dir / "missing.txt"),
            "file-unknown": lambda: tk.FileResponse(static_dir / "data.unknownext"),
        }[kind]
        response = made()
        if kind == "html":
            response.set_cookie("c1", "v1", httponly=True, samesite="strict")
            response.delete_cookie("old")
        return response

    async def record_close(path: str, code: int) -> None:
        closes.append((path, code))

    def ws_endpoint(encoding: Any) -> type:
        class EchoSocket(tk.WebSocketEndpoint):
            async def on_receive(self, websocket: Any, data: Any) -> None:
                if isinstance(data, bytes):
                    await websocket.send_bytes(b"bytes:" + data)
                elif isinstance(data, str):
                    await websocket.send_text("text:" + data)
                else:
                    await websocket.send_json({"json": data})

            async def on_disconnect(self, websocket: Any, close_code: int) -> None:
                await record_close(websocket.url.path, close_code)

        EchoSocket.encoding = encoding
        return EchoSocket

    class Closer(tk.WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: Any, data: Any) -> None:
            if data == "close":
                await websocket.close(4000, "done")
            elif data == "close-then-send":
                await websocket.close(4001)
                try:
                    await websocket.send_text("late")
                except RuntimeError:
                    await record_close("/ws/closer:send-failed", 0)
            elif data == "raise":
                raise ValueError("boom")
            elif data == "http":
                raise tk.HTTPException(400)
            elif data == "ws-exception":
                raise tk.WebSocketException(4401, "nope")
            elif data == "json":
                await websocket.send_json({"z": 1, "m": "ü"})
                await websocket.send_json({"z": 1, "m": "ü"}, mode="binary")

        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            await record_close("/ws/closer", close_code)

    class Deny(tk.WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            kind = websocket.query_params.get("kind")
            if kind == "raise":
                raise ValueError("no")
            if kind == "http":
                raise tk.HTTPException(401, "go away")
            await websocket.close(4003)

        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            await record_close("/ws/deny", close_code)

    class Protocols(tk.WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            offered = websocket.scope["subprotocols"]
            await websocket.accept(
                subprotocol=offered[-1] if offered else None, headers=[(b"x-ws-extra", b"yes")]
            )
            await websocket.send_text(
                f"{websocket.url.path} {websocket.query_params.get('q')} "
                f"{websocket.headers.get('x-h')} {websocket.cookies.get('c')}"
            )

    async def ws_function(websocket: Any) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(text.upper())
        await websocket.close()

    routes = [
        tk.Route("/verbs", Verbs),
        tk.Route("/post-only", PostOnly),
        tk.Route("/with-head", WithHead),
        tk.Route("/disabled", Disabled),
        tk.Route("/sync", SyncEndpoint),
        tk.Route("/async-thread", AsyncThread),
        tk.Route("/raises", Raises),
        tk.Route("/restricted", Verbs, methods=["GET"]),
        tk.Route("/restricted-multi", Verbs, methods=["get", "post"]),
        tk.Route("/params/str/{value}", Params),
        tk.Route("/params/int/{n:int}", Params, name="params-int"),
        tk.Route("/params/float/{x:float}", Params),
        tk.Route("/params/path/{rest:path}", Params),
        tk.Route("/params/uuid/{u:uuid}", Params),
        tk.Route("/params/two/{a}/{b:int}", Params),
        tk.Route("/order/special", Special),
        tk.Route("/order/{name}", Params),
        tk.Route("/request/{name}", Echo),
        tk.Route("/function", function_endpoint),
        tk.Route("/sync-function", sync_function),
        tk.Route("/same", same_get, methods=["GET"]),
        tk.Route("/same", same_post, methods=["POST"]),
        tk.Route("/responses/{kind}", responses),
        tk.Route("/slash-target", Special),
        tk.Route("/slash-dir/", Special),
        tk.Mount("/sub", routes=[tk.Route("/items/{item_id:int}", Item)]),
        tk.Mount("/ep", app=Verbs),
        tk.Mount("/static", tk.StaticFiles(directory=static_dir), name="static"),
        tk.Mount("/site", tk.StaticFiles(directory=static_dir, html=True)),
        tk.WebSocketRoute("/ws/text", ws_endpoint("text")),
        tk.WebSocketRoute("/ws/bytes", ws_endpoint("bytes")),
        tk.WebSocketRoute("/ws/json", ws_endpoint("json")),
        tk.WebSocketRoute("/ws/none", ws_endpoint(None)),
        tk.WebSocketRoute("/ws/closer", Closer),
        tk.WebSocketRoute("/ws/deny", Deny),
        tk.WebSocketRoute("/ws/protocols/{room}", Protocols),
        tk.WebSocketRoute("/ws/function", ws_function),
    ]
    return tk.App(routes=routes)


def make_static_dir(root: Path) -> Path:
    """A served directory with a few files, plus a secret outside it and an escaping symlink."""
    (root / "secret.txt").write_text("top secret")
    static = root / "static"
    (static / "sub").mkdir(parents=True)
    (static / "hello.txt").write_text("Hello, static world!\n" * 10)
    (static / "style.css").write_text("body { color: red }")
    (static / "data.json").write_text('{"a": 1}')
    (static / "data.unknownext").write_bytes(b"\x00\x01")
    (static / "index.html").write_text("<h1>index</h1>")
    (static / "404.html").write_text("<h1>custom 404</h1>")
    (static / "sub" / "index.html").write_text("<h1>sub index</h1>")
    (static / "sub" / "page.html").write_text("<p>page</p>")
    (static / "escape.txt").symlink_to(root / "secret.txt")
    (static / "inside.txt").symlink_to(static / "style.css")
    return static
