"""The WebSocket endpoints: `/chat`, the chat protocol, and `/ws`, the seed's echo."""

from __future__ import annotations

import json
from typing import Any

from chatdesk.asgi import JSONResponse, WebSocket, WebSocketEndpoint, status
from chatdesk.chat.client import Client
from chatdesk.chat.endpoints.services import services
from chatdesk.chat.limits import MAX_FRAME_BYTES

__all__ = ["ChatSocket", "Echo"]

_CLOSED = object()  # what decode() returns for a frame that closed the socket


class Echo(WebSocketEndpoint):
    """`/ws`: the seed's Echo endpoint."""

    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_text(f"Message text was: {data}")


class ChatSocket(WebSocketEndpoint):
    """`/chat`: the chat protocol (JSON frames, text or UTF-8 binary)."""

    encoding = "json"
    client: Client | None = None
    address: str | None = None  # counted against the per-address limit while connected

    async def on_connect(self, websocket: WebSocket) -> None:
        chat = services(self.scope)
        address = websocket.client.host if websocket.client else ""
        if not chat.connections.acquire(address):
            await _refuse_handshake(websocket, 429, "too_many_connections")
            return
        self.address = address
        try:
            await websocket.accept()
        except BaseException:
            self._release()
            raise
        # The hub writes straight to the ASGI send: frames are pre-built, shared events.
        self.client = chat.hub.connect(
            self.send, websocket.close, websocket.scope.get("chatdesk.session")
        )

    async def decode(self, websocket: WebSocket, message: Any) -> Any:
        """The frame's JSON value; a frame that is too big, not UTF-8 or not JSON closes."""
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            if len(data) > MAX_FRAME_BYTES:
                return self._close(status.WS_1009_MESSAGE_TOO_BIG)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return self._close(status.WS_1007_INVALID_FRAME_PAYLOAD_DATA)
        elif len(text) * 4 > MAX_FRAME_BYTES and len(text.encode()) > MAX_FRAME_BYTES:
            return self._close(status.WS_1009_MESSAGE_TOO_BIG)
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return self._close(status.WS_1003_UNSUPPORTED_DATA)

    def _close(self, code: int) -> object:
        # Closing here, rather than raising as the stock decode() does, ends the session cleanly:
        # the receive loop next gets the disconnect, without an error logged for a bad client.
        if self.client is not None:
            services(self.scope).hub.close(self.client, code)
        return _CLOSED

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        if data is not _CLOSED and self.client is not None:
            await services(self.scope).hub.receive(self.client, data)

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        if self.client is not None:
            services(self.scope).hub.disconnect(self.client)
        self._release()

    def _release(self) -> None:
        if self.address is not None:
            services(self.scope).connections.release(self.address)
            self.address = None


async def _refuse_handshake(websocket: WebSocket, status_code: int, error: str) -> None:
    """Refuse a WebSocket before accept: an HTTP status where the server can, else close 1013."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": error, "detail": "too many connections from this address"}
        await websocket.send_denial_response(JSONResponse(body, status_code=status_code))
    else:
        await websocket.close(status.WS_1013_TRY_AGAIN_LATER)
