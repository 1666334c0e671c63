"""Settings: defaults < `settings.toml` < the data directory's LAN switch < `CHATDESK_*`
environment variables < command line."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatdesk.chat.links import bare_host

__all__ = ["Settings", "SettingsError", "is_loopback", "load_settings"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(Exception):
    """A setting has a bad value; the message names where it came from."""


@dataclass(frozen=True)
class Settings:
    """How to run: what to bind, where the data lives, whether to open a window."""

    lan: bool = False
    host: str | None = None
    port: int = 0
    data_dir: Path | None = None
    window: bool = True


def load_settings(
    cli: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    settings_path: Path | None = None,
    remembered_lan: Callable[[Path | None], bool | None] | None = None,
) -> Settings:
    """Merge the layers; `cli` holds only options given on the command line (None = not given).

    `remembered_lan(data_dir)` is the LAN switch a data directory remembers (the Invite panel's):
    it wins over the settings file, and loses to the environment and the command line.
    """
    given = {k: v for k, v in cli.items() if v is not None}
    from_file = _read_file(settings_path) if settings_path is not None else {}
    from_env = _read_environ(os.environ if environ is None else environ)
    settings = _apply(Settings(), from_file, f"{settings_path}")
    settings = _apply(settings, from_env, "the environment")
    settings = _apply(settings, given, "the command line")
    if remembered_lan is not None and "lan" not in from_env and "lan" not in given:
        lan = remembered_lan(settings.data_dir)
        if lan is not None:
            settings = replace(settings, lan=lan)
    _check_host(settings)
    return settings


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"the settings file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"lan", "host", "port", "data_dir", "window"})
    if unknown:
        raise SettingsError(f"the settings file {path} has unknown keys: {', '.join(unknown)}")
    return document


def _read_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, key in [
        ("CHATDESK_LAN", "lan"),
        ("CHATDESK_HOST", "host"),
        ("CHATDESK_PORT", "port"),
        ("CHATDESK_DATA_DIR", "data_dir"),
    ]:
        if name in environ:
            values[key] = _from_env(name, environ[name], key)
    if "CHATDESK_NO_WINDOW" in environ:
        values["window"] = not _from_env(
            "CHATDESK_NO_WINDOW", environ["CHATDESK_NO_WINDOW"], "window"
        )
    return values


def _from_env(name: str, raw: str, key: str) -> Any:
    """Environment values are strings: turn them into the setting's type."""
    if key in {"lan", "window"}:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(f"{name}={raw!r} in the environment: expected 1/0, true/false")
    if key == "port":
        try:
            return int(raw.strip())
        except ValueError:
            raise SettingsError(f"{name}={raw!r} in the environment: not a port number") from None
    return raw


def _apply(settings: Settings, values: Mapping[str, Any], source: str) -> Settings:
    """`settings` updated with checked `values` from `source` (named in errors)."""
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key in {"lan", "window"}:
            if not isinstance(value, bool):
                raise SettingsError(f"{key} in {source} must be true or false, not {value!r}")
            changes[key] = value
        elif key == "port":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
                raise SettingsError(f"port in {source} must be 0..65535, not {value!r}")
            changes[key] = value
        elif key == "host":
            if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
                raise SettingsError(f"host in {source} must be an address, not {value!r}")
            changes[key] = value.strip()
        elif key == "data_dir":
            if not isinstance(value, str | os.PathLike) or not str(value).strip():
                raise SettingsError(f"data_dir in {source} must be a directory, not {value!r}")
            changes[key] = Path(value).expanduser()
    return replace(settings, **changes)


def _check_host(settings: Settings) -> None:
    if settings.host is None or settings.lan or is_loopback(settings.host):
        return
    raise SettingsError(
        f"host {settings.host} is not a loopback address: it needs LAN mode "
        "(--lan, CHATDESK_LAN=1 or lan = true)"
    )


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare_host(host)).is_loopback
    except ValueError:
        return False
