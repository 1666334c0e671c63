"""The command line: argparse options, `--rotate-token`, main()."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import chatdesk
from chatdesk.desktop import paths
from chatdesk.desktop.logs import logging_to, redirect_missing_streams
from chatdesk.desktop.settings import Settings, SettingsError, load_settings
from chatdesk.desktop.state import recall

__all__ = ["build_parser", "main"]


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0..65535): {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; options not given stay None so settings can fill them in."""
    parser = argparse.ArgumentParser(
        prog="chatdesk",
        description="A desktop chat app that is also a LAN chat server.",
        epilog=f"Settings file: {paths.settings_file()} (keys lan, host, port, data_dir, window); "
        "environment: CHATDESK_LAN, CHATDESK_HOST, CHATDESK_PORT, CHATDESK_DATA_DIR, "
        "CHATDESK_NO_WINDOW. The command line wins over both.",
    )
    parser.add_argument(
        "--no-window",
        dest="window",
        action="store_const",
        const=False,
        help="serve without opening a window",
    )
    parser.add_argument(
        "--lan",
        action=argparse.BooleanOptionalAction,
        help="accept guests from the local network (every interface, or --host plus loopback); "
        "without either, the data directory's last choice (the Invite panel's switch)",
    )
    parser.add_argument("--host", metavar="HOST", help="the address to listen on")
    parser.add_argument(
        "--port", metavar="PORT", type=_port, help="the port to listen on (0, the default: any)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where the messages and the room token live (default: {paths.data_dir()})",
    )
    parser.add_argument(
        "--rotate-token",
        action="store_true",
        help="replace the room token (a running server ends every session made with the old one)",
    )
    parser.add_argument("--version", action="version", version=f"chatdesk {chatdesk.__version__}")
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--screenshot", metavar="PNG", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run chatdesk; the exit status (0 ok, 1 error, 2 bad usage)."""
    redirect_missing_streams(paths.log_dir())
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Carry out parsed arguments; errors become one `chatdesk: error: ...` line on stderr."""
    cli: dict[str, Any] = {
        "lan": args.lan,
        "host": args.host,
        "port": args.port,
        "data_dir": args.data_dir,
        "window": args.window,
    }
    try:
        settings = load_settings(
            cli, settings_path=paths.settings_file(), remembered_lan=_remembered_lan
        )
        if args.rotate_token:
            return _rotate_token(paths.data_dir(settings.data_dir))
        return _launch(settings, args)
    except SettingsError as exc:
        return _error(str(exc))


def _remembered_lan(data_dir: Path | None) -> bool | None:
    return recall(paths.data_dir(data_dir)).lan


def _launch(settings: Settings, args: argparse.Namespace) -> int:
    from chatdesk.desktop.launcher import Launcher, LaunchError, SelfTest

    self_test = SelfTest(screenshot=args.screenshot) if args.self_test else None
    launcher = Launcher(settings, self_test=self_test)
    with logging_to(paths.log_dir()):
        try:
            return launcher.run()
        except LaunchError as exc:
            return _error(str(exc))


def _rotate_token(data_dir: Path) -> int:
    from chatdesk.chat.access import rotate_token

    try:
        rotate_token(data_dir)
    except OSError as exc:
        return _error(f"cannot replace the room token in {data_dir}: {exc}")
    print(
        f"chatdesk: the room token of {data_dir} was replaced; "
        "old invite links and guest sessions no longer work",
        flush=True,
    )
    return 0


def _error(message: str) -> int:
    print(f"chatdesk: error: {message}", file=sys.stderr, flush=True)
    return 1
