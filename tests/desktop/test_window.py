"""The real window: pywebview + WebKitGTK under a private Xvfb, driven by the hidden --self-test.

The self-test opens the window on the authenticated chat page, polls `evaluate_js` until the page
has rendered and a chat message went over the real /chat WebSocket and came back (ack + message),
takes a screenshot of the display, closes the window and prints a JSON result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.desktop.conftest import (
    ROOT,
    Home,
    chatdesk_command,
    start_chatdesk_command,
    stop_chatdesk,
)
from tests.desktop.xvfb import (
    colours,
    run_self_test,
    wait_for_webkit_helpers_to_exit,
    xvfb,
)
from tests.support.requirements import require_executable

pytestmark = pytest.mark.window


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb() as name:
        yield name


def test_the_window_renders_the_chat_and_round_trips_a_message(
    home: Home, display: str, tmp_path: Path
) -> None:
    shot = tmp_path / "window.png"
    command = chatdesk_command()
    result, report = run_self_test(command, display, home.data_dir, shot, home.env, ROOT)
    assert result.returncode == 0, (result.stderr, report)
    assert report["ok"] is True, report
    assert report["rendered"] and report["acked"] and report["echoed"]
    assert report["threads_left"] == []
    assert colours(shot) > 20, "the screenshot is blank"
    assert result.stdout.count("chatdesk: open ") == 1
    assert not (home.data_dir / "instance.json").exists()


def test_sigterm_closes_the_window_and_exits_0(home: Home, display: str) -> None:
    running = start_chatdesk_command(
        [*chatdesk_command()], home, env=home.env | {"DISPLAY": display}, window=True
    )
    try:
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{running.base}/healthz").status_code == 200
        status, _out, err = stop_chatdesk(running)
        assert status == 0, err
        assert err == ""
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate(timeout=10)
    wait_for_webkit_helpers_to_exit(display)


def test_the_window_title_follows_the_page(display: str, home: Home) -> None:
    """The taskbar shows what the page's title says (the unread count: "(3) chatdesk")."""
    require_executable("xwininfo")  # x11-utils
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("window_title_probe.py"))],
        env=home.env | {"DISPLAY": display},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = json.loads(result.stdout.strip().splitlines()[-1])["names"]
    assert "(3) chatdesk" in names, names
    wait_for_webkit_helpers_to_exit(display)
