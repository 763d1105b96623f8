"""How long `revsched --help` and `revsched plays` take to start: median of 10 runs each.

    python benchmarks/startup.py [--runs 10]

Target: <= 0.25 s each. Printed beside the bare interpreter's start (`python -c pass`),
the floor no command can go under on the machine at hand, with the CPU time each start
used (on a loaded machine, wall time is mostly waiting for a core). Python writes bytecode caches
as an installed package has them (PYTHONDONTWRITEBYTECODE is dropped for these runs).
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_seconds(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of the command's runs."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, env=env, capture_output=True, check=True)  # caches warm
    walls, cpus = [], []
    for _ in range(runs):
        cpu, started = _children_cpu(), time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


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
        seconds, cpu = median_seconds(command, args.runs)
        verdict = ""
        if not name.startswith("python"):
            verdict = "  ok" if seconds <= TARGET_SECONDS else "  over target"
        print(f"{name:<18} {seconds:6.3f} s wall {cpu:6.3f} s CPU{verdict}")


if __name__ == "__main__":
    main()
