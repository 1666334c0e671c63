"""The server (chatdesk/desktop/server.py): the addresses to listen on, the sockets bound first
on one port, uvicorn serving them in a thread (ServerThread), and a graceful stop that closes
WebSockets, in a chatdesk process on SIGTERM and in-process on stop().

The in-process tests serve a tiny ASGI app on real loopback sockets with the real uvicorn.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from chatdesk.desktop.server import (
    GRACEFUL_SHUTDOWN_SECONDS,
    BindError,
    ServerError,
    ServerThread,
    bind_sockets,
    listen_addresses,
)
from tests.desktop.conftest import (
    Home,
    login,
    refused,
    start_chatdesk,
)
from tests.support.server import accept_lifespan

# -- the whole process -----------------------------------------------------------------------------


def test_sigterm_stops_gracefully_closing_websockets(home: Home) -> None:
    running = start_chatdesk(home)
    try:
        with login(running.url) as client:
            assert client.get(f"{running.base}/healthz").status_code == 200
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        with connect(
            f"ws://127.0.0.1:{running.port}/chat", additional_headers={"Cookie": cookie}
        ) as ws:
            ws.send(json.dumps({"type": "hello", "nick": "sigterm"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            started = time.monotonic()
            running.process.send_signal(signal.SIGTERM)
            with pytest.raises(Exception):  # noqa: B017 (any close ends the loop)
                while True:
                    ws.recv(timeout=10)
            assert ws.close_code in (1001, 1012)
        assert running.process.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        assert running.process.stderr is not None
        assert running.process.stderr.read() == ""
    finally:
        if running.process.poll() is None:
            running.process.kill()
        running.process.communicate(timeout=10)


# -- listen_addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lan", "host", "addresses"),
    [
        (False, None, ["127.0.0.1"]),
        (False, "localhost", ["127.0.0.1"]),
        (False, "127.0.0.2", ["127.0.0.2"]),
        (False, "::1", ["::1"]),
        (False, "[::1]", ["::1"]),
        (True, None, ["0.0.0.0", "::"]),
        (True, "", ["0.0.0.0", "::"]),
        (True, "0.0.0.0", ["0.0.0.0", "::"]),
        (True, "::", ["0.0.0.0", "::"]),
        (True, "[::]", ["0.0.0.0", "::"]),
        (True, "localhost", ["127.0.0.1"]),
        (True, "192.0.2.7", ["192.0.2.7", "127.0.0.1"]),
        (True, "2001:db8::7", ["2001:db8::7", "127.0.0.1"]),
        (True, "[2001:db8::7]", ["2001:db8::7", "127.0.0.1"]),
        (True, "127.0.0.1", ["127.0.0.1"]),
        (True, "::1", ["::1", "127.0.0.1"]),
    ],
)
def test_listen_addresses(lan: bool, host: str | None, addresses: list[str]) -> None:
    """Loopback without LAN mode; in LAN mode every interface, or the host plus loopback; IPv6
    addresses bare (a socket's address), whether given in brackets (a URL's) or not."""
    assert listen_addresses(lan, host) == addresses


# -- bind_sockets ----------------------------------------------------------------------------------


def ipv6_loopback() -> bool:
    """Whether this machine can listen on ::1."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")


