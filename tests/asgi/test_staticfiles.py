"""StaticFiles: nothing outside the directory is ever served; caching headers; html mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from chatdesk.asgi import App, Mount, StaticFiles
from tests.support.server import serve

from .helpers import raw_request, ws_session
from .sample_app import make_static_dir


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_static_dir(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="module")
def server(static_dir: Path) -> Any:
    app = App(
        routes=[
            Mount("/static", StaticFiles(directory=static_dir)),
            Mount("/follow", StaticFiles(directory=static_dir, follow_symlink=True)),
        ]
    )
    with serve(app) as running:
        yield running


ESCAPES = [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/sub/%2e%2e/%2e%2e/secret.txt",
    "/static/sub/../../secret.txt",
    "/static/%2Fetc%2Fpasswd",
    "/static//etc/passwd",
    "/static/%2F..%2Fsecret.txt",
    "/static/..%2Fsecret.txt",
    "/static/..%5Csecret.txt",
    "/static/..\\secret.txt",
    "/static/%5C..%5C..%5Csecret.txt",
    "/static/hello.txt%00",
    "/static/%00/../secret.txt",
    "/static/escape.txt",
    "/static/" + "a" * 5000,
    "/static/sub",
    "/static/",
    "/follow/..%2Fsecret.txt",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_nothing_outside_the_directory_is_served(server: Any, path: str) -> None:
    response = raw_request(server.port, f"GET {path} HTTP/1.1")
    assert (response.status, response.body) == (404, b"Not Found")


def test_files_inside_are_served_with_types_and_validators(server: Any) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/static/style.css")
        assert response.text == "body { color: red }"
        assert response.headers["content-type"] == "text/css; charset=utf-8"
        assert response.headers["accept-ranges"] == "bytes"
        assert client.get("/static/data.json").headers["content-type"] == "application/json"
        etag = response.headers["etag"]
        assert etag.startswith('"') and len(etag) == 34
        assert (
            client.get("/static/style.css", headers={"if-none-match": f"W/{etag}"}).status_code
            == 304
        )
        head = client.head("/static/style.css")
        assert (head.content, head.headers["content-length"]) == (b"", "19")
        post = client.post("/static/style.css")
        assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")
        # A symlink to a file inside the directory is fine.
        assert client.get("/static/inside.txt").text == "body { color: red }"


def test_follow_symlink_serves_links_but_still_no_dot_dot(server: Any) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/follow/escape.txt").text == "top secret"
    assert raw_request(server.port, "GET /follow/../secret.txt HTTP/1.1").status == 404


def test_websocket_to_static_files_is_refused(server: Any) -> None:
    assert ws_session(server.ws_url + "/static/hello.txt").rejected_status == 403


def test_html_mode(static_dir: Path) -> None:
    app = App(routes=[Mount("/", StaticFiles(directory=static_dir, html=True))])
    with serve(app) as running, httpx.Client(base_url=running.url) as client:
        assert client.get("/").text == "<h1>index</h1>"
        redirect = client.get("/sub")
        assert (redirect.status_code, redirect.headers["location"]) == (307, running.url + "/sub/")
        assert client.get("/sub/").text == "<h1>sub index</h1>"
        missing = client.get("/missing")
        assert (missing.status_code, missing.text) == (404, "<h1>custom 404</h1>")


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        StaticFiles(directory=tmp_path / "nope")
    lazy = StaticFiles(directory=tmp_path / "nope", check_dir=False)
    with serve(App(routes=[Mount("/", lazy)])) as running:
        assert httpx.get(running.url + "/x").status_code == 500
