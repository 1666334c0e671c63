"""Closing the window while pywebview injects its page script (the handler, on a stand-in window).

The hang it prevents is timing-dependent in a real window (a close or SIGTERM within ~20 ms of
the page loading); test_window.py's SIGTERM test meets it now and then. Here the stand-in window
has pywebview's events, so each case is exact.
"""

from __future__ import annotations

import threading
import time
import types

from chatdesk.desktop.window import close_after_pywebview_script


class StandInWindow:
    """pywebview's Window as the `closing` handler sees it: its events and destroy()."""

    def __init__(self) -> None:
        self.events = types.SimpleNamespace(before_load=threading.Event(), loaded=threading.Event())
        self.destroyed = threading.Event()

    def destroy(self) -> None:
        self.destroyed.set()


def test_a_close_before_the_page_loaded_goes_ahead() -> None:
    window = StandInWindow()
    assert close_after_pywebview_script()(window) is True


def test_a_close_after_the_script_is_in_goes_ahead() -> None:
    window = StandInWindow()
    window.events.before_load.set()
    window.events.loaded.set()
    assert close_after_pywebview_script()(window) is True


def test_a_close_during_injection_waits_for_the_script_then_closes() -> None:
    window = StandInWindow()
    on_closing = close_after_pywebview_script()
    window.events.before_load.set()
    assert on_closing(window) is False  # cancelled for now
    assert not window.destroyed.wait(0.1)
    window.events.loaded.set()
    assert window.destroyed.wait(5)
    assert on_closing(window) is True  # the close made again goes ahead


def test_a_script_that_never_goes_in_delays_the_close_only_a_bounded_time() -> None:
    window = StandInWindow()
    on_closing = close_after_pywebview_script(wait=0.2)
    window.events.before_load.set()
    started = time.monotonic()
    assert on_closing(window) is False
    assert window.destroyed.wait(5)
    assert 0.15 < time.monotonic() - started < 2
    assert on_closing(window) is True  # never cancelled twice: no close loop
