"""What the endpoints work with: the chat's parts, which `Chat` puts in `app.state.services`."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from chatdesk.chat.access import Access
from chatdesk.chat.hub import Hub
from chatdesk.chat.limits import ConnectionLimit
from chatdesk.chat.links import Reach
from chatdesk.chat.store import Store

__all__ = ["Services", "services"]


@dataclass(frozen=True)
class Services:
    """The parts of one running chat that its endpoints use."""

    store: Store
    hub: Hub
    access: Access
    connections: ConnectionLimit  # open /chat sockets per client address
    reach: Reach  # how guests reach this chat, and whether LAN mode is on
    switch_lan: Callable[[bool], None] | None  # asks the desktop to switch LAN mode, if it can


def services(scope: MutableMapping[str, Any]) -> Services:
    """The services of the app serving an ASGI scope (a request's or a WebSocket's)."""
    found: Services = scope["app"].state.services
    return found
