"""route-leads' incremental run at scale: rows read, API calls and seconds.

Builds a local org with `--leads` leads (default 500k) of which `--changed` (2,000) were
modified and MQL'd since the last run, and `--accounts` accounts (1M); the changed leads'
email domains are those of existing accounts (70%), free mail (20%) or unknown (10%).
The state store holds a watermark 15 minutes old, as after a run a quarter-hour ago.
Then one applied run of route-leads through the runner, in process (no HTTP latency),
and prints what it read (rows per query), the API calls the org counted, and the seconds
of each step: reading the changed leads, the candidate accounts (looked up in the
account index kept between runs, then read by Id), deciding, and writing. The index is
built first, as a first run (or a run after lost local state) builds it, and that cost
is printed on its own.

    python benchmarks/route_leads.py                                   # 500k / 2,000 / 1M
    python benchmarks/route_leads.py --leads 50000 --accounts 100000   # a quick look
    python benchmarks/route_leads.py --org /tmp/rl.sqlite --keep      # reuse a built org

Under `nice` on a shared machine the figures are pessimistic.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from revsched import record_index
from revsched.alerts import AlertRenderer
from revsched.config import Settings
from revsched.jobs.route_leads import account_index
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.play import load_plays
from revsched.runner import run_play
from revsched.state import StateStore

TODAY = date(2026, 11, 23)
BATCH = 20_000
COUNTRIES = ("US", "United States", "Germany", "France", "Brazil", "Japan", "Canada", "UK")


class CountingGateway(OrgGateway):
    """The org, counting the rows each query returns (by object and query kind)."""

    def __init__(self, org: LocalOrg) -> None:
        super().__init__(org.salesforce)
        self.reads: list[tuple[str, int, float]] = []

    def query(self, soql: str, config_hint: str | None = None) -> list[dict[str, Any]]:
        start = time.perf_counter()
        rows = super().query(soql, config_hint)
        self.reads.append((_label(soql), len(rows), time.perf_counter() - start))
        return rows


def _label(soql: str) -> str:
    """What a query reads, in words: its object and how it selects."""
    sobject = re.search(r" FROM (Lead|Account|User|Group) ", soql)
    for marker, how in (
        ("Id IN (SELECT LeadId", "partner campaign joiners"),
        ("SELECT Id, Name FROM", "names of the lookup values written (audit)"),
        ("SystemModstamp >=", "changed since the watermark"),
        ("Id IN (", "candidates by Id from the account index"),
        ("Username IN", "pool members and named users"),
        ("DeveloperName IN", "queues"),
    ):
        if marker in soql:
            return f"{sobject.group(1) if sobject else '?'}: {how}"
    return sobject.group(1) if sobject else "?"


def build(path: Path, leads: int, changed: int, accounts: int, seed: int) -> None:
    """The demo org's users, queues and routing fixtures, then the bulk of leads and accounts."""
    rng = random.Random(seed)
    org = build_demo_org(path, accounts=0, seed=seed, today=TODAY)
    integration = org.salesforce().query(
        "SELECT Id FROM User WHERE Username = 'integration@demo.revsched.dev'"
    )["records"][0]["Id"]
    old = datetime.combine(TODAY - timedelta(days=60), datetime.min.time(), UTC)
    started = time.perf_counter()
    for start in range(0, accounts, BATCH):
        org.insert(
            "Account",
            [
                {
                    "Name": f"Company {n:07d}",
                    "Website": f"https://www.company{n:07d}.com",
                    "Type": "Customer" if n % 3 == 0 else "Prospect",
                    "OwnerId": integration,
                    "CreatedDate": old,
                }
                for n in range(start, min(accounts, start + BATCH))
            ],
        )
    print(f"built {accounts:,} accounts in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    recent = datetime.now(UTC).replace(year=TODAY.year, month=TODAY.month, day=TODAY.day)
    recent -= timedelta(minutes=5)
    for start in range(0, leads, BATCH):
        rows = []
        for n in range(start, min(leads, start + BATCH)):
            fresh = n >= leads - changed
            pick = rng.random()
            domain = (
                f"company{rng.randrange(accounts):07d}.com"
                if pick < 0.7
                else ("gmail.com" if pick < 0.9 else f"nowhere{n}.io")
            )
            rows.append(
                {
                    "LastName": f"Lead {n}",
                    "Company": f"Company {rng.randrange(accounts):07d}",
                    "Email": f"person{n}@{domain}",
                    "Country": rng.choice(COUNTRIES),
                    "Status": "Open",
                    "OwnerId": integration,
                    "CreatedById": integration,
                    "Person_Score__c": 10,
                    "MQL_Date__c": recent if fresh else old,
                    "Last_Routed_Date__c": None if fresh else old + timedelta(hours=1),
                    "CreatedDate": recent if fresh else old,
                    "LastModifiedDate": recent if fresh else old,
                    "SystemModstamp": recent if fresh else old,
                }
            )
        org.insert("Lead", rows)
    print(f"built {leads:,} leads in {time.perf_counter() - started:.0f} s", flush=True)
    org.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=500_000)
    parser.add_argument("--changed", type=int, default=2_000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--org", type=Path, help="org file to build (or reuse with --keep)")
    parser.add_argument("--keep", action="store_true", help="reuse --org if it exists")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="route-leads-"))
    path = args.org or folder / "org.sqlite"
    if not (args.keep and path.exists()):
        build(path, args.leads, args.changed, args.accounts, args.seed)
    org = LocalOrg(path, today=lambda: TODAY)
    gateway = CountingGateway(org)
    store = StateStore(f"sqlite:///{folder / 'state.sqlite'}")
    # Where a run a quarter-hour ago left off (in the org clock's day).
    now = datetime.now(UTC).replace(year=TODAY.year, month=TODAY.month, day=TODAY.day)
    store.save_watermark("route-leads", now - timedelta(minutes=15))
    settings = Settings(plays={"route-leads": {"digest_time": "23:59:59"}})
    play = load_plays(settings)["route-leads"]
    # The account index, as the first run (or one after lost local state) builds it.
    index = account_index(play.configure(settings))
    calls_before = org.storage.calls_today()
    started = time.perf_counter()
    indexed = record_index.refresh(index, store, gateway, now - timedelta(minutes=15))
    print(
        f"account index built: {indexed:,} accounts in {time.perf_counter() - started:.1f} s,"
        f" {org.storage.calls_today() - calls_before:,} API calls (first run only)"
    )
    print(
        f"\nroute-leads, {args.leads:,} leads ({args.changed:,} changed),"
        f" {args.accounts:,} accounts"
    )
    measure("incremental run", org, gateway, store, settings)
    # The next quarter-hour with no new MQLs: it reads again the leads the run wrote.
    measure("next run, nothing new", org, gateway, store, settings)


