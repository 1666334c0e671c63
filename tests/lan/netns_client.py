"""A guest on another host: run inside a network namespace by test_netns.py; prints JSON lines."""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

import httpx
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

TIMEOUT = 10.0


def report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def join(invite: str) -> None:
    """Join with the invite link, check the UI loads, chat over the WebSocket."""
    parts = urlsplit(invite)
    base = f"{parts.scheme}://{parts.netloc}"
    with httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        joined = http.get(f"{parts.path}?{parts.query}")
        cookie = joined.headers.get("set-cookie", "").split(";")[0]
        page = http.get("/", headers={"Accept": "text/html"})
        report(
            step="join",
            status=joined.status_code,
            location=joined.headers.get("location"),
            cookie=cookie.split("=")[0],
            page=page.status_code,
        )
        headers = {"Cookie": cookie}
        with connect(
            f"ws://{parts.netloc}/chat",
            origin=base,
            additional_headers=headers,
            open_timeout=TIMEOUT,
        ) as ws:
            ws.send(json.dumps({"type": "hello", "nick": "guest"}))
            ws.send(json.dumps({"type": "join", "room": "general", "after": 0}))
            ws.send(
                json.dumps(
                    {
                        "type": "send",
                        "room": "general",
                        "text": "hi from the LAN",
                        "client_id": "lan-1",
                    }
                )
            )
            while True:
                frame = json.loads(ws.recv(timeout=TIMEOUT))
                if frame["type"] == "welcome":
                    report(step="welcome", host=frame["host"])
                if frame["type"] == "ack":
                    report(step="acked", id=frame["id"], cookie=cookie)
                if frame["type"] == "message" and frame["text"] == "hi from loopback":
                    report(step="received", nick=frame["nick"])
                    return


def probe(base: str, cookie: str, token: str) -> None:
    """What a guest without (valid) credentials gets."""
    host = urlsplit(base).netloc
    with httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        statuses = {
            "no credentials": http.get("/api/rooms").status_code,
            "cookie": http.get("/api/rooms", headers={"Cookie": cookie}).status_code,
            "bearer": http.get(
                "/api/rooms", headers={"Authorization": f"Bearer {token}"}
            ).status_code,
            "join": http.get(f"/join?token={token}").status_code,
            "wrong join": http.get("/join?token=wrong-token-0123456789abcdef").status_code,
        }
    for name, headers in [("ws cookie", {"Cookie": cookie}), ("ws none", {})]:
        try:
            with connect(
                f"ws://{host}/chat", origin=base, additional_headers=headers, open_timeout=TIMEOUT
            ):
                statuses[name] = 101
        except InvalidStatus as refused:
            statuses[name] = refused.response.status_code
    report(step="probe", **statuses)


def unreachable(base: str) -> None:
    """Whether anything answers at `base` (it should not)."""
    try:
        httpx.get(f"{base}/healthz", timeout=3)
    except httpx.TransportError as exc:
        report(step="unreachable", error=type(exc).__name__)
    else:
        report(step="reachable")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"join": join, "probe": probe, "unreachable": unreachable}[command](*args)
