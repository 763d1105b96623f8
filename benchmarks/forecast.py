"""A 30-day forecast on a large demo org: target under 30 seconds per play.

    python benchmarks/forecast.py                       # 100,000 accounts, win-back
    python benchmarks/forecast.py --plays win-back renewal-sla --home /tmp/bench-home

Runs `revsched forecast PLAY --days 30 --json` as a user does (a fresh process: login,
the reads, 30 decisions) against a demo org of N accounts built once in a temporary
REVSCHED_HOME (or --home, reused), and prints per play the wall time, the CPU time
(user + system: what the wall time comes to on a machine others do not share), the
reads made and what the 30 days would select.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path

# benchmarks/ is on the path when a script in it runs: its neighbour's runner.
from output import revsched

AS_OF = "2026-11-23"
TARGET_SECONDS = 30.0


def cpu_seconds() -> float:
    """CPU time of the finished child processes so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--plays", nargs="*", default=["win-back"])
    parser.add_argument("--home", type=Path, help="reuse this REVSCHED_HOME (demo org kept)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="revsched-forecast-"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "demo-org.sqlite").exists():
        seconds, _ = revsched(home, "demo", "--accounts", str(args.accounts), "--as-of", AS_OF)
        print(f"demo org of {args.accounts:,} accounts built in {seconds:.1f} s at {home}")
    columns = f"{'seconds':>8} {'cpu':>6} {'reads':>5} {'selected':>9} {'alerts':>7}"
    print(f"{'play':<22} {columns}  verdict")
    failed = 0
    for play in args.plays:
        forecast_args = ("forecast", play, "--days", str(args.days), "--from", AS_OF, "--json")
        before = cpu_seconds()
        seconds, out = revsched(home, *forecast_args)
        cpu = cpu_seconds() - before
        document = json.loads(out)
        totals = document["totals"]
        ok = seconds < TARGET_SECONDS
        failed += not ok
        print(
            f"{play:<22} {seconds:>8.1f} {cpu:>6.1f} {document['reads']:>5}"
            f" {totals['selected']:>9,} {totals['alerts']:>7,}"
            f"  {'ok' if ok else 'OVER'}"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
