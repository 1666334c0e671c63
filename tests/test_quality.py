"""The code base stays formatted, linted, typed and layered."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chatdesk"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_lint() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def imported_chatdesk_packages(path: Path) -> set[str]:
    """The `chatdesk.<layer>` packages a module imports (absolute or relative imports)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    layer = path.relative_to(PACKAGE).parts[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                names = [f"chatdesk.{layer}"]
            elif node.level >= 2:
                names = [f"chatdesk.{node.module}"] if node.module else []
            else:
                names = [node.module or ""]
        else:
            continue
        found.update(
            ".".join(name.split(".")[:2]) for name in names if name.startswith("chatdesk.")
        )
    return found


# Data flows one way: desktop -> chat -> asgi. No layer imports one above it; the data directory's
# layout (chatdesk.datadir) and private files (chatdesk.files), standard library only, are beneath
# the chat and the desktop side.
BENEATH = {"chatdesk.datadir", "chatdesk.files"}
ALLOWED = {
    "asgi": {"chatdesk.asgi"},
    "chat": {"chatdesk.asgi", "chatdesk.chat", *BENEATH},
    "desktop": {"chatdesk.asgi", "chatdesk.chat", "chatdesk.desktop", *BENEATH},
}


def test_layers_only_import_downwards() -> None:
    offences = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            extra = imported_chatdesk_packages(path) - allowed
            if extra:
                offences.append(f"{path.relative_to(ROOT)} imports {sorted(extra)}")
    for name in sorted(BENEATH):
        path = PACKAGE / f"{name.removeprefix('chatdesk.')}.py"
        extra = imported_chatdesk_packages(path) - BENEATH
        if extra:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(extra)}")
    assert not offences, "\n".join(offences)
    assert any((PACKAGE / "asgi").rglob("*.py")), "the toolkit is missing"
