# The seed snippet (seed-endpoints.md), unchanged but for its imports: ruff must not rewrite it.
# ruff: noqa
# fmt: off
from chatdesk.asgi import WebSocketEndpoint


class App(WebSocketEndpoint):
    encoding = 'bytes'

    async def on_connect(self, websocket, **kwargs):
        await websocket.accept()

    async def on_receive(self, websocket, data):
        await websocket.send_bytes(b"Message: " + data)

    async def on_disconnect(self, websocket, close_code):
        pass
