"""The Host: the UI's LAN switch restarting the listener on the same port, the LAN choice and
the port remembered per data directory (a remembered port taken meanwhile moves, and says so),
and a token rotated from the Invite panel printing the new links.

The in-process window here is the fake pywebview of fakes.py (see its docstring); the chat,
the server and every request are real.
"""

from __future__ import annotations

import io
import socket
import sys
import time
from typing import Any

import pytest

from chatdesk.chat.config import ChatConfig
from chatdesk.desktop.host import real_chat
from chatdesk.desktop.launcher import Launcher
from chatdesk.desktop.logs import logging_to
from chatdesk.desktop.settings import Settings
from chatdesk.desktop.state import recall, remember
from tests.desktop.conftest import (
    JOIN_LINE,
    Home,
    chatdesk_serving,
    join_lines,
    launcher,
    login,
    read_line,
    signal_when_serving,
    stop_chatdesk,
)
from tests.desktop.fakes import FakeWindow, fake_webview

# -- LAN mode --------------------------------------------------------------------------------------


def test_the_ui_lan_switch_restarts_the_listener_on_the_same_port(
    home: Home, monkeypatch: pytest.MonkeyPatch, no_threads_left: None
) -> None:
    made: list[ChatConfig] = []

    def recording_factory(config: ChatConfig) -> Any:
        made.append(config)
        return real_chat(config)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 10
        while len(made) < count or not join_lines(out.getvalue())[count - 1 :]:
            assert time.monotonic() < deadline, "the listener was not restarted"
            time.sleep(0.01)

    def switch(window: FakeWindow, enabled: bool) -> None:
        """What the UI's switch does, with the window's (owner) session."""
        with login(window.url) as client:
            base = window.url.split("/join")[0]
            answer = client.post(f"{base}/api/lan", json={"enabled": enabled})
            assert answer.status_code == 202, answer.text

    def on_start(window: FakeWindow) -> None:
        port = int(window.url.split(":")[2].split("/")[0])
        switch(window, True)
        wait_for(2)
        assert recall(home.data_dir).port == port
        switch(window, False)  # same port, same owner key: the window reconnects
        wait_for(3)
        with login(window.url):
            pass

    module, _ = fake_webview(on_start)
    monkeypatch.setitem(sys.modules, "webview", module)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr("chatdesk.desktop.network.allowed_lan_hosts", lambda host: ["192.0.2.7"])
    monkeypatch.setattr("chatdesk.desktop.network.lan_addresses", lambda: ["192.0.2.7"])
    out = io.StringIO()
    run = Launcher(Settings(data_dir=home.data_dir), chat_factory=recording_factory, out=out)
    assert run.run() == 0
    assert [config.reach.lan_hosts for config in made] == [(), ("192.0.2.7",), ()]
    assert made[0].owner_key == made[1].owner_key == made[2].owner_key  # one for the process
    lines = join_lines(out.getvalue())
    assert len(lines) == 4  # loopback; loopback + the LAN address; loopback
    assert lines[2].startswith("chatdesk: open http://192.0.2.7:")
    assert recall(home.data_dir).lan is False  # the data directory's choice, ...
    assert not home.settings_path.exists()  # ... not every data directory's


def test_lan_on_the_command_line_is_not_saved_but_its_port_is_remembered(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chatdesk.desktop.network.allowed_lan_hosts", lambda host: [])
    monkeypatch.setattr("chatdesk.desktop.network.lan_addresses", lambda: [])
    out = io.StringIO()
    signaller = signal_when_serving(out)
    # --host 127.0.0.1 with --lan: loopback only, so nothing is exposed during the test
    assert launcher(home, out, lan=True, host="127.0.0.1", window=False).run() == 0
    signaller.join()
    port = int(JOIN_LINE.match(join_lines(out.getvalue())[0]).group(2))  # type: ignore[union-attr]
    assert recall(home.data_dir).port == port
    assert not home.settings_path.exists()
    out = io.StringIO()
    signaller = signal_when_serving(out)
    assert launcher(home, out, lan=True, host="127.0.0.1", window=False).run() == 0
    signaller.join()
    assert f"127.0.0.1:{port}/" in join_lines(out.getvalue())[0]


# -- the port --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lan", [False, True])
def test_a_remembered_port_taken_meanwhile_moves_and_says_so(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lan: bool
) -> None:
    monkeypatch.setattr("chatdesk.desktop.network.allowed_lan_hosts", lambda host: [])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        home.data_dir.mkdir(mode=0o700)
        remember(home.data_dir, port=port)
        out = io.StringIO()
        signaller = signal_when_serving(out)
        with logging_to(home.log_dir):
            assert launcher(home, out, lan=lan, host="127.0.0.1", window=False).run() == 0
        signaller.join()
    moved = recall(home.data_dir).port
    assert moved is not None and moved != port
    assert f"127.0.0.1:{moved}/" in join_lines(out.getvalue())[0]
    assert capsys.readouterr().err == (
        f"chatdesk: warning: port {port}, this chat's port last time, is taken: serving on "
        f"port {moved} instead, so links and open tabs with the old port no longer reach this "
        "chat\n"
    )


def test_a_restart_keeps_the_port_so_links_and_tabs_keep_working(home: Home) -> None:
    with chatdesk_serving(home) as first, login(first.url) as client:
        assert stop_chatdesk(first)[0] == 0
        with chatdesk_serving(home) as second:
            assert second.port == first.port
            assert second.url == first.url
            assert client.get(f"{second.base}/api/rooms").status_code == 200
            assert stop_chatdesk(second)[0] == 0


# -- the room token --------------------------------------------------------------------------------


def test_a_token_rotated_from_the_invite_panel_prints_the_new_links(home: Home) -> None:
    with chatdesk_serving(home) as running:
        with login(running.url) as client:  # a `--no-window` host's browser on this machine
            rotated = client.post(f"{running.base}/api/token/rotate")
            assert rotated.status_code == 200
            line = read_line(running)
            new_token = (home.data_dir / "token").read_text().strip()
            assert line == f"chatdesk: open {running.base}/join?token={new_token}"
            assert client.get(f"{running.base}/api/rooms").status_code == 200  # still signed in
        status, _, err = stop_chatdesk(running)
        assert status == 0
        assert err == "chatdesk: the room token was replaced; earlier invite links no longer work\n"
