"""Where chatdesk keeps its files: platformdirs locations, never the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "config_dir", "data_dir", "log_dir", "settings_file"]

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
