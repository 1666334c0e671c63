"""The room token (an owner-only file), session cookies, constant-time checks and rotation.

The token lives in `DATA_DIR/token` (mode 0600, replaced atomically). A session cookie holds
HMAC-SHA256(secret, purpose), where the secret is the room token or the in-process owner key:
nothing is stored server side, a guest's cookie survives restarts (the token persists) and every
guest session ends when the token is rotated. The owner's cookie survives rotations.

A token file that other users may read, or that another user owns, is refused (`AccessError`),
as ssh refuses such a private key: the token may have leaked, so the user must rotate it
(`chatdesk --rotate-token`). If that happens while the server runs, the server rotates itself.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from chatdesk.datadir import DataDir
from chatdesk.files import write_atomically

__all__ = ["Access", "AccessError", "Session", "rotate_token"]

logger = logging.getLogger("chatdesk.security")

_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,256}")  # url-safe base64, >= 128 bits
_GUEST_PURPOSE = b"chatdesk session v1"
_OWNER_PURPOSE = b"chatdesk owner session v1"
_CHECK_POSIX_MODE = os.name == "posix"


class AccessError(Exception):
    """The token file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Session:
    """Who an authenticated request is: the host (owner or a loopback peer) or a guest."""

    role: Literal["host", "guest"]
    token_generation: int
    owner: bool = False  # authenticated with the owner key: survives token rotations


def new_token() -> str:
    """A fresh room token: 24 random bytes, url-safe base64 (192 bits)."""
    return secrets.token_urlsafe(24)


def rotate_token(data_dir: Path) -> None:
    """Replace the token of `data_dir` atomically; a server running on it notices by itself."""
    _write_token(DataDir(Path(data_dir)).token, new_token())


def _write_token(path: Path, token: str) -> None:
    """Write `token` to `path` atomically and durably, owner-only."""
    write_atomically(path, token + "\n")


def _file_signature(info: os.stat_result) -> tuple[int, ...]:
    """What changes when the file is replaced, rewritten or chmod-ed."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _read_token(path: Path) -> tuple[str, tuple[int, ...]]:
    """The token in `path` and the file's signature; AccessError if it is unsafe or invalid."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise AccessError(f"the token file {path} is not a regular file")
        if _CHECK_POSIX_MODE:
            if info.st_uid != os.geteuid():
                raise AccessError(
                    f"the token file {path} belongs to another user (uid {info.st_uid}); "
                    f"remove it or run chatdesk --rotate-token"
                )
            if info.st_mode & 0o077:
                raise AccessError(
                    f"the token file {path} is accessible by other users "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}), so the token may have leaked; "
                    f"run chatdesk --rotate-token to replace it"
                )
        with open(path, "rb") as file:
            token = file.read(1024).decode("ascii", "replace").strip()
    except OSError as exc:
        raise AccessError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not _TOKEN_PATTERN.fullmatch(token):
        raise AccessError(f"the token file {path} is not valid: run chatdesk --rotate-token")
    return token, _file_signature(info)


def _cookie_value(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).hexdigest().encode()


def _is_loopback(client: Any) -> bool:
    return bool(client) and _is_loopback_address(client[0])


