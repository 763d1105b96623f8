"""Local org benchmark: prints figures against the targets of issue 3 (not a test).

    .venv/bin/python benchmarks/localorg.py [--accounts 100000] [--updates 10000]

1. builds the demo org (`revsched demo --accounts N`)      target <= 60 s at 100k
2. serves it in a subprocess and pages every Account with simple-salesforce
   (query_all_iter, 2000-row pages)                         target >= 20k rows/s
3. updates accounts 200 at a time through sObject Collections
                                                            target >= 10k records/s
4. reports the server process's peak resident memory (VmHWM) target <= 500 MB
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

from revsched.localorg import connect
from revsched.localorg.demo import build_demo_org

SERVER = """
import sys
from revsched.localorg import serve
serve(sys.argv[1], port=int(sys.argv[2]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: the machine may be shared, so the benchmark
    also reports rates per second of the server's own CPU."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.sqlite"
        start, cpu_start = time.perf_counter(), time.process_time()
        build_demo_org(path, accounts=args.accounts, seed=7, today=date(2026, 11, 23)).close()
        build, build_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        print(
            f"demo --accounts {args.accounts}: {build:.1f} s, CPU {build_cpu:.1f} s "
            f"(target <= 60 s at 100k); load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} CPUs"
        )

        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(path), str(port)])
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{url}/services/data/v62.0/limits/", timeout=1)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            sf = connect(url)
            cpu = cpu_seconds(server.pid)
            start = time.perf_counter()
            rows = sum(
                1
                for _ in sf.query_all_iter(
                    "SELECT Id, Name, OwnerId, Type, Industry, CreatedDate FROM Account"
                )
            )
            paging = time.perf_counter() - start
            cpu = cpu_seconds(server.pid) - cpu
            print(
                f"SOQL paging: {rows} rows in {paging:.2f} s = {rows / paging:,.0f} rows/s "
                f"(target >= 20,000); server CPU {cpu:.2f} s = {rows / cpu:,.0f} rows/CPU-s"
            )

            ids = [
                r["Id"] for r in sf.query_all_iter(f"SELECT Id FROM Account LIMIT {args.updates}")
            ]
            cpu = cpu_seconds(server.pid)
            start = time.perf_counter()
            for i in range(0, len(ids), 200):
                records = [
                    {"attributes": {"type": "Account"}, "Id": record_id, "Industry": "Retail"}
                    for record_id in ids[i : i + 200]
                ]
                results = sf.restful(
                    "composite/sobjects", method="PATCH", json={"records": records}
                )
                assert all(r["success"] for r in results), results[:1]
            updates = time.perf_counter() - start
            cpu = cpu_seconds(server.pid) - cpu
            print(
                f"collection updates: {len(ids)} records in {updates:.2f} s = "
                f"{len(ids) / updates:,.0f} records/s (target >= 10,000); server CPU "
                f"{cpu:.2f} s = {len(ids) / cpu:,.0f} records/CPU-s"
            )
            print(f"server peak memory: {peak_rss_mb(server.pid):.0f} MB (target <= 500 MB)")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
