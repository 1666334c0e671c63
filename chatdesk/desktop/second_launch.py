"""A second launch on a data directory another process serves: a window on it, or its link."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from chatdesk.chat.links import LOOPBACK, join_url
from chatdesk.datadir import DataDir
from chatdesk.desktop.errors import LaunchError
from chatdesk.desktop.instance import wait_for_running
from chatdesk.desktop.window import WindowUnavailable, preload, show, window_problem

__all__ = ["point_at_running"]

POLL_INTERVAL = 0.1  # seconds between looks at `stopping` while the window is open


def point_at_running(
    data_dir: Path, *, window: bool, stopping: threading.Event, out: TextIO
) -> int:
    """Open a window on the running chat (SIGINT/SIGTERM close it), or print its link; 0."""
    running = wait_for_running(data_dir)
    if running is None:
        raise LaunchError(f"another chatdesk holds {data_dir} but does not answer")
    from chatdesk.chat.access import Access, AccessError

    try:
        token = Access(data_dir).token  # same user: may read the room token
    except AccessError as exc:
        raise LaunchError(str(exc)) from None
    url = join_url(LOOPBACK, running.port, token)
    print(
        f"chatdesk: already running for {data_dir} (pid {running.pid})", file=sys.stderr, flush=True
    )
    if window and (window_problem() or preload()) is None:
        with contextlib.suppress(WindowUnavailable):
            show(url, storage_dir=DataDir(data_dir).webview, task=_closing_on(stopping))
            return 0
    print(f"chatdesk: open {url}", file=out, flush=True)
    return 0


def _closing_on(stopping: threading.Event) -> Any:
    def task(window: Any, closed: threading.Event) -> None:
        while not closed.wait(POLL_INTERVAL):
            if stopping.is_set():
                window.destroy()
                return

    return task
