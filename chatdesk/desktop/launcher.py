"""The whole start-up: settings -> chat -> server -> window, or serving without one.

One process serves one data directory. It binds its sockets, opens the chat (store and token),
starts uvicorn in a background thread, prints the join links, then shows the window on the main
thread (or waits for SIGINT/SIGTERM), and finally stops the server gracefully and exits 0.
A second launch on a data directory that is already served points at the running server instead.

With a window, start-up is ordered for speed: the sockets are bound first (so the window's URL is
known, and its first request waits in the listen backlog), GTK loads, the window opens, and only
once it is on screen does a thread open the chat and start uvicorn. WebKit's start-up, in its own
processes, then overlaps ours; doing ours earlier would only slow GTK's many short calls on the
main thread down, as both need the GIL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from chatdesk.desktop import paths
from chatdesk.desktop.instance import InstanceLock, wait_for_running
from chatdesk.desktop.server import (
    BindError,
    ServerError,
    ServerThread,
    bind_sockets,
    listen_addresses,
)
from chatdesk.desktop.settings import Settings
from chatdesk.desktop.state import recall, remember
from chatdesk.desktop.window import (
    NoDisplay,
    WindowUnavailable,
    open_window,
    preload,
    run_self_test,
    wait_until_shown,
    window_problem,
)

__all__ = ["ChatFactory", "LaunchError", "Launcher", "SelfTest", "real_chat"]

logger = logging.getLogger("chatdesk.launcher")

# (data_dir, lan_hosts, owner_key, on_lan_change) -> an object with .app, .access.token, .close()
ChatFactory = Callable[[Path, Sequence[str], str, Callable[[bool], None]], Any]
SUPERVISE_INTERVAL = 0.1
SHARED_POOL = "chatdesk-worker"  # chatdesk.asgi's process-wide idle workers, joined at exit


class LaunchError(Exception):
    """chatdesk cannot run as asked; the message is one clear line for the user."""


@dataclass(frozen=True)
class SelfTest:
    """The hidden --self-test: check the window renders and chats, then exit."""

    screenshot: Path | None = None
    timeout: float = 30.0


def real_chat(
    data_dir: Path, lan_hosts: Sequence[str], owner_key: str, on_lan_change: Callable[[bool], None]
) -> Any:
    """The chat app of `data_dir` (opens the store and the token; raises with a clear message)."""
    from chatdesk.chat.app import Chat, ChatConfig

    return Chat(
        ChatConfig(
            data_dir=data_dir,
            lan_hosts=tuple(lan_hosts),
            owner_key=owner_key,
            on_lan_change=on_lan_change,
        )
    )


def url_host(address: str) -> str:
    """`address` as written in a URL's authority (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address else address


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
        self.data_dir = paths.data_dir(settings.data_dir)
        self.lan = settings.lan
        self.self_test = self_test
        self._chat_factory = chat_factory or real_chat
        self._out = out if out is not None else sys.stdout
        self._owner_key = secrets.token_urlsafe(32)  # lives in this process only
        self._instance = InstanceLock(self.data_dir)
        self._chat: Any = None
        self._server: ServerThread | None = None
        self._lan_request: bool | None = None
        self._token_rotated = threading.Event()  # set on the server's thread, read by _supervise
        self._request_lock = threading.Lock()
        self._failure: str | None = None
        self._stopping = threading.Event()  # set by SIGINT/SIGTERM
        self._result: dict[str, Any] | None = None

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until the window closes or a signal arrives: 0, or raise LaunchError."""
        try:
            paths.ensure_private_dir(self.data_dir)
        except OSError as exc:
            raise LaunchError(f"cannot create the data directory {self.data_dir}: {exc}") from None
        with _on_signals(self._stopping.set):
            if not self._acquire_instance():
                return self._point_at_running()
            try:
                if self.settings.window:
                    self._show_window()
                else:
                    self._start(*self._first_port())
                    self._published()
                    self._supervise(self._stopping, lambda: None)
            finally:
                self._stop()
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
                f"cannot use the data directory {self.data_dir}: {exc.strerror}; "
                "make it writable or choose another with --data-dir"
            ) from None

    def _first_port(self) -> tuple[int, bool]:
        """The port to bind, and whether it is only the one remembered (then it may move)."""
        if self.settings.port:
            return self.settings.port, False
        remembered = recall(self.data_dir).port
        return remembered or 0, remembered is not None

    def _start(self, port: int, may_move: bool = False) -> None:
        """Bind, open the chat, start uvicorn; LaunchError (nothing left running) on failure."""
        self._serve(self._bind(port, may_move))

    def _bind(self, port: int, may_move: bool = False) -> list[Any]:
        """The listening sockets; a remembered port (`may_move`) that is taken moves, loudly."""
        addresses = listen_addresses(self.lan, self.settings.host)
        try:
            return bind_sockets(addresses, port)
        except BindError as exc:
            if not may_move:
                raise LaunchError(str(exc)) from None
        sockets = self._bind_or_fail(addresses, 0)
        logger.warning(
            "port %d, this chat's port last time, is taken: serving on port %d instead, "
            "so links and open tabs with the old port no longer reach this chat",
            port,
            sockets[0].getsockname()[1],
        )
        return sockets

    def _serve(self, sockets: list[Any]) -> None:
        """Open the chat and serve it on `sockets`; LaunchError (sockets closed) on failure."""
        lan_hosts = self._lan_hosts() if self.lan else ()
        try:
            chat = self._chat_factory(
                self.data_dir, lan_hosts, self._owner_key, self._on_lan_change
            )
        except Exception as exc:
            for sock in sockets:
                sock.close()
            logger.info("opening the chat failed", exc_info=True)  # the log file only
            raise LaunchError(f"cannot open the chat in {self.data_dir}: {exc}") from None
        server = ServerThread(chat.app, sockets)
        try:
            server.start()
        except ServerError as exc:
            chat.close()
            raise LaunchError(f"{exc} (details in {paths.log_dir()})") from None
        self._chat, self._server = chat, server
        chat.access.add_rotation_listener(self._token_rotated.set)
        try:
            remember(self.data_dir, port=server.port)
        except OSError as exc:
            logger.warning("cannot remember port %d for %s: %s", server.port, self.data_dir, exc)

    @staticmethod
    def _bind_or_fail(addresses: Sequence[str], port: int) -> list[Any]:
        try:
            return bind_sockets(addresses, port)
        except BindError as exc:
            raise LaunchError(str(exc)) from None

    def _lan_hosts(self) -> list[str]:
        from chatdesk.desktop.network import allowed_lan_hosts

        return allowed_lan_hosts(self.settings.host)

    def _stop(self) -> None:
        """Stop the server gracefully (bounded), then close the chat."""
        server, chat = self._server, self._chat
        self._server = self._chat = None
        if server is not None and not server.stop():
            logger.error("the server did not stop in time")
        if chat is not None:
            try:
                chat.close()
            except Exception:
                logger.exception("closing the chat failed")

    # -- what the user sees --------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    def _loopback(self) -> str:
        host = self.settings.host
        if not self.lan and host and host != "localhost":
            return url_host(host)
        return "127.0.0.1"

    def join_urls(self) -> list[str]:
        """The room's join links: loopback first, then one per LAN address in LAN mode."""
        token = self._chat.access.token
        hosts = [self._loopback()]
        if self.lan:
            hosts += [url_host(a) for a in self._lan_addresses()]
        return [f"http://{host}:{self.port}/join?token={token}" for host in hosts]

    def _lan_addresses(self) -> list[str]:
        host = self.settings.host
        if host and host not in {"0.0.0.0", "::"}:
            return [host.strip("[]")]
        from chatdesk.desktop.network import lan_addresses

        assert self._server is not None
        ipv6 = any(":" in s.getsockname()[0] for s in self._server.sockets)
        return [a for a in lan_addresses() if ipv6 or ":" not in a]

    def _published(self) -> None:
        """Tell the world where we are: the runtime file, then the join lines on stdout."""
        self._instance.publish(self.port, lan=self.lan)
        self._print_join_urls()

    def _print_join_urls(self) -> None:
        for url in self.join_urls():
            print(f"chatdesk: open {url}", file=self._out, flush=True)

    def _owner_url(self, port: int) -> str:
        return f"http://{self._loopback()}:{port}/join?token={self._owner_key}"

    # -- window, or none -----------------------------------------------------------------------

    def _show_window(self) -> None:
        """The window, its page loading while the server starts; without one, serve and say why."""
        sockets = self._bind(*self._first_port())
        port = sockets[0].getsockname()[1]
        problem = window_problem() or preload()
        serving = threading.Event()  # set once the sockets are handed to _serve
        if problem is None:
            try:
                self._run_window(self._owner_url(port), sockets, serving)
                return
            except WindowUnavailable as exc:
                problem = exc
        if not serving.is_set():
            self._serve(sockets)
            self._published()
        if self._failure is None:
            self._fall_back(problem)

    def _run_window(self, url: str, sockets: list[Any], serving: threading.Event) -> None:
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
            serving.set()
            try:
                self._serve(sockets)
                self._published()
            except Exception as exc:  # a failure on this thread must still close the window
                if not isinstance(exc, LaunchError):
                    logger.exception("start-up failed")
                self._failure = str(exc)
                window.destroy()
                return
            self._supervise(closed, window.destroy)

        try:
            self._in_window(url, task)
        finally:
            for tester in testers:
                tester.join(10)

    def _in_window(self, url: str, task: Callable[[Any, threading.Event], None]) -> None:
        """Show `url` until the window closes, running `task(window, closed)` meanwhile on
        pywebview's task thread; `closed` is set once it has, then that thread is waited for."""
        closed = threading.Event()
        runners: list[threading.Thread] = []

        def run(window: Any) -> None:
            runners.append(threading.current_thread())
            task(window, closed)

        try:
            open_window(url, storage_dir=paths.webview_storage_dir(self.data_dir), task=run)
        finally:
            closed.set()
            for runner in runners:
                runner.join(10)

    def _self_test(self, window: Any) -> None:
        assert self.self_test is not None
        self._result = run_self_test(
            window, screenshot=self.self_test.screenshot, timeout=self.self_test.timeout
        )

    def _fall_back(self, reason: WindowUnavailable) -> None:
        """Serve without a window; where a desktop exists, open the system browser instead."""
        browser = not isinstance(reason, NoDisplay) and self._open_browser()
        action = "opened the link in the browser" if browser else "open a link above in a browser"
        print(
            f"chatdesk: {reason}; serving without a window ({action})", file=sys.stderr, flush=True
        )
        if self.self_test is not None:
            self._result = {"ok": False, "error": f"no window: {reason}"}
            return
        self._supervise(self._stopping, lambda: None)

    def _open_browser(self) -> bool:
        # The browser is another program: give it the room-token loopback link, never the
        # owner key. On Linux, webbrowser runs `xdg-open URL`, so that link is briefly on a
        # command line other local users can read; loopback-only, and rotatable, so accepted.
        # (Jupyter's way around it, a redirect page in a private file, fails with Ubuntu's snap
        # browsers: they cannot read hidden directories of the home directory, nor /tmp.)
        import webbrowser

        try:
            return webbrowser.open(self.join_urls()[0])
        except Exception:
            logger.warning("cannot open a browser", exc_info=True)
            return False

    # -- supervision: LAN switches from the UI, server crashes ---------------------------------

    def _on_lan_change(self, enabled: bool) -> None:
        """Called by the chat (on the server's event loop thread) when the UI switches LAN."""
        with self._request_lock:
            self._lan_request = bool(enabled)

    def _supervise(self, done: threading.Event, close: Callable[[], None]) -> None:
        """Until `done`: carry out LAN switches; `close()` on a signal or if the server dies.

        Runs on the main thread without a window, or on pywebview's task thread with one.
        """
        while not done.wait(SUPERVISE_INTERVAL):
            if self._stopping.is_set():
                close()
                return
            with self._request_lock:
                request, self._lan_request = self._lan_request, None
            if self._token_rotated.is_set():
                self._token_rotated.clear()
                self._announce_new_token()
            try:
                if request is not None and request != self.lan:
                    self._switch_lan(request)
                elif self._server is None or not self._server.alive():
                    raise LaunchError(f"the server stopped unexpectedly (see {paths.log_dir()})")
            except LaunchError as exc:
                self._failure = str(exc)
                close()
                return

    def _announce_new_token(self) -> None:
        """The room token changed (the Invite panel, or --rotate-token): print the new links."""
        print(
            "chatdesk: the room token was replaced; earlier invite links no longer work",
            file=sys.stderr,
            flush=True,
        )
        self._print_join_urls()

    def _switch_lan(self, enabled: bool) -> None:
        """Restart the listener on the same port for the new mode; remember the choice."""
        port = self.port
        self._stop()
        self.lan = enabled
        try:
            self._start(port)
        except LaunchError as exc:
            logger.error("cannot switch LAN mode %s: %s", "on" if enabled else "off", exc)
            self.lan = not enabled
            self._start(port)
            self._published()
            return
        try:
            remember(self.data_dir, lan=enabled)
        except OSError as exc:
            logger.warning("cannot remember LAN mode for %s: %s", self.data_dir, exc)
        self._published()

    # -- a second launch -----------------------------------------------------------------------

    def _point_at_running(self) -> int:
        """Another process serves this data directory: open a window on it, or print its link."""
        running = wait_for_running(self.data_dir)
        if running is None:
            raise LaunchError(f"another chatdesk holds {self.data_dir} but does not answer")
        from chatdesk.chat.access import Access, AccessError

        try:
            token = Access(self.data_dir).token  # same user: may read the room token
        except AccessError as exc:
            raise LaunchError(str(exc)) from None
        url = f"{running.url}/join?token={token}"
        print(
            f"chatdesk: already running for {self.data_dir} (pid {running.pid})",
            file=sys.stderr,
            flush=True,
        )
        if self.settings.window and (window_problem() or preload()) is None:
            with contextlib.suppress(WindowUnavailable):
                self._window_until_closed(url)
                return 0
        print(f"chatdesk: open {url}", file=self._out, flush=True)
        return 0

    def _window_until_closed(self, url: str) -> None:
        """A window on another process's server; SIGINT/SIGTERM close it."""

        def task(window: Any, closed: threading.Event) -> None:
            while not closed.wait(SUPERVISE_INTERVAL):
                if self._stopping.is_set():
                    window.destroy()
                    return

        self._in_window(url, task)

    def _report_self_test(self) -> None:
        assert self._result is not None
        self._result["threads_left"] = sorted(
            t.name
            for t in threading.enumerate()
            if t is not threading.main_thread() and not t.name.startswith(SHARED_POOL)
        )
        print(json.dumps(self._result), file=self._out, flush=True)


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
