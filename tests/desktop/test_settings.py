"""Settings and what a data directory remembers: the layers (settings file < the data
directory's LAN switch < environment < command line), and bad values naming their source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatdesk.datadir import DataDir
from chatdesk.desktop.settings import Settings, SettingsError, load_settings
from chatdesk.desktop.state import Remembered, recall, remember

# -- the layers ------------------------------------------------------------------------------------


def test_settings_file_then_environment_then_command_line(tmp_path: Path) -> None:
    file = tmp_path / "settings.toml"
    file.write_text('port = 1111\nlan = true\nhost = "192.0.2.1"\nwindow = false\n')
    from_file = load_settings({}, environ={}, settings_path=file)
    assert from_file == Settings(lan=True, host="192.0.2.1", port=1111, window=False)
    env = {"CHATDESK_PORT": "2222", "CHATDESK_NO_WINDOW": "0", "CHATDESK_DATA_DIR": "/srv/d"}
    from_env = load_settings({}, environ=env, settings_path=file)
    assert (from_env.port, from_env.window, from_env.data_dir) == (2222, True, Path("/srv/d"))
    cli_wins = load_settings(
        {"port": 3333, "window": False, "lan": None}, environ=env, settings_path=file
    )
    assert (cli_wins.port, cli_wins.window, cli_wins.lan) == (3333, False, True)


@pytest.mark.parametrize(
    ("file_text", "environ", "message"),
    [
        ("port = 70000\n", {}, "port in {file} must be 0..65535"),
        ('lan = "yes"\n', {}, "lan in {file} must be true or false"),
        ("lan = \n", {}, "the settings file {file} is not valid TOML"),
        ("colour = 1\n", {}, "the settings file {file} has unknown keys: colour"),
        ("", {"CHATDESK_PORT": "eighty"}, "CHATDESK_PORT='eighty' in the environment"),
        ("", {"CHATDESK_LAN": "maybe"}, "CHATDESK_LAN='maybe' in the environment"),
        ("", {"CHATDESK_HOST": "192.0.2.1"}, "host 192.0.2.1 is not a loopback address"),
    ],
)
def test_bad_settings_name_their_source(
    tmp_path: Path, file_text: str, environ: dict[str, str], message: str
) -> None:
    file = tmp_path / "settings.toml"
    file.write_text(file_text)
    with pytest.raises(SettingsError, match="^" + message.format(file=file).replace("(", r"\(")):
        load_settings({}, environ=environ, settings_path=file)


def test_the_lan_switch_is_remembered_per_data_directory(tmp_path: Path) -> None:
    switched, other = tmp_path / "switched", tmp_path / "other"
    switched.mkdir()
    remember(switched, lan=True)  # what the Invite panel's switch does
    file = tmp_path / "settings.toml"
    file.write_text("lan = false\n")

    def lan(data_dir: Path, cli: dict[str, Any], environ: dict[str, str]) -> bool:
        settings = load_settings(
            {"data_dir": str(data_dir), **cli},
            environ=environ,
            settings_path=file,
            remembered_lan=lambda path: recall(Path(path) if path else tmp_path).lan,
        )
        return settings.lan

    assert lan(switched, {}, {}) is True  # wins over the settings file
    assert lan(other, {}, {}) is False
    assert lan(switched, {"lan": False}, {}) is False  # --no-lan
    assert lan(switched, {}, {"CHATDESK_LAN": "0"}) is False
    assert lan(other, {"lan": True}, {}) is True


# -- what a data directory remembers ---------------------------------------------------------------


def test_a_data_directory_remembers_its_port_and_lan_choice(tmp_path: Path) -> None:
    data_dir = tmp_path / "chat"
    assert recall(data_dir) == Remembered()
    remember(data_dir, port=4321)
    assert recall(data_dir) == Remembered(port=4321)
    remember(data_dir, lan=True)  # keeps the port
    assert recall(data_dir) == Remembered(port=4321, lan=True)
    remember(data_dir, port=5432)  # keeps the LAN choice
    assert recall(data_dir) == Remembered(port=5432, lan=True)
    assert recall(tmp_path / "other") == Remembered()  # per data directory
    state = DataDir(data_dir).state
    assert json.loads(state.read_text()) == {"port": 5432, "lan": True}
    assert state.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "remembered"),
    [
        ("not json", Remembered()),
        ("[4321, true]", Remembered()),
        ('{"port": "4321", "lan": "yes"}', Remembered()),
        ('{"port": 0, "lan": 1}', Remembered()),
        ('{"port": 70000}', Remembered()),
        ('{"port": true}', Remembered()),
        ('{"port": 4321, "lan": "yes"}', Remembered(port=4321)),
        ('{"lan_port": 4321}', Remembered(port=4321)),  # chatdesk 0.1's name
    ],
)
def test_a_damaged_state_file_remembers_only_what_is_valid(
    tmp_path: Path, text: str, remembered: Remembered
) -> None:
    DataDir(tmp_path).state.write_text(text)
    assert recall(tmp_path) == remembered