@contextlib.contextmanager
def bound(addresses: list[str], port: int = 0) -> Iterator[list[socket.socket]]:
    sockets = bind_sockets(addresses, port)
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def listening(address: str) -> Iterator[int]:
    """Another program's listening socket on `address`; yields its port."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as taken:
        taken.bind((address, 0))
        taken.listen()
        yield taken.getsockname()[1]


def accepts(address: str, port: int) -> bool:
    """Whether a connection to `address`:`port` is made (a listening socket's backlog takes it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        return client.connect_ex((address, port)) == 0


@pytest.mark.parametrize(
    "addresses",
    [
        pytest.param(["127.0.0.1", "127.0.0.2"], id="ipv4"),
        pytest.param(["127.0.0.1", "::1"], id="ipv4-and-ipv6", marks=needs_ipv6),
    ],
)
def test_bind_sockets_listens_on_every_address_on_the_port_the_first_chose(
    addresses: list[str],
) -> None:
    with bound(addresses) as sockets:
        assert [sock.getsockname()[0] for sock in sockets] == addresses
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and 0 not in ports
        (port,) = ports
        for address in addresses:  # listening already: no server needed to be connected to
            assert accepts(address, port)
        assert not any(sock.get_inheritable() for sock in sockets)


def test_bind_sockets_takes_a_just_closed_port_again() -> None:
    """A restart (the LAN switch, the next launch) keeps its port while the last run's
    connections linger in TIME_WAIT."""
    with bound(["127.0.0.1"]) as (listener,):
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            served, _ = listener.accept()
            served.close()  # the server closes first: its side of the connection lingers
            assert client.recv(1) == b""
    with bound(["127.0.0.1"], port) as (again,):
        assert again.getsockname() == ("127.0.0.1", port)


def test_a_port_in_use_is_a_bind_error_naming_the_address() -> None:
    with listening("127.0.0.1") as port:
        with pytest.raises(BindError) as caught:
            bind_sockets(["127.0.0.2", "127.0.0.1"], port)
        assert str(caught.value) == f"cannot listen on 127.0.0.1:{port}: Address already in use"
        with bound(["127.0.0.2"], port):  # the address bound before the failure was let go
            pass


@needs_ipv6
def test_a_port_in_use_on_ipv6_is_named_in_brackets() -> None:
    with listening("::1") as port, pytest.raises(BindError) as caught:
        bind_sockets(["::1"], port)
    assert str(caught.value) == f"cannot listen on [::1]:{port}: Address already in use"


# -- ServerThread ----------------------------------------------------------------------------------


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A lifespan that starts, an HTTP page naming the port, a WebSocket that waits."""
    if scope["type"] == "lifespan":
        await accept_lifespan(receive, send)
    elif scope["type"] == "http":
        body = f"served on port {scope['server'][1]}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
    elif scope["type"] == "websocket":
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def test_a_server_thread_serves_its_sockets_until_stopped(no_threads_left: None) -> None:
    sockets = bind_sockets(["127.0.0.1"], 0)
    server = ServerThread(tiny_app, sockets)
    port = server.port
    assert port == sockets[0].getsockname()[1]
    try:
        server.start()  # returns once accepting
        assert server.alive()
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert (response.status_code, response.text) == (200, f"served on port {port}")
    finally:
        stopped = server.stop()
    assert stopped is True
    assert not server.alive()
    assert refused(port)
    assert all(sock.fileno() == -1 for sock in sockets)


def test_stopping_a_server_thread_closes_websockets_with_1012(no_threads_left: None) -> None:
    server = ServerThread(tiny_app, bind_sockets(["127.0.0.1"], 0))
    server.start()
    try:
        ws = connect(f"ws://127.0.0.1:{server.port}/", open_timeout=10)
    except BaseException:
        server.stop()
        raise
    with ws:
        started = time.monotonic()
        assert server.stop() is True
        assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS  # not forced: graceful
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1012  # service restart: the page reconnects
    assert refused(server.port)


def fails_to_start(how: str) -> Any:
    """An app whose lifespan startup fails: it says so, or it raises."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        assert (await receive())["type"] == "lifespan.startup"
        if how == "says so":
            await send({"type": "lifespan.startup.failed", "message": "no store"})
        else:
            raise RuntimeError("no store")

    return app


@pytest.mark.parametrize("how", ["says so", "raises"])
def test_an_app_whose_startup_fails_is_a_server_error(how: str, no_threads_left: None) -> None:
    sockets = bind_sockets(["127.0.0.1"], 0)
    port = sockets[0].getsockname()[1]
    server = ServerThread(fails_to_start(how), sockets)
    with pytest.raises(ServerError) as caught:
        server.start()
    assert str(caught.value) == "the server failed to start (the application's startup failed)"
    assert not server.alive()
    assert all(sock.fileno() == -1 for sock in sockets)  # closed by start(): nothing listens
    assert refused(port)
    assert server.stop() is True  # stopping after a failed start is harmless
