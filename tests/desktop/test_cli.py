"""The command line: one error line and exit status 1 for what stops a launch (bad settings, a
port in use, a corrupt store, an unwritable data directory), status 2 for bad usage, --no-lan,
--rotate-token while a server runs, --version and --help."""

from __future__ import annotations

import os
import socket
import subprocess

import httpx
import pytest

import chatdesk
from chatdesk.datadir import DataDir
from chatdesk.desktop import cli
from tests.desktop.conftest import (
    ROOT,
    Home,
    chatdesk_command,
    chatdesk_serving,
    read_line,
    run_cli,
    stop_chatdesk,
)
from tests.support.requirements import require_executable

# -- errors ----------------------------------------------------------------------------------------


def test_bad_settings_are_one_error_line_and_status_1(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHATDESK_PORT", "-1")
    assert cli.main(["--no-window"]) == 1
    assert capsys.readouterr().err == (
        "chatdesk: error: port in the environment must be 0..65535, not -1\n"
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
    assert not DataDir(home.data_dir).runtime.exists()


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


@pytest.mark.parametrize(
    ("value", "problem"),
    [("70000", "not a port number (0..65535): 70000"), ("http", "not a port number: 'http'")],
)
def test_a_bad_option_is_a_usage_error_and_status_2(home: Home, value: str, problem: str) -> None:
    result = run_cli(home, "--no-window", "--port", value)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: chatdesk ")
    assert result.stderr.splitlines()[-1] == f"chatdesk: error: argument --port: {problem}"
    assert not home.data_dir.exists()


# -- options ---------------------------------------------------------------------------------------


def test_no_lan_on_the_command_line(home: Home) -> None:
    args = cli.build_parser().parse_args(["--no-lan"])
    assert args.lan is False
    assert cli.build_parser().parse_args([]).lan is None


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


# -- --version and --help --------------------------------------------------------------------------


def run_bare(home: Home, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m chatdesk ARGS`, without --data-dir, in `home`'s environment plus `env`."""
    return subprocess.run(
        [*chatdesk_command(), *args],
        cwd=ROOT,
        env=home.env | env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_version_prints_the_version_and_exits_0(home: Home) -> None:
    result = run_bare(home, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"chatdesk {chatdesk.__version__}\n"
    assert result.stderr == ""
    assert list(home.root.iterdir()) == []  # nothing created: no data directory, no log


def test_help_lists_the_options_and_where_settings_come_from(home: Home) -> None:
    result = run_bare(home, "--help", COLUMNS="1000")  # one line a paragraph: paths unbroken
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    help_text = result.stdout
    assert help_text.startswith("usage: chatdesk ")
    for option in [
        "--no-window",
        "--lan, --no-lan",
        "--host HOST",
        "--port PORT",
        "--data-dir DIR",
        "--rotate-token",
        "--version",
    ]:
        assert option in help_text
    assert "--self-test" not in help_text and "--screenshot" not in help_text  # hidden
    assert f"(default: {home.root / 'data' / 'chatdesk'})" in help_text
    assert f"Settings file: {home.settings_path} " in help_text
    for name in ["LAN", "HOST", "PORT", "DATA_DIR", "NO_WINDOW"]:
        assert f"CHATDESK_{name}" in help_text
    assert list(home.root.iterdir()) == []
