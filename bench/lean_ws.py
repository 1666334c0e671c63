"""A minimal WebSocket client protocol for load generation.

A load generator sharing a core with 1000 connections has to cost far less per frame than the
server it measures; the `websockets` client parses, validates and queues every frame in Python
and offers permessage-deflate. This one writes pre-framed text (a zero masking key, which
RFC 6455 allows, so masking is a no-op) and hands each unfragmented frame's payload to a callback.
No compression is negotiated, for any server under test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import cast

OnMessage = Callable[[bytes], None]

CLOSE = 0x8
PING = 0x9
ZERO_MASK = b"\x00\x00\x00\x00"


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One final, masked (with a zero key) client frame."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + ZERO_MASK + payload


class LeanWebSocket(asyncio.Protocol):
    """One client connection: handshake, then payloads of text and binary frames to `on_message`."""

    def __init__(
        self, host: str, path: str, headers: Mapping[str, str], on_message: OnMessage
    ) -> None:
        loop = asyncio.get_running_loop()
        self.request = self._handshake(host, path, headers)
        self.on_message = on_message
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.received_bytes = 0

    @staticmethod
    def _handshake(host: str, path: str, headers: Mapping[str, str]) -> bytes:
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(1006)

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        self.buffer += data
        if not self.opened.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode("latin-1")))
                self.close_transport()
                return
            self.opened.set_result(None)
        self._read_frames()

    def _read_frames(self) -> None:
        buffer = self.buffer
        end = len(buffer)
        position = 0
        while end - position >= 2:
            size = buffer[position + 1] & 0x7F
            start = position + 2
            if size == 126:
                start = position + 4
                size = int.from_bytes(buffer[position + 2 : start], "big")
            elif size == 127:
                start = position + 10
                size = int.from_bytes(buffer[position + 2 : start], "big")
            if start + size > end:
                break
            opcode = buffer[position] & 0x0F
            payload = bytes(buffer[start : start + size])
            position = start + size
            if opcode < CLOSE:
                self.on_message(payload)
            elif opcode == CLOSE:
                self._closed_by_server(payload)
            elif opcode == PING:
                self.write(client_frame(payload, 0xA))
        del buffer[:position]

    def _closed_by_server(self, payload: bytes) -> None:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        if not self.closed.done():
            self.closed.set_result(code)
        self.write(client_frame(payload[:2], CLOSE))
        self.close_transport()

    def write(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def send(self, payload: bytes) -> None:
        """Send one text frame."""
        self.write(client_frame(payload))

    def close_transport(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def close(self, timeout: float = 2.0) -> None:
        """Close the handshake politely, then the socket."""
        self.write(client_frame((1000).to_bytes(2, "big"), CLOSE))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        self.close_transport()


def loopback_source(index: int, per_address: int = 16) -> str:
    """A loopback source address for client `index`: `per_address` clients share one.

    The whole of 127.0.0.0/8 is loopback on Linux; spreading clients over addresses stands in
    for many client machines, each under a server's per-address connection limit.
    """
    group = index // per_address
    return f"127.1.{group // 250}.{group % 250 + 1}"


async def connect(
    port: int,
    path: str,
    on_message: OnMessage,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    source: str | None = None,
) -> LeanWebSocket:
    """Open a WebSocket to 127.0.0.1:`port` (from `source`) and wait for the server's 101."""
    loop = asyncio.get_running_loop()
    host = f"127.0.0.1:{port}"
    _, protocol = await loop.create_connection(
        lambda: LeanWebSocket(host, path, headers or {}, on_message),
        "127.0.0.1",
        port,
        local_addr=(source, 0) if source else None,
    )
    await asyncio.wait_for(asyncio.shield(protocol.opened), timeout)
    return protocol


async def connect_many(
    count: int,
    port: int,
    path: str,
    on_message: Callable[[int], OnMessage],
    *,
    headers: Mapping[str, str] | None = None,
    batch: int = 100,
) -> list[LeanWebSocket]:
    """Open `count` connections, `batch` at a time; on_message(i) is connection i's callback.

    At most 16 connections share a source address (see `loopback_source`).
    """
    sockets: list[LeanWebSocket] = []
    for first in range(0, count, batch):
        indices = range(first, min(count, first + batch))
        sockets += await asyncio.gather(
            *(
                connect(port, path, on_message(i), headers=headers, source=loopback_source(i))
                for i in indices
            )
        )
    return sockets


async def close_all(sockets: list[LeanWebSocket]) -> None:
    await asyncio.gather(*(socket.close() for socket in sockets))
