"""chatdesk.asgi apps run by tests in their own uvicorn process."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

from chatdesk.asgi import App, HTTPEndpoint, JSONResponse, Route


class Modules(HTTPEndpoint):
    async def get(self, request: Any) -> Any:
        loaded = sorted({name.split(".")[0] for name in sys.modules} & {"starlette", "anyio"})
        return JSONResponse({"loaded": loaded, "chatdesk.asgi": "chatdesk.asgi" in sys.modules})


app = App(routes=[Route("/", Modules)])


@contextlib.asynccontextmanager
async def refuse_to_start(app: App) -> AsyncIterator[None]:
    raise RuntimeError("cannot start: no database")
    yield


failing_app = App(lifespan=refuse_to_start)
