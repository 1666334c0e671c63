"""The chat under benchmark: a real `Chat` (store, guard, hub) on a fresh temporary data dir.

Used as ``python -m bench.serve bench.chat_server:build --factory --factory-arg protocol|lifted
--factory-arg DATA_DIR``; the caller owns DATA_DIR (it removes it even if the server is killed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

LIFTED = 1e9


def lift_rate_limit() -> None:
    """Benchmark-only: lift the protocol's per-connection frame rate limit.

    chatdesk has no setting for it (by design: it is part of the protocol), so the constants are
    replaced in the hub, which reads them when a client connects.
    """
    from chatdesk.chat import hub

    hub.BURST_FRAMES = int(LIFTED)
    hub.FRAMES_PER_SECOND = LIFTED


def build(limits: str, data_dir: str) -> tuple[Any, dict[str, Any], Callable[[], None]]:
    """The chat's ASGI app on an empty `data_dir`, its token and a function that closes it."""
    if limits == "lifted":
        lift_rate_limit()
    elif limits != "protocol":
        raise ValueError(f"limits must be 'protocol' or 'lifted', not {limits!r}")
    from chatdesk.chat.app import Chat, ChatConfig

    chat = Chat(ChatConfig(data_dir=Path(data_dir)))
    return chat.app, {"token": chat.access.token}, chat.close
