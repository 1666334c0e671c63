"""A fake `webview` module (pywebview) for the in-process launches with a window.

The in-process tests stand this fake in for the `webview` module (`sys.modules["webview"]`): no
display is needed, and the fake is legitimate because its `start()` does what a window's page
does over the real network: a test's `on_start(window)` makes a real HTTP GET of the window's
URL (the authenticated chat page, 200) and a real WebSocket /chat hello round trip against the
real uvicorn server the launcher started. What stands in is only pywebview's side: its window
events, the GTK widgets chatdesk adjusts before the window shows, and running `func` in a thread
while the GUI loop runs. The real window is tested under Xvfb in test_window.py.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from typing import Any


class FakeEvent(list[Callable[..., Any]]):
    """pywebview's window event: handlers added with `+=`, run by the backend."""

    def __iadd__(self, handler: Any) -> FakeEvent:  # type: ignore[override]
        self.append(handler)
        return self


class FakeWebView:
    """WebKit2.WebView as pywebview's GTK backend leaves it before the window shows: hidden."""

    def __init__(self) -> None:
        self.opacity = 0.0
        self.title = ""
        self.handlers: dict[str, Callable[..., None]] = {}

    def set_opacity(self, value: float) -> None:
        self.opacity = value

    def connect(self, signal: str, handler: Callable[..., None]) -> None:
        self.handlers[signal] = handler

    def get_title(self) -> str:
        return self.title

    def page_sets_title(self, title: str) -> None:
        self.title = title
        self.handlers["notify::title"](self, None)


class FakeBin:
    """A GTK container with one child (Gtk.Window, Gtk.ScrolledWindow), and a title."""

    def __init__(self, child: Any) -> None:
        self.child = child
        self.title = "chatdesk"

    def get_child(self) -> Any:
        return self.child

    def set_title(self, title: str) -> None:
        self.title = title


class FakeWindow:
    def __init__(self, url: str) -> None:
        self.url = url
        self.destroyed = threading.Event()
        self.events = types.SimpleNamespace(
            before_show=FakeEvent(),
            closing=FakeEvent(),
            shown=threading.Event(),
            closed=threading.Event(),
        )
        self.web_view = FakeWebView()
        self.native = FakeBin(FakeBin(self.web_view))

    def destroy(self) -> None:
        self.destroyed.set()


def fake_webview(on_start: Callable[[FakeWindow], None]) -> tuple[types.ModuleType, list[Any]]:
    """A `webview` module whose start() calls `on_start(window)` and runs `func` like pywebview."""
    module = types.ModuleType("webview")
    calls: list[Any] = []

    class WebViewException(Exception):
        pass

    def create_window(title: str, url: str, **options: Any) -> FakeWindow:
        window = FakeWindow(url)
        calls.append(("create_window", title, url))
        return window

    def start(func: Any = None, args: Any = None, **options: Any) -> None:
        window = args[0]
        calls.append(("start", options))
        for handler in window.events.before_show:  # on the GUI thread, before it shows
            handler(window)
        window.events.shown.set()
        worker = threading.Thread(target=func, args=args) if func else None
        if worker:
            worker.start()  # pywebview runs func in a thread while the GUI loop runs
        on_start(window)

    module.create_window = create_window  # type: ignore[attr-defined]
    module.start = start  # type: ignore[attr-defined]
    module.WebViewException = WebViewException  # type: ignore[attr-defined]
    return module, calls
