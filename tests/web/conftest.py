"""Fixtures for the browser tests: headless Chromium, a restartable chatdesk server, users."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.support.server import bind_loopback

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
VIEWPORT = {"width": 1200, "height": 760}
# What a browser logs while the server is away on purpose (the restart test allows these).
NETWORK_NOISE = re.compile(
    r"WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE"
    r"|the server responded with a status of 40[13]"
)

# Records CSP violations in the page; Playwright injects it, so the CSP does not apply to it.
CSP_RECORDER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


class ChatServer:
    """The real chatdesk app on a real uvicorn, restartable on the same port and data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.chat: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return str(self.chat.access.token)

    @property
    def join_url(self) -> str:
        return f"{self.url}/join?token={self.token}"

    def start(self, timeout: float = 10.0) -> None:
        """Open the data dir and serve it: on a free port first, then on that same port."""
        from chatdesk.chat.app import Chat, ChatConfig

        self.chat = Chat(ChatConfig(data_dir=self.data_dir))
        self._sock = bind_loopback(self.port)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.chat.app,
            log_level="warning",
            http="httptools",
            ws="websockets-sansio",
            lifespan="on",
            ws_max_size=70000,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("chatdesk test server exited before it started")
            if time.monotonic() > deadline:
                raise TimeoutError("chatdesk test server did not start in time")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (open WebSockets are closed) and close the store."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
        alive = self._thread.is_alive()
        self._server = self._thread = None
        self.chat.close()
        if alive:
            raise RuntimeError("chatdesk test server did not stop in time")

    def seed(self, messages: list[tuple[str, str, str]]) -> None:
        """Store (room, nick, text) messages directly, with the server stopped meanwhile."""
        from chatdesk.chat.store import Store

        async def append_all(store: Any) -> None:
            for index, (room, nick, text) in enumerate(messages):
                await store.append(room, nick, text, f"seed-{index}")

        self.stop()
        store = Store.open(self.data_dir)
        try:
            # Playwright's sync API owns this thread's event loop: run the store on another.
            worker = threading.Thread(target=asyncio.run, args=(append_all(store),))
            worker.start()
            worker.join(30)
        finally:
            store.close()
        self.start()

    def get(self, path: str) -> Any:
        """GET an API path as a program would (bearer token); returns the decoded JSON."""
        import httpx

        response = httpx.get(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=5
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChatServer]:
    chat_server = ChatServer(tmp_path / "data")
    chat_server.start()
    try:
        yield chat_server
    finally:
        chat_server.stop()


@dataclass
class User:
    """One person: a browser context (own cookies, storage) and its page, and what went wrong."""

    nick: str
    context: Any
    page: Any
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allow_network_noise: bool = False

    def join(self, server: ChatServer) -> None:
        """Open the invite link (sets the session cookie), pick the nick, wait until online."""
        page = self.page
        page.goto(server.join_url)
        page.wait_for_selector("#nick-dialog[open]")
        page.fill("#nick-input", self.nick)
        page.press("#nick-input", "Enter")
        self.wait_online()

    def wait_online(self) -> None:
        self.page.wait_for_selector("#me-status[data-state=online]")

    def rotate_token(self) -> None:
        """What the host does to rotate the room token: Invite panel, Rotate token, confirm."""
        page = self.page
        page.click("#invite-open")
        page.wait_for_selector("#invite[open] .invite-link")
        page.click("#rotate-token")
        page.wait_for_selector("#confirm-dialog[open]")
        page.click("#confirm-ok")

    def send(self, text: str) -> None:
        self.page.fill("#composer", text)
        self.page.press("#composer", "Enter")

    def texts(self) -> list[str]:
        """The text of every message row shown, top to bottom."""
        return self.page.eval_on_selector_all(
            "#messages .message .message-text", "nodes => nodes.map(n => n.textContent)"
        )

    def wait_for_texts(self, expected: list[str], timeout: float = 10000) -> None:
        """Wait until the shown messages end with exactly `expected` (and are all stored)."""
        self.page.wait_for_function(
            """expected => {
                const rows = Array.from(document.querySelectorAll('#messages .message'));
                const texts = rows.map(r => r.querySelector('.message-text').textContent);
                const tail = texts.slice(-expected.length);
                return JSON.stringify(tail) === JSON.stringify(expected)
                    && !document.querySelector('#messages .message.pending');
            }""",
            arg=expected,
            timeout=timeout,
        )

    def collected_problems(self) -> list[str]:
        problems = list(self.problems)
        if not self.page.is_closed():
            problems += [f"CSP: {v}" for v in self.page.evaluate("window.__csp || []")]
        if self.allow_network_noise:
            problems = [p for p in problems if not NETWORK_NOISE.search(p)]
        return problems + [f"dialog: {d}" for d in self.dialogs]


@pytest.fixture
def users(browser: Any) -> Iterator[Callable[..., User]]:
    """Make users on the session browser; afterwards: no console error, CSP violation, dialog."""
    made: list[User] = []

    def make(nick: str, *, color_scheme: str = "light") -> User:
        context = browser.new_context(viewport=VIEWPORT, color_scheme=color_scheme)
        context.add_init_script(CSP_RECORDER)
        page = context.new_page()
        user = User(nick, context, page)
        page.on(
            "console",
            lambda message: (
                user.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: user.problems.append(f"page error: {error}"))

        def on_dialog(dialog: Any) -> None:
            user.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        made.append(user)
        return user

    yield make
    problems = []
    for user in made:
        problems += [f"{user.nick}: {problem}" for problem in user.collected_problems()]
        user.context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
