"""Shared fixtures and helpers of the desktop tests: isolated directories, chatdesk subprocesses,
in-process launches, and a client that joins the chat like a browser does.

The fake pywebview the in-process window tests stand in for the real one is in fakes.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from chatdesk.desktop.launcher import Launcher
from chatdesk.desktop.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
JOIN_LINE = re.compile(r"^chatdesk: open (http://127\.0\.0\.1:(\d+)/join\?token=(\S+))$")


def chatdesk_command() -> list[str]:
    """How to run chatdesk from the tree: `python -m chatdesk`."""
    return [sys.executable, "-m", "chatdesk"]


@dataclass
class Home:
    """A private set of platformdirs locations and a data directory."""

    root: Path
    data_dir: Path
    env: dict[str, str]

    @property
    def settings_path(self) -> Path:
        return self.root / "config" / "chatdesk" / "settings.toml"

    @property
    def log_dir(self) -> Path:
        return self.root / "state" / "chatdesk" / "log"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """XDG directories under tmp_path, no CHATDESK_* variables, for this process and children."""
    for name in list(os.environ):
        if name.startswith("CHATDESK_"):
            monkeypatch.delenv(name)
    for key, sub in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ]:
        monkeypatch.setenv(key, str(tmp_path / sub))
    return Home(tmp_path, tmp_path / "chat-data", dict(os.environ))


@dataclass
class Running:
    """A chatdesk subprocess serving without a window."""

    process: subprocess.Popen[str]
    url: str
    port: int
    token: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_chatdesk(home: Home, *args: str, timeout: float = 20.0) -> Running:
    """Start `python -m chatdesk --no-window --data-dir HOME ARGS`; wait for its join line."""
    return start_chatdesk_command(chatdesk_command(), home, *args, timeout=timeout)


def start_chatdesk_command(
    command: list[str],
    home: Home,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 20.0,
    window: bool = False,
) -> Running:
    """Start `COMMAND [--no-window] --data-dir HOME ARGS` and wait for its join line."""
    process = subprocess.Popen(
        [*command, *([] if window else ["--no-window"]), "--data-dir", str(home.data_dir), *args],
        cwd=ROOT,
        env=env if env is not None else home.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""  # printed once the server accepts
    match = JOIN_LINE.match(line.strip())
    if match is None:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"no join line: {line!r}, stderr: {err!r}")
    return Running(process, match.group(1), int(match.group(2)), match.group(3))


def read_line(running: Running, timeout: float = 10.0) -> str:
    """The next line the running chatdesk prints on stdout (stripped)."""
    assert running.process.stdout is not None
    ready, _, _ = select.select([running.process.stdout], [], [], timeout)
    assert ready, f"nothing printed within {timeout:g} s"
    return running.process.stdout.readline().strip()


def assert_serves_and_chats(running: Running) -> None:
    """Its pages and static files load, and a message sent on /chat is acked and echoed."""
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        assert client.get(f"{running.base}/healthz").json()["status"] == "ok"
        page = client.get(running.url)
        assert page.status_code == 200 and "chatdesk" in page.text
        assert client.get(f"{running.base}/static/app.js").status_code == 200
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    url = f"ws://127.0.0.1:{running.port}/chat"
    with connect(url, additional_headers={"Cookie": cookie}) as ws:
        ws.send(json.dumps({"type": "hello", "nick": "tester"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        ws.send(json.dumps({"type": "join", "room": "general"}))
        ws.send(json.dumps({"type": "send", "room": "general", "text": "hi", "client_id": "t1"}))
        seen = set()
        while seen != {"ack", "message"}:
            frame = json.loads(ws.recv(timeout=10))
            if frame.get("client_id") == "t1":
                seen.add(frame["type"])


def stop_chatdesk(running: Running, timeout: float = 10.0) -> tuple[int, str, str]:
    """SIGTERM it; (exit status, rest of stdout, stderr)."""
    running.process.send_signal(signal.SIGTERM)
    out, err = running.process.communicate(timeout=timeout)
    return running.process.returncode, out, err


@contextlib.contextmanager
def chatdesk_serving(home: Home, *args: str) -> Iterator[Running]:
    running = start_chatdesk(home, *args)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
        running.process.communicate(timeout=10)


def run_cli(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m chatdesk --data-dir HOME ARGS` to its end."""
    return subprocess.run(
        [*chatdesk_command(), "--data-dir", str(home.data_dir), *args],
        cwd=ROOT,
        env=home.env,
        capture_output=True,
        text=True,
        timeout=30,
    )


# -- in-process launches ---------------------------------------------------------------------------


def launcher(home: Home, out: io.StringIO, **settings: Any) -> Launcher:
    return Launcher(Settings(data_dir=home.data_dir, **settings), out=out)


def join_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("chatdesk: open ")]


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def signal_when_serving(out: io.StringIO, sig: int = signal.SIGTERM) -> threading.Thread:
    """Send `sig` to this process once a join line is printed."""

    def wait_and_signal() -> None:
        deadline = time.monotonic() + 10
        while not join_lines(out.getvalue()) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=wait_and_signal)
    thread.start()
    return thread


def threads() -> set[threading.Thread]:
    """Live threads, but the toolkit's process-wide pool of idle workers (joined at exit)."""
    return {t for t in threading.enumerate() if not t.name.startswith("chatdesk-worker")}


@pytest.fixture
def no_threads_left() -> Iterator[None]:
    before = threads()
    yield
    deadline = time.monotonic() + 5
    while (left := threads() - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not left, f"threads left behind: {sorted(t.name for t in left)}"


# -- a guest's or the window's client --------------------------------------------------------------


@contextlib.contextmanager
def login(url: str) -> Iterator[httpx.Client]:
    """An HTTP client that followed a /join link (so it holds the session cookie)."""
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert response.url.path == "/"
        yield client


def chat_hello(client: httpx.Client, port: int, nick: str = "tester") -> dict[str, Any]:
    """A real /chat WebSocket with the client's cookie: hello, then the welcome frame."""
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    with connect(
        f"ws://127.0.0.1:{port}/chat", additional_headers={"Cookie": cookie}, open_timeout=10
    ) as ws:
        ws.send(json.dumps({"type": "hello", "nick": nick}))
        return json.loads(ws.recv(timeout=10))
