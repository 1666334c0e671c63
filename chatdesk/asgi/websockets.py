"""The WebSocket connection: handshake, receiving, sending and closing, in a checked order."""

from __future__ import annotations

import enum

from .requests import HTTPConnection

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable
    from typing import Any

    from .responses import Response
    from .types import Message, Receive, Scope, Send


class WebSocketState(enum.Enum):
    """Where one side of a WebSocket is in its life."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


CONNECTING = WebSocketState.CONNECTING
CONNECTED = WebSocketState.CONNECTED
DISCONNECTED = WebSocketState.DISCONNECTED
RESPONSE = WebSocketState.RESPONSE


class WebSocketDisconnect(Exception):
    """The client closed (or lost) the connection; `code` and `reason` say how."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""


class WebSocketDisconnected(RuntimeError):
    """The WebSocket was used after it was closed."""


def _check_mode(mode: str) -> None:
    if mode not in ("text", "binary"):
        raise RuntimeError('The "mode" argument should be "text" or "binary".')


class WebSocket(HTTPConnection):
    """A WebSocket connection, enforcing the ASGI message order on both sides."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        self.scope = scope
        self._receive = receive
        self._send = send
        self.client_state = CONNECTING
        self.application_state = CONNECTING

    async def receive(self) -> Message:
        """The next ASGI message from the client: connect first, then receive or disconnect."""
        state = self.client_state
        if state is CONNECTED:
            message = await self._receive()
            message_type = message["type"]
            if message_type == "websocket.disconnect":
                self.client_state = DISCONNECTED
            elif message_type != "websocket.receive":
                raise RuntimeError(
                    'Expected ASGI message "websocket.receive" or "websocket.disconnect", '
                    f"but got {message_type!r}"
                )
            return message
        if state is CONNECTING:
            message = await self._receive()
            message_type = message["type"]
            if message_type != "websocket.connect":
                raise RuntimeError(
                    f'Expected ASGI message "websocket.connect", but got {message_type!r}'
                )
            self.client_state = CONNECTED
            return message
        raise WebSocketDisconnected(
            'Cannot call "receive" once a disconnect message has been received.'
        )

    async def send(self, message: Message) -> None:
        """Send an ASGI message to the client, if it is valid in the current state."""
        state = self.application_state
        message_type = message["type"]
        if state is CONNECTED:
            if message_type == "websocket.close":
                self.application_state = DISCONNECTED
            elif message_type != "websocket.send":
                raise RuntimeError(
                    'Expected ASGI message "websocket.send" or "websocket.close", '
                    f"but got {message_type!r}"
                )
            try:
                await self._send(message)
            except OSError:
                self.application_state = DISCONNECTED
                raise WebSocketDisconnect(code=1006) from None
        elif state is CONNECTING:
            if message_type == "websocket.accept":
                self.application_state = CONNECTED
            elif message_type == "websocket.close":
                self.application_state = DISCONNECTED
            elif message_type == "websocket.http.response.start":
                self.application_state = RESPONSE
            else:
                raise RuntimeError(
                    'Expected ASGI message "websocket.accept", "websocket.close" or '
                    f'"websocket.http.response.start", but got {message_type!r}'
                )
            await self._send(message)
        elif state is RESPONSE:
            if message_type != "websocket.http.response.body":
                raise RuntimeError(
                    'Expected ASGI message "websocket.http.response.body", '
                    f"but got {message_type!r}"
                )
            if not message.get("more_body", False):
                self.application_state = DISCONNECTED
            await self._send(message)
        else:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Complete the handshake (reading the connect message first if needed)."""
        if self.client_state is CONNECTING:
            await self.receive()
        await self.send(
            {"type": "websocket.accept", "subprotocol": subprotocol, "headers": headers or []}
        )

    def _require_connected(self) -> None:
        if self.application_state is not CONNECTED:
            raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')

    async def _receive_data(self) -> Message:
        self._require_connected()
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        return message

    async def receive_text(self) -> str:
        """The next text frame; WebSocketDisconnect when the client closes."""
        return (await self._receive_data())["text"]  # type: ignore[no-any-return]

    async def receive_bytes(self) -> bytes:
        """The next binary frame; WebSocketDisconnect when the client closes."""
        return (await self._receive_data())["bytes"]  # type: ignore[no-any-return]

    async def receive_json(self, mode: str = "text") -> Any:
        """The next frame (text, or binary UTF-8 with mode="binary") parsed as JSON."""
        import json

        _check_mode(mode)
        message = await self._receive_data()
        text = message["text"] if mode == "text" else message["bytes"].decode("utf-8")
        return json.loads(text)

    async def iter_text(self) -> AsyncIterator[str]:
        """Text frames until the client closes."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Binary frames until the client closes."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        """JSON frames until the client closes."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    # send_text and send_bytes take the common case (an open connection) straight to the server,
    # without another await through send()'s state switch: they are on every message's path.

    async def send_text(self, data: str) -> None:
        message = {"type": "websocket.send", "text": data}
        if self.application_state is not CONNECTED:
            await self.send(message)
            return
        try:
            await self._send(message)
        except OSError:
            self.application_state = DISCONNECTED
            raise WebSocketDisconnect(code=1006) from None

    async def send_bytes(self, data: bytes) -> None:
        message = {"type": "websocket.send", "bytes": data}
        if self.application_state is not CONNECTED:
            await self.send(message)
            return
        try:
            await self._send(message)
        except OSError:
            self.application_state = DISCONNECTED
            raise WebSocketDisconnect(code=1006) from None

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send `data` as compact JSON (non-ASCII kept), as a text or binary frame."""
        import json

        _check_mode(mode)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (before accept, this rejects the handshake)."""
        await self.send({"type": "websocket.close", "code": code, "reason": reason or ""})

    async def send_denial_response(self, response: Response) -> None:
        """Reject the handshake with an HTTP response (needs the server's denial extension)."""
        if "websocket.http.response" in self.scope.get("extensions", {}):
            await response(self.scope, self._receive, self.send)
        else:
            raise RuntimeError(
                "The server doesn't support the Websocket Denial Response extension."
            )


class WebSocketClose:
    """An ASGI app that closes the WebSocket (before accept: an HTTP 403 rejection)."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.close", "code": self.code, "reason": self.reason})
