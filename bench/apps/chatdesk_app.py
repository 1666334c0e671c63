"""The benchmark's routes with chatdesk.asgi, written the seed's way."""

from __future__ import annotations

from chatdesk.asgi import (
    App,
    HTTPEndpoint,
    PlainTextResponse,
    Request,
    WebSocket,
    WebSocketEndpoint,
)

app = App()


@app.route("/")
class Homepage(HTTPEndpoint):
    async def get(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")


@app.route("/users/{username}")
class User(HTTPEndpoint):
    async def get(self, request: Request, username: str) -> PlainTextResponse:
        return PlainTextResponse(f"Hello, {username}")


@app.websocket_route("/ws")
class Echo(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        await websocket.send_text(data)
