"""The pywebview window (GTK on Linux) and its web storage in the data directory.

`webview` is imported only when a window is really opened, so serving without one never loads a
GUI toolkit. Closing it on SIGINT/SIGTERM is the caller's job, from a thread other than the GUI's:
pywebview's `destroy()` waits for the window to be shown, which a signal handler running on the
GUI thread would wait for forever.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatdesk.files import private_dir

__all__ = [
    "NoDisplay",
    "WindowUnavailable",
    "close_after_pywebview_script",
    "open_window",
    "preload",
    "show",
    "wait_until_shown",
    "window_problem",
]

TITLE = "chatdesk"
WEBKIT_LIBRARY = "libwebkit2gtk-4.1.so.0"  # what pywebview's GTK backend loads first
PYWEBVIEW_SCRIPT_WAIT = 2.0  # s a close may wait for pywebview's page script (~20 ms here)


class WindowUnavailable(Exception):
    """No window can open here; the message says why (one line)."""


class NoDisplay(WindowUnavailable):
    """There is no display to show a window on: none is set, or the one set does not answer."""


def window_problem() -> WindowUnavailable | None:
    """Why no window can open here (no display, no webview backend), or None."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return NoDisplay("no display found")
    if "webview" in sys.modules and sys.modules["webview"] is not None:
        return None  # already loaded (or stood in for by a test)
    if importlib.util.find_spec("webview") is None:
        return WindowUnavailable("pywebview is not installed")
    if _gui() == "gtk" and importlib.util.find_spec("gi") is None:
        return WindowUnavailable(
            "the window needs PyGObject (pip install 'chatdesk[gtk]', or scripts/setup)"
        )
    return None


def _gui() -> str | None:
    """The pywebview backend: PYWEBVIEW_GUI if set, else GTK on Linux, else the platform's."""
    chosen = os.environ.get("PYWEBVIEW_GUI", "").strip().lower()
    if chosen:
        return chosen
    return "gtk" if sys.platform.startswith("linux") else None


def preload() -> NoDisplay | None:
    """Import pywebview and its backend ahead of time, on the thread that will run the window;
    NoDisplay when GTK cannot open the display it was given (a stale DISPLAY, say).

    GTK initialises on import, so this must be the main thread. Meanwhile another thread loads
    WebKitGTK's shared library (ctypes lets go of the GIL while the dynamic linker works), so
    linking it overlaps pywebview's Python imports. Other failures are left for open_window().
    """
    loading: threading.Thread | None = None
    if _gui() == "gtk":
        loading = threading.Thread(target=_load_library, args=(WEBKIT_LIBRARY,), daemon=True)
        loading.start()
    try:
        import webview

        if _gui() == "gtk":
            import webview.platforms.gtk  # noqa: F401

            _no_dmabuf_without_gpu()  # read when the first web view is made
            return _gtk_display_problem()
    except Exception:
        pass
    finally:
        if loading is not None:
            loading.join()
    return None


def _gtk_display_problem() -> NoDisplay | None:
    # GTK only warns when it cannot open the display; pywebview would then exit the process.
    from gi.repository import Gdk

    if Gdk.Display.get_default() is not None:
        return None
    display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
    return NoDisplay(f"cannot open the display {display}")


def _load_library(name: str) -> None:
    with contextlib.suppress(OSError):  # not installed: importing the backend says so
        ctypes.CDLL(name)


def _no_dmabuf_without_gpu() -> None:
    """Turn WebKit's DMA-BUF renderer off where no GPU render node exists; a user's value wins.

    Without a GPU (a VM, a remote or virtual display) that renderer only slows frames down:
    under Xvfb the chat's first two frames took ~150 ms longer with it.
    """
    if not glob.glob("/dev/dri/renderD*"):
        os.environ.setdefault("WEBKIT_DISABLE_DMABUF_RENDERER", "1")


