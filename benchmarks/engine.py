"""revsched against the script a competent engineer writes by hand, by size and path.

For N changed records on a local org served over HTTP with a fixed latency per call,
runs a one-query, one-field play through revsched's runner on the REST path
(sObject Collections) and on the Bulk API 2.0 path, and beside each its peer: the
hand-written simple-salesforce script for the same job, against the same served org
with the same latency:

- REST peer: `query_all_iter`, then 200-record Collections PATCHes, 4 in flight;
- Bulk peer: a Bulk 2.0 query, then one Bulk 2.0 update job from a CSV file.

Runs are interleaved (revsched, peer, revsched, peer...) so the machine's load falls on
both alike, and the medians of `--repeats` are printed with the revsched/peer ratios of
wall time, API calls and peak memory, and the client's CPU time per record; beside the
wall ratio, the lowest and highest ratio of a run to the peer's run beside it (the spread
the machine's load gives).

    python benchmarks/engine.py                       # N = 10k, 100k, 300k; 50 ms per call
    python benchmarks/engine.py --million             # and 1M (takes a while)
    python benchmarks/engine.py --sizes 1000 --repeats 1 --latency 0.01
    python benchmarks/engine.py --naive               # also one call per record (sampled)

Each measurement runs in a fresh process so its peak memory is its own; its clock starts
once the process has imported what it uses and revsched's state store exists (an
installation's state store outlives its runs), so both sides are timed from the first call.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

TARGETS = (
    "wall revsched/peer <= 1.15 at 100k and 300k; calls <= the peer's; "
    "peak RSS <= 1.2x the Bulk peer's at 300k and 1M; CPU per record flat within 15%"
)
NEVER = 10**9
SOQL = "SELECT Id, Name, Health_Score__c FROM Account"
TARGET_SCORE = 50.0
PAIRS = {"rest": "peer-rest", "bulk": "peer-bulk"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build_org(path: Path, size: int) -> None:
    from revsched.localorg import LocalOrg

    org = LocalOrg(path)
    owner = org.running_user_id
    batch = 20_000
    for start in range(0, size, batch):
        org.insert(
            "Account",
            [
                {"Name": f"Account {n:07d}", "OwnerId": owner, "Health_Score__c": 1.0}
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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the local org server did not start")


def _calls(path: Path) -> int:
    """Calls the org counted today, read from its file (no import of the org's code)."""
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT SUM(used) FROM _api_usage").fetchone()
    return int(row[0] or 0)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(template: Path, size: int, mode: str, latency: float, naive: int) -> dict[str, Any]:
    """One measurement, in this process: its peak memory and CPU time are this process's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "org.sqlite"
        shutil.copyfile(template, path)
        port = _free_port()
        server = _serve(path, port, latency)
        try:
            before = _calls(path)
            job = RUNNERS[mode](f"http://127.0.0.1:{port}", Path(tmp), naive)
            cpu, started = _cpu(), time.monotonic()
            done = job()
            seconds, cpu = time.monotonic() - started, _cpu() - cpu
            calls = _calls(path) - before
        finally:
            server.terminate()
            server.wait()
    scale = size / done if done else 1
    return {
        "n": size,
        "mode": mode,
        "calls": round(calls * scale),
        "seconds": seconds * scale,
        "cpu_us": cpu / done * 1e6 if done else 0.0,
        "cpu_s": cpu,
        "sampled": done if done < size else None,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _revsched(url: str, tmp: Path, mode: str) -> Callable[[], int]:
    from revsched.alerts import AlertRenderer
    from revsched.config import ApiSettings, OrgSettings, Settings
    from revsched.org import connect_org
    from revsched.plan import Plan, diff_changes
    from revsched.play import DecideContext, Play, PlayConfig, Records
    from revsched.runner import run_play
    from revsched.state import StateStore

    def queries(ctx: DecideContext[PlayConfig]) -> dict[str, str]:
        return {"accounts": SOQL}

    def decide(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
        target = {"Health_Score__c": (TARGET_SCORE, "benchmark")}
        changes = [c for a in records["accounts"] for c in diff_changes("Account", a, target)]
        return Plan(play="benchmark-touch", as_of=ctx.as_of, changes=tuple(changes))

    class Silent:
        def deliver(self, alerts: Sequence[object]) -> dict[tuple[str, str], str | None]:
            """The benchmark play sends no alerts."""
            return {}

    threshold = 0 if mode == "bulk" else NEVER
    settings = Settings(
        org=OrgSettings(url=url),
        api=ApiSettings(bulk_read_threshold=threshold, bulk_write_threshold=threshold),
    )
    # Decided an account at a time, so it streams: a page's plan is that page's part.
    touch = Play(
        "benchmark-touch",
        "Set one field on every account",
        PlayConfig,
        queries,
        decide,
        streams="accounts",
    )
    state_url = f"sqlite:///{tmp / 'state.sqlite'}"
    # Created beforehand by another process, as an installation's store outlives its runs:
    # this one opens a store at the newest level (creating one loads the migrations).
    create = "import sys; from revsched.state import StateStore; StateStore(sys.argv[1])"
    subprocess.run([sys.executable, "-c", create, state_url], check=True)
    store = StateStore(state_url)
    # Loads the client's modules (no call is made), as the peers import theirs before the clock.
    connect_org(settings, date.today())

    def run() -> int:
        org = connect_org(settings, date.today())
        result = run_play(
            touch,
            settings,
            as_of=date.today(),
            dry_run=False,
            store=store,
            org=org,
            renderer=AlertRenderer(org.instance_url),
            notifier=Silent(),
        )
        if result.status != "succeeded":
            raise RuntimeError(f"{mode} run {result.status}: {list(result.failures.items())[:3]}")
        return int(result.counts["applied"])

    return run


def _script_client(url: str) -> Any:
    """simple-salesforce on the served org, as a script reaches a local server: its URLs
    are https://, so the session sends them over plain http (no revsched code loaded)."""
    import requests
    from requests.adapters import HTTPAdapter
    from simple_salesforce import Salesforce

    class PlainHttp(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            request.url = request.url.replace("https://", "http://", 1)
            return super().send(request, *args, **kwargs)

    session = requests.Session()
    session.mount("https://", PlainHttp())
    return Salesforce(instance_url=url, session_id="local", session=session, version="62.0")


def _peer_rest(url: str, tmp: Path, naive: int) -> Callable[[], int]:
    """The hand-written REST script: query_all_iter, then 200-record PATCHes, 4 in flight."""

    def run() -> int:
        sf = _script_client(url)
        todo = [
            {"attributes": {"type": "Account"}, "Id": r["Id"], "Health_Score__c": TARGET_SCORE}
            for r in sf.query_all_iter(SOQL)
            if r["Health_Score__c"] != TARGET_SCORE
        ]

        def patch(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            body = {"allOrNone": False, "records": chunk}
            return sf.restful("composite/sobjects", method="PATCH", json=body)

        chunks = [todo[i : i + 200] for i in range(0, len(todo), 200)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(r["success"] for results in pool.map(patch, chunks) for r in results)

    _script_client(url)  # imports
    return run


def _peer_bulk(url: str, tmp: Path, naive: int) -> Callable[[], int]:
    """The hand-written Bulk script: a Bulk 2.0 query, then one Bulk 2.0 update job."""

    def run() -> int:
        sf = _script_client(url)
        upload = tmp / "update.csv"
        with upload.open("w", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(["Id", "Health_Score__c"])
            for page in sf.bulk2.Account.query(SOQL, max_records=50_000, wait=1):
                for row in csv.DictReader(io.StringIO(page)):
                    if float(row["Health_Score__c"] or "nan") != TARGET_SCORE:
                        writer.writerow([row["Id"], TARGET_SCORE])
        jobs = sf.bulk2.Account.update(csv_file=str(upload), wait=1)
        return sum(j["numberRecordsProcessed"] - j["numberRecordsFailed"] for j in jobs)

    _script_client(url)  # imports
    return run


def _naive(url: str, tmp: Path, sample: int) -> Callable[[], int]:
    """What a first script does: query, then one update call per record (sampled)."""

    def run() -> int:
        sf = _script_client(url)
        records = sf.query(f"SELECT Id FROM Account LIMIT {sample}")["records"]
        for record in records:
            sf.Account.update(record["Id"], {"Health_Score__c": TARGET_SCORE})
        return len(records)

    _script_client(url)  # imports
    return run


RUNNERS = {
    "rest": lambda url, tmp, naive: _revsched(url, tmp, "rest"),
    "bulk": lambda url, tmp, naive: _revsched(url, tmp, "bulk"),
    "peer-rest": _peer_rest,
    "peer-bulk": _peer_bulk,
    "naive": _naive,
}


def _one(template: Path, size: int, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", str(template), str(size), mode]
    command += ["--latency", str(args.latency), "--naive-sample", str(args.naive_sample)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _fixed_cpu(paths: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Each path's median CPU seconds for a run of the same play on an org with no accounts:
    what a run costs whatever its N (the state store's lease, settlement and audit rows,
    the first SQL statements and validators the process builds, the query's calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.sqlite"
        subprocess.run([sys.executable, __file__, "--build", str(empty), "0"], check=True)
        runs = {path: [_one(empty, 0, path, args) for _ in range(args.repeats)] for path in paths}
    return {path: _median(rows, "cpu_s") for path, rows in runs.items()}


def _report(size: int, results: dict[str, list[dict[str, Any]]], fixed: dict[str, float]) -> None:
    for mode, peer in PAIRS.items():
        if mode not in results:
            continue
        ours, theirs = results[mode], results[peer]
        wall, peer_wall = _median(ours, "seconds"), _median(theirs, "seconds")
        # Each run against the peer's run beside it: how far the load moved the ratio.
        paired = [a["seconds"] / b["seconds"] for a, b in zip(ours, theirs, strict=True)]
        calls, peer_calls = _median(ours, "calls"), _median(theirs, "calls")
        mb, peer_mb = _median(ours, "peak_mb"), _median(theirs, "peak_mb")
        cpu, peer_cpu = _median(ours, "cpu_us"), _median(theirs, "cpu_us")
        net = (_median(ours, "cpu_s") - fixed[mode]) / size * 1e6
        print(
            f"{size:>9,} {mode:>5} {wall:>8.1f} {peer_wall:>8.1f} {wall / peer_wall:>6.2f}"
            f" {min(paired):>5.2f}-{max(paired):<5.2f}"
            f" {calls:>7.0f} {peer_calls:>7.0f} {calls / peer_calls:>6.2f}"
            f" {mb:>7.0f} {peer_mb:>7.0f} {mb / peer_mb:>6.2f}"
            f" {cpu:>7.0f} {peer_cpu:>7.0f} {net:>7.0f}",
            flush=True,
        )
    if "naive" in results:
        row = results["naive"][0]
        print(
            f"{size:>9,} naive {row['seconds']:>8.0f} (one call per record, "
            f"{row['calls']:,} calls, extrapolated from {row['sampled']})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--million", action="store_true", help="also N = 1,000,000")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per figure")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--paths", default="rest,bulk", help="rest, bulk or both")
    parser.add_argument("--naive", action="store_true", help="also one call per record")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=200,
        help="records the naive loop really writes; the rest is extrapolated",
    )
    parser.add_argument("--one", nargs=3, metavar=("ORG", "N", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        _build_org(Path(args.build[0]), int(args.build[1]))
        return
    if args.one:
        org, size, mode = args.one
        print(json.dumps(measure(Path(org), int(size), mode, args.latency, args.naive_sample)))
        return
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    paths = [p for p in args.paths.split(",") if p in PAIRS]
    print(f"latency {args.latency * 1000:.0f} ms per call; medians of {args.repeats} interleaved")
    print(f"targets: {TARGETS}")
    fixed = _fixed_cpu(paths, args)
    shown = ", ".join(f"{path} {seconds * 1000:.0f} ms" for path, seconds in fixed.items())
    print(
        f"net: revsched's CPU us/record less a run's fixed CPU, that of the same play's run"
        f" on an org with no accounts ({shown}; medians of {args.repeats})"
    )
    print(
        f"{'N':>9} {'path':>5} {'wall s':>8} {'peer s':>8} {'ratio':>6} {'paired':>11} "
        f"{'calls':>7} {'peer':>7} {'ratio':>6} {'peak MB':>7} {'peer':>7} {'ratio':>6} "
        f"{'CPU us/rec':>7} {'peer':>7} {'net':>7}"
    )
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            template = Path(tmp) / "template.sqlite"
            # Built in another process: its memory is the org's, not a run's.
            subprocess.run(
                [sys.executable, __file__, "--build", str(template), str(size)], check=True
            )
            results: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.repeats):
                for path in paths:
                    for mode in (path, PAIRS[path]):
                        results.setdefault(mode, []).append(_one(template, size, mode, args))
            if args.naive:
                results["naive"] = [_one(template, size, "naive", args)]
            _report(size, results, fixed)


if __name__ == "__main__":
    main()
