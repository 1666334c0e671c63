"""A private Xvfb display, and running chatdesk's window self-test on it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.requirements import require_executable


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """Start Xvfb on a free display (`-displayfd` answers once it is ready); yield ":N"."""
    binary = require_executable("Xvfb")
    require_executable("import")  # ImageMagick: the self-test's screenshots
    read, write = os.pipe()
    process = subprocess.Popen(
        [binary, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as answer:
            number = answer.readline().strip()
        assert number.isdigit(), "Xvfb did not report its display"
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(10)


def webkit_helpers(display: str) -> set[int]:
    """The pids of the WebKitGTK helper processes on `display` (they inherit its DISPLAY)."""
    marker = f"DISPLAY={display}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith("WebKit") and marker in (
                    (entry / "environ").read_bytes().split(b"\0")
                ):
                    found.add(int(entry.name))
    return found


def wait_for_webkit_helpers_to_exit(display: str, timeout: float = 5.0) -> None:
    """WebKit's helper processes outlive the app by up to ~2 s, then exit on their own."""
    deadline = time.monotonic() + timeout
    while (left := webkit_helpers(display)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"WebKit helper processes left behind: {sorted(left)}"


def run_self_test(
    command: list[str],
    display: str,
    data_dir: Path,
    screenshot: Path,
    env: dict[str, str],
    cwd: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run `command --data-dir D --self-test --screenshot PNG` on `display`; (result, JSON)."""
    result = subprocess.run(
        [*command, "--data-dir", str(data_dir), "--self-test", "--screenshot", str(screenshot)],
        env={**env, "DISPLAY": display},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    wait_for_webkit_helpers_to_exit(display)
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {result.stderr}"
    return result, json.loads(lines[-1])


def colours(png: Path) -> int:
    """How many distinct colours the image has (ImageMagick `identify -format %k`)."""
    identify = require_executable("identify")
    out = subprocess.run(
        [identify, "-format", "%k", str(png)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())
