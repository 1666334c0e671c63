"""The fan-out baseline: a hand-written ASGI app that sends every text frame to every socket."""

from __future__ import annotations

import contextlib
from typing import Any

from bench.apps.raw import lifespan


def broadcast_app() -> Any:
    """A fresh app with its own set of connections."""
    connections: set[Any] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        connections.add(send)
        try:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return
                text = message.get("text")
                if text is not None:
                    outgoing = {"type": "websocket.send", "text": text}
                    for peer in tuple(connections):
                        # A peer that is gone raises; its own task cleans up.
                        with contextlib.suppress(OSError):
                            await peer(outgoing)
        finally:
            connections.discard(send)

    return app


app = broadcast_app()
