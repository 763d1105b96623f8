"""Dedupe benchmark: 100k demo contacts (with seeded duplicates) matched against the truth.

Prints the four figures issue 6 asks for: seconds to dedupe (normalize, block, compare,
cluster; then, separately, the dedupe-contacts play's whole decide: masters,
survivorship, flags, merges), peak memory of the process (generating the data
included), precision of the pairs merged at the auto-merge threshold, and recall of
the true pairs merged or flagged; the same quality figures for the leads and accounts
generated alongside. Not a test: run it by hand. Reading from Salesforce is not timed.

    .venv/bin/python benchmarks/dedupe.py [--contacts 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

from revsched.jobs.dedupe_contacts import DedupeContactsConfig
from revsched.jobs.dedupe_contacts import play as contacts_play

from revsched.dedupe.cluster import Cluster
from revsched.dedupe.match import (
    MatchRules,
    company,
    lead_company,
    match_companies,
    match_people,
    person,
)
from revsched.localorg.demo import BATCH_ACCOUNTS, QUEUES, USERS, DemoGenerator, Directory
from revsched.localorg.duplicates import DuplicateSeeder
from revsched.play import DecideContext

TODAY = date(2026, 11, 23)
MERGE_THRESHOLD = 0.92
FLAG_THRESHOLD = 0.8
DIRECTORY = Directory(
    users={u.local: f"005BENCH{i:010d}" for i, u in enumerate(USERS)},
    queues={q: f"00GBENCH{i:010d}" for i, q in enumerate(QUEUES)},
)


@dataclass
class Dataset:
    """Records with Ids as the org would give them, and the true duplicate sets by object."""

    records: dict[str, list[dict]] = field(
        default_factory=lambda: {"Contact": [], "Lead": [], "Account": []}
    )
    truth: dict[str, list[tuple[str, ...]]] = field(
        default_factory=lambda: {"Contact": [], "Lead": [], "Account": []}
    )

    def add(self, sobject: str, record: dict) -> str:
        prefix = {"Contact": "003", "Lead": "00Q", "Account": "001"}[sobject]
        record_id = f"{prefix}B{len(self.records[sobject]):014d}"
        name = record.get("Name") or f"{record['FirstName']} {record['LastName']}"
        self.records[sobject].append(
            {
                **record,
                "Id": record_id,
                "Name": name,
                "CreatedDate": str(record["CreatedDate"]),
                "LastActivityDate": None,
                "LastModifiedDate": None,
                "Possible_Duplicate_Of__c": None,
            }
        )
        return record_id


def generate(contacts: int, seed: int) -> Dataset:
    """At least `contacts` contacts, with the leads and accounts generated alongside."""
    generator = DemoGenerator(
        DIRECTORY, accounts=contacts // 4 + BATCH_ACCOUNTS, seed=seed, today=TODAY
    )
    seeder = DuplicateSeeder(seed, TODAY)
    data = Dataset()
    for batch, (account_plans, lead_plans) in enumerate(generator.batches()):
        sets = seeder.seed(account_plans, lead_plans, fixtures=batch == 0)
        account_ids, contact_ids = [], []
        for plan in account_plans:
            account_id = data.add("Account", plan.account)
            account_ids.append(account_id)
            contact_ids.append(
                [data.add("Contact", {**c, "AccountId": account_id}) for c in plan.contacts]
            )
        lead_ids = [data.add("Lead", p.lead) for p in lead_plans]
        for s in sets:
            ids = []
            for _sobject, position in s.members:
                if isinstance(position, tuple):
                    ids.append(contact_ids[position[0]][position[1]])
                else:
                    ids.append((account_ids if s.sobject == "Account" else lead_ids)[position])
            data.truth[s.sobject].append(tuple(ids))
        if len(data.records["Contact"]) >= contacts:
            break
    del data.records["Contact"][contacts:]
    kept = {c["Id"] for c in data.records["Contact"]}
    data.truth["Contact"] = [t for t in data.truth["Contact"] if set(t) <= kept]
    return data


def pairs(groups: Iterable[tuple[str, ...]]) -> set[tuple[str, str]]:
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def quality(clusters: list[Cluster], truth: list[tuple[str, ...]]) -> tuple[float, float, int]:
    """(precision of merged pairs, recall of true pairs merged or flagged, true pairs)."""
    true_pairs = pairs(truth)
    merged = pairs(g for c in clusters for g in c.groups(MERGE_THRESHOLD) if len(g) > 1)
    found = pairs(c.members for c in clusters)
    precision = len(merged & true_pairs) / len(merged) if merged else 1.0
    recall = len(found & true_pairs) / len(true_pairs) if true_pairs else 1.0
    return precision, recall, len(true_pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    data = generate(args.contacts, args.seed)
    contacts = data.records["Contact"]
    rules = MatchRules()
    started = time.perf_counter()
    people = [person(c, c["AccountId"], rules, ("Phone", "MobilePhone")) for c in contacts]
    clusters = match_people(people, rules, FLAG_THRESHOLD)
    seconds = time.perf_counter() - started

    started = time.perf_counter()
    ctx = DecideContext(as_of=TODAY, config=DedupeContactsConfig())
    users = [{"Id": DIRECTORY.users["integration"], "Username": "integration@demo.revsched.dev"}]
    plan = contacts_play.decide({"contacts": contacts, "integration_users": users}, ctx)
    plan_seconds = time.perf_counter() - started

    leads = data.records["Lead"]
    lead_people = [
        person(r, lead_company(r["Email"], r["Website"], r["Company"]), rules, ("Phone",))
        for r in leads
    ]
    lead_clusters = match_people(lead_people, rules, FLAG_THRESHOLD)
    companies = [company(r) for r in data.records["Account"]]
    account_clusters = match_companies(companies, rules, FLAG_THRESHOLD)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    precision, recall, true_pairs = quality(clusters, data.truth["Contact"])
    print(f"contacts                 {len(contacts):>10,}   ({true_pairs:,} true duplicate pairs)")
    print(f"dedupe time (matching)   {seconds:>10.1f} s   (target <= 60 s)")
    print(
        f"whole play decide        {plan_seconds:>10.1f} s   ({len(plan.merges):,} merges,"
        f" {len(plan.changes):,} field changes)"
    )
    print(f"peak memory (process)    {peak_mb:>10.0f} MB  (target <= 1024 MB)")
    print(f"precision at merge {MERGE_THRESHOLD:.2f}  {precision:>10.4f}   (target >= 0.98)")
    print(f"recall merge-or-flag     {recall:>10.4f}   (target >= 0.90)")
    for sobject, found in (("Lead", lead_clusters), ("Account", account_clusters)):
        precision, recall, true_pairs = quality(found, data.truth[sobject])
        count = len(data.records[sobject])
        print(
            f"{sobject.lower()}s {count:>8,}: precision {precision:.4f}, recall {recall:.4f}"
            f" ({true_pairs:,} true pairs)"
        )


if __name__ == "__main__":
    main()
