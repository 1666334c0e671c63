"""A new user's first hour, in a real Chromium: a phone, other scripts, odd text, emoji."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import VIEWPORT, ChatServer, User

pytestmark = pytest.mark.browser

Users = Callable[..., User]
PHONE = {"width": 390, "height": 844}

# What the header shows of the room name and of the search control (see header_state()).
HEADER_STATE = """
() => {
  const title = document.getElementById('room-title');
  const name = document.getElementById('room-name');
  const input = document.getElementById('search-input');
  const button = document.getElementById('search-open');
  const box = (node) => node.getBoundingClientRect();
  const shown = (node) => node !== null && node.checkVisibility()
      && box(node).width > 0 && box(node).left >= 0 && box(node).right <= innerWidth;
  const uncovered = (node) => {
    const r = box(node);
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit !== null && (node === hit || node.contains(hit));
  };
  // Its natural width, unshrunk (scrollWidth is rounded to whole pixels).
  const probe = title.cloneNode(true);
  probe.querySelectorAll('[id]').forEach((node) => node.removeAttribute('id'));
  probe.removeAttribute('id');
  probe.style.cssText = 'position: absolute; visibility: hidden; width: max-content';
  title.after(probe);
  const natural = box(probe).width;
  probe.remove();
  const style = getComputedStyle(input);
  const context = document.createElement('canvas').getContext('2d');
  context.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {
    name: name.textContent,
    titleFits: title.scrollWidth <= title.clientWidth && natural <= box(title).width + 0.01,
    nameInside: box(name).right <= box(title).right + 0.5,
    titleShown: shown(title) && uncovered(name),
    inputShown: shown(input) && uncovered(input),
    placeholder: input.placeholder,
    placeholderFits: context.measureText(input.placeholder).width <= room,
    buttonShown: shown(button) && uncovered(button),
    buttonLabel: button ? button.getAttribute('aria-label') : null,
    focused: document.activeElement.id,
  };
}
"""


def header_state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(HEADER_STATE))


def open_room(page: Any, name: str) -> None:
    """Join and show room `name`; return once the header says who is online there."""
    if name != "general":
        page.fill("#room-input", name)
        page.press("#room-input", "Enter")
        page.wait_for_selector(f'.room.active[data-room="{name}"]', state="attached")
    page.wait_for_function("() => document.getElementById('room-meta').textContent === '1 online'")


def assert_whole_room_name(state: dict[str, Any], name: str) -> None:
    assert state["name"] == name
    assert state["titleFits"], f"#{name} is cut off: {state}"
    assert state["nameInside"] and state["titleShown"], state


# -- 1. the header on a phone --------------------------------------------------------------


def test_on_a_phone_the_header_shows_the_room_and_a_search_that_opens(
    server: ChatServer, users: Users, output_dir: Path
) -> None:
    alice = users("alice")
    alice.join(server)
    alice.send("hello from a phone")
    alice.wait_for_texts(["hello from a phone"])
    page = alice.page
    page.set_viewport_size(PHONE)
    for name in ("general", "random"):
        if name != "general":
            page.click("#sidebar-toggle")
        open_room(page, name)
        state = header_state(page)
        assert_whole_room_name(state, name)
        # The search is a button: its label says what it does, nothing of it is cut off.
        assert state["buttonShown"] and state["buttonLabel"] == "Search messages", state
        assert not state["inputShown"], state
        if name == "general":
            page.mouse.move(200, 400)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.screenshot(path=str(output_dir / f"phone-{scheme}.png"))
            page.emulate_media(color_scheme="light")

    # From the keyboard: Tab from the drawer button reaches it, Enter opens the field.
    page.focus("#sidebar-toggle")
    page.keyboard.press("Tab")
    assert header_state(page)["focused"] == "search-open"
    page.keyboard.press("Enter")
    state = header_state(page)
    assert state["focused"] == "search-input" and state["inputShown"], state
    assert state["placeholder"] == "Search messages" and state["placeholderFits"], state
    assert page.get_attribute("#search-open", "aria-expanded") == "true"
    page.keyboard.type("hello")
    page.wait_for_selector("#search-results .search-result")
    assert header_state(page)["inputShown"]  # the results do not cover what one types
    page.screenshot(path=str(output_dir / "phone-search.png"))

    # Escape closes it again, and the focus goes back to the button.
    page.keyboard.press("Escape")
    page.wait_for_selector("#search-panel", state="hidden")
    state = header_state(page)
    assert state["focused"] == "search-open" and not state["inputShown"], state
    assert_whole_room_name(state, "random")

    # "/" opens it too, and leaving it empty closes it.
    page.focus("#messages")
    page.keyboard.press("/")
    assert header_state(page)["focused"] == "search-input"
    page.focus("#composer")
    state = header_state(page)
    assert state["buttonShown"] and not state["inputShown"], state

    # A result, tapped, makes way for its message.
    page.click("#search-open")
    page.keyboard.type("hello")
    page.click("#search-results .search-result")
    page.wait_for_selector("#search-panel", state="hidden", timeout=10_000)
    row = page.locator("#messages .message", has_text="hello from a phone")
    row.wait_for()
    assert page.text_content("#room-name") == "general"
    assert row.evaluate(
        """row => {
            const r = row.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return row.contains(hit);
        }"""
    ), "the message the result leads to is hidden"


def test_on_a_wide_window_the_search_field_is_always_there(
    server: ChatServer, users: Users
) -> None:
    alice = users("alice")
    alice.join(server)
    page = alice.page
    for name in ("general", "random"):
        open_room(page, name)
        state = header_state(page)
        assert_whole_room_name(state, name)
        assert state["inputShown"] and not state["buttonShown"], state
        assert state["placeholder"] == "Search messages" and state["placeholderFits"], state
    page.focus("#messages")
    page.keyboard.press("/")
    assert header_state(page)["focused"] == "search-input"
    page.keyboard.type("hello")
    page.wait_for_selector("#search-panel:not([hidden])")
    assert header_state(page)["inputShown"]


# -- 2. the drawer's scrim -----------------------------------------------------------------

BESIDE_THE_DRAWER = """
() => {
  const drawer = document.getElementById('sidebar').getBoundingClientRect();
  const x = Math.round((drawer.right + innerWidth) / 2);
  const y = Math.round(innerHeight / 2);
  const hit = document.elementFromPoint(x, y);
  const background = hit ? getComputedStyle(hit).backgroundColor : '';
  return {x, y, id: hit ? hit.id : null, background};
}
"""


def rgba(colour: str) -> tuple[float, ...]:
    """The channels of a computed rgb()/rgba() colour (alpha 1 when absent)."""
    channels = [float(part) for part in re.findall(r"[\d.]+", colour)]
    return tuple(channels) if len(channels) == 4 else (*channels, 1.0)


def drawer_open(page: Any) -> bool:
    return page.get_attribute("#sidebar-toggle", "aria-expanded") == "true"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_drawer_dims_the_page_and_a_tap_beside_it_closes_it(
    server: ChatServer, users: Users, output_dir: Path, scheme: str
) -> None:
    alice = users("alice", color_scheme=scheme)
    alice.join(server)
    page = alice.page
    page.set_viewport_size(PHONE)
    page.click("#sidebar-toggle")
    assert drawer_open(page)
    beside = page.evaluate(BESIDE_THE_DRAWER)
    assert beside["id"] == "sidebar-scrim", beside
    red, green, blue, alpha = rgba(beside["background"])
    assert max(red, green, blue) <= 60 and 0.2 <= alpha <= 0.8, beside
    assert page.evaluate("document.getElementById('sidebar').contains(document.activeElement)")
    page.screenshot(path=str(output_dir / f"phone-drawer-{scheme}.png"), animations="disabled")

    page.mouse.click(beside["x"], beside["y"])
    assert not drawer_open(page)
    assert not page.locator("#sidebar").is_visible()
    assert page.evaluate(BESIDE_THE_DRAWER)["id"] != "sidebar-scrim"

    page.click("#sidebar-toggle")
    assert drawer_open(page)
    page.keyboard.press("Escape")
    assert not drawer_open(page)
    assert not page.locator("#sidebar-scrim").is_visible()
    assert page.evaluate("document.activeElement.id") == "sidebar-toggle"

    page.set_viewport_size(VIEWPORT)  # no drawer, no scrim on a wide window
    assert not page.locator("#sidebar-scrim").is_visible()


# -- 3. right-to-left text -----------------------------------------------------------------

DIRECTION = "node => getComputedStyle(node).direction"


def direction(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.evaluate(DIRECTION))


def test_right_to_left_text_and_names_are_laid_out_right_to_left(
    server: ChatServer, users: Users
) -> None:
    server.seed([("general", "sam", "Hello world")])
    alice, dani = users("alice"), users("דני")
    alice.join(server)
    dani.join(server)
    dani.send("مرحبا بالعالم")
    alice.wait_for_texts(["Hello world", "مرحبا بالعالم"])
    page = alice.page
    row = '#messages .message:has(.message-text:text-is("{}"))'
    assert direction(page, row.format("مرحبا بالعالم") + " .message-text") == "rtl"
    assert direction(page, row.format("مرحبا بالعالم") + " .author") == "rtl"
    assert direction(page, row.format("Hello world") + " .message-text") == "ltr"
    assert direction(page, row.format("Hello world") + " .author") == "ltr"

    page.wait_for_selector('#online .person[data-nick="דני"]')
    assert direction(page, '#online .person[data-nick="דני"] .person-name') == "rtl"
    assert direction(page, '#online .person[data-nick="alice"] .person-name') == "ltr"
    assert direction(dani.page, "#me-nick") == "rtl"

    dani.page.type("#composer", "typing")
    page.wait_for_function("() => /is typing/.test(document.getElementById('typing').textContent)")
    assert page.text_content("#typing") == "דני is typing…"
    assert direction(page, "#typing") == "ltr"  # the sentence is English
    assert page.locator("#typing [dir=auto], #typing bdi").text_content() == "דני"
    assert direction(page, "#typing [dir=auto], #typing bdi") == "rtl"

    page.fill("#search-input", "بالعالم")
    page.wait_for_selector("#search-results .search-result")
    assert direction(page, "#search-results .result-text") == "rtl"
    assert direction(page, "#search-results .result-author") == "rtl"


# -- 4. zalgo text -------------------------------------------------------------------------

ABOVE = "".join(chr(code) for code in range(0x0300, 0x0315))  # marks stacked above a letter
BELOW = "".join(chr(code) for code in range(0x0316, 0x0333))  # and below it
ZALGO = "Z" + (ABOVE + BELOW) * 3 + "a" + (ABOVE + BELOW) * 3 + "lgo"
ZALGO_NICK = "Z" + (ABOVE + BELOW)[:31]  # a nick is at most 32 characters
NEIGHBOURS = ("The row above", "The row below")


def row_pictures(page: Any, texts: tuple[str, ...]) -> list[tuple[dict[str, float], bytes]]:
    """Each row's box and its screenshot (PNG), for the rows showing `texts`."""
    pictures = []
    for text in texts:
        text_node = page.locator(f'.message-text:text-is("{text}")')
        row = page.locator("#messages .message", has=text_node)
        pictures.append((row.bounding_box(), row.screenshot(animations="disabled")))
    return pictures


