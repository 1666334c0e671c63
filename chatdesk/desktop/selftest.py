"""The hidden `--self-test`: the window renders the chat and round-trips a message, measured.

Run by the launcher on a thread of its own beside the window; the result is one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PROBE_JS", "SelfTest", "run_self_test"]


@dataclass(frozen=True)
class SelfTest:
    """The hidden --self-test: check the window renders and chats, then exit."""

    screenshot: Path | None = None
    timeout: float = 30.0


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
