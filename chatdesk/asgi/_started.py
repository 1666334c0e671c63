"""Whether an HTTP response has started on a layer's `send`: known exactly, and cheaply.

An error layer may answer an exception only while no response has started on its `send`, and no
server is relied on to refuse a second http.response.start. A layer watches its `send` by
sharing `(send, [started])` in the scope under WATCH_KEY (an App mounted in an App shares the
outer flag). The toolkit's own responses mark their start there themselves (Response.__call__:
one dict lookup; StreamingResponse and FileResponse use `watched`); only code outside the toolkit
(a response class of its own, middleware, a raw ASGI app, a handler calling `self.send`) is
handed a wrapper that marks it (`watched`). Wrapping every request's `send`, as Starlette does,
costs each request a closure and a call per message: about 0.3 µs more than this, 1.5 % of a
request through uvicorn.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from .types import Message, Scope, Send

#: Where a layer shares its watch with what runs inside it: (the send it watches, [started]).
#: The layer puts the previous value back when it returns: the scope must not keep the server's
#: `send`, and through it the connection, alive in a reference cycle.
WATCH_KEY = "chatdesk.send_watch"

#: The flag of a scope nothing watches (a WebSocket's): no HTTP response ever starts there.
NOT_STARTED: Sequence[bool] = (False,)


def watch(scope: Scope, send: Send) -> list[bool]:
    """Watch `send`: the flag a response start through it sets (an outer layer's, if it already
    watches this very `send`). The caller restores the scope's previous WATCH_KEY value."""
    current: tuple[Send, list[bool]] | None = scope.get(WATCH_KEY)
    if current is not None and current[0] is send:
        return current[1]
    started = [False]
    scope[WATCH_KEY] = (send, started)
    return started


def watched(scope: Scope, send: Send) -> Send:
    """`send` as handed to code outside the toolkit: a response start through it is marked."""
    current: tuple[Send, list[bool]] | None = scope.get(WATCH_KEY)
    if current is None or current[0] is not send:
        return send  # nothing watches this send
    started = current[1]

    def watched_send(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            started[0] = True
        return send(message)

    return watched_send
