"""Serve one benchmark app with uvicorn in this process, pinned to one core.

    python -m bench.serve MODULE:ATTR [--core 0] [--factory] [--ws-max-size N]

Prints one JSON line, flushed, once the server accepts connections:
``{"port": ..., "pid": ...}`` plus whatever a factory adds (the chat's token). SIGTERM stops it.
With ``--factory`` the target is called and must return ``(app, info, close)``.
With the environment variable ``BENCH_PROFILE=FILE`` the event loop's thread is profiled with
cProfile between SIGUSR1 (start) and SIGUSR2 (stop), and the stats are written to FILE on exit.
With ``BENCH_TRACEMALLOC=FILE`` allocations are traced instead: SIGUSR1 takes a snapshot,
SIGUSR2 writes what grew since to FILE.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import os
import resource
import signal
import socket
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import uvicorn


class ReportingServer(uvicorn.Server):
    """A uvicorn server that prints where it listens once it accepts connections."""

    def __init__(self, config: uvicorn.Config, info: dict[str, Any]) -> None:
        super().__init__(config)
        self.info = info

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(json.dumps(self.info), flush=True)


def load(target: str) -> Any:
    """The object named by ``module:attribute``."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def trace_memory(path: str) -> None:
    """Trace allocations; SIGUSR1 takes a snapshot, SIGUSR2 writes what grew since to `path`."""
    tracemalloc.start(8)
    snapshots: list[tracemalloc.Snapshot] = []

    def take(*_: object) -> None:
        snapshots.append(tracemalloc.take_snapshot())

    def compare(*_: object) -> None:
        after = tracemalloc.take_snapshot()
        with open(path + ".partial", "w") as file:
            for key in ("filename", "lineno"):
                file.write(f"== grown since SIGUSR1, by {key} ==\n")
                for stat in after.compare_to(snapshots[-1], key)[:25]:
                    file.write(f"{stat}\n")
            file.write("== grown since SIGUSR1, by the innermost chatdesk frame ==\n")
            grown: dict[str, list[int]] = {}
            for stat in after.compare_to(snapshots[-1], "traceback"):
                frames = [f for f in stat.traceback if "/chatdesk/" in f.filename]
                if frames and stat.size_diff > 0:
                    where = f"{frames[-1].filename.partition('/chatdesk/')[2]}:{frames[-1].lineno}"
                    totals = grown.setdefault(where, [0, 0])
                    totals[0] += stat.size_diff
                    totals[1] += stat.count_diff
            for where, (size, count) in sorted(grown.items(), key=lambda i: -i[1][0])[:25]:
                file.write(f"chatdesk/{where}: +{size / 1024:.1f} KiB, +{count} blocks\n")
        os.replace(path + ".partial", path)

    signal.signal(signal.SIGUSR1, take)
    signal.signal(signal.SIGUSR2, compare)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("target")
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--ws-max-size", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--factory-arg", action="append", default=[])
    parser.add_argument(
        "--ws", default="websockets-sansio", help="uvicorn's WebSocket implementation"
    )
    args = parser.parse_args(argv)

    os.sched_setaffinity(0, {args.core})
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    close: Callable[[], None] = lambda: None  # noqa: E731
    info: dict[str, Any] = {}
    if args.factory:
        app, info, close = load(args.target)(*args.factory_arg)
    else:
        app = load(args.target)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    info = {"port": sock.getsockname()[1], "pid": os.getpid(), **info}
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws=args.ws,
        ws_max_size=args.ws_max_size,
        lifespan="on",
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_graceful_shutdown=3,
    )
    server = ReportingServer(config, info)

    # uvicorn re-raises the signal that stopped it once it has shut down; with the default
    # handler that would kill this process before `close` and the profile dump run.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile()
    if profile_path:
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
        signal.signal(signal.SIGUSR2, lambda *_: profiler.disable())
    memory_path = os.environ.get("BENCH_TRACEMALLOC")
    if memory_path:
        trace_memory(memory_path)
    try:
        server.run(sockets=[sock])
    finally:
        close()
        if profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
    sys.exit(0 if server.started else 1)


if __name__ == "__main__":
    main()
