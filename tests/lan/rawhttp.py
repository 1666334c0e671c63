"""Hand-written HTTP/1.1 requests and WebSocket handshakes: forged, missing or doubled headers."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RawResponse:
    """A parsed HTTP response: status, headers (names lower case, in order) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


def host_header(port: int, host: str = "127.0.0.1") -> tuple[str, str]:
    return ("Host", f"{host}:{port}")


def exchange(port: int, data: bytes, *, timeout: float = 5.0, address: str = "127.0.0.1") -> bytes:
    """Send `data` on a new connection and read until the server closes it (or the head ends)."""
    with socket.create_connection((address, port), timeout=timeout) as sock:
        # The server may answer early (e.g. 413) and close: then read what it said.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"HTTP/1.1 101" in chunks[0][:12] and b"\r\n\r\n" in b"".join(chunks):
                break  # an accepted WebSocket: the head is all there is to read
    return b"".join(chunks)


def request(
    port: int,
    target: str = "/",
    headers: Headers | None = None,
    *,
    method: str = "GET",
    body: bytes = b"",
    address: str = "127.0.0.1",
) -> RawResponse:
    """One request with exactly these headers (default: a correct Host), Connection: close."""
    if headers is None:
        headers = [host_header(port, address)]
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers)]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return parse(exchange(port, head + body, address=address))


def ws_handshake(
    port: int, path: str = "/", headers: Headers | None = None, *, address: str = "127.0.0.1"
) -> RawResponse:
    """A WebSocket opening handshake with exactly these extra headers; the server's answer."""
    if headers is None:
        headers = [host_header(port, address)]
    upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in [*headers, *upgrade])]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return parse(exchange(port, head, address=address))


def parse(raw: bytes) -> RawResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("the server closed the connection without an answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    if ("transfer-encoding", "chunked") in headers:
        body = _dechunk(body)
    return RawResponse(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
