"""Benchmark for issue 2: chatdesk.asgi against a raw ASGI app and Starlette, on one uvicorn.

    .venv/bin/python -m bench.endpoints [--rounds 8] [--seconds 2] [--profile]

Each variant serves GET /, GET /users/{username} and a WebSocket text echo at /ws; each server is
a subprocess pinned to core 0, all three running for the whole benchmark; the load (wrk, and a
lean WebSocket client in this process) runs on core 1. Each round measures every variant back
to back, the first one rotating; the tables give medians over rounds and each figure's ratio to
raw ASGI measured in the same round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import uvloop

from bench import lean_ws
from bench.harness import (
    ROOT,
    SERVER_CORE,
    ForeignLoad,
    ServerProcess,
    default_nice,
    machine_info,
    median,
    pin_to_client_core,
    profile_summary,
    run_wrk,
    set_nice,
    table,
    verdict,
)

VARIANTS = {
    "raw": "bench.apps.raw",
    "starlette": "bench.apps.starlette_app",
    "chatdesk": "bench.apps.chatdesk_app",
}
ROUTES = {"GET /": "/", "GET /users/{username}": "/users/alice"}
STARLETTE_REFERENCE = {"GET /": 1.72, "GET /users/{username}": 1.68, "ws": 1.34, "import": 94.0}
SATURATED = 0.85  # server busy fraction below which a round's ratio is left out
TARGETS = {"GET /": 1.15, "GET /users/{username}": 1.15, "ws": 1.10, "import": 20.0}


@dataclass
class Measurement:
    """One variant's figures in one round."""

    requests_per_second: dict[str, float] = field(default_factory=dict)
    cpu_per_request: dict[str, float] = field(default_factory=dict)
    http_busy: dict[str, float] = field(default_factory=dict)
    foreign_cores: float = 0.0
    messages_per_second: float = 0.0
    cpu_per_message: float = 0.0
    server_busy: float = 0.0


def measure_http(
    server: ServerProcess, path: str, seconds: int
) -> tuple[float, float, float, float]:
    """Requests/s, server CPU s/request, server busy fraction, foreign cores: one wrk run."""
    url = f"http://127.0.0.1:{server.port}{path}"
    load = ForeignLoad(server.pid)
    before = server.cpu_seconds()
    requests, elapsed, _ = run_wrk(url, seconds=seconds)
    used = server.cpu_seconds() - before
    return requests / elapsed, used / requests, used / elapsed, load.cores()


async def measure_echo(
    server: ServerProcess, clients: int, seconds: float
) -> tuple[int, float, float]:
    """Echoes, seconds and server CPU seconds: `clients` sockets each in a send/await loop."""
    payload = b"Hello, world! " * 4
    received = 0
    running = True
    sockets: list[lean_ws.LeanWebSocket] = []

    def on_message(index: int) -> lean_ws.OnMessage:
        def echoed(data: bytes) -> None:
            nonlocal received
            received += 1
            if running:
                sockets[index].send(payload)

        return echoed

    sockets += await lean_ws.connect_many(clients, server.port, "/ws", on_message)
    for socket in sockets:
        socket.send(payload)
    await asyncio.sleep(0.5)  # warm-up
    count, cpu, start = received, server.cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    count, cpu, elapsed = received - count, server.cpu_seconds() - cpu, time.perf_counter() - start
    running = False
    await asyncio.sleep(0.1)
    await lean_ws.close_all(sockets)
    return count, elapsed, cpu


async def measure_idle_websockets(server: ServerProcess, count: int) -> float:
    """Server RSS added per open, idle WebSocket (bytes)."""
    await asyncio.sleep(0.3)
    before = server.rss_bytes()
    sockets = await lean_ws.connect_many(count, server.port, "/ws", lambda i: lambda data: None)
    await asyncio.sleep(0.5)
    after = server.rss_bytes()
    await lean_ws.close_all(sockets)
    return (after - before) / count


def measure_round(server: ServerProcess, args: argparse.Namespace) -> Measurement:
    """One sample of every load figure on a running server."""
    result = Measurement()
    for name, path in ROUTES.items():
        rps, cpu, busy, foreign = measure_http(server, path, args.seconds)
        result.requests_per_second[name] = rps
        result.cpu_per_request[name] = cpu
        result.http_busy[name] = busy
        result.foreign_cores = max(result.foreign_cores, foreign)
    load = ForeignLoad(server.pid)
    count, elapsed, cpu = asyncio.run(measure_echo(server, args.clients, args.seconds))
    result.foreign_cores = max(result.foreign_cores, load.cores())
    result.messages_per_second = count / elapsed
    result.cpu_per_message = cpu / count
    result.server_busy = cpu / elapsed
    return result


def warm_up(server: ServerProcess) -> None:
    for path in ROUTES.values():
        run_wrk(f"http://127.0.0.1:{server.port}{path}", seconds=1)