def measure(
    title: str, org: LocalOrg, gateway: CountingGateway, store: StateStore, settings: Settings
) -> None:
    """One applied run of route-leads, and what it read, called and took."""
    gateway.reads.clear()
    calls_before = org.storage.calls_today()
    started = time.perf_counter()
    result = run_play(
        load_plays(settings)["route-leads"],
        settings,
        as_of=TODAY,
        dry_run=False,
        store=store,
        org=gateway,
        renderer=AlertRenderer(gateway.instance_url),
        notifier=_Quiet(),
    )
    total = time.perf_counter() - started
    calls = org.storage.calls_today() - calls_before
    print(f"{title}:")
    rows: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    queries: Counter[str] = Counter()
    for label, count, spent in gateway.reads:
        rows[label] += count
        seconds[label] += spent
        queries[label] += 1
    for label in rows:
        print(
            f"  read {rows[label]:>9,} rows  {queries[label]:>3} queries"
            f"  {seconds[label]:6.1f} s  {label}"
        )
    print(f"  rows read in all: {sum(rows.values()):,}")
    print(f"  API calls: {calls:,}")
    print(
        f"  routed: {len(result.plan.selected):,}; skipped: {len(result.plan.skipped):,}; "
        f"field changes written: {result.counts['applied']:,}; status {result.status}"
    )
    print(f"  seconds: {total:.1f} in all ({sum(seconds.values()):.1f} reading)")


class _Quiet:
    def deliver(self, alerts: Any) -> dict[tuple[str, str], str | None]:
        return {alert.key: None for alert in alerts}


if __name__ == "__main__":
    main()
