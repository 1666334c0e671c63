"""State (`request.state`, `app.state`) on Starlette 1.10 and on chatdesk.asgi: the same answers.

Starlette 1.x's State is read and written as attributes and as a mapping. The same operations
run on both classes and every outcome is compared, errors included (which exception, and its
message); then one app, built on either toolkit, uses both kinds of access on real uvicorn.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette import applications, routing
from starlette import datastructures as starlette_datastructures
from starlette import responses as starlette_responses

import chatdesk.asgi as tk
from chatdesk.asgi import datastructures as chatdesk_datastructures
from tests.support.server import serve

STATE_CLASSES = {
    "starlette": starlette_datastructures.State,
    "chatdesk": chatdesk_datastructures.State,
}


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    """What an action gave: ("ok", value) or ("raised", exception type name, its args)."""
    try:
        return ("ok", action())
    except Exception as exc:
        return ("raised", (type(exc).__name__, exc.args))


def script(state_class: type) -> list[tuple[str, Any]]:
    """The same mixed attribute and item operations on a State, every outcome recorded."""
    backing: dict[str, Any] = {"lifespan": 1}
    state = state_class(backing)
    results: list[tuple[str, Any]] = []

    def record(action: Callable[[], Any]) -> None:
        results.append(outcome(action))

    def assign_item(key: str, value: Any) -> None:
        state[key] = value

    def delete_item(key: str) -> None:
        del state[key]

    def delete_attribute(name: str) -> None:
        delattr(state, name)

    record(lambda: state["lifespan"])
    record(lambda: state.lifespan)
    record(lambda: assign_item("item", "set as item"))
    record(lambda: state.item)
    record(lambda: setattr(state, "attribute", "set as attribute"))
    record(lambda: state["attribute"])
    record(lambda: len(state))
    record(lambda: list(state))
    record(lambda: sorted(iter(state)))
    record(lambda: "item" in state)
    record(lambda: "nothing" in state)
    record(lambda: bool(state))
    record(lambda: dict(backing))
    record(lambda: state["missing"])
    record(lambda: state.missing)
    record(lambda: delete_item("missing"))
    record(lambda: delete_attribute("missing"))
    record(lambda: delete_item("item"))
    record(lambda: state["item"])
    record(lambda: state.item)
    record(lambda: delete_attribute("attribute"))
    record(lambda: state["attribute"])
    record(lambda: len(state))
    record(lambda: state.get)
    record(lambda: state.keys)
    record(lambda: dict(backing))
    record(lambda: assign_item("pair", 2))
    record(lambda: [(key, state[key]) for key in state])
    record(lambda: bool(state_class()))
    record(lambda: len(state_class()))
    record(lambda: list(state_class({"a": 1, "b": 2})))
    record(lambda: state_class() == state_class())
    record(lambda: state == state)
    record(lambda: isinstance(hash(state), int))
    return results


def test_state_operations_match_starlette() -> None:
    assert script(STATE_CLASSES["chatdesk"]) == script(STATE_CLASSES["starlette"])


def test_the_errors_are_the_same_exceptions() -> None:
    for name, state_class in STATE_CLASSES.items():
        state = state_class()
        with pytest.raises(KeyError):
            state["missing"]
        with pytest.raises(AttributeError, match="'State' object has no attribute 'missing'"):
            state.missing  # noqa: B018
        with pytest.raises(KeyError):
            del state["missing"]
        with pytest.raises(KeyError):
            del state.missing
        assert not state, name


def build(kind: str) -> Any:
    """An app whose lifespan fills the request state and whose endpoint uses both accesses."""
    if kind == "starlette":
        App, Route = applications.Starlette, routing.Route
        JSONResponse = starlette_responses.JSONResponse
    else:
        App, Route, JSONResponse = tk.App, tk.Route, tk.JSONResponse

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"count": 1}

    async def endpoint(request: Any) -> Any:
        state = request.state
        state["item"] = "as item"
        state.attribute = "as attribute"
        missing = outcome(lambda: state["missing"])
        missing_attribute = outcome(lambda: state.missing)
        app_state = request.app.state
        app_state["hits"] = app_state["hits"] + 1 if "hits" in app_state else 1
        return JSONResponse(
            {
                "count": state["count"],
                "count_attribute": state.count,
                "item": state.item,
                "attribute": state["attribute"],
                "keys": sorted(state),
                "len": len(state),
                "missing": missing,
                "missing_attribute": missing_attribute,
                "app": [app_state.name, app_state["name"], app_state["hits"], len(app_state)],
            }
        )

    app = App(routes=[Route("/", endpoint)], lifespan=lifespan)
    app.state.name = "chat"
    return app


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    with serve(build("starlette")) as oracle, serve(build("chatdesk")) as ours:
        yield {"starlette": oracle.url, "chatdesk": ours.url}


def test_request_and_app_state_match_starlette_on_the_wire(servers: dict[str, str]) -> None:
    for _ in range(2):
        seen = {}
        for name, url in servers.items():
            response = httpx.get(url, timeout=5)
            seen[name] = (response.status_code, response.text)
        assert seen["chatdesk"] == seen["starlette"]
        assert seen["chatdesk"][0] == 200