def open_window(
    url: str,
    *,
    storage_dir: Path,
    task: Callable[[Any], None] | None = None,
) -> None:
    """Show `url` until the window closes; run `task(window)` in a thread meanwhile.

    Raises WindowUnavailable when the backend cannot start.
    """
    try:
        import webview
    except ImportError as exc:
        raise WindowUnavailable(f"pywebview cannot be loaded: {exc}") from None
    private_dir(storage_dir)
    window = webview.create_window(TITLE, url, width=1100, height=740, min_size=(420, 360))
    assert window is not None
    window.events.closing += close_after_pywebview_script()
    if _gui() == "gtk":
        window.events.before_show += _adjust_gtk_window
    failure = getattr(webview, "WebViewException", None)
    gui: Any = _gui()  # PYWEBVIEW_GUI may name any backend; pywebview checks it
    try:
        webview.start(
            task,
            (window,) if task is not None else None,
            gui=gui,
            storage_path=str(storage_dir),
            private_mode=False,  # localStorage (the nick, the last room) persists
        )
    except Exception as exc:
        if failure is not None and isinstance(exc, failure):
            raise WindowUnavailable(f"no webview backend: {exc}") from None
        raise


def show(url: str, *, storage_dir: Path, task: Callable[[Any, threading.Event], None]) -> None:
    """Show `url` until the window closes, running `task(window, closed)` meanwhile on
    pywebview's task thread; `closed` is set once the window has closed, and the task is then
    waited for (at most 10 s). Raises WindowUnavailable when the backend cannot start."""
    closed = threading.Event()
    runners: list[threading.Thread] = []

    def run(window: Any) -> None:
        runners.append(threading.current_thread())
        task(window, closed)

    try:
        open_window(url, storage_dir=storage_dir, task=run)
    finally:
        closed.set()
        for runner in runners:
            runner.join(10)


def close_after_pywebview_script(wait: float = PYWEBVIEW_SCRIPT_WAIT) -> Callable[[Any], bool]:
    """A `closing` handler that puts a close off until pywebview's own page script is in.

    pywebview injects that script, once the page has loaded, from a non-daemon thread that waits
    for WebKit's answer with no timeout. A window closed in between (by hand or on SIGTERM, just
    after the page loaded) never answers, and the process then hangs at exit waiting for that
    thread. So such a close is cancelled and made again once the script is in, or after `wait` s.
    """
    deferred = threading.Event()

    def on_closing(window: Any) -> bool:
        events = window.events
        injecting = events.before_load.is_set() and not events.loaded.is_set()
        if not injecting or deferred.is_set():
            return True
        deferred.set()
        threading.Thread(
            target=_close_when_loaded, args=(window, wait), name="chatdesk-close", daemon=True
        ).start()
        return False  # pywebview: cancel this close

    return on_closing


def _close_when_loaded(window: Any, wait: float) -> None:
    window.events.loaded.wait(wait)
    window.destroy()


def _adjust_gtk_window(window: Any) -> None:
    """pywebview's GTK window, adjusted on the GUI thread before it shows (before_show)."""
    web_view = window.native
    while hasattr(web_view, "get_child"):  # Gtk.Window > Gtk.ScrolledWindow > WebKit2.WebView
        web_view = web_view.get_child()
    if web_view is None:
        return
    _show_at_once(web_view)
    _title_follows_page(window.native, web_view)


def _show_at_once(web_view: Any) -> None:
    """Undo pywebview's habit of hiding the web view until its first load event.

    Making it visible while WebKit prepares the page's first frame sometimes blocks GTK's main
    thread in a 0.5 s timed wait inside WebKit (4 of 24 starts here; 0 of 24 without the flip).
    Hiding it showed nothing else: the window behind has the web view's background colour.
    """
    web_view.set_opacity(1.0)


def _title_follows_page(native_window: Any, web_view: Any) -> None:
    """Keep the window's title (taskbar, window switcher) the page's: "(3) chatdesk" when unread."""

    def on_title(view: Any, _spec: Any) -> None:
        native_window.set_title(view.get_title() or TITLE)

    web_view.connect("notify::title", on_title)


def wait_until_shown(window: Any, timeout: float = 10.0) -> None:
    """Return once `window` is on screen (its page loading) or closed, or after `timeout` s."""
    events = getattr(window, "events", None)  # pywebview's window has them; a stand-in may not
    if events is None:
        return
    deadline = time.monotonic() + timeout
    while not (events.shown.wait(0.05) or events.closed.is_set()):
        if time.monotonic() > deadline:
            return
