"""In headless Chromium: another origin cannot use a joined browser's session, and hostile
text never runs in the chat UI (escaping first, the CSP behind it)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.lan.conftest import Target, open_client
from tests.support.server import RunningServer, serve

pytestmark = pytest.mark.browser

# Served from another port of the same host: the same *site*, so the SameSite=Strict cookie
# goes along with its requests; only the guard's Origin checks and the absent CORS stop it.
ATTACK_PAGE = """<!doctype html><meta charset=utf-8><title>attacker</title><script>
const target = "127.0.0.1:%(port)d";
window.results = {};
async function attempt(name, action) {
  try { window.results[name] = await action(); }
  catch (error) { window.results[name] = "failed: " + error.name; }
}
(async () => {
  await attempt("read api", async () =>
    (await fetch(`http://${target}/api/rooms`, {credentials: "include"})).status);
  await attempt("read invite", async () =>
    (await fetch(`http://${target}/api/invite`, {credentials: "include"})).status);
  await attempt("blind rotate", async () =>
    (await fetch(`http://${target}/api/token/rotate`,
                 {method: "POST", mode: "no-cors", credentials: "include"})).type);
  await attempt("websocket", () => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${target}/chat`);
    ws.onopen = () => { resolve("open"); ws.close(); };
    ws.onerror = () => resolve("error");
  }));
  window.done = true;
})();
</script>"""


def attack_app(port: int) -> Any:
    page = (ATTACK_PAGE % {"port": port}).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    return app


@pytest.fixture
def page(browser: Any, target: Target) -> Iterator[Any]:
    """A page of a browser that joined the chat with the invite link."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        response = page.goto(f"{target.server.url}/join?token={target.token}")
        assert response is not None and response.status == 200  # after the 303 to /
        assert any(c["name"] == target.chat.access.cookie_name for c in context.cookies())
        yield page
    finally:
        context.close()


@pytest.fixture
def attacker(target: Target) -> Iterator[RunningServer]:
    with serve(attack_app(target.port)) as running:
        yield running


def test_another_origin_cannot_use_the_session(
    page: Any, target: Target, attacker: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatdesk.security")
    token = target.token
    page.goto(attacker.url + "/")
    page.wait_for_function("() => window.done === true", timeout=10_000)
    results = page.evaluate("() => window.results")
    assert results["read api"] == "failed: TypeError"  # no CORS: the response is unreadable
    assert results["read invite"] == "failed: TypeError"
    assert results["websocket"] == "error"  # handshake refused (Origin), before any frame
    # the blind POST was sent (opaque, or blocked by CORP on the way back) and refused
    assert results["blind rotate"] in ("opaque", "failed: TypeError")
    assert target.token == token
    refusals = [r.getMessage() for r in caplog.records if r.name == "chatdesk.security"]
    assert any("POST /api/token/rotate" in m and "origin not allowed" in m for m in refusals)
    assert any("WebSocket /chat" in m and "origin not allowed" in m for m in refusals)
    # and the session itself still works from its own origin
    page.goto(target.server.url + "/")
    status = page.evaluate("async () => (await fetch('/api/rooms')).status")
    assert status == 200


def test_hostile_message_text_never_runs(page: Any, target: Target) -> None:
    page.goto(target.server.url + "/")
    page.wait_for_selector("#nick-dialog[open]")
    page.fill("#nick-input", "reader")
    page.press("#nick-input", "Enter")
    page.wait_for_function("() => document.getElementById('me-nick').textContent === 'reader'")
    hostile = [
        "<img src=x onerror=alert(1)>",
        '<svg onload="window.__xss=1">',
        "<script>window.__xss=2</script>",
        '"><img src=x onerror=window.__xss=3>',
        "<iframe src=javascript:alert(4)>",
    ]
    writer = open_client(target, "mallory")
    try:
        writer.join("general")
        for index, text in enumerate(hostile):
            writer.post(text, f"xss-{index}-{time.monotonic_ns()}")
    finally:
        writer.close()
    expected = json.dumps(hostile)
    page.wait_for_function(
        f"() => {expected}.every(t => [...document.querySelectorAll('#messages *')]"
        ".some(e => e.textContent === t))",
        timeout=10_000,
    )
    messages = page.locator("#messages")
    assert messages.locator("img, svg, script, iframe").count() == 0
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []


def test_the_csp_blocks_inline_script_even_if_markup_got_in(page: Any, target: Target) -> None:
    """Behind the escaping: were markup ever inserted, the CSP would not run its handlers."""
    page.goto(target.server.url + "/")
    page.evaluate(
        """() => {
            window.__csp = [];
            document.addEventListener('securitypolicyviolation',
                e => window.__csp.push(e.violatedDirective));
            const holder = document.createElement('div');
            holder.innerHTML = '<img src=x onerror="window.__xss=5">';
            document.body.append(holder);
            const script = document.createElement('script');
            script.textContent = 'window.__xss = 6';
            document.body.append(script);
        }"""
    )
    page.wait_for_function("() => window.__csp.length >= 2", timeout=5_000)
    assert page.evaluate("() => window.__xss") is None
    assert all(v.startswith("script-src") for v in page.evaluate("() => window.__csp"))
