"""The baseline: the benchmark's routes as one hand-written ASGI callable."""

from __future__ import annotations

from typing import Any

HELLO = b"Hello, world!"
PLAIN_TEXT = (b"content-type", b"text/plain; charset=utf-8")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """GET / and GET /users/{name} as plain text, WebSocket /ws echoes text, lifespan."""
    kind = scope["type"]
    if kind == "http":
        await http(scope, send)
    elif kind == "websocket":
        await echo(scope, receive, send)
    elif kind == "lifespan":
        await lifespan(receive, send)


async def http(scope: dict[str, Any], send: Any) -> None:
    path = scope["path"]
    if path == "/":
        status, body = 200, HELLO
    elif path.startswith("/users/") and len(path) > 7 and "/" not in path[7:]:
        status, body = 200, f"Hello, {path[7:]}".encode()
    else:
        status, body = 404, b"Not Found"
    if status == 200 and scope["method"] not in ("GET", "HEAD"):
        status, body = 405, b"Method Not Allowed"
    headers = [PLAIN_TEXT, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1000})
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        text = message.get("text")
        if text is None:
            await send({"type": "websocket.close", "code": 1003})
            return
        await send({"type": "websocket.send", "text": text})


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
