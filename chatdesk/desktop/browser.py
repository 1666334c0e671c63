"""The system browser, sent to a join link without the link on a command line.

`webbrowser` runs `xdg-open URL` (or the browser itself) with the link as an argument, where any
local user can read it in /proc while the command runs, and the link holds the room token. So
the browser is given an owner-only page instead, in the data directory, that forwards it to the
link (Jupyter hands its token to the browser the same way).
"""

from __future__ import annotations

import html
import os
import webbrowser
from pathlib import Path

from chatdesk.files import write_atomically

__all__ = ["open_browser", "write_redirect_page"]


def write_redirect_page(url: str, directory: Path) -> Path:
    """Write an owner-only HTML page that sends a browser on to `url`; its path."""
    target = html.escape(url, quote=True)
    page = directory / f"open-{os.getpid()}.html"
    write_atomically(
        page,
        "<!DOCTYPE html>\n"
        '<meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0; url={target}">\n'
        "<title>chatdesk</title>\n"
        f'<p><a href="{target}">Open chatdesk</a></p>\n',
        durable=False,
    )
    return page


def open_browser(url: str, directory: Path) -> Path | None:
    """Open the system browser on `url` through a redirect page in `directory`.

    The page's path (remove it when the server stops), or None if no browser could be started.
    """
    page = write_redirect_page(url, directory)
    if webbrowser.open(page.as_uri()):
        return page
    page.unlink(missing_ok=True)
    return None
