"""Skip locally, fail under CI: environment-dependent tests must run in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """True when running under CI (`CI=true`), where nothing may be skipped for lack of a tool."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false, or fail it under CI."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str) -> str:
    """The path of executable `name`, or skip (fail under CI) when it is not installed."""
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (scripts/setup --test installs it)")
    assert path is not None
    return path