@functools.lru_cache(maxsize=1024)
def _is_loopback_address(host: str) -> bool:
    """Whether a peer address is loopback (cached: a server sees few distinct peers)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _credentials(
    headers: Iterable[tuple[bytes, bytes]], cookie_prefix: bytes
) -> tuple[list[bytes], bytes | None]:
    """The values of the session cookie (`name=`) and the `Authorization: Bearer` token."""
    cookies = []
    bearer = None
    for key, value in headers:
        if key == b"cookie":
            if cookie_prefix in value:
                for part in value.split(b";"):
                    part = part.strip()
                    if part.startswith(cookie_prefix):
                        cookies.append(part[len(cookie_prefix) :])
        elif key == b"authorization" and bearer is None:
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer":  # RFC 6750: any case, then 1*SP
                bearer = credentials.strip(b" ")
    return cookies, bearer


class Access:
    """The room token of a data directory and the sessions derived from it."""

    def __init__(self, data_dir: Path, owner_key: str | None = None) -> None:
        self._data_dir = Path(data_dir).resolve()
        self._path = DataDir(self._data_dir).token
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._generation = 0
        digest = hashlib.sha256(str(self._data_dir).encode()).hexdigest()[:8]
        self._cookie_name = f"chatdesk_{digest}"
        self._cookie_prefix = f"{self._cookie_name}=".encode()
        self._owner_key = owner_key.encode() if owner_key else None
        self._owner_cookie = _cookie_value(owner_key, _OWNER_PURPOSE) if owner_key else None
        if not self._path.exists():
            _write_token(self._path, new_token())
        self._token, self._signature = _read_token(self._path)
        self._derive()

    def _derive(self) -> None:
        self._token_bytes = self._token.encode()
        self._guest_cookie = _cookie_value(self._token, _GUEST_PURPOSE)
        generation = self._generation
        self._sessions = {  # immutable, so shared by every request of this generation
            "guest": Session("guest", generation),
            "host": Session("host", generation),
            "owner": Session("host", generation, owner=True),
        }

    @property
    def token(self) -> str:
        """The current room token (for invite links; never log it)."""
        self.refresh()
        return self._token

    @property
    def generation(self) -> int:
        """How many times the token changed since this object was made."""
        return self._generation

    @property
    def cookie_name(self) -> str:
        """The session cookie's name, distinct per data directory."""
        return self._cookie_name

    def join(self, candidate: str) -> str | None:
        """The session cookie value for a valid room token or owner key, else None."""
        self.refresh()
        given = candidate.encode("utf-8", "surrogateescape")
        if hmac.compare_digest(given, self._token_bytes):
            return self._guest_cookie.decode()
        if self._owner_key is not None and hmac.compare_digest(given, self._owner_key):
            assert self._owner_cookie is not None
            return self._owner_cookie.decode()
        return None

    def authenticate(self, scope: Any) -> Session | None:
        """The session of an HTTP or WebSocket scope (cookie or bearer token), else None."""
        self.refresh()
        cookies, bearer = _credentials(scope.get("headers", ()), self._cookie_prefix)
        valid = owner = False
        for value in cookies:
            if hmac.compare_digest(value, self._guest_cookie):
                valid = True
            elif self._owner_cookie is not None and hmac.compare_digest(value, self._owner_cookie):
                valid = owner = True
        if not valid and bearer is not None:
            valid = hmac.compare_digest(bearer, self._token_bytes)
        if not valid:
            return None
        if owner:
            return self._sessions["owner"]
        return self._sessions["host" if _is_loopback(scope.get("client")) else "guest"]

    def is_valid(self, session: Session) -> bool:
        """Whether a session still holds: owner sessions always, others until a rotation."""
        return session.owner or session.token_generation == self._generation

    def rotate(self) -> str:
        """Replace the token (atomically, on disk), end every token session; the new token."""
        token = new_token()
        with self._lock:
            _write_token(self._path, token)
            self._token, self._signature = _read_token(self._path)
            self._changed()
        self._notify()
        return token

    def add_rotation_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` whenever the token changes, here or in another process."""
        self._listeners.append(listener)

    def refresh(self) -> None:
        """Pick up a token file changed by another process (cheap: one stat when unchanged)."""
        try:
            signature = _file_signature(os.lstat(self._path))
        except OSError:
            return  # deleted: keep serving the token in memory; a restart makes a new one
        if signature == self._signature:
            return
        with self._lock:
            if not self._reload():
                return
        self._notify()

    def _reload(self) -> bool:
        """Reread the changed file under the lock; whether the token changed."""
        try:
            token, signature = _read_token(self._path)
        except AccessError as exc:
            # Fail closed: a token that may have leaked, or a damaged file, is replaced.
            logger.error("%s; replacing the token", exc)
            token = new_token()
            try:
                _write_token(self._path, token)
                token, signature = _read_token(self._path)
            except (OSError, AccessError) as error:
                # The new token stays in memory, unpublished; the bad file is not retried.
                logger.error("cannot replace the token file: %s", error)
                try:
                    signature = _file_signature(os.lstat(self._path))
                except OSError:
                    signature = self._signature
        self._signature = signature
        if hmac.compare_digest(token.encode(), self._token_bytes):
            return False
        self._token = token
        self._changed()
        logger.warning("the room token was replaced; sessions made with the old one end")
        return True

    def _changed(self) -> None:
        self._generation += 1
        self._derive()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                logger.exception("a token rotation listener failed")

    async def watch(self, interval: float = 0.5) -> None:
        """Check the token file every `interval` seconds, until cancelled (run as a task)."""
        while True:
            self.refresh()
            await asyncio.sleep(interval)
