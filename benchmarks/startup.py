"""How long revsched's everyday commands take to start: median and spread of 10 runs each.

    python benchmarks/startup.py [--runs 10] [--instructions]

Target: <= 0.25 s for `revsched --help` and `revsched plays`. Printed beside the bare
interpreter's start (`python -c pass`), the floor no command can go under on the machine
at hand, with the CPU time each start used (on a loaded machine, wall time is mostly
waiting for a core) and the spread of the runs (fastest and slowest). `--instructions`
also counts the instructions each start executes under valgrind's callgrind: the same
on a busy machine as on a quiet one, so a change in them is the change of a commit.
Python writes bytecode caches as an installed package has them (PYTHONDONTWRITEBYTECODE
is dropped for these runs); the state store is a fresh one in a temporary directory.
`revsched plays` keeps the rows it lists there between runs (revsched.plays_listing):
its figure is warm (the run before the timed ones saved them), as every `plays` after
the first is until the code, the config or a REVSCHED variable changes; `plays (cold)`
deletes them before each run, as after such a change.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_SECONDS = 0.25
TARGETED = ("revsched --help", "revsched plays")


def _revsched() -> list[str]:
    beside = Path(sys.executable).parent / "revsched"
    return [str(beside)] if beside.exists() else [shutil.which("revsched") or "revsched"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    command: list[str], env: dict[str, str], runs: int, before: Callable[[], None]
) -> tuple[list[float], float]:
    """Each run's wall seconds, and the median CPU seconds, after a run that warms caches;
    `before` is called before each run."""
    before()
    subprocess.run(command, env=env, capture_output=True, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        before()
        cpu, started = _children_cpu(), time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return walls, statistics.median(cpus)


def instructions(command: list[str], env: dict[str, str]) -> int:
    """Instructions one start executes (callgrind's count)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(re.search(r"Collected : (\d+)", done.stderr)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--instructions", action="store_true", help="Also count instructions (valgrind)."
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    revsched = _revsched()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "revsched --help": [*revsched, "--help"],
        "revsched plays": [*revsched, "plays"],
        "revsched plays (cold)": [*revsched, "plays"],
        "revsched doctor --help": [*revsched, "doctor", "--help"],
        "revsched schedule export": [*revsched, "schedule", "export", "--format", "cron"],
        "revsched history": [*revsched, "history"],
    }
    home = tempfile.mkdtemp(prefix="revsched-startup-")
    listing = Path(home) / "plays-listing.json"
    before = {"revsched plays (cold)": lambda: listing.unlink(missing_ok=True)}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"REVSCHED_HOME": home, "COLUMNS": "80"}
    env.pop("REVSCHED_CONFIG", None)
    print(f"median of {args.runs} runs (fastest-slowest); target <= {TARGET_SECONDS} s")
    try:
        for name, command in commands.items():
            prepare = before.get(name, lambda: None)
            walls, cpu = timed(command, env, args.runs, prepare)
            seconds = statistics.median(walls)
            line = (
                f"{name:<25} {seconds:6.3f} s wall ({min(walls):.3f}-{max(walls):.3f})"
                f" {cpu:6.3f} s CPU"
            )
            if args.instructions:
                prepare()
                line += f" {instructions(command, env) / 1e6:7,.0f}M instructions"
            if name in TARGETED:
                line += "  ok" if seconds <= TARGET_SECONDS else "  over target"
            print(line)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
