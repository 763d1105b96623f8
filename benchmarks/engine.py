"""How many API calls, how long and how much memory a run takes, by size and path.

For N changed records on a local org served over HTTP with a fixed latency per
call, runs a one-query, one-field play through revsched's runner on the REST
path (collections) and on the Bulk API 2.0 path, and a naive one-call-per-record
loop for comparison, and prints each against the floor of
ceil(N/2000) query calls + ceil(N/200) writes.

    python benchmarks/engine.py                      # N = 1k, 10k, 100k; 50 ms latency
    python benchmarks/engine.py --sizes 1000 --latency 0.01

Each measurement runs in a fresh process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from revsched.alerts import AlertRenderer
from revsched.config import ApiSettings, OrgSettings, Settings
from revsched.localorg import LocalOrg
from revsched.org import connect_org
from revsched.plan import Plan, diff_changes
from revsched.play import DecideContext, Play, PlayConfig, Records
from revsched.runner import run_play
from revsched.state import StateStore

TARGETS = "REST <= floor + 5 calls; Bulk <= 12 calls; 100k-record run <= 300 MB peak"
NEVER = 10**9


class TouchConfig(PlayConfig):
    value: float = 50.0


def _queries(ctx: DecideContext[TouchConfig]) -> dict[str, str]:
    return {"accounts": "SELECT Id, Name, Health_Score__c FROM Account"}


def _decide(records: Records, ctx: DecideContext[TouchConfig]) -> Plan:
    changes = [
        change
        for account in records["accounts"]
        for change in diff_changes(
            "Account", account, {"Health_Score__c": (ctx.config.value, "benchmark")}
        )
    ]
    return Plan(play="benchmark-touch", as_of=ctx.as_of, changes=tuple(changes))


TOUCH = Play("benchmark-touch", "Set one field on every account", TouchConfig, _queries, _decide)


class Silent:
    def deliver(self, alerts: Sequence[object]) -> dict[tuple[str, str], str | None]:
        """The benchmark play sends no alerts."""
        return {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build_org(path: Path, size: int) -> None:
    org = LocalOrg(path)
    owner = org.running_user_id
    batch = 20_000
    for start in range(0, size, batch):
        org.insert(
            "Account",
            [
                {"Name": f"Account {n:06d}", "OwnerId": owner, "Health_Score__c": 1.0}
                for n in range(start, min(size, start + batch))
            ],
        )
    org.close()


def _serve(path: Path, port: int, latency: float) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from revsched.localorg import FaultProfile, serve; "
        "serve(sys.argv[1], port=int(sys.argv[2]), faults=FaultProfile(latency=float(sys.argv[3])))"
    )
    server = subprocess.Popen([sys.executable, "-c", code, str(path), str(port), str(latency)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the local org server did not start")


def _calls(path: Path) -> int:
    org = LocalOrg(path)
    used = org.api_usage()[0]
    org.close()
    return used


def measure(size: int, mode: str, latency: float, naive_sample: int) -> dict[str, Any]:
    """One measurement, in this process: its peak memory is this process's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "org.sqlite"
        # Built in another process: its memory is the org's, not the run's.
        subprocess.run([sys.executable, __file__, "--build", str(path), str(size)], check=True)
        port = _free_port()
        server = _serve(path, port, latency)
        try:
            before = _calls(path)
            started = time.monotonic()
            if mode == "naive":
                done = _naive(port, min(size, naive_sample))
            else:
                done = _run(port, Path(tmp), mode)
            seconds = time.monotonic() - started
            calls = _calls(path) - before
        finally:
            server.terminate()
            server.wait()
    scale = size / done if done else 1
    return {
        "n": size,
        "mode": mode,
        "calls": round(calls * scale),
        "seconds": round(seconds * scale, 1),
        "extrapolated_from": done if mode == "naive" and done < size else None,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _run(port: int, tmp: Path, mode: str) -> int:
    threshold = 0 if mode == "bulk" else NEVER
    settings = Settings(
        org=OrgSettings(url=f"http://127.0.0.1:{port}"),
        api=ApiSettings(bulk_read_threshold=threshold, bulk_write_threshold=threshold),
    )
    org = connect_org(settings, date.today())
    result = run_play(
        TOUCH,
        settings,
        as_of=date.today(),
        dry_run=False,
        store=StateStore(f"sqlite:///{tmp / 'state.sqlite'}"),
        org=org,
        renderer=AlertRenderer(org.instance_url),
        notifier=Silent(),
    )
    if result.status != "succeeded":
        raise RuntimeError(f"{mode} run {result.status}: {list(result.failures.items())[:3]}")
    return result.counts["applied"]


def _naive(port: int, sample: int) -> int:
    """What a hand-written script does: query, then one update call per record."""
    from revsched.localorg import connect

    sf = connect(f"http://127.0.0.1:{port}")
    records = sf.query(f"SELECT Id FROM Account LIMIT {sample}")["records"]
    for record in records:
        sf.Account.update(record["Id"], {"Health_Score__c": 50.0})
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=200,
        help="records the naive loop really writes; the rest is extrapolated",
    )
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        _build_org(Path(args.build[0]), int(args.build[1]))
        return
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.latency, args.naive_sample)))
        return
    print(f"latency {args.latency * 1000:.0f} ms per call; targets: {TARGETS}")
    print(f"{'N':>7} {'path':>6} {'calls':>7} {'floor':>6} {'seconds':>8} {'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        floor = math.ceil(size / 2000) + math.ceil(size / 200)
        for mode in ("rest", "bulk", "naive"):
            line = (
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--one",
                        str(size),
                        mode,
                        "--latency",
                        str(args.latency),
                        "--naive-sample",
                        str(args.naive_sample),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            row = json.loads(line)
            note = (
                f" (extrapolated from {row['extrapolated_from']})"
                if row["extrapolated_from"]
                else ""
            )
            print(
                f"{size:>7} {mode:>6} {row['calls']:>7} {floor:>6} {row['seconds']:>8} "
                f"{row['peak_mb']:>8}{note}"
            )


if __name__ == "__main__":
    main()
