"""Run every benchmark, one after the other: ``.venv/bin/python -m bench``."""

from __future__ import annotations

import subprocess
import sys

from bench.harness import ROOT

BENCHMARKS = ["bench.endpoints", "bench.chat", "bench.startup"]


def main() -> None:
    failed = []
    for module in BENCHMARKS:
        if not (ROOT / (module.replace(".", "/") + ".py")).exists():
            print(f"== {module}: not present, skipped ==", flush=True)
            continue
        print(f"== {module} ==", flush=True)
        if subprocess.run([sys.executable, "-m", module], cwd=ROOT).returncode != 0:
            failed.append(module)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
