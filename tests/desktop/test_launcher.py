"""The launcher: the window on the authenticated page, no GUI toolkit without one, the fallbacks
(no display, no webview backend, a stale DISPLAY), and launch errors leaving nothing running.

The in-process tests stand a fake in for the `webview` module (`sys.modules["webview"]`,
tests/desktop/fakes.py): no display is needed, and the fake is legitimate because its `start()`
does what a window's page does over the real network: a real HTTP GET of the window's URL (the
authenticated chat page, 200) and a real WebSocket /chat hello round trip against the real
uvicorn server the launcher started. The real window is tested under Xvfb in test_window.py.
"""

from __future__ import annotations

import importlib.util
import io
import signal
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatdesk.datadir import DataDir
from chatdesk.desktop.launcher import LaunchError
from tests.desktop.conftest import (
    JOIN_LINE,
    Home,
    chat_hello,
    chatdesk_command,
    join_lines,
    launcher,
    login,
    refused,
    signal_when_serving,
    start_chatdesk_command,
    stop_chatdesk,
)
from tests.desktop.fakes import FakeWindow, fake_webview
from tests.support.requirements import require

# -- the window ------------------------------------------------------------------------------------


def test_window_opens_on_the_authenticated_page(
    home: Home, monkeypatch: pytest.MonkeyPatch, no_threads_left: None
) -> None:
    seen: dict[str, Any] = {}

    def on_start(window: FakeWindow) -> None:
        seen["port"] = port = urlsplit(window.url).port
        seen["opacity"] = window.web_view.opacity
        window.web_view.page_sets_title("(2) chatdesk")  # two unread messages
        seen["titles"] = [window.native.title]
        window.web_view.page_sets_title("")
        seen["titles"].append(window.native.title)
        with login(window.url) as client:  # what the window's page does
            seen["page"] = client.get(f"http://127.0.0.1:{port}/").text
            seen["welcome"] = chat_hello(client, port)

    module, calls = fake_webview(on_start)
    monkeypatch.setitem(sys.modules, "webview", module)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("PYWEBVIEW_GUI", raising=False)
    out = io.StringIO()
    run = launcher(home, out)
    assert run.run() == 0

    (line,) = join_lines(out.getvalue())
    match = JOIN_LINE.match(line)
    assert match is not None
    room_token = match.group(3)
    (_, title, url), (_, options) = calls
    assert title == "chatdesk"
    assert url.startswith(f"http://127.0.0.1:{seen['port']}/join?token=")
    owner_key = url.rsplit("=", 1)[1]
    assert owner_key != room_token and len(owner_key) >= 43  # 32 random bytes
    assert owner_key not in out.getvalue()
    assert options["gui"] == "gtk"
    assert options["private_mode"] is False
    assert seen["opacity"] == 1.0, "the web view stays hidden until its first load event"
    assert seen["titles"] == ["(2) chatdesk", "chatdesk"]  # the window's title is the page's
    assert Path(options["storage_path"]) == home.data_dir / "webview"
    assert 'id="messages"' in seen["page"]
    assert seen["welcome"]["type"] == "welcome"
    assert refused(seen["port"]), "the server still listens after the window closed"
    assert not DataDir(home.data_dir).runtime.exists()


def test_no_window_never_imports_a_gui_toolkit(
    home: Home, monkeypatch: pytest.MonkeyPatch, no_threads_left: None
) -> None:
    monkeypatch.setitem(sys.modules, "webview", None)  # importing either raises ImportError
    monkeypatch.setitem(sys.modules, "gi", None)
    out = io.StringIO()
    signaller = signal_when_serving(out)
    assert launcher(home, out, window=False).run() == 0
    signaller.join()
    assert sys.modules["webview"] is None and sys.modules["gi"] is None
    assert len(join_lines(out.getvalue())) == 1


# -- the fallbacks ---------------------------------------------------------------------------------


def test_without_a_display_it_serves_and_says_why(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module, calls = fake_webview(lambda window: pytest.fail("no window without a display"))
    monkeypatch.setitem(sys.modules, "webview", module)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = io.StringIO()
    signaller = signal_when_serving(out, signal.SIGINT)
    assert launcher(home, out).run() == 0
    signaller.join()
    assert calls == []
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "chatdesk: no display found; serving without a window (open a link above in a browser)"
    ]


def test_without_a_webview_backend_it_opens_the_browser_on_the_room_link(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[str] = []
    monkeypatch.setitem(sys.modules, "webview", None)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    out = io.StringIO()
    signaller = signal_when_serving(out)
    assert launcher(home, out).run() == 0
    signaller.join()
    assert opened == [join_lines(out.getvalue())[0].removeprefix("chatdesk: open ")]
    assert capsys.readouterr().err == (
        "chatdesk: pywebview is not installed; serving without a window "
        "(opened the link in the browser)\n"
    )


def test_a_stale_display_serves_and_prints_the_link(home: Home) -> None:
    require(importlib.util.find_spec("gi") is not None, "PyGObject is not installed")
    display = next(n for n in range(77, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    env = home.env | {"DISPLAY": f":{display}"}
    env.pop("WAYLAND_DISPLAY", None)
    running = start_chatdesk_command(chatdesk_command(), home, env=env, window=True)
    try:
        with login(running.url) as client:
            assert client.get(f"{running.base}/api/rooms").status_code == 200
        status, _, err = stop_chatdesk(running)
        assert status == 0, err
        assert (
            f"chatdesk: cannot open the display :{display}; serving without a window "
            "(open a link above in a browser)\n"
        ) in err
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate(timeout=10)


# -- errors ----------------------------------------------------------------------------------------


def test_launch_errors_leave_nothing_running(home: Home, no_threads_left: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(LaunchError, match="Address already in use"):
            launcher(home, io.StringIO(), port=taken.getsockname()[1], window=False).run()
    # the lock was released: a new launch can serve
    out = io.StringIO()
    signaller = signal_when_serving(out)
    assert launcher(home, out, window=False).run() == 0
    signaller.join()
