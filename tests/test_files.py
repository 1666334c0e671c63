"""chatdesk.files.write_atomically: whole files or none, owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chatdesk.files import write_atomically


@pytest.mark.parametrize("durable", [True, False])
def test_the_file_is_replaced_whole_and_owner_only(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("old\n")
    write_atomically(path, "lan = true\n", durable=durable)
    assert path.read_text() == "lan = true\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]  # no temp file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "\udcff")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["token"]


def test_a_missing_parent_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state.json"
    write_atomically(path, "{}\n")
    assert path.read_text() == "{}\n"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
