"""How long `revsched --help` and `revsched plays` take to start: median of 10 runs each.

    python benchmarks/startup.py [--runs 10]

Target: <= 0.25 s each. Printed beside the bare interpreter's start (`python -c pass`),
the floor no command can go under on the machine at hand. Python writes bytecode caches
as an installed package has them (PYTHONDONTWRITEBYTECODE is dropped for these runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.25


def _revsched() -> list[str]:
    beside = Path(sys.executable).parent / "revsched"
    return [str(beside)] if beside.exists() else [shutil.which("revsched") or "revsched"]


def median_seconds(command: list[str], runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, env=env, capture_output=True, check=True)  # caches warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "revsched --help": [*_revsched(), "--help"],
        "revsched plays": [*_revsched(), "plays"],
    }
    print(f"median of {args.runs} runs; target <= {TARGET_SECONDS} s")
    for name, command in commands.items():
        seconds = median_seconds(command, args.runs)
        verdict = (
            ""
            if name.startswith("python")
            else ("  ok" if seconds <= TARGET_SECONDS else "  over target")
        )
        print(f"{name:<18} {seconds:6.3f} s{verdict}")


if __name__ == "__main__":
    main()
