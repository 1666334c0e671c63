"""The host rotates the room token from the Invite panel, in a real browser."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.web.conftest import ChatServer, User

pytestmark = pytest.mark.browser

# Records every status the "me" line shows, to prove "Signed out" never appeared.
STATUS_RECORDER = """
() => {
  window.__statuses = [];
  const status = document.getElementById('me-status');
  new MutationObserver(() => window.__statuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}
"""


def test_the_host_who_rotates_stays_signed_in_and_sees_the_new_links(
    server: ChatServer, users: Callable[..., User]
) -> None:
    # A `--no-window` host: a browser on this machine that joined with the room token.
    host = users("host")
    host.allow_network_noise = True  # its socket is closed with the old session, and reconnects
    host.join(server)
    host.page.evaluate(STATUS_RECORDER)
    old_token = server.token

    host.rotate_token()
    host.page.wait_for_function(
        """old => {
            const urls = Array.from(document.querySelectorAll('#invite-links .invite-url'))
                .map(field => field.value);
            return urls.length > 0 && urls.every(url => !url.includes(old));
        }""",
        arg=old_token,
    )
    new_token = server.token
    assert new_token != old_token
    urls = host.page.eval_on_selector_all(
        "#invite-links .invite-url", "fields => fields.map(f => f.value)"
    )
    assert urls == [f"{server.url}/join?token={new_token}"]

    host.page.click("#invite-close")
    host.send("still the host")
    host.wait_for_texts(["still the host"])
    host.wait_online()
    assert "Signed out" not in host.page.evaluate("window.__statuses")
    assert httpx.get(f"{server.url}/join?token={old_token}").status_code == 401
