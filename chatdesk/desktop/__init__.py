"""The desktop side: the command line, settings, the data directory's lock, the host, a window."""

from chatdesk.desktop.cli import main

__all__ = ["main"]
