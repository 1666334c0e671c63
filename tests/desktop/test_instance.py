"""Single instance per data directory: a second launch points at the running one (printing its
link, or opening a window on it), and the runtime file (owner-only, removed on exit, a stale one
from a crash replaced); the InstanceLock and read_running themselves.

The in-process window here is the fake pywebview of fakes.py (see its docstring).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatdesk.datadir import DataDir
from chatdesk.desktop.instance import InstanceLock, RunningInstance, read_running
from tests.desktop.conftest import (
    ROOT,
    Home,
    chatdesk_serving,
    launcher,
    login,
    run_cli,
    stop_chatdesk,
)
from tests.desktop.fakes import FakeWindow, fake_webview

# -- a second launch -------------------------------------------------------------------------------


def test_a_second_launch_points_at_the_running_one(home: Home) -> None:
    with chatdesk_serving(home) as running:
        second = run_cli(home, "--no-window")
        assert second.returncode == 0, second.stderr
        assert second.stdout == f"chatdesk: open {running.url}\n"
        assert "already running" in second.stderr
        runtime = json.loads(DataDir(home.data_dir).runtime.read_text())
        assert runtime["pid"] == running.process.pid
        assert DataDir(home.data_dir).runtime.stat().st_mode & 0o777 == 0o600
        assert stop_chatdesk(running)[0] == 0
    assert not DataDir(home.data_dir).runtime.exists()


def test_a_second_launch_with_a_display_opens_a_window_on_the_running_one(
    home: Home, monkeypatch: pytest.MonkeyPatch, no_threads_left: None
) -> None:
    pages: list[int] = []

    def on_start(window: FakeWindow) -> None:
        with login(window.url) as client:
            pages.append(client.get(window.url.split("/join")[0] + "/").status_code)

    module, calls = fake_webview(on_start)
    monkeypatch.setitem(sys.modules, "webview", module)
    monkeypatch.setenv("DISPLAY", ":99")
    with chatdesk_serving(home) as running:
        out = io.StringIO()
        assert launcher(home, out).run() == 0
        assert calls[0][2] == running.url  # the running server's room link, in-process
        assert pages == [200]
        assert out.getvalue() == ""
        assert stop_chatdesk(running)[0] == 0


def test_a_runtime_file_left_by_a_crash_is_replaced(home: Home) -> None:
    with chatdesk_serving(home) as crashed:
        crashed.process.kill()  # SIGKILL: no cleanup at all
        crashed.process.wait(10)
    assert json.loads(DataDir(home.data_dir).runtime.read_text())["pid"] == crashed.process.pid
    with chatdesk_serving(home) as running:
        runtime = json.loads(DataDir(home.data_dir).runtime.read_text())
        assert runtime == {"pid": running.process.pid, "port": running.port, "lan": False}
        with login(running.url) as client:
            assert client.get(f"{running.base}/healthz").status_code == 200
        assert stop_chatdesk(running)[0] == 0


# -- InstanceLock ----------------------------------------------------------------------------------


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait(10)
    return process.pid


@contextlib.contextmanager
def held_by_another_process(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that took `data_dir`'s lock (and holds it until killed)."""
    code = (
        "import sys; from pathlib import Path; from chatdesk.desktop.instance import InstanceLock; "
        "lock = InstanceLock(Path(sys.argv[1])); print(lock.acquire(), flush=True); "
        "sys.stdin.read()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready and process.stdout.readline() == "True\n", "the other process has no lock"
        yield process
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_a_second_acquire_in_the_same_process_fails_while_the_first_holds(
    tmp_path: Path,
) -> None:
    """flock locks belong to an open file description, not to a process: a second open of the
    lock file cannot take it, even in the holder's process (a POSIX record lock, `lockf`, would
    be granted, and closing that second descriptor would even drop the first's lock)."""
    first, second = InstanceLock(tmp_path), InstanceLock(tmp_path)
    assert first.acquire() is True
    assert second.acquire() is False
    assert second.acquire() is False  # the failed attempt closed its descriptor: still held
    first.release()
    assert second.acquire() is True
    second.release()


def test_the_lock_holds_against_another_process_until_that_process_dies(tmp_path: Path) -> None:
    with held_by_another_process(tmp_path) as holder:
        assert InstanceLock(tmp_path).acquire() is False
        holder.kill()  # SIGKILL: the kernel drops its lock, nothing else does
        holder.wait(10)
        lock = InstanceLock(tmp_path)
        assert lock.acquire() is True
        lock.release()


def test_publish_writes_an_owner_only_runtime_file_that_release_removes(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    assert lock.acquire() is True
    lock.publish(4321, lan=True)
    assert lock.runtime_path == DataDir(tmp_path).runtime
    assert json.loads(lock.runtime_path.read_text()) == {
        "pid": os.getpid(),
        "port": 4321,
        "lan": True,
    }
    assert lock.runtime_path.stat().st_mode & 0o777 == 0o600
    running = read_running(tmp_path)
    assert running == RunningInstance(pid=os.getpid(), port=4321, lan=True)
    assert running.url == "http://127.0.0.1:4321"
    lock.release()
    assert not lock.runtime_path.exists()
    assert read_running(tmp_path) is None
    lock.release()  # a second release does nothing
    again = InstanceLock(tmp_path)
    assert again.acquire() is True  # the lock went with the first release
    again.release()


def test_acquiring_replaces_a_crashed_runtime_file_and_failing_leaves_the_holders(
    tmp_path: Path,
) -> None:
    runtime = DataDir(tmp_path).runtime
    runtime.write_text(json.dumps({"pid": dead_pid(), "port": 1111, "lan": False}))
    holder = InstanceLock(tmp_path)
    assert holder.acquire() is True
    assert not runtime.exists()  # left by a process that died: gone
    holder.publish(2222, lan=False)
    assert InstanceLock(tmp_path).acquire() is False
    assert read_running(tmp_path) == RunningInstance(pid=os.getpid(), port=2222, lan=False)
    holder.release()


def test_read_running_ignores_a_runtime_file_whose_process_is_dead(tmp_path: Path) -> None:
    runtime = DataDir(tmp_path).runtime
    runtime.write_text(json.dumps({"pid": os.getpid(), "port": 4321, "lan": False}))
    assert read_running(tmp_path) == RunningInstance(pid=os.getpid(), port=4321, lan=False)
    runtime.write_text(json.dumps({"pid": dead_pid(), "port": 4321, "lan": False}))
    assert read_running(tmp_path) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe not UTF-8",
        b"null",
        b"[]",
        b'"instance"',
        b"{}",
        b'{"port": 4321}',
        b'{"pid": PID}',
        b'{"pid": "me", "port": 4321}',
        b'{"pid": PID, "port": "eighty"}',
        b'{"pid": PID, "port": null}',
        b'{"pid": 0, "port": 4321}',
        b'{"pid": -1, "port": 4321}',
        b'{"pid": 2147483648, "port": 4321}',
        b'{"pid": PID, "port": -5}',
        b'{"pid": PID, "port": 70000}',
    ],
)
def test_read_running_ignores_a_garbage_runtime_file(tmp_path: Path, content: bytes) -> None:
    runtime = DataDir(tmp_path).runtime
    runtime.write_bytes(content.replace(b"PID", str(os.getpid()).encode()))
    assert read_running(tmp_path) is None


def test_only_a_json_true_lan_is_lan(tmp_path: Path) -> None:
    runtime = DataDir(tmp_path).runtime
    runtime.write_text(json.dumps({"pid": os.getpid(), "port": 4321, "lan": "false"}))
    running = read_running(tmp_path)
    assert running is not None and running.lan is False


def test_the_lock_file_is_owner_only(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    assert lock.acquire()
    try:
        assert DataDir(tmp_path).instance_lock.stat().st_mode & 0o777 == 0o600
    finally:
        lock.release()


def test_read_running_without_a_runtime_file(tmp_path: Path) -> None:
    assert read_running(tmp_path) is None
    assert read_running(tmp_path / "missing") is None
