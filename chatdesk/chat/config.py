"""`ChatConfig`: what a chat server needs to know (light to import: the desktop builds it early)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chatdesk.chat.links import Reach

__all__ = ["ChatConfig"]


@dataclass(frozen=True)
class ChatConfig:
    """What a chat server needs to know; the listening port is never part of it."""

    data_dir: Path  # the store and the token live here
    reach: Reach = field(default_factory=Reach)  # the hosts guests may use; LAN mode or not
    owner_key: str | None = None  # in-process secret the launcher's own window joins with
    switch_lan: Callable[[bool], None] | None = None  # the desktop switches LAN mode, if it can
