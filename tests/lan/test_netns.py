"""A real second host: a network namespace on a veth pair joins a LAN-mode chatdesk.

Traffic goes only to the namespace pair created here (10.213.X.1/30 <-> 10.213.X.2/30) and to
loopback. Needs root and network namespaces: skipped without them, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.requirements import require

pytestmark = pytest.mark.netns

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("netns_client.py")
OPEN_LINE = re.compile(r"chatdesk: open (http://(\S+):(\d+)/join\?token=(\S+))")
TIMEOUT = 15.0


@dataclass(frozen=True)
class Namespace:
    """A network namespace joined to this host by a veth pair."""

    name: str
    host_address: str  # this host's end
    guest_address: str  # the namespace's end

    def run(self, *args: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Run the guest client in the namespace; its JSON report lines."""
        result = subprocess.run(
            ["ip", "netns", "exec", self.name, sys.executable, str(CLIENT), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return [json.loads(line) for line in result.stdout.splitlines()]

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, str(CLIENT), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    require(shutil.which("ip") is not None, "iproute2 (`ip`) is not installed")
    require(os.geteuid() == 0, "network namespaces need root")
    tag = f"{os.getpid() % 100000}"
    name, host_if, guest_if = f"cdns{tag}", f"cdh{tag}", f"cdg{tag}"
    subnet = f"10.213.{os.getpid() % 200 + 20}"
    created = ip("netns", "add", name)
    require(created.returncode == 0, f"`ip netns add` failed: {created.stderr.strip()}")
    try:
        steps = [
            ("link", "add", host_if, "type", "veth", "peer", "name", guest_if),
            ("link", "set", guest_if, "netns", name),
            ("addr", "add", f"{subnet}.1/30", "dev", host_if),
            ("link", "set", host_if, "up"),
            ("-n", name, "addr", "add", f"{subnet}.2/30", "dev", guest_if),
            ("-n", name, "link", "set", guest_if, "up"),
            ("-n", name, "link", "set", "lo", "up"),
        ]
        for step in steps:
            result = ip(*step)
            require(result.returncode == 0, f"`ip {' '.join(step)}` failed: {result.stderr}")
        yield Namespace(name, f"{subnet}.1", f"{subnet}.2")
    finally:
        ip("link", "del", host_if)  # deletes its peer too
        ip("netns", "del", name)
    assert name not in ip("netns", "list").stdout


class Chatdesk:
    """`python -m chatdesk --no-window ...` as a subprocess, with the links it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatdesk", "--no-window", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.links: list[re.Match[str]] = []

    def wait_for_links(self, count: int) -> list[re.Match[str]]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + TIMEOUT
        while len(self.links) < count:
            assert time.monotonic() < deadline, "chatdesk printed no join links in time"
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"chatdesk exited: {self.stop()}")
            match = OPEN_LINE.search(line)
            if match:
                self.links.append(match)
        return self.links

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _, stderr = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return stderr


@pytest.fixture
def launch() -> Iterator[Any]:
    started: list[Chatdesk] = []

    def factory(*args: str) -> Chatdesk:
        started.append(Chatdesk(*args))
        return started[-1]

    yield factory
    for chatdesk in started:
        chatdesk.stop()


def test_a_guest_on_another_host(namespace: Namespace, launch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    lan = launch("--lan", "--host", namespace.host_address, "--data-dir", str(data_dir))
    loopback_link, lan_link = lan.wait_for_links(2)
    assert loopback_link.group(2) == "127.0.0.1"
    assert lan_link.group(2) == namespace.host_address
    port, token = lan_link.group(3), lan_link.group(4)
    base = f"http://{namespace.host_address}:{port}"

    # a loopback client chats with the guest in the namespace
    host_socket = connect(
        f"ws://127.0.0.1:{port}/chat",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=TIMEOUT,
    ).__enter__()  # websockets wants a `with`; the `finally` below closes it
    try:
        host_socket.send(json.dumps({"type": "hello", "nick": "host"}))
        host_socket.send(json.dumps({"type": "join", "room": "general"}))
        guest = namespace.start("join", lan_link.group(1))
        while True:
            frame = json.loads(host_socket.recv(timeout=TIMEOUT))
            if frame["type"] == "message" and frame["text"] == "hi from the LAN":
                assert frame["nick"] == "guest"
                break
        host_socket.send(
            json.dumps(
                {"type": "send", "room": "general", "text": "hi from loopback", "client_id": "lo-1"}
            )
        )
        out, err = guest.communicate(timeout=TIMEOUT)
        assert guest.returncode == 0, err[-2000:]
        reports = [json.loads(line) for line in out.splitlines()]
        joined, welcome, acked, received = reports
        assert joined["status"] == 303 and joined["location"].endswith("/")
        assert welcome == {"step": "welcome", "host": False}  # a guest, not the host
        assert joined["page"] == 200 and joined["cookie"].startswith("chatdesk_")
        assert acked["step"] == "acked" and received["nick"] == "host"
        cookie = acked["cookie"]

        # with the token: in; without it or with a wrong one: out
        (probe,) = namespace.run("probe", base, cookie, token)
        assert probe == {
            "step": "probe",
            "no credentials": 401,
            "cookie": 200,
            "bearer": 200,
            "join": 303,
            "wrong join": 401,
            "ws cookie": 101,
            "ws none": 403,
        }

        # rotated by another process: the old token, its cookie and its sockets stop working
        rotated = subprocess.run(
            [sys.executable, "-m", "chatdesk", "--rotate-token", "--data-dir", str(data_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert rotated.returncode == 0, rotated.stderr
        assert token not in rotated.stdout
        (probe,) = namespace.run("probe", base, cookie, token)
        assert probe["cookie"] == probe["bearer"] == probe["join"] == 401
        assert probe["ws cookie"] == probe["ws none"] == 403
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                host_socket.recv(timeout=TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    finally:
        host_socket.close()
    lan.stop()

    # the same data directory served without LAN mode: nothing answers the namespace
    local = launch("--data-dir", str(data_dir))
    (link,) = local.wait_for_links(1)
    assert link.group(2) == "127.0.0.1"
    (probe,) = namespace.run("unreachable", f"http://{namespace.host_address}:{link.group(3)}")
    assert probe["step"] == "unreachable"
    (probe,) = namespace.run("unreachable", f"http://{namespace.host_address}:{port}")
    assert probe["step"] == "unreachable"