def import_seconds(module: str) -> float:
    """CPU time of a fresh interpreter importing uvicorn and `module`, on the server core.

    CPU time (user + system, from the child's rusage) rather than wall time: it does not grow
    when other processes share the core.
    """
    code = f"import uvicorn, {module}"
    command = ["taskset", "-c", str(SERVER_CORE), sys.executable, "-c", code]
    # Allow bytecode caches (the environment may disable them): a user's install has them.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def import_times(variants: list[str], runs: int) -> dict[str, float]:
    """Median import seconds per variant, runs interleaved, after one untimed run each."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for name in variants:
        import_seconds(VARIANTS[name])
    for _ in range(runs):
        for name in variants:
            samples[name].append(import_seconds(VARIANTS[name]))
    return {name: median(values) for name, values in samples.items()}


def importable(module: str) -> bool:
    command = [sys.executable, "-c", f"import {module}"]
    return subprocess.run(command, cwd=ROOT, capture_output=True).returncode == 0


BUSY_FIGURE = {"cpu_per_request": "http_busy", "requests_per_second": "http_busy"}


def saturated(rounds: list[dict[str, Measurement]], name: str, figure: str, key: str = "") -> list:
    """The rounds in which both `name` and raw saturated the server for this figure."""

    def busy(m: Measurement) -> float:
        if figure in BUSY_FIGURE:
            return m.http_busy[key]
        return m.server_busy

    kept = [r for r in rounds if busy(r[name]) >= SATURATED and busy(r["raw"]) >= SATURATED]
    return kept


def ratio_of(rounds: list[dict[str, Measurement]], name: str, figure: str, key: str = "") -> float:
    """Median over rounds of the variant's figure divided by raw's in the same round.

    Only rounds in which both servers were saturated count, unless there are none.
    """

    def value(m: Measurement) -> float:
        data = getattr(m, figure)
        return float(data[key] if key else data)

    kept = saturated(rounds, name, figure, key) or rounds
    return median(value(r[name]) / value(r["raw"]) for r in kept)


def value_of(rounds: list[dict[str, Measurement]], name: str, figure: str, key: str = "") -> float:
    return median(
        float(getattr(r[name], figure)[key] if key else getattr(r[name], figure)) for r in rounds
    )


def ratio_text(rounds: list[dict[str, Measurement]], name: str, figure: str, key: str = "") -> str:
    """The ratio to raw, and in how many rounds both servers were saturated."""
    kept = len(saturated(rounds, name, figure, key))
    return f"{ratio_of(rounds, name, figure, key):.2f}x ({kept}/{len(rounds)})"


def report(
    rounds: list[dict[str, Measurement]],
    imports: dict[str, float],
    memory: dict[str, tuple[int, float]],
) -> str:
    variants = list(rounds[0])
    lines = [
        f"Machine: {machine_info()}",
        f"Rounds: {len(rounds)}; figures are medians over rounds; a ratio is the median over"
        f" the rounds (n/N) in which both servers were >= {SATURATED:.0%} busy (all if none)",
        "",
    ]
    for route in ROUTES:
        rows = []
        for name in variants:
            rows.append([
                name,
                f"{value_of(rounds, name, 'requests_per_second', route):,.0f}",
                f"{ratio_of(rounds, name, 'requests_per_second', route):.2f}x",
                f"{value_of(rounds, name, 'cpu_per_request', route) * 1e6:.1f}",
                ratio_text(rounds, name, "cpu_per_request", route),
                f"{value_of(rounds, name, 'http_busy', route) * 100:.0f}%",
            ])  # fmt: skip
        headers = [route, "req/s", "vs raw", "server CPU µs/req", "vs raw", "server busy"]
        lines += [table(headers, rows), ""]
    rows = []
    for name in variants:
        rows.append([
            name,
            f"{value_of(rounds, name, 'messages_per_second'):,.0f}",
            f"{ratio_of(rounds, name, 'messages_per_second'):.2f}x",
            f"{value_of(rounds, name, 'cpu_per_message') * 1e6:.1f}",
            ratio_text(rounds, name, "cpu_per_message"),
            f"{value_of(rounds, name, 'server_busy') * 100:.0f}%",
        ])  # fmt: skip
    headers = [
        "WebSocket echo, 50 clients",
        "msg/s",
        "vs raw",
        "server CPU µs/msg",
        "vs raw",
        "server busy",
    ]
    lines += [table(headers, rows), ""]
    rows = []
    for name in variants:
        rows.append([
            name,
            f"{(imports[name] - imports['raw']) * 1000:+.1f}",
            f"{memory[name][0] / 2**20:.1f}",
            f"{memory[name][1] / 1024:.1f}",
            f"{max(r[name].foreign_cores for r in rounds):.2f}",
        ])  # fmt: skip
    headers = [
        "variant", "import CPU ms added to uvicorn's", "idle RSS MiB", "RSS KiB per idle WebSocket",
        "foreign load, cores (max)",
    ]  # fmt: skip
    lines += [table(headers, rows), ""]
    if "chatdesk" in variants:
        rows = []
        for route in ROUTES:
            measured = ratio_of(rounds, "chatdesk", "cpu_per_request", route)
            rows.append([
                f"server CPU per request, {route}", f"{measured:.2f}x", f"<= {TARGETS[route]:.2f}x",
                f"{STARLETTE_REFERENCE[route]:.2f}x", verdict(measured <= TARGETS[route]),
            ])  # fmt: skip
        measured = ratio_of(rounds, "chatdesk", "cpu_per_message")
        rows.append([
            "server CPU per WebSocket message", f"{measured:.2f}x", f"<= {TARGETS['ws']:.2f}x",
            f"{STARLETTE_REFERENCE['ws']:.2f}x", verdict(measured <= TARGETS["ws"]),
        ])  # fmt: skip
        added = (imports["chatdesk"] - imports["raw"]) * 1000
        rows.append([
            "import time added", f"{added:+.1f} ms", f"<= +{TARGETS['import']:.0f} ms",
            f"+{STARLETTE_REFERENCE['import']:.0f} ms", verdict(added <= TARGETS["import"]),
        ])  # fmt: skip
        headers = ["chatdesk.asgi target (vs raw ASGI)", "measured", "target", "Starlette ref.", ""]
        lines += [table(headers, rows), ""]
    return "\n".join(lines)


def profile_chatdesk(args: argparse.Namespace) -> None:
    """Each scenario on a fresh chatdesk server under cProfile (measurement window only)."""
    with tempfile.TemporaryDirectory() as directory:
        for name, path in ROUTES.items():
            profile = Path(directory) / "http.prof"
            with ServerProcess(f"{VARIANTS['chatdesk']}:app", profile=profile) as server:
                url = f"http://127.0.0.1:{server.port}{path}"
                run_wrk(url, seconds=1)
                server.start_profiling()
                run_wrk(url, seconds=args.seconds)
                server.stop_profiling()
            print(f"== chatdesk, {name} ==\n{profile_summary(profile)}\n")
        profile = Path(directory) / "ws.prof"
        with ServerProcess(f"{VARIANTS['chatdesk']}:app", profile=profile) as server:
            server.start_profiling()
            asyncio.run(measure_echo(server, args.clients, args.seconds))
            server.stop_profiling()
        print(f"== chatdesk, WebSocket echo ==\n{profile_summary(profile)}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoints", description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle", type=int, default=1000, help="idle WebSockets for the RSS figure")
    parser.add_argument("--imports", type=int, default=21, help="import-time runs per variant")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--profile", action="store_true", help="profile chatdesk's server instead")
    parser.add_argument(
        "--nice", type=int, default=default_nice(), help="niceness for every process (BENCH_NICE)"
    )
    args = parser.parse_args(argv)
    set_nice(args.nice)
    pin_to_client_core()
    uvloop.install()
    if args.profile:
        profile_chatdesk(args)
        return

    variants = [name for name in args.variants.split(",") if name]
    for name in list(variants):
        if not importable(VARIANTS[name]):
            print(f"skipping {name}: {VARIANTS[name]} does not import", file=sys.stderr)
            variants.remove(name)
    assert variants[0] == "raw", "raw ASGI is the baseline and runs first in the list"

    rounds: list[dict[str, Measurement]] = []
    memory: dict[str, tuple[int, float]] = {}
    with contextlib.ExitStack() as stack:
        # Every server runs for the whole benchmark: a round measures them back to back, so
        # that whatever else the machine does affects them alike.
        servers = {
            name: stack.enter_context(ServerProcess(f"{VARIANTS[name]}:app")) for name in variants
        }
        idle_rss = {name: server.rss_bytes() for name, server in servers.items()}
        for server in servers.values():
            warm_up(server)
        for index in range(args.rounds):
            order = variants[index % len(variants) :] + variants[: index % len(variants)]
            results = {name: measure_round(servers[name], args) for name in order}
            rounds.append({name: results[name] for name in variants})
            print(f"round {index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        for name, server in servers.items():
            per_socket = asyncio.run(measure_idle_websockets(server, args.idle))
            memory[name] = (idle_rss[name], per_socket)
    imports = import_times(variants, args.imports)

    text = report(rounds, imports, memory)
    print(text)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    raw = {
        "rounds": [{k: asdict(v) for k, v in r.items()} for r in rounds],
        "imports": imports,
        "memory": memory,
    }
    (results_dir / "endpoints.json").write_text(json.dumps(raw, indent=2))
    (results_dir / "endpoints.md").write_text(text)


if __name__ == "__main__":
    main()
