"""Single instance per data directory: an exclusive lock plus an owner-only runtime file.

The lock is `fcntl.flock` on the data directory's `instance.lock`: the kernel drops it when its
holder dies, so a lock is never stale. The runtime file `instance.json` (mode 0600) tells a second
launch how to reach the running server; one left behind by a crash is recognised (its process
no longer holds the lock) and replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from chatdesk.chat.links import LOOPBACK, url_host
from chatdesk.datadir import DataDir
from chatdesk.files import write_atomically

__all__ = ["InstanceLock", "RunningInstance", "read_running", "wait_for_running"]


@dataclass(frozen=True)
class RunningInstance:
    """How to reach the server that holds a data directory."""

    pid: int
    port: int
    lan: bool

    @property
    def url(self) -> str:
        """Its origin on loopback."""
        return f"http://{url_host(LOOPBACK)}:{self.port}"


class InstanceLock:
    """The exclusive right to serve a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._files = DataDir(data_dir)
        self._file: IO[bytes] | None = None

    @property
    def runtime_path(self) -> Path:
        """The runtime file, present while this process serves."""
        return self._files.runtime

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        file = os.fdopen(os.open(self._files.instance_lock, flags, 0o600), "ab")
        try:
            locked = _lock_exclusively(file)
        except BaseException:
            file.close()
            raise
        if not locked:
            file.close()
            return False
        self._file = file
        # Whatever runtime file exists now was left by a process that died: replace it.
        with contextlib.suppress(FileNotFoundError):
            self.runtime_path.unlink()
        return True

    def publish(self, port: int, *, lan: bool) -> None:
        """Write the runtime file (owner-only, atomically): this process serves on `port`."""
        assert self._file is not None, "publish() needs the lock"
        running = RunningInstance(pid=os.getpid(), port=port, lan=lan)
        write_atomically(self.runtime_path, json.dumps(asdict(running)), durable=False)

    def release(self) -> None:
        """Remove the runtime file, then drop the lock."""
        if self._file is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.runtime_path.unlink()
        self._file.close()  # closing the descriptor releases the flock
        self._file = None


def _lock_exclusively(file: IO[bytes]) -> bool:
    """Take an exclusive lock the OS drops when the process dies; False if another holds it."""
    if sys.platform == "win32":
        import msvcrt

        file.seek(0)
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def read_running(data_dir: Path) -> RunningInstance | None:
    """The runtime file's instance, if the file is valid and its process is alive."""
    try:
        record = json.loads(DataDir(data_dir).runtime.read_text(encoding="utf-8"))
        running = RunningInstance(
            pid=int(record["pid"]), port=int(record["port"]), lan=record.get("lan") is True
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not 0 < running.port <= 65535:
        return None
    return running if _alive(running.pid) else None


def wait_for_running(data_dir: Path, timeout: float = 10.0) -> RunningInstance | None:
    """The instance holding the lock, once it has published how to reach it (None on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        running = read_running(data_dir)
        if running is not None or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process, or no such pid at all
        return False
    except PermissionError:
        return True
    return True
