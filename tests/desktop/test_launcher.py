"""The launcher: start-up, window or fallback, errors, signals, settings, single instance.

The in-process tests stand a fake in for the `webview` module (`sys.modules["webview"]`): no
display is needed, and the fake is legitimate because its `start()` does what a window's page
does over the real network: a real HTTP GET of the window's URL (the authenticated chat page,
200) and a real WebSocket /chat hello round trip against the real uvicorn server the launcher
started. The real window is tested under Xvfb in test_window.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from chatdesk.desktop import cli
from chatdesk.desktop.instance import RUNTIME_FILE
from chatdesk.desktop.launcher import Launcher, LaunchError, real_chat
from chatdesk.desktop.logs import logging_to
from chatdesk.desktop.settings import Settings, SettingsError, load_settings
from chatdesk.desktop.state import recall, remember
from tests.desktop.conftest import (
    JOIN_LINE,
    ROOT,
    Home,
    chatdesk_command,
    chatdesk_serving,
    read_line,
    start_chatdesk,
    start_chatdesk_command,
    stop_chatdesk,
)
from tests.support.requirements import require, require_executable

# -- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def login(url: str) -> Iterator[httpx.Client]:
    """An HTTP client that followed a /join link (so it holds the session cookie)."""
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert response.url.path == "/"
        yield client


def chat_hello(client: httpx.Client, port: int, nick: str = "tester") -> dict[str, Any]:
    """A real /chat WebSocket with the client's cookie: hello, then the welcome frame."""
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    with connect(
        f"ws://127.0.0.1:{port}/chat", additional_headers={"Cookie": cookie}, open_timeout=10
    ) as ws:
        ws.send(json.dumps({"type": "hello", "nick": nick}))
        return json.loads(ws.recv(timeout=10))


class FakeEvent(list[Callable[..., Any]]):
    """pywebview's window event: handlers added with `+=`, run by the backend."""

    def __iadd__(self, handler: Any) -> FakeEvent:  # type: ignore[override]
        self.append(handler)
        return self


class FakeWebView:
    """WebKit2.WebView as pywebview's GTK backend leaves it before the window shows: hidden."""

    def __init__(self) -> None:
        self.opacity = 0.0
        self.title = ""
        self.handlers: dict[str, Callable[..., None]] = {}

    def set_opacity(self, value: float) -> None:
        self.opacity = value

    def connect(self, signal: str, handler: Callable[..., None]) -> None:
        self.handlers[signal] = handler

    def get_title(self) -> str:
        return self.title

    def page_sets_title(self, title: str) -> None:
        self.title = title
        self.handlers["notify::title"](self, None)


class FakeBin:
    """A GTK container with one child (Gtk.Window, Gtk.ScrolledWindow), and a title."""

    def __init__(self, child: Any) -> None:
        self.child = child
        self.title = "chatdesk"

    def get_child(self) -> Any:
        return self.child

    def set_title(self, title: str) -> None:
        self.title = title


class FakeWindow:
    def __init__(self, url: str) -> None:
        self.url = url
        self.destroyed = threading.Event()
        self.events = types.SimpleNamespace(
            before_show=FakeEvent(),
            closing=FakeEvent(),
            shown=threading.Event(),
            closed=threading.Event(),
        )
        self.web_view = FakeWebView()
        self.native = FakeBin(FakeBin(self.web_view))

    def destroy(self) -> None:
        self.destroyed.set()


def fake_webview(on_start: Callable[[FakeWindow], None]) -> tuple[types.ModuleType, list[Any]]:
    """A `webview` module whose start() calls `on_start(window)` and runs `func` like pywebview."""
    module = types.ModuleType("webview")
    calls: list[Any] = []

    class WebViewException(Exception):
        pass

    def create_window(title: str, url: str, **options: Any) -> FakeWindow:
        window = FakeWindow(url)
        calls.append(("create_window", title, url))
        return window

    def start(func: Any = None, args: Any = None, **options: Any) -> None:
        window = args[0]
        calls.append(("start", options))
        for handler in window.events.before_show:  # on the GUI thread, before it shows
            handler(window)
        window.events.shown.set()
        worker = threading.Thread(target=func, args=args) if func else None
        if worker:
            worker.start()  # pywebview runs func in a thread while the GUI loop runs
        on_start(window)

    module.create_window = create_window  # type: ignore[attr-defined]
    module.start = start  # type: ignore[attr-defined]
    module.WebViewException = WebViewException  # type: ignore[attr-defined]
    return module, calls


def launcher(home: Home, out: io.StringIO, **settings: Any) -> Launcher:
    return Launcher(Settings(data_dir=home.data_dir, **settings), out=out)


def join_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("chatdesk: open ")]


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def signal_when_serving(out: io.StringIO, sig: int = signal.SIGTERM) -> threading.Thread:
    """Send `sig` to this process once a join line is printed."""

    def wait_and_signal() -> None:
        deadline = time.monotonic() + 10
        while not join_lines(out.getvalue()) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=wait_and_signal)
    thread.start()
    return thread


