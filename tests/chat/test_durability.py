"""Every acknowledged message survives `kill -9` of the server, exactly once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect

from tests.chat.conftest import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
OPEN_LINE = re.compile(r"chatdesk: open http://127\.0\.0\.1:(\d+)/join\?token=([A-Za-z0-9_-]+)")
WRITERS = 6
LOAD_ACKS = 150  # kill once this many messages are acknowledged, with writers still going


@contextmanager
def chatdesk_server(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    """`python -m chatdesk --no-window` on `data_dir`: the process, its port and token."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chatdesk",
            "--no-window",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        found: list[re.Match[str]] = []
        reader = threading.Thread(
            target=lambda: found.extend(filter(None, map(OPEN_LINE.search, process.stdout))),
            daemon=True,
        )
        reader.start()
        deadline = time.monotonic() + 30
        while not found:
            assert process.poll() is None, "chatdesk exited before it printed its address"
            assert time.monotonic() < deadline, "chatdesk did not print its address"
            time.sleep(0.02)
        yield process, int(found[0].group(1)), found[0].group(2)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def write_until_killed(port: int, token: str, index: int, acked: dict[str, int]) -> None:
    """Send messages at the protocol's rate, recording every ack, until the server dies."""
    try:
        with connect(
            f"ws://127.0.0.1:{port}/chat",
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=TIMEOUT,
            close_timeout=0.5,
        ) as socket:
            socket.send(json.dumps({"type": "hello", "nick": f"writer{index}"}))
            socket.send(json.dumps({"type": "join", "room": "general", "after": 10**15}))
            n = 0
            while True:
                client_id = f"w{index}-{n}"
                text = f"message {n} from writer {index}"
                socket.send(
                    json.dumps(
                        {"type": "send", "room": "general", "text": text, "client_id": client_id}
                    )
                )
                while True:
                    frame = json.loads(socket.recv(timeout=TIMEOUT))
                    if frame.get("client_id") == client_id and frame["type"] in ("ack", "error"):
                        break
                if frame["type"] == "ack":
                    acked[client_id] = frame["id"]
                n += 1
                if n >= 15:
                    time.sleep(0.11)  # stay under 10 frames a second after the first burst
    except (ConnectionClosed, WebSocketException, OSError, TimeoutError):
        return  # the server was killed


def all_messages(port: int, token: str) -> list[dict[str, Any]]:
    """Every message of `general`, through the API, paging with `after`."""
    messages: list[dict[str, Any]] = []
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    ) as http:
        after = 0
        while True:
            page = http.get("/api/rooms/general/messages", params={"after": after, "limit": 500})
            assert page.status_code == 200
            body = page.json()
            messages += body["messages"]
            if not body["has_more"]:
                return messages
            after = body["messages"][-1]["id"]


def replayed_messages(port: int, token: str, last_id: int) -> list[dict[str, Any]]:
    """Every message of `general` as a join with `after: 0` replays it."""
    with connect(
        f"ws://127.0.0.1:{port}/chat",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=TIMEOUT,
    ) as socket:
        socket.send(json.dumps({"type": "hello", "nick": "auditor"}))
        socket.send(json.dumps({"type": "join", "room": "general", "after": 0}))
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["id"] < last_id:
            frame = json.loads(socket.recv(timeout=TIMEOUT))
            if frame["type"] == "message":
                messages.append(frame)
        return messages


def test_acknowledged_messages_survive_kill_9_exactly_once(tmp_path: Path):
    data_dir = tmp_path / "data"
    acked: dict[str, int] = {}
    with chatdesk_server(data_dir) as (process, port, token):
        writers = [
            threading.Thread(target=write_until_killed, args=(port, token, i, acked), daemon=True)
            for i in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 30
        while len(acked) < LOAD_ACKS:
            assert time.monotonic() < deadline, f"only {len(acked)} acks"
            assert all(writer.is_alive() for writer in writers), "a writer stopped early"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # mid-load: the writers are still sending
        process.wait(10)
        for writer in writers:
            writer.join(TIMEOUT + 2)
            assert not writer.is_alive()
    assert len(acked) >= LOAD_ACKS

    with chatdesk_server(data_dir) as (_, port, same_token):
        assert same_token == token  # the token persists across restarts
        stored = all_messages(port, token)
        by_client_id: dict[str, list[int]] = {}
        for message in stored:
            by_client_id.setdefault(str(message["client_id"]), []).append(int(message["id"]))
        for client_id, message_id in acked.items():
            assert by_client_id.get(client_id) == [message_id], client_id
        assert all(len(ids) == 1 for ids in by_client_id.values())
        ids = [message["id"] for message in stored]
        assert ids == sorted(set(ids))
        assert replayed_messages(port, token, int(ids[-1])) == stored
