"""How to reach this chat: hosts as URLs write them, and the one list of its join links.

The terminal's "open" lines and the Invite panel show the same links, made here: loopback first,
then, in LAN mode, each LAN address and name of this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["LOOPBACK", "Reach", "bare_host", "join_url", "url_host"]

LOOPBACK = "127.0.0.1"


def url_host(host: str) -> str:
    """`host` as a URL's authority writes it: an IPv6 address in brackets, anything else as is."""
    host = host.strip()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def bare_host(host: str) -> str:
    """`host` without the brackets a URL puts around an IPv6 address."""
    return host.strip().removeprefix("[").removesuffix("]")


def join_url(host: str, port: int, token: str) -> str:
    """The link that trades `token` for a session on `host`:`port`, then opens the chat."""
    return f"http://{url_host(host)}:{port}/join?token={quote(token, safe='')}"


@dataclass(frozen=True)
class Reach:
    """Where this chat can be reached: loopback, and in LAN mode its LAN addresses and names."""

    lan: bool = False
    lan_hosts: tuple[str, ...] = ()  # addresses first, then names; used only in LAN mode
    loopback: str = LOOPBACK

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host a guest may use, loopback first."""
        return (self.loopback, *self.lan_hosts) if self.lan else (self.loopback,)

    def join_urls(self, port: int, token: str) -> list[str]:
        """The join link for each host, in the order of `hosts`."""
        return [join_url(host, port, token) for host in self.hosts]
