"""The chat UI end to end: real chatdesk app, real uvicorn, real headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.web.conftest import ChatServer, User

pytestmark = pytest.mark.browser

Users = Callable[..., User]

# Records whether a row for a client_id was ever shown as pending (acks can come back fast).
PENDING_RECORDER = """
() => {
  window.__pendingSeen = new Set();
  new MutationObserver(() => {
    for (const row of document.querySelectorAll('#messages .message.pending')) {
      window.__pendingSeen.add(row.querySelector('.message-text').textContent);
    }
  }).observe(document.getElementById('messages'), {childList: true, subtree: true});
}
"""


def test_two_users_chat_live(server: ChatServer, users: Users) -> None:
    alice, bob = users("alice"), users("bob")
    alice.join(server)
    bob.join(server)
    alice.page.evaluate(PENDING_RECORDER)

    alice.send("hello bob")
    alice.wait_for_texts(["hello bob"])
    bob.wait_for_texts(["hello bob"])
    assert alice.page.evaluate("window.__pendingSeen.has('hello bob')")
    own = alice.page.locator("#messages .message.own.stored", has_text="hello bob")
    assert own.locator(".message-status").text_content() == "✓"
    message_id = own.get_attribute("data-id")
    assert message_id and int(message_id) > 0
    assert own.get_attribute("data-client-id")
    theirs = bob.page.locator(f'#messages .message[data-id="{message_id}"]')
    assert theirs.locator(".author").text_content() == "alice"
    assert "own" not in (theirs.get_attribute("class") or "")

    bob.send("hi alice\nhow are you?")
    for user in (alice, bob):
        user.wait_for_texts(["hello bob", "hi alice\nhow are you?"])

    # presence: both see both
    for user in (alice, bob):
        user.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('#online .person'))"
            ".map(p => p.dataset.nick).sort().join() === 'alice,bob'"
        )

    # typing indicator
    bob.page.type("#composer", "typing something")
    alice.page.wait_for_function(
        "() => document.getElementById('typing').textContent === 'bob is typing…'"
    )


def test_nick_is_remembered_and_history_survives_a_reload(server: ChatServer, users: Users) -> None:
    alice = users("alice")
    alice.join(server)
    alice.send("before the reload")
    alice.wait_for_texts(["before the reload"])

    alice.page.reload()
    alice.wait_online()
    assert not alice.page.locator("#nick-dialog").evaluate("d => d.open")
    assert alice.page.text_content("#me-nick") == "alice"
    alice.wait_for_texts(["before the reload"])
    assert alice.texts().count("before the reload") == 1

    # nick change
    alice.page.click("#nick-change")
    alice.page.fill("#nick-input", "alicia")
    alice.page.press("#nick-input", "Enter")
    alice.page.wait_for_function("() => document.getElementById('me-nick').textContent == 'alicia'")
    # Enter sends, Shift+Enter is a new line
    alice.page.click("#composer")
    alice.page.keyboard.type("new name")
    alice.page.keyboard.press("Shift+Enter")
    alice.page.keyboard.type("second line")
    alice.page.keyboard.press("Enter")
    alice.wait_for_texts(["before the reload", "new name\nsecond line"])
    assert alice.page.input_value("#composer") == ""
    last = alice.page.locator("#messages .message").last
    assert "stored" in (last.get_attribute("class") or "")
    assert server.get("/api/rooms/general/messages")["messages"][-1]["nick"] == "alicia"


def test_server_restart_heals_without_gaps_or_duplicates(
    server: ChatServer, users: Users, output_dir: Path
) -> None:
    alice, bob = users("alice"), users("bob")
    for user in (alice, bob):
        user.allow_network_noise = True
        user.join(server)
    alice.send("one")
    bob.send("two")
    for user in (alice, bob):
        user.wait_for_texts(["one", "two"])

    server.stop()
    for user in (alice, bob):
        user.page.wait_for_selector("#banner:not([hidden])")
        user.page.wait_for_function(
            "() => /Reconnecting/.test(document.getElementById('banner').textContent)"
        )
    alice.send("three")
    alice.send("four")
    bob.send("five")
    assert alice.page.locator("#messages .message.pending").count() == 2
    assert bob.page.locator("#messages .message.pending").count() == 1
    alice.page.screenshot(path=str(output_dir / "reconnecting.png"))
    # bob's tab gives up before the server is back; his reload must find and resend "five"
    bob.page.evaluate("window.chatdesk.connection.stop()")

    server.start()
    alice.wait_for_texts(["one", "two", "three", "four"], timeout=30000)
    bob.page.reload()
    alice.wait_for_texts(["one", "two", "three", "four", "five"], timeout=30000)
    bob.wait_for_texts(["one", "two", "three", "four", "five"], timeout=30000)
    for user in (alice, bob):
        user.page.wait_for_function(
            "() => /Connected/.test(document.getElementById('banner').textContent)"
            " || document.getElementById('banner').hidden"
        )
        assert user.texts() == ["one", "two", "three", "four", "five"]
    stored = [m["text"] for m in server.get("/api/rooms/general/messages")["messages"]]
    assert stored == ["one", "two", "three", "four", "five"]


def test_hostile_text_is_shown_as_text_and_only_http_links_are_links(
    server: ChatServer, users: Users
) -> None:
    alice, bob = users("alice"), users("bob")
    alice.join(server)
    bob.join(server)
    hostile = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(2)</script>",
        '<a href="javascript:alert(3)">click</a>',
    ]
    for text in hostile:
        alice.send(text)
    links = "see https://example.com/a?b=1, javascript:alert(4) ftp://x.example data:text/html,hi"
    alice.send(links)
    bob.wait_for_texts([*hostile, links])

    messages = bob.page.locator("#messages")
    assert messages.locator("img, script, iframe").count() == 0
    anchors = messages.locator("a")
    assert anchors.count() == 1
    assert anchors.get_attribute("href") == "https://example.com/a?b=1"
    assert anchors.text_content() == "https://example.com/a?b=1"
    assert anchors.get_attribute("rel") == "noopener noreferrer"
    assert anchors.get_attribute("target") == "_blank"
    assert bob.dialogs == [] and alice.dialogs == []


def test_unread_counts_and_title_for_a_background_room(server: ChatServer, users: Users) -> None:
    alice, bob = users("alice"), users("bob")
    alice.join(server)
    bob.join(server)

    # an invalid name gets a friendly hint and creates nothing
    alice.page.fill("#room-input", "Bad Room!")
    alice.page.press("#room-input", "Enter")
    assert "error" in (alice.page.get_attribute("#room-hint", "class") or "")
    assert alice.page.locator(".room").count() == 1

    alice.page.fill("#room-input", "random")
    alice.page.press("#room-input", "Enter")
    alice.page.wait_for_selector('.room.active[data-room="random"]')
    alice.page.click('.room[data-room="general"]')

    bob.page.fill("#room-input", "random")
    bob.page.press("#room-input", "Enter")
    bob.page.wait_for_selector('.room.active[data-room="random"]')
    bob.send("psst")
    bob.send("over here")
    bob.wait_for_texts(["psst", "over here"])

    unread = alice.page.locator('.room[data-room="random"] .unread')
    unread.wait_for()
    alice.page.wait_for_function("() => document.title === '(2) chatdesk'")
    assert unread.text_content() == "2"

    alice.page.click('.room[data-room="random"]')
    alice.wait_for_texts(["psst", "over here"])
    alice.page.wait_for_function("() => document.title === 'chatdesk'")
    assert alice.page.locator(".room .unread").count() == 0


def test_search_finds_a_message_and_jumps_to_it(server: ChatServer, users: Users) -> None:
    server.seed(
        [("general", "carol", f"filler {i}") for i in range(5)]
        + [("lunch", "carol", "who wants pineapple pizza?")]
        + [("lunch", "dave", f"more filler {i}") for i in range(3)],
    )
    alice = users("alice")
    alice.join(server)
    alice.page.fill("#search-input", "pineapple")
    result = alice.page.locator("#search-results .search-result")
    result.first.wait_for()
    assert result.count() == 1
    assert result.locator(".result-room").text_content() == "#lunch"
    assert result.locator(".result-author").text_content() == "carol"
    assert result.locator("mark").text_content() == "pineapple"
    result.click()
    alice.page.wait_for_selector('.room.active[data-room="lunch"]')
    alice.page.locator("#messages .message.highlight", has_text="pineapple").wait_for()


def test_older_history_loads_on_scroll_to_top_keeping_position(
    server: ChatServer, users: Users
) -> None:
    server.seed([("general", "carol", f"message {i}") for i in range(130)])
    alice = users("alice")
    alice.join(server)
    page = alice.page
    page.wait_for_function("() => document.querySelectorAll('#messages .message').length >= 50")
    assert alice.texts()[0] == "message 80"

    anchor = page.locator("#messages .message", has_text="message 80").first
    page.eval_on_selector("#messages", "box => box.scrollTop = 0")
    page.wait_for_function("() => document.querySelectorAll('#messages .message').length >= 100")
    # the message that was at the top is still where the reader left it, not pushed off screen
    box = page.locator("#messages").bounding_box()
    anchored = anchor.bounding_box()
    assert box and anchored and box["y"] <= anchored["y"] <= box["y"] + box["height"]

    page.eval_on_selector("#messages", "box => box.scrollTop = 0")
    page.wait_for_selector(".history-title")
    texts = alice.texts()
    assert texts == [f"message {i}" for i in range(130)]

    # a reader who scrolled up is not dragged down by a new message: a pill offers to jump
    bob = users("bob")
    bob.join(server)
    page.eval_on_selector("#messages", "box => box.scrollTop = 300")
    page.wait_for_function("() => !window.chatdesk.timeline.pinned")  # the scroll was seen
    bob.send("ping")
    page.locator("#new-pill").wait_for()
    assert page.eval_on_selector("#messages", "box => box.scrollTop") == 300
    page.click("#new-pill")
    page.wait_for_selector("#new-pill", state="hidden")
    assert page.locator("#messages .message", has_text="ping").is_visible()
    assert page.eval_on_selector(
        "#messages", "box => box.scrollHeight - box.scrollTop - box.clientHeight < 2"
    )


def test_a_refused_send_is_marked_failed_with_retry(server: ChatServer, users: Users) -> None:
    alice = users("alice")
    alice.join(server)
    # the composer refuses over-long text, so go around it like a buggy client would
    alice.page.evaluate("window.chatdesk.send('x'.repeat(4001))")
    failed = alice.page.locator("#messages .message.failed")
    failed.wait_for()
    assert failed.locator("button.retry").is_visible()
    failed.locator("button.discard").click()
    alice.page.wait_for_selector("#messages .message.failed", state="detached")
    alice.send("short one")
    alice.wait_for_texts(["short one"])


def test_invite_panel_for_the_host(server: ChatServer, users: Users) -> None:
    alice = users("alice")
    alice.join(server)
    page = alice.page
    page.locator("#invite-open").click()
    page.wait_for_selector("#invite[open] .invite-link")
    link = page.locator(".invite-link").first
    assert server.token in (link.locator(".invite-url").input_value())
    assert link.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")
    assert link.locator("button.copy").is_visible()
    assert page.locator("#rotate-token").is_visible()
    assert page.locator("#lan-switch").is_visible()
    page.keyboard.press("Escape")
    page.wait_for_selector("#invite", state="hidden")


def test_echo_page(server: ChatServer, users: Users) -> None:
    visitor = users("visitor")
    page = visitor.page
    page.goto(server.join_url)
    page.goto(server.url + "/echo")
    page.fill("#messageText", "hi")
    page.press("#messageText", "Enter")
    page.locator("#messages li", has_text="Message text was: hi").wait_for()


def test_a_taken_nick_is_made_unique_and_shown(server: ChatServer, users: Users) -> None:
    first, second = users("sam"), users("sam")
    first.join(server)
    second.join(server)
    assert second.page.text_content("#me-nick") == "sam-2"
    second.send("which sam am i")
    second.wait_for_texts(["which sam am i"])
    first.wait_for_texts(["which sam am i"])
    row = first.page.locator("#messages .message").last
    assert row.locator(".author").text_content() == "sam-2"


def test_rotating_the_token_ends_guest_sessions_visibly(server: ChatServer, users: Users) -> None:
    host, guest = users("host"), users("guest")
    for user in (host, guest):
        user.allow_network_noise = True
        user.join(server)
    old_token = server.token
    host.rotate_token()
    guest.page.wait_for_function(
        "() => /session has ended/.test(document.getElementById('banner').textContent)"
    )
    assert server.token != old_token


def test_controls_are_labelled_and_keyboard_reachable(server: ChatServer, users: Users) -> None:
    alice = users("alice")
    alice.join(server)
    page = alice.page
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('button, input, textarea'))
            .filter(c => !(c.getAttribute('aria-label') || (c.labels && c.labels.length)
                           || c.textContent.trim() || c.title))
            .map(c => c.outerHTML)"""
    )
    assert unlabelled == []
    assert page.get_attribute("#messages", "aria-live") == "polite"

    page.reload()
    alice.wait_online()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    reached = []
    for _ in range(25):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        if reached[-1] == "composer":
            break
    assert {"room-input", "search-input", "composer"} <= set(reached)
    page.keyboard.type("sent from the keyboard")
    page.keyboard.press("Enter")
    alice.wait_for_texts(["sent from the keyboard"])


def test_on_a_phone_the_room_list_is_a_drawer(server: ChatServer, users: Users) -> None:
    alice = users("alice")
    alice.join(server)
    alice.page.fill("#room-input", "random")
    alice.page.press("#room-input", "Enter")
    alice.page.wait_for_selector('.room.active[data-room="random"]')

    alice.page.set_viewport_size({"width": 390, "height": 760})
    rooms = alice.page.locator('.room[data-room="general"]')
    assert not rooms.is_visible()  # the sidebar is out of the way on a narrow screen
    alice.page.click("#sidebar-toggle")
    assert alice.page.get_attribute("#sidebar-toggle", "aria-expanded") == "true"
    rooms.click()  # switching room closes the drawer
    alice.page.wait_for_selector('.room.active[data-room="general"]', state="attached")
    assert not rooms.is_visible()
    assert alice.page.get_attribute("#sidebar-toggle", "aria-expanded") == "false"
    assert alice.page.text_content("#room-name") == "general"
    assert alice.page.locator("#sidebar-toggle").is_visible()
