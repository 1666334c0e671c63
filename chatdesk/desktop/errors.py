"""The desktop side's one error: chatdesk cannot run as asked."""

from __future__ import annotations

__all__ = ["LaunchError"]


class LaunchError(Exception):
    """chatdesk cannot run as asked; the message is one clear line for the user."""
