"""Regenerate the app icons from their one source, `chatdesk/web/icon.svg`.

    .venv/bin/python packaging/make_icons.py

Writes `packaging/icons/chatdesk-SIZE.png` (16..512), `chatdesk.ico` (Windows) and `chatdesk.icns`
(macOS). The SVG is rasterised by GdkPixbuf (librsvg), which the GTK window already needs;
ImageMagick is not used because Debian's build has no SVG delegate without rsvg-convert.
ICO and ICNS both hold PNGs, so they are written here directly. The outputs are committed,
so building the executable needs none of this.
"""

from __future__ import annotations

import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "chatdesk" / "web" / "icon.svg"
OUT = ROOT / "packaging" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def render(size: int) -> bytes:
    """The SVG rendered at `size` x `size` as PNG bytes."""
    import gi

    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf

    pixbuf = GdkPixbuf.Pixbuf.new_from_file_at_size(str(SOURCE), size, size)
    ok, data = pixbuf.save_to_bufferv("png", [], [])
    assert ok, f"cannot encode the {size}px icon"
    return bytes(data)


def ico(images: dict[int, bytes]) -> bytes:
    """A Windows .ico holding PNG images (Vista and later read them)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in sorted(images.items()):
        side = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def icns(images: dict[int, bytes]) -> bytes:
    """A macOS .icns holding PNG images."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(images[size])) + images[size]
        for size, kind in ICNS_TYPES.items()
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    images = {size: render(size) for size in SIZES}
    for size, png in images.items():
        (OUT / f"chatdesk-{size}.png").write_bytes(png)
    (OUT / "chatdesk.ico").write_bytes(ico({s: images[s] for s in ICO_SIZES}))
    (OUT / "chatdesk.icns").write_bytes(icns(images))


if __name__ == "__main__":
    main()