def test_zalgo_text_stays_inside_its_own_row(
    server: ChatServer, users: Users, output_dir: Path
) -> None:
    above, below = NEIGHBOURS
    server.seed(
        [("general", "maya", above), ("general", ZALGO_NICK, ZALGO), ("general", "sam", below)]
    )
    alice = users("alice")
    alice.join(server)
    alice.wait_for_texts([above, ZALGO, below])
    page = alice.page
    page.mouse.move(VIEWPORT["width"] - 1, 1)  # no row is hovered
    page.screenshot(path=str(output_dir / "zalgo.png"))
    with_zalgo = row_pictures(page, NEIGHBOURS)

    # The same page with plain text in the middle row: same geometry, same fonts, same frame.
    page.evaluate(
        """zalgo => {
            const row = Array.from(document.querySelectorAll('#messages .message'))
                .find(r => r.querySelector('.message-text').textContent === zalgo);
            row.querySelector('.message-text').textContent = 'Z';
            row.querySelector('.author').textContent = 'Z';
        }""",
        ZALGO,
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    plain = row_pictures(page, NEIGHBOURS)
    for (box, picture), (plain_box, plain_picture), text in zip(
        with_zalgo, plain, NEIGHBOURS, strict=True
    ):
        assert box == plain_box, f"the zalgo row moved {text!r}: {box} != {plain_box}"
        assert picture == plain_picture, f"the zalgo row draws over {text!r}"


ACCENTED = "Ấn Độ, Ǻngström, Çà, Ŝỹ, crème brûlée; gjpqy Ųę"


def test_ordinary_accents_are_not_clipped(server: ChatServer, users: Users) -> None:
    server.seed([("general", "Ǻgnes Ŝỹ", ACCENTED)])
    alice = users("alice")
    alice.join(server)
    alice.wait_for_texts([ACCENTED])
    page = alice.page
    page.mouse.move(VIEWPORT["width"] - 1, 1)
    [(box, clipped)] = row_pictures(page, (ACCENTED,))
    page.evaluate(
        """() => new Promise(r => {
            for (const node of document.querySelectorAll('#messages .message *')) {
                node.style.overflow = 'visible';  // the CSSOM, which the CSP allows
            }
            requestAnimationFrame(() => requestAnimationFrame(r));
        })"""
    )
    [(unclipped_box, unclipped)] = row_pictures(page, (ACCENTED,))
    assert box == unclipped_box
    assert clipped == unclipped, "the clip against zalgo cuts ordinary accents"


# -- 5. emoji ------------------------------------------------------------------------------

# Counts the strongly coloured pixels of a PNG (saturated: not white, grey or black).
COLOURED_PIXELS = """
async (png) => {
  const bytes = Uint8Array.from(atob(png), c => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const data = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const high = Math.max(data[i], data[i + 1], data[i + 2]);
    const low = Math.min(data[i], data[i + 1], data[i + 2]);
    if (high >= 128 && high - low >= 96) coloured += 1;
  }
  return coloured;
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_emoji_are_drawn_in_colour(server: ChatServer, users: Users, scheme: str) -> None:
    server.seed([("general", "sam", "😀🎉")])
    alice = users("alice", color_scheme=scheme)
    alice.join(server)
    alice.wait_for_texts(["😀🎉"])
    text = alice.page.locator("#messages .message-text", has_text="😀🎉")
    png = base64.b64encode(text.screenshot(animations="disabled")).decode()
    coloured = alice.page.evaluate(COLOURED_PIXELS, png)
    # Two colour emoji at 15 px have about a hundred strongly coloured pixels; boxes have none.
    assert coloured >= 40, f"{coloured} coloured pixels: emoji drawn without a colour font"
