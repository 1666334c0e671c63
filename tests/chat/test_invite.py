"""Invite links and their QR codes: exact URLs, bracketed IPv6, inline scalable SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import segno

from chatdesk.chat.invite import invite_links, qr_svg
from chatdesk.chat.links import join_url as invite_url

TOKEN = "Ab-_0123456789abcdefghijklmnopqrstuv"


def test_one_link_per_host_in_order() -> None:
    links = invite_links(["127.0.0.1", "192.168.1.20", "myhost.local", "fd00::2"], 8123, TOKEN)
    assert [link["host"] for link in links] == [
        "127.0.0.1",
        "192.168.1.20",
        "myhost.local",
        "fd00::2",
    ]
    assert [link["url"] for link in links] == [
        f"http://127.0.0.1:8123/join?token={TOKEN}",
        f"http://192.168.1.20:8123/join?token={TOKEN}",
        f"http://myhost.local:8123/join?token={TOKEN}",
        f"http://[fd00::2]:8123/join?token={TOKEN}",
    ]
    assert invite_links([], 8123, TOKEN) == []


def test_already_bracketed_ipv6_is_kept() -> None:
    assert invite_url("[::1]", 80, "t") == "http://[::1]:80/join?token=t"


def test_the_token_is_url_encoded() -> None:
    assert invite_url("h", 1, "a b&c=d") == "http://h:1/join?token=a%20b%26c%3Dd"


def test_the_qr_code_is_inline_scalable_svg() -> None:
    svg = qr_svg(f"http://192.168.1.20:8123/join?token={TOKEN}")
    assert svg.startswith("<svg") and "<?xml" not in svg
    root = ET.fromstring(svg)
    assert root.get("viewBox") and root.get("width") is None and root.get("height") is None
    assert "<script" not in svg


def test_the_qr_code_encodes_the_link() -> None:
    url = f"http://192.168.1.20:8123/join?token={TOKEN}"
    link = invite_links(["192.168.1.20"], 8123, TOKEN)[0]
    expected = segno.make(url, error="m", micro=False)
    # same symbol as segno's own rendering of exactly this URL
    assert link["qr_svg"] == qr_svg(url)
    assert f'viewBox="0 0 {expected.symbol_size(scale=1, border=4)[0]}' in link["qr_svg"]
    other = qr_svg(url.replace(TOKEN, TOKEN[::-1]))
    assert other != link["qr_svg"]
