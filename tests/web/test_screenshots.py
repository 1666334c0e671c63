"""Screenshots of the UI in light and dark (test-output/, and docs/screenshot.png on request).

Set CHATDESK_UPDATE_SCREENSHOT=1 to refresh the README's docs/screenshot.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.web.conftest import ROOT, ChatServer, User

pytestmark = pytest.mark.browser

CONVERSATION = [
    ("general", "maya", "Morning! Is the release branch frozen yet?"),
    ("general", "sam", "Almost. Two PRs left, both tiny."),
    ("general", "sam", "I'll merge them after lunch."),
    ("general", "alice", "Great, I'll start the release notes then."),
    ("general", "maya", "Draft from last time: https://example.org/notes/1.4 (reuse the layout)"),
    ("general", "alice", "Thanks! Sending a first cut in an hour."),
    ("design", "maya", "New icon candidates are in the shared folder."),
    ("random", "sam", "Coffee machine on 3 is fixed"),
]


def test_screenshots(server: ChatServer, users: Callable[..., User], output_dir: Path) -> None:
    server.seed(CONVERSATION)
    alice, bob = users("alice"), users("bob")
    page = alice.page
    page.goto(server.join_url)
    page.wait_for_selector("#nick-dialog[open]")
    page.screenshot(path=str(output_dir / "nick-dialog.png"))
    page.fill("#nick-input", "alice")
    page.press("#nick-input", "Enter")
    alice.wait_online()
    for room in ("design", "random"):
        page.fill("#room-input", room)
        page.press("#room-input", "Enter")
        page.wait_for_selector(f'.room.active[data-room="{room}"]')
    page.click('.room[data-room="general"]')

    bob.join(server)
    bob.send("Sounds good. Ping me if you need the changelog numbers.")
    alice.wait_for_texts(
        [text for room, _, text in CONVERSATION if room == "general"]
        + ["Sounds good. Ping me if you need the changelog numbers."]
    )
    alice.send("Will do!")
    alice.wait_for_texts(["Will do!"])
    bob.page.fill("#room-input", "random")
    bob.page.press("#room-input", "Enter")
    bob.page.wait_for_selector('.room.active[data-room="random"]')
    bob.send("Anyone up for lunch at 12:30?")
    page.wait_for_selector('.room[data-room="random"] .unread')
    bob.page.click('.room[data-room="general"]')
    page.wait_for_function("() => document.querySelectorAll('#online .person').length === 2")
    bob.page.type("#composer", "typing")
    page.wait_for_function("() => document.getElementById('typing').textContent !== ''")
    page.mouse.move(0, 0)

    light = output_dir / "chat-light.png"
    page.screenshot(path=str(light))
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(output_dir / "chat-dark.png"))
    page.emulate_media(color_scheme="light")

    page.fill("#search-input", "release")
    page.wait_for_selector("#search-results .search-result")
    page.screenshot(path=str(output_dir / "search.png"))
    page.keyboard.press("Escape")

    page.click("#invite-open")
    page.wait_for_selector("#invite[open] .invite-link img.qr")
    page.screenshot(path=str(output_dir / "invite.png"))
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(output_dir / "invite-dark.png"))

    for name in ("chat-light.png", "chat-dark.png", "search.png", "invite.png"):
        assert (output_dir / name).stat().st_size > 10_000
    if os.environ.get("CHATDESK_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(light, ROOT / "docs" / "screenshot.png")
