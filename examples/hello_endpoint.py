# The seed snippet (seed-endpoints.md), unchanged but for its imports: ruff must not rewrite it.
# ruff: noqa
# fmt: off
from chatdesk.asgi import PlainTextResponse
from chatdesk.asgi import HTTPEndpoint


class App(HTTPEndpoint):
    async def get(self, request):
        return PlainTextResponse(f"Hello, world!")
