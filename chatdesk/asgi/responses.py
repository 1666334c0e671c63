"""Responses: ASGI apps that send one HTTP response (or a WebSocket denial response).

One module, as `starlette.responses` is (so imports from it port unchanged); most of its size
is FileResponse's ranges and conditional requests.
"""

from __future__ import annotations

import os
import stat
import sys

from ._started import WATCH_KEY, watched
from .datastructures import URL, Headers, MutableHeaders

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
    from datetime import datetime
    from typing import Any, Literal

    from .background import BackgroundTask
    from .types import Message, Receive, Scope, Send

    Content = str | bytes | memoryview
    ContentStream = AsyncIterable[Content] | Iterable[Content]

# media type -> encoded content-type header value, so a response does not rebuild it.
_content_types: dict[str, bytes] = {}


def _content_type(media_type: str, charset: str) -> bytes:
    """The content-type value for `media_type`: text/* types get a charset unless they name one."""
    key = media_type if charset == "utf-8" else f"{media_type}\0{charset}"
    value = _content_types.get(key)
    if value is None:
        content_type = media_type
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            content_type += "; charset=" + charset
        value = content_type.encode("latin-1")
        if len(_content_types) < 256:
            _content_types[key] = value
    return value


def _websocket_denial_send(send: Send) -> Send:
    """A `send` that turns http.response.* messages into WebSocket denial messages."""

    async def denial_send(message: Message) -> None:
        if message["type"] in ("http.response.start", "http.response.body"):
            message = {**message, "type": "websocket." + message["type"]}
        await send(message)

    return denial_send


class Response:
    """A response with a complete body: status, headers, body, then an optional background task."""

    media_type: str | None = None
    charset = "utf-8"
    body: bytes | memoryview
    raw_headers: list[tuple[bytes, bytes]]
    _headers: MutableHeaders | None = None
    # The content-type of a str body sent with the class's defaults, worked out when the class is
    # created; None when the class has no media type or changes render, init_headers or charset.
    _text_content_type: bytes | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        media_type = cls.media_type
        cls._text_content_type = (
            _content_type(media_type, cls.charset)
            if media_type is not None
            and cls.render is Response.render
            and cls.init_headers is Response.init_headers
            and cls.charset == "utf-8"
            else None
        )

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        content_type = self._text_content_type
        # The common case, a str body with the class's defaults: what render() and
        # init_headers() would make, built directly.
        if (
            content_type is not None
            and type(content) is str
            and headers is None
            and media_type is None
            and status_code >= 200
            and status_code != 204
            and status_code != 304
        ):
            body = self.body = content.encode()
            self.raw_headers = [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", content_type),
            ]
            return
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes | memoryview:
        """The body bytes for `content` (None, bytes, memoryview or str)."""
        if content.__class__ is str:
            return content.encode(self.charset)
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, memoryview):
            return content.cast("B") if content.c_contiguous else content.tobytes()
        return content.encode(self.charset)  # type: ignore[no-any-return]

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build `raw_headers`: the given ones, then content-length and content-type if missing."""
        if headers is None:
            raw_headers: list[tuple[bytes, bytes]] = []
            add_length = add_type = True
        else:
            raw_headers = [
                (key.lower().encode("latin-1"), value.encode("latin-1"))
                for key, value in headers.items()
            ]
            names = {name for name, _ in raw_headers}
            add_length = b"content-length" not in names
            add_type = b"content-type" not in names

        if add_length:
            status_code = self.status_code
            body = getattr(self, "body", None)
            if body is not None and status_code >= 200 and status_code not in (204, 304):
                raw_headers.append((b"content-length", str(len(body)).encode()))
        media_type = self.media_type
        if add_type and media_type is not None:
            content_type = _content_types.get(media_type) if self.charset == "utf-8" else None
            if content_type is None:
                content_type = _content_type(media_type, self.charset)
            raw_headers.append((b"content-type", content_type))
        self.raw_headers = raw_headers

    @property
    def headers(self) -> MutableHeaders:
        """The headers as a mutable view over `raw_headers`."""
        if self._headers is None:
            self._headers = MutableHeaders(raw=self.raw_headers)
        return self._headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Append a set-cookie header (`partitioned` needs Python 3.14, as in Starlette)."""
        from http.cookies import SimpleCookie

        cookie: SimpleCookie = SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            if not isinstance(expires, str | int):
                from email.utils import format_datetime

                expires = format_datetime(expires, usegmt=True)
            morsel["expires"] = expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            assert samesite.lower() in ("strict", "lax", "none"), (
                "samesite must be either 'strict', 'lax' or 'none'"
            )
            morsel["samesite"] = samesite
        if partitioned:
            if sys.version_info < (3, 14):
                raise ValueError("Partitioned cookies are only supported in Python 3.14 and above.")
            morsel["partitioned"] = True
        self.raw_headers.append((b"set-cookie", cookie.output(header="").strip().encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Append a set-cookie header that expires the cookie set with this path and domain."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            send = _websocket_denial_send(send)
        else:
            # Mark the start for the error layer watching this send (see _started), inline.
            watch = scope.get(WATCH_KEY)
            if watch is not None and watch[0] is send:
                watch[1][0] = True
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})
        if self.background is not None:
            await self.background()


