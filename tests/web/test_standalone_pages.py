"""Every page a person can land on looks like chatdesk, on a phone and a desktop, light and dark."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CSP_RECORDER, ChatServer

pytestmark = pytest.mark.browser

# What a page shows and how, measured in the page.
LOOK = """
() => {
  const box = (node) => node.getBoundingClientRect();
  const shown = (node) => node !== null && node.checkVisibility() && box(node).width > 0
      && box(node).left >= 0 && box(node).right <= innerWidth;
  const card = document.querySelector('main');
  const heading = document.querySelector('h1');
  const mark = document.querySelector('img');
  const root = document.documentElement;
  return {
    font: getComputedStyle(document.body).fontFamily,
    page: getComputedStyle(document.body).backgroundColor,
    card: card ? getComputedStyle(card).backgroundColor : null,
    cardShown: shown(card),
    heading: heading ? heading.textContent : null,
    headingShown: shown(heading),
    markShown: shown(mark),
    markLoaded: mark !== null && mark.complete && mark.naturalWidth > 0,
    viewport: document.querySelector('meta[name=viewport]') !== null,
    scrollsSideways: root.scrollWidth > root.clientWidth,
    csp: window.__csp,
  };
}
"""

PAGES = {
    # name: (how to get there, status, heading)
    "invite-needed": ("/", 401, "This chat needs an invite"),
    "bad-invite": ("/join?token=not-the-token", 401, "This invite link does not work"),
    "wrong-host": ("http://chat.localhost:{port}/", 403, "This address does not lead to the chat"),
    "not-found": ("/no/such/page", 404, "There is no such page"),
}
WIDTHS = [390, 1200]


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context with this test's width and colour scheme."""
    width, scheme = request.param
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    context.add_init_script(CSP_RECORDER)
    try:
        yield context.new_page()
    finally:
        context.close()


def brightness(colour: str) -> float:
    """The mean of a computed rgb() colour's channels (0..255)."""
    red, green, blue = (float(channel) for channel in re.findall(r"[\d.]+", colour)[:3])
    return (red + green + blue) / 3


@pytest.mark.parametrize(
    "page",
    [(width, scheme) for width in WIDTHS for scheme in ("light", "dark")],
    ids=lambda param: f"{param[0]}px-{param[1]}",
    indirect=True,
)
@pytest.mark.parametrize("name", list(PAGES))
def test_pages_look_like_the_product(
    server: ChatServer, page: Any, name: str, output_dir: Path
) -> None:
    path, status, heading = PAGES[name]
    if name == "not-found":
        page.goto(server.join_url)  # signed in: an unknown path is a 404, not a 401
        page.wait_for_selector("#nick-dialog[open]")
    url = path.format(port=server.port) if path.startswith("http") else server.url + path
    response = page.goto(url)
    assert response.status == status
    look = page.evaluate(LOOK)
    width = page.viewport_size["width"]
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    scheme = "dark" if dark else "light"
    page.screenshot(path=str(output_dir / f"page-{name}-{width}-{scheme}.png"), full_page=True)

    assert look["heading"] == heading and look["headingShown"], look
    assert look["font"].startswith("system-ui"), look
    assert look["cardShown"] and look["card"] != look["page"], look
    assert look["markShown"] and look["markLoaded"], look
    assert look["viewport"] and not look["scrollsSideways"], look
    assert look["csp"] == [], look
    if scheme == "dark":
        assert brightness(look["page"]) < 64 and brightness(look["card"]) < 64, look
    else:
        assert brightness(look["page"]) > 192 and brightness(look["card"]) > 192, look
