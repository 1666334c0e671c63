"""ASGI middleware: exact Host and Origin checks, authentication and security headers.

Order, for HTTP and WebSocket alike: the Host header must be exactly a loopback name or (in LAN
mode) one of this machine's addresses or names, with the listening port (403); a WebSocket's
Origin, when present, must be exactly `http://` + Host (403), and so must the Origin of an HTTP
request that may change state (POST, PUT, PATCH, DELETE: no cross-origin form posts, even from
another port of the same host, which SameSite=Strict counts as the same site); then everything
but `GET /healthz` and `GET /join` needs valid credentials (HTTP 401, WebSocket 403 before
accept). Every HTTP response, the app's included, carries the security headers. A browser
refused for its credentials or its Host gets one of chatdesk's pages (`chat.pages`); programs get
JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from chatdesk.asgi import status
from chatdesk.chat import pages
from chatdesk.chat.access import Access
from chatdesk.chat.limits import MAX_BODY_BYTES
from chatdesk.chat.links import url_host

__all__ = ["CSP", "LOOPBACK_NAMES", "PAGE_CSP", "Guard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("chatdesk.security")

# Only these spellings of loopback: every other 127.x name is refused, like any unknown name.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
PUBLIC_PATHS = frozenset({"/healthz", "/join"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_OTHER_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), *_OTHER_SECURITY_HEADERS]
_SECURITY_HEADER_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)

# chatdesk's standalone pages (chat.pages) get the same policy, but for the one inline style
# they carry; the app asks for it by setting exactly this policy on a page it serves.
PAGE_CSP = CSP.replace("style-src 'self'", f"style-src {pages.STYLE_SOURCE}")
PAGE_SECURITY_HEADERS = [(b"content-security-policy", PAGE_CSP.encode()), *_OTHER_SECURITY_HEADERS]
_PAGE_CSP_VALUE = PAGE_CSP.encode()
HOST_NOT_ALLOWED = "host not allowed"


def _host_name(host: str) -> str:
    """A name or address as it appears in a Host header: lower case, IPv6 in brackets."""
    return url_host(host).lower()


class Guard:
    """Wrap an ASGI app with chatdesk's request checks (see the module docstring)."""

    def __init__(self, app: ASGIApp, access: Access, lan_hosts: Sequence[str] = ()) -> None:
        self.app = app
        self.access = access
        self._names: tuple[str, ...] = LOOPBACK_NAMES
        self._allowed: dict[int, frozenset[bytes]] = {}
        self.set_lan_hosts(lan_hosts)

    def set_lan_hosts(self, hosts: Sequence[str]) -> None:
        """Also accept these names and addresses in Host (LAN mode); () = loopback only."""
        extra = tuple(dict.fromkeys(_host_name(host) for host in hosts if host.strip()))
        self._names = LOOPBACK_NAMES + tuple(n for n in extra if n not in LOOPBACK_NAMES)
        self._allowed = {}

    def allowed_hosts(self, port: int) -> frozenset[bytes]:
        """The exact Host header values accepted on `port` (lower case)."""
        allowed = self._allowed.get(port)
        if allowed is None:
            allowed = frozenset(f"{name}:{port}".encode() for name in self._names)
            self._allowed = {**self._allowed, port: allowed}
        return allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        host = self._checked_host(scope)
        if host is None:
            await self._refuse(scope, send, 403, HOST_NOT_ALLOWED)
            return
        if (kind == "websocket" or scope["method"] not in SAFE_METHODS) and not self._origin_ok(
            scope, host
        ):
            await self._refuse(scope, send, 403, "origin not allowed")
            return
        if kind == "http":
            refusal = _body_refusal(scope)
            if refusal is not None:
                await self._refuse(scope, send, *refusal)
                return
        session = self.access.authenticate(scope)
        if session is not None:
            scope["chatdesk.session"] = session
        elif not (
            kind == "http" and scope["method"] in ("GET", "HEAD") and scope["path"] in PUBLIC_PATHS
        ):
            await self._refuse(scope, send, 401 if kind == "http" else 403, "unauthorized")
            return
        if kind == "websocket":
            # Nothing a browser renders comes back on an accepted socket: keep the per-frame
            # send path of the fan-out free of a wrapper.
            await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, self._with_security_headers(send))

    def _checked_host(self, scope: Scope) -> bytes | None:
        """The request's single Host header (lower case) if it is allowed, else None."""
        server = scope.get("server")
        if not server or server[1] is None:
            return None
        host: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"host":
                if host is not None:
                    return None  # two Host headers: ambiguous, refused
                host = value.lower()
        if host is None or host not in self.allowed_hosts(server[1]):
            return None
        return host

    @staticmethod
    def _origin_ok(scope: Scope, host: bytes) -> bool:
        """Whether every Origin header (if any) is exactly http:// + Host."""
        expected = b"http://" + host
        return all(v.lower() == expected for k, v in scope["headers"] if k == b"origin")

    @staticmethod
    def _with_security_headers(send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                security = SECURITY_HEADERS
                headers = []
                for name, value in message.get("headers", ()):
                    if name.lower() not in _SECURITY_HEADER_NAMES:
                        headers.append((name, value))
                    elif name.lower() == b"content-security-policy" and value == _PAGE_CSP_VALUE:
                        security = PAGE_SECURITY_HEADERS
                headers.extend(security)
                message = {**message, "headers": headers}
            await send(message)

        return send_with_headers

    async def _refuse(self, scope: Scope, send: Send, status_code: int, reason: str) -> None:
        """Answer with an error before the app sees the request, and log it without secrets."""
        client = scope.get("client")
        log = logger.info if status_code == 401 else logger.warning
        log(
            "refused %s %s from %s: %s (Host %r)",
            "WebSocket" if scope["type"] == "websocket" else scope["method"],
            scope.get("path", "")[:200],
            client[0] if client else "?",
            reason,
            _header(scope, b"host")[:100].decode("latin-1"),
        )
        headers = [(b"cache-control", b"no-store")]
        page = _refusal_page(scope, status_code, reason)
        if page is not None:
            body = page
            headers += [(b"content-type", b"text/html; charset=utf-8"), *PAGE_SECURITY_HEADERS]
        else:
            body = json.dumps({"error": reason.replace(" ", "_")}).encode()
            headers += [(b"content-type", b"application/json"), *SECURITY_HEADERS]
        if status_code == 401:
            headers.append((b"www-authenticate", b'Bearer realm="chatdesk"'))
        headers.append((b"content-length", str(len(body)).encode()))
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": status_code, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in (scope.get("extensions") or {}):
            await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": status.WS_1008_POLICY_VIOLATION})


def _refusal_page(scope: Scope, status_code: int, reason: str) -> bytes | None:
    """The page a browser gets for this refusal; None for programs and WebSockets (JSON)."""
    if scope["type"] != "http" or b"text/html" not in _header(scope, b"accept"):
        return None
    if status_code == 401:
        # A chat link followed from another site (an invite link in a web mail) is a
        # cross-site navigation: it carries no SameSite=Strict cookie, not even the one /join
        # has just set (its 303 continues that navigation), nor on a reload. Loading the
        # page again from this origin is a same-site navigation, which does; without a
        # cookie it gets the plain page.
        reloading = _cross_site_navigation(scope)
        return pages.INVITE_NEEDED_RELOADING if reloading else pages.INVITE_NEEDED
    if reason == HOST_NOT_ALLOWED:
        return pages.WRONG_HOST
    return None


def _body_refusal(scope: Scope) -> tuple[int, str] | None:
    """(status, reason) for a request body chatdesk will not read, else None.

    Every body chatdesk reads is small JSON: larger ones get 413, and bodies of unknown length
    (chunked) get 411, so no request body is ever read without a known, bounded size.
    """
    length = _header(scope, b"content-length")
    if length:
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return 413, "body too large"
    elif _header(scope, b"transfer-encoding"):
        return 411, "length required"
    return None


def _cross_site_navigation(scope: Scope) -> bool:
    """Whether a browser is loading a page here from another site (Fetch Metadata headers)."""
    return (
        scope["method"] == "GET"
        and _header(scope, b"sec-fetch-mode") == b"navigate"
        and _header(scope, b"sec-fetch-site") == b"cross-site"
    )


def _header(scope: Scope, name: bytes) -> bytes:
    """The first value of a request header (b"" if absent)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""
