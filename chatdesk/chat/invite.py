"""The Invite panel's links, each with its QR code, drawn locally as SVG."""

from __future__ import annotations

import io
from collections.abc import Sequence

from chatdesk.chat.links import join_url

__all__ = ["invite_links", "qr_svg"]


def qr_svg(text: str) -> str:
    """A scalable inline SVG QR code of `text` (no XML declaration, no fixed size)."""
    import segno  # on the first invite, not at start-up (~10 ms of imports)

    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    # With its namespace, the same SVG works inline in HTML and as an <img> data: URL.
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        omitsize=True,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="qr",
        title="chatdesk invite link",
    )
    return out.getvalue().decode()


def invite_links(hosts: Sequence[str], port: int, token: str) -> list[dict[str, str]]:
    """One `{"host", "url", "qr_svg"}` per host, in the order given."""
    links = []
    for host in hosts:
        url = join_url(host, port, token)
        links.append({"host": host, "url": url, "qr_svg": qr_svg(url)})
    return links
