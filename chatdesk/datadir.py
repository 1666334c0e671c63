"""A data directory: where one chat's files live, each named here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatdesk.files import private_dir

__all__ = ["DataDir"]


@dataclass(frozen=True)
class DataDir:
    """The files of one chat: its messages, its room token, and what runs it."""

    root: Path

    @property
    def database(self) -> Path:
        """The message store (SQLite, with its `-wal` and `-shm` files beside it)."""
        return self.root / "chat.db"

    @property
    def token(self) -> Path:
        """The room token, owner-only."""
        return self.root / "token"

    @property
    def instance_lock(self) -> Path:
        """Held (flock) by the one process serving this directory."""
        return self.root / "instance.lock"

    @property
    def runtime(self) -> Path:
        """How to reach the process serving this directory (pid, port), owner-only."""
        return self.root / "instance.json"

    @property
    def state(self) -> Path:
        """What the directory remembers between runs (its port, its LAN switch)."""
        return self.root / "state.json"

    @property
    def webview(self) -> Path:
        """The window's own web storage (localStorage, cookies)."""
        return self.root / "webview"

    def create(self) -> DataDir:
        """Create the directory, owner-only, if it is missing."""
        private_dir(self.root)
        return self
