"""Where chatdesk keeps its files: platformdirs locations, never the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "config_dir",
    "data_dir",
    "ensure_private_dir",
    "log_dir",
    "settings_file",
    "webview_storage_dir",
]

APP_NAME = "chatdesk"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory (message store, token, instance lock): `override` or platformdirs'."""
    if override:
        return Path(override).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The directory of `settings.toml`."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def settings_file() -> Path:
    """The settings file: `settings.toml` in the config directory."""
    return config_dir() / "settings.toml"


def log_dir() -> Path:
    """The directory of the rotating log files."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def webview_storage_dir(data: Path) -> Path:
    """The window's own web storage (localStorage, cookies) for a data directory.

    Kept beside the data it belongs to (so under platformdirs by default), not in `~/.pywebview`.
    """
    return data / "webview"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; a directory chatdesk creates is owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
