"""Start-up benchmark: `python -m chatdesk`, the one-file executable and a one-folder build.

    .venv/bin/python bench/startup.py [--runs 5] [--onefile dist/chatdesk] [--onedir DIR/chatdesk]

Without --onefile/--onedir it builds both from build.spec into a temporary directory first.
For each variant, the median (and range) over the runs of:
  - first 200:  exec -> first HTTP 200 from /healthz, serving without a window;
  - rendered:   exec -> the chat page painted in the window, under a private Xvfb: the page's
                own "chatdesk:rendered" mark (its scripts ran, two animation frames later),
                read by the --self-test's probe;
  - idle RSS:   the whole process tree's resident memory (summed over /proc), headless 1 s after
                it is ready, and with the window 3 s after it is ready;
  - size of the executable (or of the folder).
Needs Xvfb for the window columns; everything runs on loopback with throwaway data directories.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(kind: str, where: Path) -> Path:
    """Build `onefile` or `onedir` from build.spec into `where`; the executable's path."""
    env = dict(os.environ, CHATDESK_ONEDIR="1" if kind == "onedir" else "0")
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(where / kind / "dist"), "--workpath", str(where / kind / "work"),
         str(ROOT / "build.spec")],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    dist = where / kind / "dist" / "chatdesk"
    return dist / "chatdesk" if kind == "onedir" else dist


def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATDESK_")}
    for key in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[key] = str(home / key.lower())
    return env


def tree_rss(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo += children.get(current, [])
    return total


def start(
    command: list[str], args: list[str], env: dict[str, str]
) -> tuple[subprocess.Popen[str], int, float]:
    """Run chatdesk; (process, port, exec time) once its join line is out."""
    started = time.time()
    process = subprocess.Popen(
        [*command, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("chatdesk: open http://127.0.0.1:"):
        process.kill()
        raise RuntimeError(f"{command[0]} did not start: {line!r}")
    return process, int(line.split(":")[3].split("/")[0]), started


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def first_200(command: list[str], home: Path) -> tuple[float, int]:
    """Seconds from exec to the first 200 from /healthz, and the idle tree RSS."""
    process, port, started = start(
        command, ["--no-window", "--data-dir", str(home / "data")], isolated_env(home)
    )
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
        elapsed = time.time() - started
        time.sleep(1.0)  # idle
        return elapsed, tree_rss(process.pid)
    finally:
        stop(process)


def rendered(command: list[str], home: Path, display: str) -> float:
    """Seconds from exec to the chat page painted in the window (the self-test's probe)."""
    env = isolated_env(home) | {"DISPLAY": display}
    started = time.time()
    result = subprocess.run(
        [*command, "--data-dir", str(home / "data"), "--self-test"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if not report.get("ok"):
        raise RuntimeError(f"self-test failed: {report}")
    return report["rendered_at"] / 1000 - started


def window_rss(command: list[str], home: Path, display: str) -> int:
    """The tree RSS (WebKit's processes included) of an idle window, 3 s after it is ready."""
    env = isolated_env(home) | {"DISPLAY": display}
    process, _, _ = start(command, ["--data-dir", str(home / "data")], env)
    try:
        time.sleep(3.0)
        return tree_rss(process.pid)
    finally:
        stop(process)


@contextlib.contextmanager
def xvfb() -> Iterator[str | None]:
    binary = shutil.which("Xvfb")
    if binary is None:
        yield None
        return
    read, write = os.pipe()
    process = subprocess.Popen(
        [binary, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    try:
        with os.fdopen(read) as answer:
            yield ":" + answer.readline().strip()
    finally:
        process.terminate()
        process.wait(10)


def size_of(path: Path) -> int:
    if path.is_file() and path.parent.name != "chatdesk":
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.parent.rglob("*") if f.is_file())


def median(samples: list[float], fmt: Callable[[float], str]) -> str:
    if not samples:
        return "-"
    return f"{fmt(statistics.median(samples))} [{fmt(min(samples))}-{fmt(max(samples))}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--onefile", type=Path)
    parser.add_argument("--onedir", type=Path, help="the executable inside the one-folder build")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="chatdesk-bench-") as tmp:
        scratch = Path(tmp)
        onefile = args.onefile or build("onefile", scratch / "build")
        onedir = args.onedir or build("onedir", scratch / "build")
        variants = [
            ("python -m chatdesk", [sys.executable, "-m", "chatdesk"], None),
            ("one-file executable", [str(onefile)], onefile),
            ("one-folder build", [str(onedir)], onedir),
        ]
        rows = []
        with xvfb() as display:
            for name, command, binary in variants:
                home = scratch / name.replace(" ", "-")
                starts, idle, renders, windows = [], [], [], []
                for _ in range(args.runs):
                    elapsed, rss = first_200(command, home)
                    starts.append(elapsed)
                    idle.append(rss)
                    if display:
                        renders.append(rendered(command, home, display))
                if display:
                    windows.append(window_rss(command, home, display))
                size = f"{size_of(binary) / 1e6:.1f} MB" if binary else "-"
                rows.append((
                    name,
                    median(starts, lambda s: f"{s:.2f}"),
                    median(renders, lambda s: f"{s:.2f}"),
                    median(idle, lambda b: f"{b / 1e6:.0f}"),
                    median(windows, lambda b: f"{b / 1e6:.0f}"),
                    size,
                ))  # fmt: skip
    header = ("variant", "first 200 (s)", "rendered (s)", "idle RSS (MB)", "window RSS (MB)",
              "size")  # fmt: skip
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    # Other work on the machine inflates every figure: say how loaded it was.
    loads = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(load_before, os.getloadavg(), strict=True))
    print(f"median [min-max] of {args.runs} runs; load average (1/5/15 min) before/after: {loads}")
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
