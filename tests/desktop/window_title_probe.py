"""Run under Xvfb by test_window.py: open_window on a page, retitle the page, print the X titles.

Prints one JSON line: the names of the display's top-level windows while the page's title is
"(3) chatdesk", as X (the taskbar, the window switcher) sees them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chatdesk.desktop.window import open_window, preload

PAGE = "data:text/html,<title>chatdesk</title><p>title probe</p>"


def window_names() -> list[str]:
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    return [line.split('"')[1] for line in tree.splitlines() if line.count('"') >= 2]


def probe(window: Any) -> None:
    names: list[str] = []
    try:
        window.events.loaded.wait(20)
        window.run_js("document.title = '(3) chatdesk'")
        deadline = time.monotonic() + 5
        while "(3) chatdesk" not in names and time.monotonic() < deadline:
            time.sleep(0.05)
            names = window_names()
    finally:
        print(json.dumps({"names": names}), flush=True)
        window.destroy()


if __name__ == "__main__":
    preload()
    with tempfile.TemporaryDirectory() as storage:
        open_window(PAGE, storage_dir=Path(storage), task=probe)
    sys.exit(0)
