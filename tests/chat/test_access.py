"""The room token file, session cookies, constant-time checks and rotation."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatdesk.chat import access as access_module
from chatdesk.chat.access import Access, AccessError, Session, rotate_token

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", 50000)
LAN_PEER = ("192.0.2.7", 50000)  # only a value in a scope: nothing is sent there


def scope(
    *headers: tuple[bytes, bytes], client: tuple[str, int] | None = LAN_PEER, query: bytes = b""
) -> dict[str, Any]:
    return {"type": "http", "headers": list(headers), "client": client, "query_string": query}


def cookie(access: Access, value: str) -> tuple[bytes, bytes]:
    return (b"cookie", f"{access.cookie_name}={value}".encode())


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


def rotate_in_another_process(data_dir: Path) -> None:
    code = "import sys; from pathlib import Path; from chatdesk.chat.access import rotate_token; "
    code += "rotate_token(Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", code, str(data_dir)], cwd=ROOT, check=True, timeout=30)


# -- the token file ------------------------------------------------------------------------


def test_a_new_token_is_random_long_and_owner_only(tmp_path: Path) -> None:
    access = Access(tmp_path)
    path = tmp_path / "token"
    assert path.read_text().strip() == access.token
    assert len(access.token) >= 32  # 24 random bytes, url-safe base64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Access(tmp_path / "other").token != access.token


def test_the_token_persists_across_instances(tmp_path: Path) -> None:
    first = Access(tmp_path)
    cookie_value = first.join(first.token)
    second = Access(tmp_path)
    assert second.token == first.token
    assert second.join(second.token) == cookie_value
    assert second.authenticate(scope(cookie(second, cookie_value or ""))) is not None


def test_a_missing_data_dir_is_created_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    Access(data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_token_file_other_users_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    Access(tmp_path)
    (tmp_path / "token").chmod(mode)
    with pytest.raises(AccessError, match=r"other users .*rotate-token"):
        Access(tmp_path)
    rotate_token(tmp_path)  # the way out the message names
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
    Access(tmp_path)


@pytest.mark.parametrize("content", ["", "short", "not a token at all!", "é" * 40, "\x00" * 40])
def test_an_invalid_token_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(AccessError, match="not valid"):
        Access(tmp_path)


def test_a_token_path_that_is_not_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").mkdir()
    with pytest.raises(AccessError, match="not a regular file"):
        Access(tmp_path)


def test_rotate_token_replaces_the_file_atomically(tmp_path: Path) -> None:
    old = Access(tmp_path).token
    rotate_token(tmp_path)
    assert Access(tmp_path).token != old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["token"]  # no temp file left
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600


# -- joining and authenticating ------------------------------------------------------------


def test_join_gives_a_cookie_value_for_the_token_only(tmp_path: Path) -> None:
    access = Access(tmp_path)
    token = access.token
    value = access.join(token)
    assert value is not None and token not in value
    for wrong in ["", token[:-1], token + "x", token.upper(), " " + token, "é" + token[1:], "\x00"]:
        assert access.join(wrong) is None, wrong


def test_join_and_authenticate_compare_in_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = Access(tmp_path)
    value = access.join(access.token) or ""
    compared: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(access_module.hmac, "compare_digest", spy)
    assert access.join("x" * 32) is None
    assert any(b == access.token.encode() for _, b in compared)
    compared.clear()
    assert access.authenticate(scope(cookie(access, value))) is not None
    assert compared
    compared.clear()
    assert access.authenticate(scope(bearer(access.token))) is not None
    assert compared


def test_cookie_and_bearer_authenticate(tmp_path: Path) -> None:
    access = Access(tmp_path)
    value = access.join(access.token) or ""
    for headers in [
        (cookie(access, value),),
        ((b"cookie", f"a=b; {access.cookie_name}={value}; c=d".encode()),),
        (bearer(access.token),),
        ((b"authorization", f"bearer {access.token}".encode()),),  # RFC 6750: any case
    ]:
        assert access.authenticate(scope(*headers)) == Session("guest", 0), headers


def test_nothing_else_authenticates(tmp_path: Path) -> None:
    access = Access(tmp_path)
    token = access.token
    value = access.join(token) or ""
    refused: list[tuple[tuple[bytes, bytes], ...]] = [
        (),
        (cookie(access, token),),  # the raw token is not a session
        (cookie(access, value[:-1]),),
        (cookie(access, value + "0"),),
        ((b"cookie", f"chatdesk_00000000={value}".encode()),),  # another server's cookie name
        (bearer(token[:-1]),),
        (bearer(token + "x"),),
        (bearer(value),),
        ((b"authorization", f"Basic {token}".encode()),),
        ((b"authorization", token.encode()),),
        ((b"x-token", token.encode()),),
    ]
    for headers in refused:
        assert access.authenticate(scope(*headers)) is None, headers
    assert access.authenticate(scope(query=f"token={token}".encode())) is None


def test_loopback_peers_and_the_owner_are_hosts(tmp_path: Path) -> None:
    access = Access(tmp_path, owner_key="owner-secret-0123456789abcdef")
    guest_value = access.join(access.token) or ""
    owner_value = access.join("owner-secret-0123456789abcdef") or ""
    assert owner_value and owner_value != guest_value
    assert access.authenticate(scope(cookie(access, guest_value))) == Session("guest", 0)
    for client in [LOOPBACK, ("::1", 1), ("::ffff:127.0.0.1", 1), ("127.9.9.9", 1)]:
        session = access.authenticate(scope(cookie(access, guest_value), client=client))
        assert session == Session("host", 0), client
    assert access.authenticate(scope(cookie(access, owner_value))) == Session("host", 0, owner=True)
    assert access.authenticate(scope(bearer("owner-secret-0123456789abcdef"))) is None


def test_the_cookie_name_is_distinct_per_data_dir(tmp_path: Path) -> None:
    one, two = Access(tmp_path / "one"), Access(tmp_path / "two")
    assert one.cookie_name != two.cookie_name
    assert one.cookie_name == Access(tmp_path / "one" / ".." / "one").cookie_name
    for name in (one.cookie_name, two.cookie_name):
        assert name.startswith("chatdesk_") and len(name) == len("chatdesk_") + 8
        int(name.removeprefix("chatdesk_"), 16)


# -- rotation ------------------------------------------------------------------------------


def test_rotation_ends_guest_sessions_but_not_the_owners(tmp_path: Path) -> None:
    access = Access(tmp_path, owner_key="owner-secret-0123456789abcdef")
    old_token = access.token
    guest_value = access.join(old_token) or ""
    owner_value = access.join("owner-secret-0123456789abcdef") or ""
    guest = access.authenticate(scope(cookie(access, guest_value)))
    local = access.authenticate(scope(cookie(access, guest_value), client=LOOPBACK))
    owner = access.authenticate(scope(cookie(access, owner_value)))
    assert guest and local and owner
    calls: list[None] = []
    access.add_rotation_listener(lambda: calls.append(None))

    new_token = access.rotate()

    assert calls == [None]
    assert new_token == access.token != old_token
    assert (tmp_path / "token").read_text().strip() == new_token
    assert not access.is_valid(guest) and not access.is_valid(local)
    assert access.is_valid(owner)
    assert access.authenticate(scope(cookie(access, guest_value))) is None
    assert access.authenticate(scope(bearer(old_token))) is None
    assert access.join(old_token) is None
    assert access.authenticate(scope(cookie(access, owner_value))) is not None
    fresh = access.authenticate(scope(cookie(access, access.join(new_token) or "")))
    assert fresh == Session("guest", 1) and access.is_valid(fresh)


def test_a_rotation_by_another_process_is_noticed_on_authentication(tmp_path: Path) -> None:
    access = Access(tmp_path)
    value = access.join(access.token) or ""
    session = access.authenticate(scope(cookie(access, value)))
    assert session is not None
    calls: list[None] = []
    access.add_rotation_listener(lambda: calls.append(None))

    rotate_in_another_process(tmp_path)

    assert access.authenticate(scope(cookie(access, value))) is None
    assert calls == [None]
    assert not access.is_valid(session)
    assert access.token == (tmp_path / "token").read_text().strip()


def test_watch_notices_a_rotation_by_another_process(tmp_path: Path) -> None:
    access = Access(tmp_path)
    old = access.token

    async def main() -> None:
        rotated = asyncio.Event()
        access.add_rotation_listener(rotated.set)
        watcher = asyncio.create_task(access.watch(interval=0.02))
        try:
            await asyncio.to_thread(rotate_in_another_process, tmp_path)
            await asyncio.wait_for(rotated.wait(), timeout=5)
        finally:
            watcher.cancel()
            with pytest.raises(asyncio.CancelledError):
                await watcher

    asyncio.run(main())
    assert access.generation == 1 and access._token != old


def test_touching_the_file_without_changing_the_token_is_no_rotation(tmp_path: Path) -> None:
    access = Access(tmp_path)
    calls: list[None] = []
    access.add_rotation_listener(lambda: calls.append(None))
    path = tmp_path / "token"
    os.utime(path, ns=(1, 1))
    access.refresh()
    assert calls == [] and access.generation == 0


def test_a_token_file_made_readable_while_running_is_replaced(tmp_path: Path) -> None:
    access = Access(tmp_path)
    old = access.token
    value = access.join(old) or ""
    (tmp_path / "token").chmod(0o644)
    assert access.authenticate(scope(cookie(access, value))) is None  # fails closed
    assert access.token != old
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600


def test_a_failing_listener_does_not_stop_the_others(tmp_path: Path) -> None:
    access = Access(tmp_path)
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("listener bug")

    access.add_rotation_listener(broken)
    access.add_rotation_listener(lambda: calls.append("second"))
    access.rotate()
    assert calls == ["second"]


def test_tokens_are_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    access = Access(tmp_path, owner_key="owner-secret-0123456789abcdef")
    secrets = {access.token, "owner-secret-0123456789abcdef", access.join(access.token) or ""}
    secrets.add(access.rotate())
    rotate_in_another_process(tmp_path)
    access.refresh()
    secrets.add(access.token)
    (tmp_path / "token").chmod(0o644)
    access.refresh()
    secrets.add(access.token)
    assert caplog.records  # rotations are logged ...
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage()  # ... without any secret


def test_a_damaged_token_file_that_cannot_be_replaced_fails_closed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = Access(tmp_path)
    value = access.join(access.token) or ""
    calls: list[None] = []
    access.add_rotation_listener(lambda: calls.append(None))
    path = tmp_path / "token"
    path.write_text("damaged!")

    def unwritable(path: Path, token: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(access_module, "_write_token", unwritable)
    assert access.authenticate(scope(cookie(access, value))) is None
    assert access.authenticate(scope(cookie(access, value))) is None
    assert calls == [None]  # one replacement (in memory), not one per request
    assert access.join(access.token) is not None and "damaged" not in access.token


def test_a_deleted_token_file_keeps_the_running_token(tmp_path: Path) -> None:
    access = Access(tmp_path)
    value = access.join(access.token) or ""
    (tmp_path / "token").unlink()
    assert access.authenticate(scope(cookie(access, value))) == Session("guest", 0)
