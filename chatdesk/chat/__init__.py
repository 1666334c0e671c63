"""The chat: its domain (store, hub, protocol, access) and its web app, `Chat`.

`Chat` loads on first use: the desktop side imports parts of the chat (its config, links and
limits) early at start-up, and the whole app only once the window is on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatdesk.chat.config import ChatConfig

if TYPE_CHECKING:
    from chatdesk.chat.app import Chat

__all__ = ["Chat", "ChatConfig"]


def __getattr__(name: str) -> Any:
    if name == "Chat":
        from chatdesk.chat.app import Chat

        return Chat
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
