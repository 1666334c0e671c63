"""The one-file executable: built once per session from build.spec, then run headless and in a
real window under Xvfb. With CI=true a missing PyInstaller or Xvfb fails these tests."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.conftest import (
    ROOT,
    Home,
    Running,
    assert_serves_and_chats,
    start_chatdesk_command,
    stop_chatdesk,
)
from tests.desktop.xvfb import colours, run_self_test, xvfb
from tests.support.requirements import require

pytestmark = pytest.mark.frozen


@pytest.fixture(scope="session")
def executable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """dist/chatdesk, built from build.spec into a temporary directory.

    CHATDESK_TEST_EXECUTABLE=PATH tests an executable built beforehand instead.
    """
    prebuilt = os.environ.get("CHATDESK_TEST_EXECUTABLE")
    if prebuilt:
        yield Path(prebuilt)
        return
    require(importlib.util.find_spec("PyInstaller") is not None, "PyInstaller is not installed")
    build = tmp_path_factory.mktemp("build")
    env = {k: v for k, v in os.environ.items() if k != "CHATDESK_ONEDIR"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(build / "dist"),
            "--workpath",
            str(build / "work"),
            str(ROOT / "build.spec"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    path = build / "dist" / "chatdesk"
    assert path.is_file() and os.access(path, os.X_OK)
    yield path
    shutil.rmtree(build)  # ~100 MB of build files


@pytest.fixture
def private_tmp(home: Home) -> Iterator[dict[str, str]]:
    """A TMPDIR of its own, to check the one-file bootloader cleans up what it unpacks."""
    tmp = home.root / "tmp"
    tmp.mkdir()
    yield home.env | {"TMPDIR": str(tmp)}
    assert list(tmp.iterdir()) == [], "the executable left files in TMPDIR"


def test_headless_executable_serves_and_chats(
    executable: Path, home: Home, private_tmp: dict[str, str]
) -> None:
    running: Running = start_chatdesk_command(
        [str(executable)], home, "--port", "0", env=private_tmp, timeout=60
    )
    try:
        assert_serves_and_chats(running)
        status, _, err = stop_chatdesk(running)
        assert status == 0, err
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate(timeout=10)


def test_windowed_executable_renders_and_chats(
    executable: Path, home: Home, private_tmp: dict[str, str]
) -> None:
    shot = home.root / "frozen-window.png"
    with xvfb() as display:
        result, report = run_self_test([str(executable)], display, home.data_dir, shot, private_tmp)
    assert result.returncode == 0, (result.stderr, report)
    assert report["ok"] is True, report
    assert report["threads_left"] == []
    assert colours(shot) > 20, "the screenshot is blank"
