"""Path convertors on Starlette 1.10 and on chatdesk.asgi: generic, user-defined, the same answers.

A user convertor is written and registered the way Starlette documents it
(`class DateConvertor(Convertor[datetime])`, then `register_url_convertor`), once against each
toolkit's `convertors` module, and the same app serves it on real uvicorn.
"""

from __future__ import annotations

import math
import typing
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette import applications, routing
from starlette import convertors as starlette_convertors
from starlette import responses as starlette_responses

import chatdesk.asgi as tk
from chatdesk.asgi import convertors as chatdesk_convertors
from tests.support.server import serve

from .helpers import ROOT

MODULES = {"starlette": starlette_convertors, "chatdesk": chatdesk_convertors}
KEY = "differential-date"


def date_convertor(convertors: ModuleType) -> type:
    """Starlette's documented example, written against one toolkit's convertors module."""

    class DateConvertor(convertors.Convertor[datetime]):
        regex = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

        def convert(self, value: str) -> datetime:
            return datetime.strptime(value, "%Y-%m-%d")

        def to_string(self, value: datetime) -> str:
            return value.strftime("%Y-%m-%d")

    return DateConvertor


@pytest.mark.parametrize("name", MODULES)
def test_convertor_is_generic(name: str) -> None:
    convertors = MODULES[name]
    date_class = date_convertor(convertors)
    base = date_class.__orig_bases__[0]
    assert typing.get_origin(base) is convertors.Convertor
    assert typing.get_args(base) == (datetime,)
    assert issubclass(date_class, convertors.Convertor)
    assert date_class().convert("2024-02-29") == datetime(2024, 2, 29)


def test_the_modules_offer_the_same_public_names() -> None:
    public = {
        "CONVERTOR_TYPES",
        "Convertor",
        "FloatConvertor",
        "IntegerConvertor",
        "PathConvertor",
        "StringConvertor",
        "UUIDConvertor",
        "register_url_convertor",
    }
    for convertors in MODULES.values():
        assert public <= set(vars(convertors))
    assert set(starlette_convertors.CONVERTOR_TYPES) == set(chatdesk_convertors.CONVERTOR_TYPES)


WRITE_BACK_CASES = [
    ("str", "abc"),
    ("str", ""),
    ("str", "a/b"),
    ("str", 5),
    ("path", "a/b//c"),
    ("int", 7),
    ("int", "8"),
    ("int", -1),
    ("int", 2.9),
    ("float", 2.5),
    ("float", 3),
    ("float", 1e-7),
    ("float", -1.0),
    ("float", math.nan),
    ("float", math.inf),
    ("float", -math.inf),
    ("uuid", uuid.UUID(int=1)),
]


def written(convertors: ModuleType, kind: str, value: Any) -> tuple[str, Any]:
    try:
        return ("ok", convertors.CONVERTOR_TYPES[kind].to_string(value))
    except Exception as exc:
        return ("raised", (type(exc).__name__, str(exc)))


@pytest.mark.parametrize(("kind", "value"), WRITE_BACK_CASES)
def test_builtin_convertors_write_back_like_starlette(kind: str, value: Any) -> None:
    expected = written(starlette_convertors, kind, value)
    assert written(chatdesk_convertors, kind, value) == expected


def build(name: str, date_class: type) -> Any:
    """An app with the registered convertor in a route, in a mount's path, and in url_for."""
    if name == "starlette":
        App, Route, Mount = applications.Starlette, routing.Route, routing.Mount
        JSONResponse = starlette_responses.JSONResponse
    else:
        App, Route, Mount, JSONResponse = tk.App, tk.Route, tk.Mount, tk.JSONResponse

    async def event(request: Any) -> Any:
        day = request.path_params["day"]
        return JSONResponse(
            {
                "type": type(day).__name__,
                "day": day.isoformat(),
                "next": str(request.url_for("event", day=day + timedelta(days=1))),
                "archive": request.app.url_path_for("archive:page", day=day, page=3),
            }
        )

    async def archive_page(request: Any) -> Any:
        params = request.path_params
        return JSONResponse({"day": params["day"].isoformat(), "page": params["page"]})

    routes = [
        Route(f"/events/{{day:{KEY}}}", event, name="event"),
        Mount(
            f"/archive/{{day:{KEY}}}",
            routes=[Route("/{page:int}", archive_page, name="page")],
            name="archive",
        ),
    ]
    return App(routes=routes)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    try:
        apps = {}
        for name, convertors in MODULES.items():
            date_class = date_convertor(convertors)
            convertors.register_url_convertor(KEY, date_class())
            apps[name] = build(name, date_class)
        with serve(apps["starlette"]) as oracle, serve(apps["chatdesk"]) as ours:
            yield {"starlette": oracle.url, "chatdesk": ours.url}
    finally:
        for convertors in MODULES.values():
            convertors.CONVERTOR_TYPES.pop(KEY, None)


@pytest.mark.parametrize(
    "path",
    [
        "/events/2024-02-28",
        "/events/2024-02-29",
        "/events/2023-12-31",
        "/events/not-a-date",
        "/events/2024-2-1",
        "/events/2024-13-01",
        "/archive/2024-03-01/7",
        "/archive/2024-03-01/x",
        "/archive/2024-03-01",
    ],
)
def test_a_registered_user_convertor_routes_like_starlette(
    servers: dict[str, str], path: str
) -> None:
    seen = {}
    for name, url in servers.items():
        response = httpx.get(url + path, timeout=5)
        seen[name] = (response.status_code, response.text.replace(url, "BASE"))
    assert seen["chatdesk"] == seen["starlette"]


MYPY_SNIPPET = """
from datetime import datetime

from chatdesk.asgi.convertors import Convertor, register_url_convertor


class DateConvertor(Convertor[datetime]):
    regex = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def convert(self, value: str) -> datetime:
        return datetime.strptime(value, "%Y-%m-%d")

    def to_string(self, value: datetime) -> str:
        return value.strftime("%Y-%m-%d")


register_url_convertor("date", DateConvertor())
day: datetime = DateConvertor().convert("2024-02-29")


class Wrong(Convertor[int]):
    def convert(self, value: str) -> str:
        return value
"""


def test_mypy_sees_convertor_as_generic(tmp_path: Any) -> None:
    import subprocess
    import sys

    snippet = tmp_path / "user_convertor.py"
    snippet.write_text(MYPY_SNIPPET)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    # Only the deliberate mistake: a Convertor[int] whose convert returns str.
    assert len(errors) == 1, result.stdout
    assert "user_convertor.py:22" in errors[0] and "incompatible" in errors[0], result.stdout
