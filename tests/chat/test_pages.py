"""chatdesk's standalone pages: their CSP hash, their content, how the app and guard serve them."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from chatdesk.chat import pages
from chatdesk.chat.app import Chat
from chatdesk.chat.guard import CSP, PAGE_CSP
from tests.lan.rawhttp import host_header, request
from tests.support.server import RunningServer

ALL_PAGES = {
    "invite needed": pages.INVITE_NEEDED,
    "invite needed, reloading": pages.INVITE_NEEDED_RELOADING,
    "bad invite": pages.BAD_INVITE,
    "wrong host": pages.WRONG_HOST,
    "not found": pages.NOT_FOUND,
}
HOSTILE = '<script>alert(1)</script>"onmouseover="x'


def style_of(page: bytes) -> str:
    styles = re.findall(rb"<style>(.*?)</style>", page, re.S)
    assert len(styles) == 1
    return styles[0].decode()


def source_of(style: str) -> str:
    """The CSP source that allows exactly this inline style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("name", list(ALL_PAGES))
def test_each_page_is_allowed_its_one_style_and_nothing_else_inline(name: str) -> None:
    page = ALL_PAGES[name]
    style = style_of(page)
    assert style == pages.STYLE
    assert source_of(style) == pages.STYLE_SOURCE
    assert f"style-src {pages.STYLE_SOURCE};" in PAGE_CSP
    assert "unsafe-inline" not in PAGE_CSP
    assert CSP.replace("style-src 'self'", f"style-src {pages.STYLE_SOURCE}") == PAGE_CSP
    text = page.decode()
    assert "<script" not in text and not re.search(r"\son\w+=", text)
    assert re.findall(r'(?:src|href)="?([^">\s]+)', text) == [pages.MARK, pages.MARK] + (
        ["/"] if page is pages.NOT_FOUND else []
    )


@pytest.mark.parametrize("name", list(ALL_PAGES))
def test_each_page_is_a_whole_phone_ready_document(name: str) -> None:
    text = ALL_PAGES[name].decode()
    assert text.startswith("<!doctype html><html lang=en><meta charset=utf-8>")
    assert '<meta name=viewport content="width=device-width,initial-scale=1">' in text
    assert "<title>chatdesk: " in text and "<h1>" in text and '<img class=mark src="' in text
    assert ("<meta http-equiv=refresh content=0>" in text) is (name == "invite needed, reloading")


def test_the_mark_is_the_app_icon() -> None:
    prefix = "data:image/svg+xml;base64,"
    assert pages.MARK.startswith(prefix)
    assert base64.b64decode(pages.MARK[len(prefix) :]) == (pages.WEB_DIR / "icon.svg").read_bytes()


def test_the_reloading_page_is_the_same_page_loading_itself_again() -> None:
    refresh = b"<meta http-equiv=refresh content=0>"
    assert pages.INVITE_NEEDED_RELOADING.replace(refresh, b"") == pages.INVITE_NEEDED


def test_text_is_escaped() -> None:
    page = pages.render(HOSTILE, HOSTILE, [HOSTILE, "a & b"], link=(HOSTILE, HOSTILE)).decode()
    assert "<script" not in page and '"onmouseover' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=&quot;x" in page
    assert "a &amp; b" in page


# -- served by the app ---------------------------------------------------------------------


def assert_served_page(response: httpx.Response, status: int, page: bytes) -> None:
    assert response.status_code == status
    assert response.content == page
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers.get_list("content-security-policy") == [PAGE_CSP]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_bad_invite_link_gets_the_page_and_reflects_nothing(
    server: RunningServer, chat: Chat
) -> None:
    response = httpx.get(f"{server.url}/join", params={"token": HOSTILE}, headers=BROWSER)
    assert_served_page(response, 401, pages.BAD_INVITE)
    assert "set-cookie" not in response.headers
    wrong = httpx.get(f"{server.url}/join", params={"token": chat.access.token[:-1]})
    assert_served_page(wrong, 401, pages.BAD_INVITE)
    assert chat.access.token.encode() not in wrong.content


def test_a_browser_on_a_wrong_host_gets_the_page_and_programs_get_json(
    server: RunningServer, chat: Chat
) -> None:
    bearer = ("Authorization", f"Bearer {chat.access.token}")
    for host in ["chat.localhost", "evil.example", f"{HOSTILE}"]:
        headers = [host_header(server.port, host), ("Accept", BROWSER["Accept"]), bearer]
        response = request(server.port, "/", headers)
        assert response.status == 403, host
        assert response.body == pages.WRONG_HOST
        assert response.header("content-security-policy") == PAGE_CSP
        assert response.header("content-type") == "text/html; charset=utf-8"
        program = request(server.port, "/", [host_header(server.port, host), bearer])
        assert program.status == 403
        assert program.body == b'{"error": "host_not_allowed"}'
        assert program.header("content-security-policy") == CSP


def test_an_unknown_path_is_a_page_for_browsers_and_text_for_programs(
    server: RunningServer, chat: Chat
) -> None:
    bearer = {"Authorization": f"Bearer {chat.access.token}"}
    response = httpx.get(f"{server.url}/no/{HOSTILE}", headers={**bearer, **BROWSER})
    assert_served_page(response, 404, pages.NOT_FOUND)
    static = httpx.get(f"{server.url}/static/nothing.html", headers={**bearer, **BROWSER})
    assert_served_page(static, 404, pages.NOT_FOUND)
    program = httpx.get(f"{server.url}/no/such/path", headers=bearer)
    assert program.status_code == 404 and program.text == "Not Found"
    assert program.headers.get_list("content-security-policy") == [CSP]
    api = httpx.get(f"{server.url}/api/rooms/nope/messages", headers={**bearer, **BROWSER})
    assert api.status_code == 404 and api.json()["error"] == "not_found"


def test_only_the_pages_get_the_pages_policy(server: RunningServer, chat: Chat) -> None:
    bearer = {"Authorization": f"Bearer {chat.access.token}"}
    home = httpx.get(f"{server.url}/", headers={**bearer, **BROWSER})
    assert home.status_code == 200
    assert home.headers.get_list("content-security-policy") == [CSP]
