"""Private files and directories: created owner-only, replaced whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["private_dir", "write_atomically"]


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; a directory chatdesk creates is owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_atomically(path: Path, text: str, *, durable: bool = True) -> None:
    """Replace `path` with `text` (UTF-8, owner-only); on disk before return when `durable`.

    Readers see the old file or the new one, never a part. The parent directory is created
    owner-only if missing.
    """
    private_dir(path.parent)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:
        _fsync_directory(path.parent)  # makes the rename itself durable


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory; its rename is durable once it returns
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
