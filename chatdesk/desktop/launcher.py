"""The whole start-up: settings -> the data directory's lock -> the host -> a window, or none.

One process serves one data directory. It takes the directory's lock (a second launch points at
the running one instead), binds its sockets, opens the chat and starts uvicorn (`Host`), prints
the join links, then shows the window on the main thread, or waits for SIGINT/SIGTERM; finally
it stops the server gracefully and exits 0.

With a window, start-up is ordered for speed: the sockets are bound first (so the window's URL is
known, and its first request waits in the listen backlog), GTK loads, the window opens, and only
once it is on screen does pywebview's task thread open the chat and start uvicorn. WebKit's
start-up, in its own processes, then overlaps ours; doing ours earlier would only slow GTK's many
short calls on the main thread down, as both need the GIL.

Threads: the main thread runs `run()`, the signal handlers (they only set `_stopping`) and GTK.
The supervisor (the main thread without a window, pywebview's task thread with one) owns the
`Host`. The self-test, when asked for, runs on a thread of its own and writes `_result` once;
whatever another thread writes is read here only after that thread was joined.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from chatdesk.datadir import DataDir
from chatdesk.desktop import paths
from chatdesk.desktop.errors import LaunchError
from chatdesk.desktop.host import ChatFactory, Host, real_chat
from chatdesk.desktop.instance import InstanceLock
from chatdesk.desktop.second_launch import point_at_running
from chatdesk.desktop.selftest import SelfTest, run_self_test
from chatdesk.desktop.settings import Settings
from chatdesk.desktop.window import (
    NoDisplay,
    WindowUnavailable,
    preload,
    show,
    wait_until_shown,
    window_problem,
)

__all__ = ["LaunchError", "Launcher", "SelfTest", "real_chat"]

logger = logging.getLogger("chatdesk.launcher")

SHARED_POOL = "chatdesk-worker"  # chatdesk.asgi's process-wide idle workers, joined at exit


class Launcher:
    """Runs chatdesk for one data directory with the given settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        chat_factory: ChatFactory | None = None,
        self_test: SelfTest | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = DataDir(paths.data_dir(settings.data_dir))
        self.self_test = self_test
        self._chat_factory = chat_factory or real_chat
        self._out = out if out is not None else sys.stdout
        self._instance = InstanceLock(self.data_dir.root)
        self._stopping = threading.Event()  # set by SIGINT/SIGTERM
        self._failure: str | None = None  # why the supervisor gave up
        self._result: dict[str, Any] | None = None  # the self-test's report

    def run(self) -> int:
        """Serve until the window closes or a signal arrives: 0, or raise LaunchError."""
        try:
            self.data_dir.create()
        except OSError as exc:
            where = self.data_dir.root
            raise LaunchError(f"cannot create the data directory {where}: {exc}") from None
        with _on_signals(self._stopping.set):
            if not self._acquire_instance():
                return point_at_running(
                    self.data_dir.root,
                    window=self.settings.window,
                    stopping=self._stopping,
                    out=self._out,
                )
            host = Host(
                self.data_dir.root,
                self.settings,
                self._instance,
                owner_key=secrets.token_urlsafe(32),
                chat_factory=self._chat_factory,
                out=self._out,
            )
            try:
                if self.settings.window:
                    self._with_window(host)
                else:
                    self._serve(host)
                    self._failure = host.supervise(self._stopping, self._stopping, _nothing)
            finally:
                host.stop()
                self._instance.release()
                if self._result is not None:
                    self._report_self_test()
        if self._failure is not None:
            raise LaunchError(self._failure)
        if self._result is not None and not self._result.get("ok"):
            return 1
        return 0

    def _acquire_instance(self) -> bool:
        """Take the data directory's lock; False when another process serves it."""
        try:
            return self._instance.acquire()
        except OSError as exc:
            raise LaunchError(
                f"cannot use the data directory {self.data_dir.root}: {exc.strerror}; "
                "make it writable or choose another with --data-dir"
            ) from None

    @staticmethod
    def _serve(host: Host) -> None:
        """Bind (unless bound), open the chat, serve it, and say where."""
        if not host.bound:
            host.bind()
        host.start()
        host.announce()

    # -- a window, or none ---------------------------------------------------------------------

    def _with_window(self, host: Host) -> None:
        """The window, its page loading while the server starts; without one, serve and say why."""
        host.bind()
        problem = window_problem() or preload()
        if problem is None:
            try:
                self._run_window(host)
                return
            except WindowUnavailable as exc:
                problem = exc
        if self._failure is None:
            if not host.serving:
                self._serve(host)
            self._fall_back(host, problem)

    def _run_window(self, host: Host) -> None:
        testers: list[threading.Thread] = []

        def task(window: Any, closed: threading.Event) -> None:
            if self.self_test is not None:
                # daemon: a window closed by hand mid-test must not keep the process alive
                tester = threading.Thread(
                    target=self._self_test, args=(window,), name="chatdesk-self-test", daemon=True
                )
                tester.start()
                testers.append(tester)
            wait_until_shown(window)
            try:
                self._serve(host)
            except Exception as exc:  # a failure on this thread must still close the window
                if not isinstance(exc, LaunchError):
                    logger.exception("start-up failed")
                self._failure = str(exc)
                window.destroy()
                return
            self._failure = host.supervise(closed, self._stopping, window.destroy)

        try:
            show(host.owner_url(), storage_dir=self.data_dir.webview, task=task)
        finally:
            for tester in testers:
                tester.join(10)

    def _self_test(self, window: Any) -> None:
        assert self.self_test is not None
        self._result = run_self_test(
            window, screenshot=self.self_test.screenshot, timeout=self.self_test.timeout
        )

    def _fall_back(self, host: Host, reason: WindowUnavailable) -> None:
        """Serve without a window; where a desktop exists, open the system browser instead."""
        browser = not isinstance(reason, NoDisplay) and self._open_browser(host)
        action = "opened the link in the browser" if browser else "open a link above in a browser"
        print(
            f"chatdesk: {reason}; serving without a window ({action})", file=sys.stderr, flush=True
        )
        if self.self_test is not None:
            self._result = {"ok": False, "error": f"no window: {reason}"}
            return
        self._failure = host.supervise(self._stopping, self._stopping, _nothing)

    @staticmethod
    def _open_browser(host: Host) -> bool:
        # The browser is another program: give it the room-token loopback link, never the
        # owner key. On Linux, webbrowser runs `xdg-open URL`, so that link is briefly on a
        # command line other local users can read; loopback-only, and rotatable, so accepted.
        # (Jupyter's way around it, a redirect page in a private file, fails with Ubuntu's snap
        # browsers: they cannot read hidden directories of the home directory, nor /tmp.)
        import webbrowser

        try:
            return webbrowser.open(host.join_urls()[0])
        except Exception:
            logger.warning("cannot open a browser", exc_info=True)
            return False

    def _report_self_test(self) -> None:
        assert self._result is not None
        self._result["threads_left"] = sorted(
            t.name
            for t in threading.enumerate()
            if t is not threading.main_thread() and not t.name.startswith(SHARED_POOL)
        )
        print(json.dumps(self._result), file=self._out, flush=True)


def _nothing() -> None:
    """Nothing to close: without a window, the supervisor's return ends the run."""


@contextlib.contextmanager
def _on_signals(handler: Callable[[], None]) -> Iterator[None]:
    """Run `handler()` on SIGINT and SIGTERM while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        sig: signal.signal(sig, lambda signum, frame: handler())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