class HTMLResponse(Response):
    """A text/html response."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A text/plain response."""

    media_type = "text/plain"


class JSONResponse(Response):
    """`content` as compact UTF-8 JSON (no NaN, non-ASCII kept), application/json."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        import json

        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")


class RedirectResponse(Response):
    """A redirect (307 by default) to `url`, percent-quoted into the location header."""

    def __init__(
        self,
        url: str | URL,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        from urllib.parse import quote

        super().__init__(b"", status_code=status_code, headers=headers, background=background)
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")


def _spec_version(scope: Scope) -> tuple[int, ...]:
    version: str = scope.get("asgi", {}).get("spec_version", "2.0")
    return tuple(int(part) for part in version.split("."))


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_until_disconnect(sending: Awaitable[None], receive: Receive) -> None:
    """Run `sending`, stopping it early if the client disconnects (for ASGI < 2.4 servers)."""
    import asyncio

    sender = asyncio.ensure_future(sending)
    listener = asyncio.ensure_future(_until_disconnect(receive))
    try:
        await asyncio.wait((sender, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, listener):
            if not task.done():
                task.cancel()
        await asyncio.gather(sender, listener, return_exceptions=True)
    if not sender.cancelled() and sender.exception() is not None:
        raise sender.exception()  # type: ignore[misc]


class StreamingResponse(Response):
    """A response whose body comes from an (async) iterator, sent chunk by chunk."""

    body_iterator: AsyncIterable[Content]

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        if hasattr(content, "__aiter__"):
            self.body_iterator = content  # type: ignore[assignment]
        else:
            from .concurrency import iterate_in_threadpool

            self.body_iterator = iterate_in_threadpool(content)
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.init_headers(headers)

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self.body_iterator:
            if not isinstance(chunk, bytes | memoryview):
                chunk = chunk.encode(self.charset)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.stream_response(_websocket_denial_send(send))
        elif _spec_version(scope) >= (2, 4):
            try:
                # stream_response() may be a subclass's own: the wrapper marks its start.
                await self.stream_response(watched(scope, send))
            except OSError:
                from .requests import ClientDisconnect

                raise ClientDisconnect() from None
        else:
            await _send_until_disconnect(self.stream_response(watched(scope, send)), receive)
        if self.background is not None:
            await self.background()


class MalformedRangeHeader(Exception):
    def __init__(self, content: str = "Malformed range header.") -> None:
        self.content = content


class RangeNotSatisfiable(Exception):
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size


def _read_chunk(path: str | os.PathLike[str], offset: int, size: int) -> bytes:
    with open(path, "rb") as file:
        file.seek(offset)
        return file.read(size)


def _parse_ranges(ranges_text: str, file_size: int) -> list[tuple[int, int]]:
    """The `(start, end)` ranges of a byte-ranges spec; unparsable parts are skipped."""
    ranges: list[tuple[int, int]] = []
    for part in ranges_text.split(","):
        part = part.strip()
        if not part or part == "-" or "-" not in part:
            continue
        start_text, end_text = (text.strip() for text in part.split("-", 1))
        try:
            if start_text:
                start = int(start_text)
                end = int(end_text) + 1 if end_text and int(end_text) < file_size else file_size
            else:
                start, end = max(file_size - int(end_text), 0), file_size
        except ValueError:
            continue
        ranges.append((start, end))
    return ranges


class FileResponse(Response):
    """A file from disk, with stat headers, HEAD support and byte ranges."""

    chunk_size = 64 * 1024
    max_ranges = 100

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.status_code = status_code
        self.filename = filename
        if media_type is None:
            from mimetypes import guess_type

            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.background = background
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        if filename is not None:
            from urllib.parse import quote

            quoted = quote(filename)
            if quoted != filename:
                disposition = f"{content_disposition_type}; filename*=utf-8''{quoted}"
            else:
                disposition = f'{content_disposition_type}; filename="{filename}"'
            self.headers.setdefault("content-disposition", disposition)
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """content-length, last-modified and etag (md5 of "mtime-size") from a stat result."""
        import hashlib
        from email.utils import formatdate

        etag_base = f"{stat_result.st_mtime}-{stat_result.st_size}"
        etag = hashlib.md5(etag_base.encode(), usedforsecurity=False).hexdigest()
        self.headers.setdefault("content-length", str(stat_result.st_size))
        self.headers.setdefault("last-modified", formatdate(stat_result.st_mtime, usegmt=True))
        self.headers.setdefault("etag", f'"{etag}"')

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from .concurrency import run_in_threadpool

        is_http = scope["type"] == "http"
        method = scope["method"].upper() if is_http else "GET"
        header_only = method == "HEAD"
        # The start comes after a stat, which may fail: the wrapper marks it when it is sent.
        send = watched(scope, send) if is_http else _websocket_denial_send(send)

        stat_result = self.stat_result
        if stat_result is None:
            try:
                stat_result = await run_in_threadpool(os.stat, self.path)
            except FileNotFoundError:
                raise RuntimeError(f"File at path {self.path} does not exist.") from None
            self.set_stat_headers(stat_result)
            if not stat.S_ISREG(stat_result.st_mode):
                raise RuntimeError(f"File at path {self.path} is not a file.")

        request_headers = Headers(scope=scope)
        http_range = request_headers.get("range")
        if_range = request_headers.get("if-range")
        sending: Awaitable[None]
        if (
            self.status_code != 200
            or http_range is None
            or method not in ("GET", "HEAD")
            or (if_range is not None and not self._should_use_range(if_range))
        ):
            sending = self._send_whole(send, header_only, scope)
        else:
            try:
                ranges = self._parse_range_header(http_range, stat_result.st_size)
            except MalformedRangeHeader as exc:
                response: Response = PlainTextResponse(exc.content, status_code=400)
                await response(scope, receive, send)
                return
            except RangeNotSatisfiable as exc:
                response = PlainTextResponse(
                    status_code=416, headers={"Content-Range": f"bytes */{exc.max_size}"}
                )
                await response(scope, receive, send)
                return
            if not ranges:
                sending = self._send_whole(send, header_only, scope)
            elif len(ranges) == 1:
                start, end = ranges[0]
                sending = self._send_range(send, start, end, stat_result.st_size, header_only)
            else:
                sending = self._send_ranges(send, ranges, stat_result.st_size, header_only)

        if not is_http or header_only or _spec_version(scope) >= (2, 4):
            await sending
        else:
            await _send_until_disconnect(sending, receive)
        if self.background is not None:
            await self.background()

    async def _send_body(self, send: Send, start: int, end: int, more_after: bool) -> None:
        from .concurrency import run_in_threadpool

        while True:
            size = min(self.chunk_size, end - start)
            chunk = await run_in_threadpool(_read_chunk, self.path, start, size)
            start += len(chunk)
            more_body = len(chunk) == size and start < end
            if more_body or more_after:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            else:
                await send({"type": "http.response.body", "body": chunk, "more_body": False})
            if not more_body:
                if start < end and more_after:
                    raise RuntimeError(f"File at path {self.path} is shorter than expected.")
                return

    async def _send_whole(self, send: Send, header_only: bool, scope: Scope) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif "http.response.pathsend" in scope.get("extensions", {}):
            await send({"type": "http.response.pathsend", "path": str(self.path)})
        else:
            size = int(self.headers.get("content-length", "0"))
            await self._send_body(send, 0, max(size, 1), more_after=False)

    async def _send_range(
        self, send: Send, start: int, end: int, file_size: int, header_only: bool
    ) -> None:
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-range"] = f"bytes {start}-{end - 1}/{file_size}"
        headers["content-length"] = str(end - start)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self._send_body(send, start, end, more_after=False)

    async def _send_ranges(
        self, send: Send, ranges: Sequence[tuple[int, int]], file_size: int, header_only: bool
    ) -> None:
        from secrets import token_hex

        boundary = token_hex(13)
        content_length, part_header = self.generate_multipart(
            ranges, boundary, file_size, self.headers["content-type"]
        )
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-type"] = f"multipart/byteranges; boundary={boundary}"
        headers["content-length"] = str(content_length)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        if header_only:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        for start, end in ranges:
            await send(
                {"type": "http.response.body", "body": part_header(start, end), "more_body": True}
            )
            await self._send_body(send, start, end, more_after=True)
            await send({"type": "http.response.body", "body": b"\r\n", "more_body": True})
        closing = f"--{boundary}--".encode("latin-1")
        await send({"type": "http.response.body", "body": closing, "more_body": False})

    def _should_use_range(self, if_range: str) -> bool:
        if if_range.startswith("W/"):
            return False
        return if_range in (self.headers["last-modified"], self.headers["etag"])

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        """The merged ranges to send; [] means "send the whole file"."""
        try:
            units, ranges_text = http_range.split("=", 1)
        except ValueError:
            raise MalformedRangeHeader() from None
        if units.strip().lower() != "bytes":
            raise MalformedRangeHeader("Only support bytes range")
        if ranges_text.count(",") + 1 > cls.max_ranges:
            return []
        ranges = _parse_ranges(ranges_text, file_size)
        if not ranges:
            raise MalformedRangeHeader("Range header: range must be requested")
        if any(not (0 <= start < file_size) for start, _ in ranges):
            raise RangeNotSatisfiable(file_size)
        if any(start >= end for start, end in ranges):
            raise MalformedRangeHeader("Range header: start must be less than end")
        if len(ranges) == 1:
            return ranges
        ranges.sort()
        merged = [ranges[0]]
        for start, end in ranges[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return merged

    def generate_multipart(
        self, ranges: Sequence[tuple[int, int]], boundary: str, max_size: int, content_type: str
    ) -> tuple[int, Callable[[int, int], bytes]]:
        """The multipart body's length, and a function making each part's header."""

        def part_header(start: int, end: int) -> bytes:
            return (
                f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end - 1}/{max_size}\r\n\r\n"
            ).encode("latin-1")

        content_length = sum(
            len(part_header(start, end)) + (end - start) + 2 for start, end in ranges
        )
        return content_length + len(boundary) + 4, part_header


#: The toolkit's own ways of sending a response: each marks its start itself (see _started).
MARKING_CALLS = frozenset({Response.__call__, StreamingResponse.__call__, FileResponse.__call__})


def marks_its_start(response: object) -> bool:
    """Whether sending `response` marks its start itself (else it needs a `watched` send)."""
    return type(response).__call__ in MARKING_CALLS
