"""StaticFiles: serve the files of one directory, and nothing outside it."""

from __future__ import annotations

import errno
import os
import stat

from .concurrency import run_in_threadpool
from .datastructures import URL, Headers
from .exceptions import HTTPException
from .responses import FileResponse, RedirectResponse, Response
from .routing import get_route_path
from .websockets import WebSocketClose

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .types import Receive, Scope, Send

    PathLike = str | os.PathLike[str]

# The only headers a 304 may repeat from the full response.
_NOT_MODIFIED_HEADERS = (
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "vary",
)


class NotModifiedResponse(Response):
    """A 304 carrying only the validator and caching headers of the full response."""

    def __init__(self, headers: Headers) -> None:
        super().__init__(
            status_code=304,
            headers={
                name: value for name, value in headers.items() if name in _NOT_MODIFIED_HEADERS
            },
        )


class StaticFiles:
    """An ASGI app serving files under `directory` for GET and HEAD (with ETag/Last-Modified).

    Paths that would leave the directory (`..`, absolute paths, symlinks pointing outside unless
    `follow_symlink`) are 404. With `html`, directories serve index.html and misses 404.html.
    """

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        self.directory = directory
        self.all_directories: list[PathLike] = [] if directory is None else [directory]
        self.html = html
        self.config_checked = False
        self.follow_symlink = follow_symlink
        if check_dir and directory is not None and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        assert scope["type"] == "http"
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        path = self.get_path(scope)
        response = await self.get_response(path, scope)
        await response(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        """The requested path, relative and normalised ('.' and '..' resolved textually)."""
        route_path = get_route_path(scope)
        return os.path.normpath(os.path.join(*route_path.split("/")))

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The response for `path`: a file, a redirect, a 304, or an HTTPException."""
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        try:
            full_path, stat_result = await run_in_threadpool(self.lookup_path, path)
        except PermissionError:
            raise HTTPException(status_code=401) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise HTTPException(status_code=404) from None
            raise
        except ValueError:
            # A NUL byte in the path.
            raise HTTPException(status_code=404) from None

        if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
            return self.file_response(full_path, stat_result, scope)

        if stat_result is not None and stat.S_ISDIR(stat_result.st_mode) and self.html:
            index_path = os.path.join(path, "index.html")
            full_path, stat_result = await run_in_threadpool(self.lookup_path, index_path)
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                if not scope["path"].endswith("/"):
                    url = URL(scope=scope)
                    return RedirectResponse(url=url.replace(path=url.path + "/"))
                return self.file_response(full_path, stat_result, scope)

        if self.html:
            full_path, stat_result = await run_in_threadpool(self.lookup_path, "404.html")
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                return FileResponse(full_path, stat_result=stat_result, status_code=404)
        raise HTTPException(status_code=404)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """The real file for `path` and its stat, or ("", None) if missing or outside."""
        if path.startswith(("/", "\\")):
            return "", None
        for directory in self.all_directories:
            joined_path = os.path.join(directory, path)
            if self.follow_symlink:
                full_path = os.path.abspath(joined_path)
                root = os.path.abspath(directory)
            else:
                full_path = os.path.realpath(joined_path)
                root = os.path.realpath(directory)
            if os.path.commonpath([full_path, root]) != str(root):
                continue
            try:
                return full_path, os.stat(full_path)
            except (FileNotFoundError, NotADirectoryError):
                continue
        return "", None

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    async def check_config(self) -> None:
        """Fail loudly (not with 404s) when the directory is missing or not a directory."""
        if self.directory is None:
            return
        try:
            stat_result = await run_in_threadpool(os.stat, self.directory)
        except FileNotFoundError:
            raise RuntimeError(
                f"StaticFiles directory '{self.directory}' does not exist."
            ) from None
        if not (stat.S_ISDIR(stat_result.st_mode) or stat.S_ISLNK(stat_result.st_mode)):
            raise RuntimeError(f"StaticFiles path '{self.directory}' is not a directory.")

    def is_not_modified(self, response_headers: Headers, request_headers: Headers) -> bool:
        """Whether If-None-Match (or, without it, If-Modified-Since) says the client is current."""
        if_none_match = request_headers.get("if-none-match")
        if if_none_match:
            if if_none_match.strip() == "*":
                return True
            etag = response_headers["etag"]
            return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        if_modified_since = request_headers.get("if-modified-since")
        if if_modified_since is None:
            return False
        from email.utils import parsedate

        since = parsedate(if_modified_since)
        last_modified = parsedate(response_headers["last-modified"])
        return since is not None and last_modified is not None and since >= last_modified
