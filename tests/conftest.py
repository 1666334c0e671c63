"""Fixtures shared across the test packages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import launch_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module.

    Not per session: Playwright's sync API keeps an event loop running in the main thread while
    it is open, and tests after a browser module call `asyncio.run`.
    """
    yield from launch_chromium()
