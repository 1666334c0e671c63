"""A client that stops reading is closed with 1013 and never delays the others."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct

import pytest

from chatdesk.chat import hub, outbox
from tests.chat.conftest import TEST_WS_MAX_SIZE, TIMEOUT, ChatClient, open_socket
from tests.support.server import serve

MESSAGE = "x" * 4000
MAX_MESSAGES = 2000  # far more than the stuck client's kernel buffers and queue can hold


class StuckClient:
    """A raw WebSocket client that reads nothing until told to (a tiny kernel receive buffer)."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, frame: dict[str, object]) -> None:
        payload = json.dumps(frame).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def read_until_close(self) -> int:
        """Read every frame the server sent; the code of its close frame."""
        self.sock.settimeout(TIMEOUT)
        while True:
            opcode, payload = self._read_frame()
            if opcode == 0x8:
                return int(struct.unpack("!H", payload[:2])[0])

    def _read_frame(self) -> tuple[int, bytes]:
        head = self._read(2)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        return opcode, self._read(length)

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def close(self) -> None:
        self.sock.close()


# uvicorn's older WebSocket protocol is deprecated (it and websockets.legacy warn so) but can
# still be chosen, and the toolkit must behave the same on it.
LEGACY_WS = pytest.param(
    "websockets",
    marks=pytest.mark.filterwarnings("ignore:.*deprecated", "ignore::DeprecationWarning"),
)


@pytest.mark.parametrize("ws", [LEGACY_WS, "websockets-sansio"])
def test_a_client_that_does_not_read_is_closed_with_1013_and_delays_nobody(chat, monkeypatch, ws):
    # A small queue bound and no rate limit keep the test short; the mechanism is the same.
    monkeypatch.setattr(outbox, "QUEUE_MAX_FRAMES", 50)
    monkeypatch.setattr(hub, "QUEUE_MAX_FRAMES", 50)
    monkeypatch.setattr(hub, "BURST_FRAMES", 100_000)
    with serve(chat.app, ws=ws, ws_max_size=TEST_WS_MAX_SIZE) as server:
        token = chat.access.token
        stuck = StuckClient(server.port, token)
        stuck.send({"type": "hello", "nick": "stuck"})
        stuck.send({"type": "join", "room": "general"})
        readers = [ChatClient(open_socket(server, token)) for _ in range(3)]
        try:
            for n, reader in enumerate(readers):
                reader.hello(f"reader{n}")
                reader.join()
            readers[0].expect("presence", online=["reader0", "reader1", "reader2", "stuck"])
            sender = readers[0]
            dropped_after = None
            for n in range(MAX_MESSAGES):
                ack = sender.post(MESSAGE, f"m-{n}")
                for reader in readers:  # the others get every message while one is stuck
                    assert reader.expect("message", id=ack["id"])["client_id"] == f"m-{n}"
                if any(
                    f["type"] == "presence" and "stuck" not in f["online"] for f in readers[1].held
                ):
                    dropped_after = n + 1
                    break
            assert dropped_after is not None, "the stuck client was never closed"
            assert dropped_after > 50  # dropped once its queue was full, not at once
            # The stuck client now reads: what was sent before its queue filled, then 1013.
            assert stuck.read_until_close() == 1013
            ack = sender.post("after", "after")
            for reader in readers:
                reader.expect("message", id=ack["id"])
        finally:
            stuck.close()
            for reader in readers:
                reader.close()
