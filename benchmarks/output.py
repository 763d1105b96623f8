"""What a dry run prints, and what printing costs, on a large demo org.

For every play, runs `revsched run PLAY --dry-run` (the summary a person reads)
and the same with `--json` (the plan, no rendering for people) against a demo
org of N accounts, and prints the lines each prints and its wall time.

    python benchmarks/output.py                 # 20,000 accounts, every play
    python benchmarks/output.py --accounts 2000 --plays win-back account-review

Targets: the summary is at most 60 lines, and takes less than 1.5x the time of
the --json run (so rendering costs what is shown, not what was planned).
The demo org is built once in a temporary REVSCHED_HOME (or --home, reused).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2026-11-23"
MAX_LINES = 60
MAX_RATIO = 1.5


def revsched(home: Path, *args: str) -> tuple[float, str]:
    """Run revsched as a user's shell would (stdout piped, 80 columns); (seconds, stdout)."""
    env = {**os.environ, "REVSCHED_HOME": str(home), "COLUMNS": "80"}
    env.pop("REVSCHED_CONFIG", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "revsched", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=home,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"revsched {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--plays", nargs="*", help="default: every play")
    parser.add_argument("--home", type=Path, help="reuse this REVSCHED_HOME (demo org kept)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="revsched-output-"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "demo-org.sqlite").exists():
        seconds, _ = revsched(home, "demo", "--accounts", str(args.accounts), "--as-of", AS_OF)
        print(f"demo org of {args.accounts:,} accounts built in {seconds:.1f} s at {home}")
    plays = args.plays or [
        play["name"] for play in json.loads(revsched(home, "plays", "--json")[1])
    ]
    print(
        f"{'play':<22} {'lines':>6} {'--all lines':>11} {'summary s':>10} {'--json s':>9}"
        f" {'ratio':>6}  verdict"
    )
    failed = 0
    for play in plays:
        # Untimed, first: a play's first run on an org may build what later runs keep
        # (route-leads' and job-changes' account index), which is not output's cost.
        _, everything = revsched(home, "run", play, "--dry-run", "--all", "--as-of", AS_OF)
        summary_s, summary = revsched(home, "run", play, "--dry-run", "--as-of", AS_OF)
        json_s, _ = revsched(home, "run", play, "--dry-run", "--json", "--as-of", AS_OF)
        lines = len(summary.splitlines())
        ratio = summary_s / json_s
        ok = lines <= MAX_LINES and ratio < MAX_RATIO
        failed += not ok
        print(
            f"{play:<22} {lines:>6,} {len(everything.splitlines()):>11,} {summary_s:>10.1f}"
            f" {json_s:>9.1f} {ratio:>6.2f}  {'ok' if ok else 'OVER'}"
        )
    print(f"targets: <= {MAX_LINES} lines, < {MAX_RATIO}x the --json time; {failed} over")


if __name__ == "__main__":
    main()
