"""Who holds which nick: one holder per nick, compared case-insensitively."""

from __future__ import annotations

from chatdesk.chat.client import Client
from chatdesk.chat.limits import NICK_MAX

__all__ = ["Nicks"]


class Nicks:
    """The nicks of the connected clients; a nick in use makes a numbered one for the next."""

    def __init__(self) -> None:
        self._holders: dict[str, Client] = {}  # casefolded nick -> holder

    def grant(self, wanted: str, client: Client) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`... : the first not held by another client."""
        nick = wanted
        suffix = 1
        while (holder := self._holders.get(nick.casefold())) is not None and holder is not client:
            suffix += 1
            tail = f"-{suffix}"
            nick = wanted[: NICK_MAX - len(tail)].rstrip() + tail
        self._holders[nick.casefold()] = client
        return nick

    def release(self, nick: str, client: Client) -> None:
        """`client` gives `nick` up (if it holds it)."""
        if self._holders.get(nick.casefold()) is client:
            del self._holders[nick.casefold()]
