"""Chat links opened from outside the chat, in a real Chromium.

A link followed from another site is a cross-site navigation, which carries no SameSite=Strict
cookie: the guard has such a page load retried once from the chat's own origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.web.conftest import ChatServer

pytestmark = pytest.mark.browser
TIMEOUT_MS = 10_000


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies)."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def link_on_another_site(page: Any, url: str) -> None:
    """Open a page of another origin holding a link to `url`, and click it."""
    page.goto("data:text/html," + quote(f'<a id="link" href="{url}">chat</a>'))
    page.click("#link")


def in_the_chat(page: Any, server: ChatServer) -> bool:
    page.wait_for_url(f"{server.url}/", timeout=TIMEOUT_MS)
    page.locator("#messages").wait_for(state="attached", timeout=TIMEOUT_MS)
    cookies = page.context.cookies(server.url)
    return any(cookie["name"].startswith("chatdesk_") for cookie in cookies)


def test_an_invite_link_clicked_on_another_site_leads_into_the_chat(
    server: ChatServer, page: Any
) -> None:
    link_on_another_site(page, server.join_url)
    assert in_the_chat(page, server)
    page.reload()  # and it stays there
    page.locator("#messages").wait_for(state="attached", timeout=TIMEOUT_MS)


def test_without_an_invite_a_link_from_another_site_stops_at_the_invite_page(
    server: ChatServer, page: Any
) -> None:
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    link_on_another_site(page, server.url + "/")
    page.wait_for_function("document.title === 'chatdesk: invite needed'", timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)  # a reload loop would show here
    assert loads.count(f"{server.url}/") == 2  # the cross-site load, then one retry
    assert page.title() == "chatdesk: invite needed"
