"""WebSocket: state checks, receive/send helpers, iteration, denial responses."""

from __future__ import annotations

from typing import Any

import pytest

from chatdesk.asgi import (
    App,
    PlainTextResponse,
    WebSocket,
    WebSocketDisconnect,
    WebSocketRoute,
    WebSocketState,
)
from tests.support.server import serve

from .helpers import wait_for, ws_session


async def helpers_session(websocket: WebSocket) -> None:
    results: list[str] = []
    try:
        await websocket.receive_text()
    except RuntimeError as exc:
        results.append(type(exc).__name__ + ": " + str(exc))
    await websocket.accept()
    results.append(websocket.client_state.name + "/" + websocket.application_state.name)
    results.append(str(await websocket.receive_json()))
    results.append(str(await websocket.receive_json(mode="binary")))
    results.append((await websocket.receive_bytes()).decode())
    await websocket.send_text("\n".join(results))
    texts = [text async for text in websocket.iter_text()]
    LOG.append(f"iterated {texts} then {websocket.client_state.name}")
    try:
        await websocket.receive_text()
    except RuntimeError as exc:
        LOG.append(type(exc).__name__ + ": " + str(exc))


async def disconnect_session(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await websocket.receive_text()
    except WebSocketDisconnect as exc:
        LOG.append(f"disconnect {exc.code} {exc.reason!r}")


async def denial_session(websocket: WebSocket) -> None:
    await websocket.send_denial_response(PlainTextResponse("not you", status_code=403))


async def bad_mode_session(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await websocket.send_json({}, mode="xml")
    except RuntimeError as exc:
        await websocket.send_text(str(exc))
    await websocket.close(1000)
    try:
        await websocket.send_text("late")
    except RuntimeError as exc:
        LOG.append(type(exc).__name__ + ": " + str(exc))


LOG: list[str] = []


@pytest.fixture(scope="module")
def server() -> Any:
    app = App(
        routes=[
            WebSocketRoute("/helpers", helpers_session),
            WebSocketRoute("/disconnect", disconnect_session),
            WebSocketRoute("/denial", denial_session),
            WebSocketRoute("/bad-mode", bad_mode_session),
        ]
    )
    with serve(app) as running:
        yield running


def test_receive_helpers_and_iteration(server: Any) -> None:
    LOG.clear()
    outcome = ws_session(
        server.ws_url + "/helpers",
        send=['{"a": 1}', b"[2]", b"raw", "t1", "t2"],
        expect=1,
        close=(1000, ""),
    )
    assert outcome.frames == [
        'WebSocketDisconnected: WebSocket is not connected. Need to call "accept" first.\n'
        "CONNECTED/CONNECTED\n{'a': 1}\n[2]\nraw"
    ]
    wait_for(lambda: len(LOG) == 2)
    assert LOG == [
        "iterated ['t1', 't2'] then DISCONNECTED",
        'WebSocketDisconnected: Cannot call "receive" once a disconnect message has been received.',
    ]


def test_disconnect_carries_code_and_reason(server: Any) -> None:
    LOG.clear()
    ws_session(server.ws_url + "/disconnect", close=(4005, "gone"))
    assert wait_for(lambda: LOG) == ["disconnect 4005 'gone'"]


def test_denial_response_rejects_the_handshake(server: Any) -> None:
    outcome = ws_session(server.ws_url + "/denial")
    assert (outcome.rejected_status, outcome.rejected_body) == (403, b"not you")


def test_send_after_close_and_bad_mode_raise(server: Any) -> None:
    LOG.clear()
    outcome = ws_session(server.ws_url + "/bad-mode", expect=1, close=None)
    assert outcome.frames == ['The "mode" argument should be "text" or "binary".']
    assert outcome.close_code == 1000
    assert wait_for(lambda: LOG) == [
        'WebSocketDisconnected: Cannot call "send" once a close message has been sent.'
    ]


def test_states_are_an_enum() -> None:
    assert [state.name for state in WebSocketState] == [
        "CONNECTING",
        "CONNECTED",
        "DISCONNECTED",
        "RESPONSE",
    ]
    assert WebSocketDisconnect(reason=None).reason == ""
