"""Responses on the wire: headers rules, files and ranges, streaming, cookies, background work."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatdesk.asgi import (
    App,
    BackgroundTask,
    BackgroundTasks,
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    Route,
    StreamingResponse,
)
from tests.support.server import serve

from .helpers import wait_for


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("responses") / "digits.txt"
    path.write_bytes(b"0123456789" * 10)
    return path


def test_headers_rules_without_a_server() -> None:
    assert PlainTextResponse("é").raw_headers == [
        (b"content-length", b"2"),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert Response(status_code=204).raw_headers == []
    assert Response(status_code=101).raw_headers == []
    assert Response(b"x", headers={"X-Custom": "1"}).raw_headers == [
        (b"x-custom", b"1"),
        (b"content-length", b"1"),
    ]
    response = Response("x", media_type="text/plain; charset=latin-1")
    assert response.headers["content-type"] == "text/plain; charset=latin-1"
    assert JSONResponse({"a": [1, None]}).body == b'{"a":[1,null]}'
    with pytest.raises(ValueError):
        JSONResponse(float("inf"))


def test_set_cookie_options() -> None:
    response = Response()
    response.set_cookie(
        "sid",
        "v",
        max_age=60,
        path="/p",
        domain="example.test",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    cookie = response.headers["set-cookie"]
    for part in ("sid=v", "Max-Age=60", "Path=/p", "Domain=example.test", "Secure", "HttpOnly"):
        assert part in cookie
    assert "SameSite=strict" in cookie
    with pytest.raises(AssertionError):
        response.set_cookie("x", samesite="bogus")  # type: ignore[arg-type]


def test_file_ranges(data_file: Path) -> None:
    async def file(request: Any) -> Any:
        return FileResponse(data_file, headers={"x-file": "1"})

    with serve(App(routes=[Route("/f", file)])) as running:
        url = running.url + "/f"
        response = httpx.get(url, headers={"range": "bytes=10-19"})
        assert response.status_code == 206
        assert response.headers["content-range"] == "bytes 10-19/100"
        assert (response.content, response.headers["content-length"]) == (b"0123456789", "10")

        response = httpx.get(url, headers={"range": "bytes=0-1, 5-6, 1-2"})
        assert response.status_code == 206
        content_type = response.headers["content-type"]
        assert content_type.startswith("multipart/byteranges; boundary=")
        boundary = content_type.split("=", 1)[1]
        assert int(response.headers["content-length"]) == len(response.content)
        parts = response.content.split(f"--{boundary}".encode())
        assert parts[-1] == b"--"
        assert [part.rsplit(b"\r\n\r\n", 1)[1] for part in parts[1:-1]] == [
            b"012\r\n",
            b"56\r\n",
        ]
        assert b"Content-Range: bytes 0-2/100" in parts[1]

        response = httpx.get(url, headers={"range": "bytes=100-"})
        assert response.status_code == 416
        assert response.headers["content-range"] == "bytes */100"
        assert response.content == b""

        response = httpx.post(url, headers={"range": "bytes=0-1"})
        assert response.status_code == 405

        response = httpx.head(url)
        assert (response.status_code, response.headers["content-length"]) == (200, "100")


def test_streaming_response_sends_chunks() -> None:
    async def numbers() -> AsyncIterator[str]:
        for number in range(3):
            await asyncio.sleep(0)
            yield f"{number},"

    async def stream(request: Any) -> Any:
        return StreamingResponse(numbers(), media_type="text/csv")

    with serve(App(routes=[Route("/s", stream)])) as running:
        response = httpx.get(running.url + "/s")
    assert response.text == "0,1,2,"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["transfer-encoding"] == "chunked"


def test_background_tasks_run_after_the_response_in_order() -> None:
    done: list[tuple[str, bool]] = []
    loop_threads: list[int] = []

    def sync_task(name: str) -> None:
        done.append((name, threading.get_ident() in loop_threads))

    async def async_task(name: str) -> None:
        done.append((name, threading.get_ident() in loop_threads))

    async def endpoint(request: Any) -> Any:
        loop_threads.append(threading.get_ident())
        tasks = BackgroundTasks([BackgroundTask(sync_task, "first")])
        tasks.add_task(async_task, name="second")
        return PlainTextResponse("sent", background=tasks)

    with serve(App(routes=[Route("/", endpoint)])) as running:
        assert httpx.get(running.url).text == "sent"
        wait_for(lambda: len(done) == 2)
    # The sync task ran in a worker thread, the async one on the event loop.
    assert done == [("first", False), ("second", True)]
