"""This machine's LAN addresses and names, as the guard and invite links use them."""

from __future__ import annotations

import ipaddress
import socket
import subprocess

import pytest

from chatdesk.desktop import network


def test_lan_addresses_are_usable_non_loopback_addresses() -> None:
    addresses = network.lan_addresses()
    assert len(addresses) == len(set(addresses))
    for address in addresses:
        parsed = ipaddress.ip_address(address)
        assert not parsed.is_loopback and not parsed.is_unspecified
        if parsed.version == 6:
            assert not parsed.is_link_local  # a zone id would be needed in URLs


def test_lan_addresses_match_the_kernels_view() -> None:
    ip = subprocess.run(
        ["ip", "-o", "addr", "show", "up"], capture_output=True, text=True, check=False
    )
    if ip.returncode != 0:
        pytest.skip("no `ip` command")
    kernel_v4 = {
        line.split()[3].split("/")[0]
        for line in ip.stdout.splitlines()
        if " inet " in line and not line.split()[3].startswith("127.")
    }
    found_v4 = {a for a in network.lan_addresses() if ipaddress.ip_address(a).version == 4}
    assert found_v4 <= kernel_v4  # the primary address of each interface
    assert bool(found_v4) == bool(kernel_v4)


def test_host_names() -> None:
    names = network.host_names()
    hostname = socket.gethostname().lower()
    assert names[0] == hostname
    assert f"{hostname.split('.')[0]}.local" in names
    assert len(names) == len(set(names))
    assert all(name == name.lower() and not name.endswith(".") for name in names)


def test_allowed_lan_hosts_for_one_bound_address() -> None:
    hosts = network.allowed_lan_hosts("10.213.77.1")
    assert hosts[0] == "10.213.77.1"
    assert hosts[1:] == network.host_names()
    assert not set(hosts) & set(network.lan_addresses()) - {"10.213.77.1"}
    assert network.allowed_lan_hosts("[fd00::7]")[0] == "fd00::7"  # a socket's address, bare


@pytest.mark.parametrize("bind_host", [None, "0.0.0.0", "::", "[::]", ""])
def test_allowed_lan_hosts_for_every_interface(bind_host: str | None) -> None:
    hosts = network.allowed_lan_hosts(bind_host)
    assert hosts == network.lan_addresses() + [
        n for n in network.host_names() if n not in network.lan_addresses()
    ]


def test_the_portable_fallback_keeps_only_lan_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(*args: object, **kwargs: object) -> list[tuple[object, ...]]:
        addresses = ["127.0.1.1", "::1", "192.0.2.5", "fe80::1%eth0", "2001:db8::5", "192.0.2.5"]
        return [(0, 0, 0, "", (a, 0)) for a in addresses]

    monkeypatch.setattr(network.sys, "platform", "darwin")
    monkeypatch.setattr(network.socket, "getaddrinfo", resolve)
    assert network.lan_addresses() == ["192.0.2.5", "2001:db8::5"]