def threads() -> set[threading.Thread]:
    """Live threads, but the toolkit's process-wide pool of idle workers (joined at exit)."""
    return {t for t in threading.enumerate() if not t.name.startswith("chatdesk-worker")}


@pytest.fixture
def no_threads_left() -> Iterator[None]:
    before = threads()
    yield
    deadline = time.monotonic() + 5
    while (left := threads() - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not left, f"threads left behind: {sorted(t.name for t in left)}"


# -- the window ------------------------------------------------------------------------------


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
    assert not (home.data_dir / RUNTIME_FILE).exists()


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


def test_the_ui_lan_switch_restarts_the_listener_on_the_same_port(
    home: Home, monkeypatch: pytest.MonkeyPatch, no_threads_left: None
) -> None:
    made: list[tuple[Any, ...]] = []

    def recording_factory(*args: Any) -> Any:
        made.append(args)
        return real_chat(*args)

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
    assert [args[1] for args in made] == [(), ["192.0.2.7"], ()]
    assert made[0][2] == made[1][2] == made[2][2]  # one owner key for the process
    lines = join_lines(out.getvalue())
    assert len(lines) == 4  # loopback; loopback + the LAN address; loopback
    assert lines[2].startswith("chatdesk: open http://192.0.2.7:")
    assert recall(home.data_dir).lan is False  # the data directory's choice, ...
    assert not home.settings_path.exists()  # ... not every data directory's


# -- errors ----------------------------------------------------------------------------------


def run_cli(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*chatdesk_command(), "--data-dir", str(home.data_dir), *args],
        cwd=ROOT,
        env=home.env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_port_in_use_is_one_clear_error(home: Home) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(home, "--no-window", "--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"chatdesk: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_a_corrupt_store_is_one_clear_error(home: Home) -> None:
    home.data_dir.mkdir(mode=0o700)
    (home.data_dir / "chat.db").write_bytes(b"this is not a database" * 100)
    result = run_cli(home, "--no-window")
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"chatdesk: error: cannot open the chat in {home.data_dir}: ")
    assert "chat.db" in line
    assert not (home.data_dir / RUNTIME_FILE).exists()


def test_an_unwritable_data_dir_is_one_clear_error(home: Home) -> None:
    home.data_dir.mkdir(mode=0o700)
    if os.geteuid() == 0:
        # root writes anywhere: make it read-only with a private mount, as a full or locked
        # down disk would be.
        unshare = require_executable("unshare")
        command = (
            'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
            str(home.data_dir),
            *chatdesk_command(),
        )
        result = subprocess.run(
            [unshare, "--mount", "sh", "-c", *command, "--no-window", "--data-dir",
             str(home.data_dir)],
            cwd=ROOT, env=home.env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    else:
        home.data_dir.chmod(0o500)
        result = run_cli(home, "--no-window")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"chatdesk: error: cannot use the data directory {home.data_dir}: "
        f"{'Read-only file system' if os.geteuid() == 0 else 'Permission denied'}; "
        "make it writable or choose another with --data-dir\n"
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


def test_sigterm_stops_gracefully_closing_websockets(home: Home) -> None:
    running = start_chatdesk(home)
    try:
        with login(running.url) as client:
            assert client.get(f"{running.base}/healthz").status_code == 200
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        with connect(
            f"ws://127.0.0.1:{running.port}/chat", additional_headers={"Cookie": cookie}
        ) as ws:
            ws.send(json.dumps({"type": "hello", "nick": "sigterm"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            started = time.monotonic()
            running.process.send_signal(signal.SIGTERM)
            with pytest.raises(Exception):  # noqa: B017 (any close ends the loop)
                while True:
                    ws.recv(timeout=10)
            assert ws.close_code in (1001, 1012)
        assert running.process.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        assert running.process.stderr is not None
        assert running.process.stderr.read() == ""
    finally:
        if running.process.poll() is None:
            running.process.kill()
        running.process.communicate(timeout=10)


# -- settings --------------------------------------------------------------------------------


def test_settings_file_then_environment_then_command_line(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text('port = 1111\nlan = true\nhost = "192.0.2.1"\nwindow = false\n')
    from_file = load_settings({}, environ={}, settings_path=file)
    assert from_file == Settings(lan=True, host="192.0.2.1", port=1111, window=False)
    env = {"CHATDESK_PORT": "2222", "CHATDESK_NO_WINDOW": "0", "CHATDESK_DATA_DIR": "/srv/d"}
    from_env = load_settings({}, environ=env, settings_path=file)
    assert (from_env.port, from_env.window, from_env.data_dir) == (2222, True, Path("/srv/d"))
    cli_wins = load_settings(
        {"port": 3333, "window": False, "lan": None}, environ=env, settings_path=file
    )
    assert (cli_wins.port, cli_wins.window, cli_wins.lan) == (3333, False, True)


@pytest.mark.parametrize(
    ("file_text", "environ", "message"),
    [
        ("port = 70000\n", {}, "port in {file} must be 0..65535"),
        ('lan = "yes"\n', {}, "lan in {file} must be true or false"),
        ("lan = \n", {}, "the settings file {file} is not valid TOML"),
        ("colour = 1\n", {}, "the settings file {file} has unknown keys: colour"),
        ("", {"CHATDESK_PORT": "eighty"}, "CHATDESK_PORT='eighty' in the environment"),
        ("", {"CHATDESK_LAN": "maybe"}, "CHATDESK_LAN='maybe' in the environment"),
        ("", {"CHATDESK_HOST": "192.0.2.1"}, "host 192.0.2.1 is not a loopback address"),
    ],
)
def test_bad_settings_name_their_source(
    tmp_path: Path, file_text: str, environ: dict[str, str], message: str
) -> None:
    file = tmp_path / "settings.toml"
    file.write_text(file_text)
    with pytest.raises(SettingsError, match="^" + message.format(file=file).replace("(", r"\(")):
        load_settings({}, environ=environ, settings_path=file)


def test_bad_settings_are_one_error_line_and_status_1(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHATDESK_PORT", "-1")
    assert cli.main(["--no-window"]) == 1
    assert capsys.readouterr().err == (
        "chatdesk: error: port in the environment must be 0..65535, not -1\n"
    )


def test_the_lan_switch_is_remembered_per_data_directory(tmp_path: Path) -> None:
    switched, other = tmp_path / "switched", tmp_path / "other"
    switched.mkdir()
    remember(switched, lan=True)  # what the Invite panel's switch does
    file = tmp_path / "settings.toml"
    file.write_text("lan = false\n")

    def lan(data_dir: Path, cli: dict[str, Any], environ: dict[str, str]) -> bool:
        settings = load_settings(
            {"data_dir": str(data_dir), **cli},
            environ=environ,
            settings_path=file,
            remembered_lan=lambda path: recall(Path(path) if path else tmp_path).lan,
        )
        return settings.lan

    assert lan(switched, {}, {}) is True  # wins over the settings file
    assert lan(other, {}, {}) is False
    assert lan(switched, {"lan": False}, {}) is False  # --no-lan
    assert lan(switched, {}, {"CHATDESK_LAN": "0"}) is False
    assert lan(other, {"lan": True}, {}) is True


def test_no_lan_on_the_command_line(home: Home) -> None:
    args = cli.build_parser().parse_args(["--no-lan"])
    assert args.lan is False
    assert cli.build_parser().parse_args([]).lan is None


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


# -- token rotation and single instance ------------------------------------------------------


def test_rotate_token_works_while_a_server_runs(home: Home) -> None:
    with chatdesk_serving(home) as running:
        result = run_cli(home, "--rotate-token")
        assert result.returncode == 0, result.stderr
        assert result.stdout == (
            f"chatdesk: the room token of {home.data_dir} was replaced; "
            "old invite links and guest sessions no longer work\n"
        )
        assert running.token not in result.stdout
        new_token = (home.data_dir / "token").read_text().strip()
        assert new_token != running.token
        assert read_line(running) == f"chatdesk: open {running.base}/join?token={new_token}"
        with httpx.Client(timeout=10) as client:
            assert client.get(running.url).status_code == 401
            joined = client.get(f"{running.base}/join?token={new_token}", follow_redirects=True)
            assert joined.status_code == 200
        assert stop_chatdesk(running)[0] == 0


def test_a_second_launch_points_at_the_running_one(home: Home) -> None:
    with chatdesk_serving(home) as running:
        second = run_cli(home, "--no-window")
        assert second.returncode == 0, second.stderr
        assert second.stdout == f"chatdesk: open {running.url}\n"
        assert "already running" in second.stderr
        runtime = json.loads((home.data_dir / RUNTIME_FILE).read_text())
        assert runtime["pid"] == running.process.pid
        assert (home.data_dir / RUNTIME_FILE).stat().st_mode & 0o777 == 0o600
        assert stop_chatdesk(running)[0] == 0
    assert not (home.data_dir / RUNTIME_FILE).exists()


def test_a_runtime_file_left_by_a_crash_is_replaced(home: Home) -> None:
    with chatdesk_serving(home) as crashed:
        crashed.process.kill()  # SIGKILL: no cleanup at all
        crashed.process.wait(10)
    assert json.loads((home.data_dir / RUNTIME_FILE).read_text())["pid"] == crashed.process.pid
    with chatdesk_serving(home) as running:
        runtime = json.loads((home.data_dir / RUNTIME_FILE).read_text())
        assert runtime == {"pid": running.process.pid, "port": running.port, "lan": False}
        with login(running.url) as client:
            assert client.get(f"{running.base}/healthz").status_code == 200
        assert stop_chatdesk(running)[0] == 0


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
