"""Connection limits per client address (the per-connection limits live in the hub)."""

from __future__ import annotations

from collections import Counter

__all__ = ["ConnectionLimit"]


class ConnectionLimit:
    """Counts the open connections of each client address and refuses those over the limit."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        """Count one more connection from `address`; False (and nothing counted) if it is full."""
        if self._open[address] >= self.per_address:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        """One connection from `address` ended."""
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
