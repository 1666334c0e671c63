"""chatdesk's standalone pages: what a browser shows where the chat UI cannot load.

Each is one self-contained document (no request to /static, which needs a session): the product's
card on its page background, the chatdesk mark inlined as a data: URL, light and dark, sized for a
phone. Their one inline stylesheet is allowed by its hash (`STYLE_SOURCE`, which the guard puts in
their Content-Security-Policy); they have no script. Pages are constants: nothing from a request is
ever written into one, and `render` escapes all the text it is given.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BAD_INVITE",
    "INVITE_NEEDED",
    "INVITE_NEEDED_RELOADING",
    "MARK",
    "NOT_FOUND",
    "STYLE",
    "STYLE_SOURCE",
    "WEB_DIR",
    "WRONG_HOST",
    "render",
]

# Next to the package, so it is found from a source tree, a wheel and a PyInstaller bundle.
WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# The colours, radii and shadows of the chat UI (web/app.css) and of its dialogs.
STYLE = (
    ":root{color-scheme:light dark}*{box-sizing:border-box}"
    "body{margin:0;min-height:100vh;display:grid;place-items:center;padding:16px;"
    "font:15px/1.5 system-ui,sans-serif;background:#f4f4f8;color:#1c1c28;"
    "-webkit-font-smoothing:antialiased}"
    "main{width:100%;max-width:28rem;padding:28px;background:#fff;border:1px solid #e3e3ec;"
    "border-radius:14px;box-shadow:0 10px 30px #14143229,0 2px 6px #14143214;"
    "overflow-wrap:anywhere}"
    ".mark{display:block;margin-bottom:14px;border-radius:12px}"
    "h1{margin:0 0 8px;font-size:20px;line-height:1.3;letter-spacing:-.01em}"
    "p{margin:0 0 10px;color:#6a6a7e}p:last-child{margin-bottom:0}"
    "a{display:inline-block;margin-top:8px;padding:8px 16px;border-radius:6px;"
    "background:#4f4ce0;color:#fff;font-weight:650;text-decoration:none}"
    "a:hover{background:#403dc8}a:focus-visible{outline:2px solid #6d6afe;outline-offset:2px}"
    "@media(prefers-color-scheme:dark){body{background:#16161e;color:#e7e7f0}"
    "main{background:#23232f;border-color:#2a2a37;box-shadow:0 16px 40px #00000080}"
    "p{color:#a0a0b4}a{background:#7b78ff;color:#0f0f1a}a:hover{background:#918eff}"
    "a:focus-visible{outline-color:#8d8aff}}"
)
# The CSP source that allows exactly STYLE, and no other inline style.
STYLE_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"
MARK = "data:image/svg+xml;base64," + base64.b64encode((WEB_DIR / "icon.svg").read_bytes()).decode()

_REFRESH = "<meta http-equiv=refresh content=0>"


def render(
    title: str,
    heading: str,
    paragraphs: Sequence[str],
    *,
    link: tuple[str, str] | None = None,
    reload: bool = False,
) -> bytes:
    """A standalone page; `link` is (href, label); `reload` makes it load itself again at once."""
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        _REFRESH if reload else "",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>chatdesk: {html.escape(title)}</title>",
        f'<link rel=icon href="{MARK}"><style>{STYLE}</style>',
        f'<main><img class=mark src="{MARK}" alt="chatdesk" width=48 height=48>',
        f"<h1>{html.escape(heading)}</h1>",
        *(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs),
    ]
    if link is not None:
        href, label = link
        parts.append(f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>')
    parts.append("</main></html>")
    return "".join(parts).encode()


def _invite_needed(*, reload: bool) -> bytes:
    return render(
        "invite needed",
        "This chat needs an invite",
        [
            "Ask the host for an invite link (or its QR code) and open it on this device.",
            "If you had joined before, the host may have replaced the room's invite: "
            "ask for the new one.",
        ],
        reload=reload,
    )


# The guard's 401 for a browser; the reloading one answers a navigation from another site.
INVITE_NEEDED = _invite_needed(reload=False)
INVITE_NEEDED_RELOADING = _invite_needed(reload=True)

# `GET /join` with a token that is not the room's.
BAD_INVITE = render(
    "invite link needed",
    "This invite link does not work",
    [
        "The link is wrong or no longer valid: the host may have replaced it.",
        "Ask the host of the chat for a new invite link (or its QR code).",
    ],
)

# The guard's 403 for a browser that named this server by a name it does not answer to.
WRONG_HOST = render(
    "wrong address",
    "This address does not lead to the chat",
    [
        "chatdesk answers only at the addresses in its invite links. "
        "Open the invite link exactly as the host shared it.",
        "If the host has just closed the chat to the local network or changed networks, "
        "ask for a new link.",
    ],
)

# A signed-in browser's request for a path nothing serves.
NOT_FOUND = render(
    "page not found",
    "There is no such page",
    ["Nothing in this chat lives at this address."],
    link=("/", "Go to the chat"),
)
