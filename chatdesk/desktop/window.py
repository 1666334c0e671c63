"""The pywebview window (GTK on Linux), its web storage under platformdirs, and the self-test.

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

__all__ = [
    "NoDisplay",
    "WindowUnavailable",
    "close_after_pywebview_script",
    "open_window",
    "preload",
    "run_self_test",
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
    storage_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    window = webview.create_window(TITLE, url, width=1100, height=740, min_size=(420, 360))
    window.events.closing += close_after_pywebview_script()
    if _gui() == "gtk":
        window.events.before_show += _adjust_gtk_window
    failure = getattr(webview, "WebViewException", None)
    try:
        webview.start(
            task,
            (window,) if task is not None else None,
            gui=_gui(),
            storage_path=str(storage_dir),
            private_mode=False,  # localStorage (the nick, the last room) persists
        )
    except Exception as exc:
        if failure is not None and isinstance(exc, failure):
            raise WindowUnavailable(f"no webview backend: {exc}") from None
        raise


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


# The self-test's probe, run in the page by run_js: reports when the chat page was first on
# screen, then does a chat round trip over the page's own origin and session cookie.
# The time comes from the page's own "chatdesk:rendered" mark (app.js: its scripts ran and two
# animation frames later the first frame is painted), not from when the probe first sees it:
# pywebview lets run_js in only once it has injected its own script into the loaded page.
PROBE_JS = r"""
(() => {
  const mark = performance.getEntriesByName("chatdesk:rendered")[0];
  const app = document.querySelector(".app");
  const onScreen = location.pathname === "/" && mark !== undefined
    && document.getElementById("messages") !== null
    && app !== null && app.getBoundingClientRect().height > 0;
  let probe = window.__chatdeskProbe;
  if (!probe) {
    probe = window.__chatdeskProbe = {rendered: false, sent: false, acked: false, echoed: false,
                                      error: null, rendered_at: null, round_trip_at: null};
  }
  if (onScreen && !probe.rendered) {
    probe.rendered = true;
    probe.navigation_start_at = performance.timeOrigin;
    probe.rendered_at = performance.timeOrigin + mark.startTime;
    probe.seen_at = performance.timeOrigin + performance.now();
    const clientId = "self-test-" + Math.random().toString(36).slice(2);
    const socket = new WebSocket("ws://" + location.host + "/chat");
    const done = () => {
      if (probe.acked && probe.echoed) {
        probe.round_trip_at = performance.timeOrigin + performance.now();
        socket.close(1000);
      }
    };
    socket.onopen = () => socket.send(JSON.stringify({type: "hello", nick: "self-test"}));
    socket.onerror = () => { probe.error = probe.error || "websocket error"; };
    socket.onclose = (event) => {
      if (!probe.round_trip_at) probe.error = probe.error || "websocket closed " + event.code;
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "welcome") {
        socket.send(JSON.stringify({type: "join", room: "general"}));
        socket.send(JSON.stringify({type: "send", room: "general", text: "self-test",
                                    client_id: clientId}));
        probe.sent = true;
      } else if (frame.type === "ack" && frame.client_id === clientId) {
        probe.acked = true; done();
      } else if (frame.type === "message" && frame.client_id === clientId) {
        probe.echoed = true; done();
      } else if (frame.type === "error") {
        probe.error = frame.code + ": " + frame.detail;
      }
    };
  }
  return JSON.stringify(probe);
})()
"""


def run_self_test(window: Any, *, screenshot: Path | None, timeout: float = 30.0) -> dict[str, Any]:
    """Wait for the page to render and a chat round trip, take a screenshot, close the window."""
    import json
    import shutil
    import subprocess

    result: dict[str, Any] = {"ok": False}
    deadline = time.monotonic() + timeout
    try:
        while True:
            # run_js runs the script as is: evaluate_js wraps it in eval(), which CSP forbids.
            raw = window.run_js(PROBE_JS)
            probe = json.loads(raw) if isinstance(raw, str) else {}
            result.update(probe)
            finished = probe.get("rendered") and probe.get("round_trip_at")
            if finished or probe.get("error") or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        result["ok"] = bool(finished) and not probe.get("error")
        if not result["ok"] and not result.get("error"):
            result["error"] = "timed out waiting for the page and the chat round trip"
        if screenshot is not None:
            tool = shutil.which("import")  # ImageMagick, against this process's X display
            if tool is None:
                result.update(ok=False, error="ImageMagick's import is needed for --screenshot")
            else:
                subprocess.run([tool, "-window", "root", str(screenshot)], check=True, timeout=20)
                result["screenshot"] = str(screenshot)
    except Exception as exc:
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        window.destroy()
    return result
