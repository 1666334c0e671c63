"""What chatdesk remembers about one data directory between runs: its port and its LAN choice.

Both belong to the data directory, not to the user's settings: links and open tabs point at one
chat's port, and the Invite panel's LAN switch opens one chat to the network, not every chat.
Kept in the data directory's `state.json`, replaced atomically.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from chatdesk.datadir import DataDir
from chatdesk.files import write_atomically

__all__ = ["Remembered", "recall", "remember"]


@dataclass(frozen=True)
class Remembered:
    """A data directory's last port and its LAN switch (None: nothing remembered)."""

    port: int | None = None
    lan: bool | None = None


def recall(data_dir: Path) -> Remembered:
    """What `data_dir` remembers; a missing or damaged file remembers nothing."""
    try:
        state = json.loads(DataDir(data_dir).state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Remembered()
    if not isinstance(state, dict):
        return Remembered()
    port = state.get("port", state.get("lan_port"))  # lan_port: chatdesk 0.1's name
    lan = state.get("lan")
    return Remembered(
        port=port if _is_port(port) else None,
        lan=lan if isinstance(lan, bool) else None,
    )


def remember(data_dir: Path, *, port: int | None = None, lan: bool | None = None) -> None:
    """Remember `port` and/or `lan` for `data_dir`, keeping what is not given."""
    before = recall(data_dir)
    after = replace(
        before,
        port=before.port if port is None else port,
        lan=before.lan if lan is None else lan,
    )
    if after != before:
        values = {key: value for key, value in asdict(after).items() if value is not None}
        write_atomically(DataDir(data_dir).state, json.dumps(values) + "\n")


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535
