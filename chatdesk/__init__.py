"""chatdesk: a desktop chat app that is also a LAN chat server."""

__version__ = "0.1.0"
