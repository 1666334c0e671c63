"""What every benchmark shares: server subprocesses, CPU and memory readings, tables."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = 0
CLIENT_CORE = 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pin_to_client_core() -> None:
    """Run this process (the load generator) on the client core."""
    os.sched_setaffinity(0, {CLIENT_CORE})


def default_nice() -> int:
    """The niceness to run at: ``BENCH_NICE`` (0, the default, leaves it alone)."""
    return int(os.environ.get("BENCH_NICE", "0"))


def set_nice(nice: int) -> None:
    """Run this process and every child (servers, wrk) at `nice`; negative needs root.

    On a machine shared with other work a negative value keeps the scheduler from handing the
    benchmark's cores to others mid-measurement; it does not starve them.
    """
    if nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


class ServerProcess:
    """A benchmark server (``python -m bench.serve``) in a subprocess pinned to the server core."""

    def __init__(
        self,
        target: str,
        *,
        factory: bool = False,
        factory_args: Sequence[str] = (),
        ws_max_size: int | None = None,
        profile: Path | None = None,
        data_dir: bool = False,
        ws: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.command = [sys.executable, "-m", "bench.serve", target, "--core", str(SERVER_CORE)]
        if ws is not None:
            self.command += ["--ws", ws]
        if factory:
            self.command.append("--factory")
        for arg in factory_args:
            self.command += ["--factory-arg", arg]
        if ws_max_size is not None:
            self.command += ["--ws-max-size", str(ws_max_size)]
        self.env = dict(os.environ)
        self.profile = profile
        if profile is not None:
            self.env["BENCH_PROFILE"] = str(profile)
        self.info: dict[str, Any] = {}

    def __enter__(self) -> ServerProcess:
        self.directory: Path | None = None
        if self.data_dir:
            # Passed as the factory's last argument; removed here even if the server is killed.
            self.directory = Path(tempfile.mkdtemp(prefix="chatdesk-bench-"))
            self.command += ["--factory-arg", str(self.directory)]
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=30):
                self.stop()
                raise TimeoutError(f"server did not start: {self.command}")
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"server exited before it started: {self.command}")
        self.info = json.loads(line)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still running after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.command = self.command[:-2]
            self.directory = None

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far, all threads."""
        return process_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return process_rss_bytes(self.pid)

    def start_profiling(self) -> None:
        if self.profile is not None:
            os.kill(self.pid, signal.SIGUSR1)

    def stop_profiling(self) -> None:
        if self.profile is not None:
            os.kill(self.pid, signal.SIGUSR2)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rpartition(")")[2].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_until_idle(server: ServerProcess, *, quiet: float = 0.3, timeout: float = 60) -> None:
    """Wait until the server has used (almost) no CPU for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        after = server.cpu_seconds()
        if after - before <= 2 / CLOCK_TICKS:
            return
        before = after
    raise TimeoutError("the server did not go idle")


WRK_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(m?s)")
WRK_ERRORS = re.compile(r"Socket errors|Non-2xx or 3xx responses")


def run_wrk(url: str, *, seconds: float, connections: int = 50) -> tuple[int, float, str]:
    """Run Debian's wrk on the client core; the request count, the seconds and the output."""
    command = [
        "taskset", "-c", str(CLIENT_CORE),
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = WRK_REQUESTS.search(output)
    if match is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    if WRK_ERRORS.search(output):
        raise RuntimeError(f"wrk saw errors:\n{output}")
    elapsed = float(match[2]) / (1000 if match[3] == "ms" else 1)
    return int(match[1]), elapsed, output


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table, columns padded so it also reads well in a terminal."""
    cells = [[str(cell) for cell in headers]] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def machine_info() -> str:
    """One line describing where the figures come from."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}; server pinned to core {SERVER_CORE}, "
        f"load generators to core {CLIENT_CORE}, nice {os.getpriority(os.PRIO_PROCESS, 0)}"
    )


def profile_summary(path: Path, focus: str = "/chatdesk/", limit: int = 15) -> str:
    """Where a cProfile run spent its time: shares by package, then the top `focus` functions.

    Shares are of the profiled total (exclusive time); cProfile's own overhead inflates
    small functions, so read them as a ranking rather than exact costs.
    """
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1.0
    areas: dict[str, float] = {}
    focused = []
    for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.items():
        area = "other"
        for marker in ("/chatdesk/", "/bench/", "/uvicorn/", "/websockets/", "/asyncio/",
                       "/starlette/", "/json/"):  # fmt: skip
            if marker in filename:
                area = marker.strip("/")
                break
        if filename == "~":
            area = "builtins (C)"
        areas[area] = areas.get(area, 0.0) + tottime
        if focus in filename:
            short = filename[filename.index(focus) + 1 :]
            focused.append((tottime, cumtime, calls, f"{short}:{line}({function})"))
    lines = [f"profiled total {total:.2f} s (exclusive time by package):"]
    for area, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        lines.append(f"  {area:<14} {seconds / total * 100:5.1f}%")
    lines.append(f"top {focus.strip('/')} functions by exclusive time (% of total, cumulative %):")
    for tottime, cumtime, calls, name in sorted(focused, reverse=True)[:limit]:
        lines.append(
            f"  {tottime / total * 100:5.1f}%  cum {cumtime / total * 100:5.1f}%  "
            f"{calls:>8} calls  {name}"
        )
    return "\n".join(lines)


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as file:
        fields = [int(value) for value in file.readline().split()[1:]]
    idle = fields[3] + fields[4]
    # guest time is already counted in user and nice
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


class ForeignLoad:
    """Measures the CPU that processes other than ours used over a window, in cores.

    The benchmark machine may be shared; figures taken while something else ran are suspect.
    """

    def __init__(self, *pids: int) -> None:
        self.pids = (os.getpid(), *pids)
        self.start = time.perf_counter()
        self.machine = machine_busy_seconds()
        self.ours = self._ours()

    def _ours(self) -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it is reaped
        own = sum(process_cpu_seconds(pid) for pid in self.pids)
        return own + children.ru_utime + children.ru_stime

    def cores(self) -> float:
        """Average foreign cores busy since the start."""
        elapsed = time.perf_counter() - self.start
        foreign = (machine_busy_seconds() - self.machine) - (self._ours() - self.ours)
        return max(0.0, foreign / elapsed)
