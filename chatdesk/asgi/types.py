"""The ASGI type aliases the toolkit is written against (for annotations only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]
ExceptionHandler = Callable[..., Any]
