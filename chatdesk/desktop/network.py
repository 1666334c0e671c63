"""This machine's LAN addresses and host names: what guests may type or scan to reach it."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from pathlib import Path

from chatdesk.chat.links import bare_host

__all__ = ["allowed_lan_hosts", "host_names", "is_wildcard", "lan_addresses"]

_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_IFF_UP = 0x1
_IF_INET6 = Path("/proc/net/if_inet6")
_IPV6_GLOBAL_SCOPE = 0x00
_IPV6_UNUSABLE = 0x08 | 0x20 | 0x40  # dad failed, deprecated, tentative
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def is_wildcard(host: str | None) -> bool:
    """Whether `host` means every interface (none given, 0.0.0.0, ::, or [::])."""
    return host is None or bare_host(host) in _WILDCARDS


def lan_addresses() -> list[str]:
    """Every non-loopback IPv4 and global IPv6 address of this machine's up interfaces."""
    addresses = _linux_addresses() if sys.platform.startswith("linux") else []
    if not addresses:
        addresses = _resolved_addresses()
    return list(dict.fromkeys(addresses))


def host_names() -> list[str]:
    """This machine's names: the host name, its mDNS `.local` name and the FQDN, lower case."""
    hostname = socket.gethostname().lower().rstrip(".")
    if not hostname:
        return []
    names = [hostname, f"{hostname.split('.')[0]}.local"]
    fqdn = socket.getfqdn(hostname).lower().rstrip(".")
    if "." in fqdn and not fqdn.startswith("localhost"):
        names.append(fqdn)
    return list(dict.fromkeys(names))


def allowed_lan_hosts(bind_host: str | None) -> list[str]:
    """The Host names valid in LAN mode: the bound address (or all addresses), then names."""
    addresses = lan_addresses() if is_wildcard(bind_host) else [bare_host(bind_host or "")]
    return list(dict.fromkeys([*addresses, *host_names()]))


def _usable(address: str) -> bool:
    parsed = ipaddress.ip_address(address.split("%")[0])
    return not (parsed.is_loopback or parsed.is_unspecified or parsed.is_multicast)


def _linux_addresses() -> list[str]:
    """IPv4 by ioctl per interface (its primary address), IPv6 from /proc/net/if_inet6."""
    import fcntl

    addresses = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            with contextlib.suppress(OSError):
                flags = struct.unpack_from("H", fcntl.ioctl(sock, _SIOCGIFFLAGS, request), 16)[0]
                if flags & _IFF_UP:
                    reply = fcntl.ioctl(sock, _SIOCGIFADDR, request)
                    addresses.append(socket.inet_ntoa(reply[20:24]))
    with contextlib.suppress(OSError):
        for line in _IF_INET6.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 6 and int(fields[3], 16) == _IPV6_GLOBAL_SCOPE:
                if int(fields[4], 16) & _IPV6_UNUSABLE:
                    continue
                packed = bytes.fromhex(fields[0])
                addresses.append(socket.inet_ntop(socket.AF_INET6, packed))
    return [address for address in addresses if _usable(address)]


def _resolved_addresses() -> list[str]:
    """The portable fallback: what the host name resolves to."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    addresses = [str(info[4][0]) for info in infos]
    return [
        a
        for a in addresses
        if _usable(a) and not ipaddress.ip_address(a.split("%")[0]).is_link_local
    ]
