"""A `/chat` protocol client over a real WebSocket, shared by the chat and LAN tests."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

TIMEOUT = 5.0
QUIET_FRAMES = ("presence", "typing", "message")  # what others' activity sends anyone


class ChatClient:
    """Speaks the chat protocol on one WebSocket: frames in, frames out, close codes."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.held: list[dict[str, Any]] = []  # frames read while looking for another type

    def send(self, frame: Any) -> None:
        self.socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame, held ones first."""
        if self.held:
            return self.held.pop(0)
        frame: dict[str, Any] = json.loads(self.socket.recv(timeout=timeout))
        return frame

    def expect(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The first frame of type `kind` (matching `fields`); other frames are held."""
        deadline = time.monotonic() + timeout
        for index, frame in enumerate(self.held):
            if _matches(frame, kind, fields):
                return self.held.pop(index)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} frame {fields} within {timeout} s: {self.held}")
            frame = json.loads(self.socket.recv(timeout=remaining))
            if _matches(frame, kind, fields):
                return frame
            self.held.append(frame)

    def answer(self, timeout: float = TIMEOUT) -> dict[str, Any] | int:
        """The next frame that is not others' activity (QUIET_FRAMES), or the close code."""
        try:
            while True:
                frame = json.loads(self.socket.recv(timeout=timeout))
                if frame.get("type") not in QUIET_FRAMES:
                    return frame
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else 1006

    def hello(self, nick: str) -> dict[str, Any]:
        self.send({"type": "hello", "nick": nick})
        return self.expect("welcome")

    def join(self, room: str = "general", after: int | None = None) -> dict[str, Any]:
        """Join `room`; returns the presence frame that ends the replay."""
        frame: dict[str, Any] = {"type": "join", "room": room}
        if after is not None:
            frame["after"] = after
        self.send(frame)
        return self.expect("presence", room=room)

    def post(self, text: str, client_id: str, room: str = "general") -> dict[str, Any]:
        """Send a message and return its ack."""
        self.send({"type": "send", "room": room, "text": text, "client_id": client_id})
        return self.expect("ack", client_id=client_id)

    def messages_until(self, last_id: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Every message frame up to and including id `last_id`."""
        found = []
        while True:
            frame = self.expect("message", timeout=timeout)
            found.append(frame)
            if frame["id"] >= last_id:
                return found

    def close_code(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; the close code it sent."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.socket.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        raise TimeoutError("the server did not close the socket")

    def close(self) -> None:
        self.socket.close()


def _matches(frame: dict[str, Any], kind: str, fields: dict[str, Any]) -> bool:
    return frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())


def open_socket(
    ws_url: str, headers: list[tuple[str, str]], path: str = "/chat", **options: Any
) -> ClientConnection:
    """A raw WebSocket to `ws_url` + `path` with these headers (credentials, Origin...)."""
    return connect(
        f"{ws_url}{path}",
        additional_headers=headers,
        open_timeout=TIMEOUT,
        close_timeout=1,
        legacy=True,  # websockets 17: a connection that is not a context manager
        **options,
    )
