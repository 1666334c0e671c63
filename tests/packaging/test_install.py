"""What a fresh machine installs: exactly uv.lock, and a headless install that needs no compiler."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.desktop.conftest import ROOT, Home, assert_serves_and_chats, start_chatdesk_command
from tests.desktop.conftest import stop_chatdesk as stop

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
REFRESH = "scripts/lock refreshes both"
UV_ENVIRONMENT = {"UV_PYTHON_DOWNLOADS": "never", "UV_SYSTEM_CERTS": "1"}  # as scripts/setup


def uv(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the uv that scripts/setup installed from the lock."""
    return subprocess.run(
        [sys.executable, "-m", "uv", *args],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | UV_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def locked_versions() -> dict[str, str]:
    return {p["name"]: p["version"] for p in LOCK["package"] if "version" in p}


def test_the_lock_agrees_with_pyproject() -> None:
    result = uv("lock", "--check")
    assert result.returncode == 0, f"uv.lock is out of date ({REFRESH}):\n{result.stderr}"


def test_the_lock_holds_a_hash_for_every_file_it_installs() -> None:
    for package in LOCK["package"]:
        if "registry" not in package["source"]:
            continue  # chatdesk itself
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, package["name"]
        assert all(file["hash"].startswith("sha256:") for file in files), package["name"]


def test_build_backend_pins_agree_with_the_lock() -> None:
    # PyGObject and pycairo build from source; a backend the lock also holds is pinned alike.
    locked = locked_versions()
    for text in PYPROJECT["tool"]["uv"]["build-constraint-dependencies"]:
        requirement = Requirement(text)
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"{text}: build backends are pinned exactly"
        name = requirement.name.lower()
        if name in locked:
            assert pin.version == locked[name], f"{text} but uv.lock has {locked[name]} ({REFRESH})"


def test_the_window_bindings_are_an_extra() -> None:
    # A `--no-window` host (a Raspberry Pi, a server in a cupboard) installs no GTK bindings.
    names = {Requirement(text).name.lower() for text in PYPROJECT["project"]["dependencies"]}
    assert "pygobject" not in names
    gtk = [Requirement(text) for text in PYPROJECT["project"]["optional-dependencies"]["gtk"]]
    assert [requirement.name.lower() for requirement in gtk] == ["pygobject"]


@pytest.fixture
def headless_venv(tmp_path: Path) -> Path:
    """A new virtualenv with chatdesk's wheel pip-installed, at the locked versions, compiler-less.

    The wheel is built from an sdist (uv build), as a package index would serve it.
    """
    built = uv("build", "--quiet", "--out-dir", str(tmp_path / "dist"))
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("chatdesk-*.whl")
    exported = uv(
        "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-default-groups", "--quiet"
    )
    assert exported.returncode == 0, exported.stderr
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(exported.stdout, encoding="utf-8")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "install"]
    # With no C compiler, any package that needed one would fail to install.
    no_compiler = os.environ | {"CC": "/bin/false", "CXX": "/bin/false"}
    install = subprocess.run(
        [*pip, "--quiet", "--constraint", str(constraints), str(wheel)],
        env=no_compiler,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


def test_a_headless_install_needs_no_compiler_and_serves(headless_venv: Path, home: Home) -> None:
    python = headless_venv / "bin" / "python"
    assert subprocess.run([python, "-c", "import gi"], capture_output=True).returncode != 0
    running = start_chatdesk_command([str(headless_venv / "bin" / "chatdesk")], home)
    try:
        assert_serves_and_chats(running)
        status, _, err = stop(running)
        assert status == 0, err
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate(timeout=10)
