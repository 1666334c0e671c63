# The seed snippet (seed-endpoints.md), unchanged but for its imports: ruff must not rewrite it.
# ruff: noqa
# fmt: off
from chatdesk.asgi import App as Starlette
from chatdesk.asgi import PlainTextResponse
from chatdesk.asgi import HTTPEndpoint


app = Starlette()


@app.route("/")
class Homepage(HTTPEndpoint):
    async def get(self, request):
        return PlainTextResponse(f"Hello, world!")


@app.route("/{username}")
class User(HTTPEndpoint):
    async def get(self, request, username):
        return PlainTextResponse(f"Hello, {username}")
