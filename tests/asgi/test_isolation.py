"""chatdesk.asgi stands alone: no Starlette, no anyio, nothing else from chatdesk."""

from __future__ import annotations

import ast
import subprocess
import sys

import httpx

from .helpers import ROOT, uvicorn_process


def test_a_running_server_never_imports_starlette_or_anyio() -> None:
    with uvicorn_process("tests.asgi.isolated_app:app") as url:
        assert httpx.get(url, timeout=5).json() == {"loaded": [], "chatdesk.asgi": True}


def test_importing_the_toolkit_loads_no_heavy_modules() -> None:
    # Only what the import adds counts: an interpreter's start-up (site, .pth files such as an
    # editable install's) may load some of these by itself.
    code = (
        "import sys; before = set(sys.modules); import chatdesk.asgi; "
        "print(sorted(m for m in ('starlette', 'anyio', 'asyncio', 'json', 'typing', "
        "'inspect', 'email.utils', 'mimetypes', 'hashlib', 'urllib.parse') "
        "if m in sys.modules and m not in before))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_toolkit_imports_nothing_else_from_chatdesk() -> None:
    for path in sorted((ROOT / "chatdesk" / "asgi").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith(("chatdesk", "starlette", "anyio")), path
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                raise AssertionError(f"{path} imports outside the toolkit")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(("chatdesk", "starlette", "anyio")), path
