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
        start = time.perf_counter()
        build_demo_org(path, accounts=args.accounts, seed=7, today=date(2026, 11, 23)).close()
        build = time.perf_counter() - start
        print(f"demo --accounts {args.accounts}: {build:.1f} s (target <= 60 s at 100k)")

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
            start = time.perf_counter()
            rows = sum(
                1
                for _ in sf.query_all_iter(
                    "SELECT Id, Name, OwnerId, Type, Industry, CreatedDate FROM Account"
                )
            )
            paging = time.perf_counter() - start
            print(
                f"SOQL paging: {rows} rows in {paging:.2f} s = {rows / paging:,.0f} rows/s "
                "(target >= 20,000)"
            )

            ids = [
                r["Id"] for r in sf.query_all_iter(f"SELECT Id FROM Account LIMIT {args.updates}")
            ]
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
            print(
                f"collection updates: {len(ids)} records in {updates:.2f} s = "
                f"{len(ids) / updates:,.0f} records/s (target >= 10,000)"
            )
            print(f"server peak memory: {peak_rss_mb(server.pid):.0f} MB (target <= 500 MB)")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
