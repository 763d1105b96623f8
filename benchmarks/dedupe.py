"""Dedupe benchmark: 100k demo contacts (with seeded duplicates) matched against the truth.

Prints the four figures issue 6 asks for: seconds to dedupe (normalize, block, compare,
cluster), peak memory of the process, precision of the pairs merged at the auto-merge
threshold, and recall of the true pairs merged or flagged. Not a test: run it by hand.

    .venv/bin/python benchmarks/dedupe.py [--contacts 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterable
from datetime import date
from itertools import combinations

from revsched.dedupe.cluster import Cluster
from revsched.dedupe.match import MatchRules, match_people, person
from revsched.localorg.demo import BATCH_ACCOUNTS, QUEUES, USERS, DemoGenerator, Directory
from revsched.localorg.duplicates import DuplicateSeeder

MERGE_THRESHOLD = 0.92
FLAG_THRESHOLD = 0.8
DIRECTORY = Directory(
    users={u.local: f"005BENCH{i:010d}" for i, u in enumerate(USERS)},
    queues={q: f"00GBENCH{i:010d}" for i, q in enumerate(QUEUES)},
)


def contacts_with_truth(count: int, seed: int) -> tuple[list[dict], list[tuple[str, ...]]]:
    """At least `count` contacts with Ids and AccountIds, and the true duplicate sets."""
    accounts = count // 4 + BATCH_ACCOUNTS
    generator = DemoGenerator(DIRECTORY, accounts=accounts, seed=seed, today=date(2026, 11, 23))
    seeder = DuplicateSeeder(seed, date(2026, 11, 23))
    contacts: list[dict] = []
    truth: list[tuple[str, ...]] = []
    for batch, (account_plans, lead_plans) in enumerate(generator.batches()):
        sets = seeder.seed(account_plans, lead_plans, fixtures=batch == 0)
        ids: list[list[str]] = []
        for a, plan in enumerate(account_plans):
            account_id = f"001B{batch:05d}{a:09d}"
            ids.append([])
            for contact in plan.contacts:
                contact_id = f"003B{len(contacts):014d}"
                contacts.append({**contact, "Id": contact_id, "AccountId": account_id})
                ids[-1].append(contact_id)
        truth += [
            tuple(ids[a][c] for _s, (a, c) in s.members)  # type: ignore[misc]
            for s in sets
            if s.sobject == "Contact"
        ]
        if len(contacts) >= count:
            break
    del contacts[count:]
    kept = {c["Id"] for c in contacts}
    return contacts, [t for t in truth if all(i in kept for i in t)]


def pairs(groups: Iterable[tuple[str, ...]]) -> set[tuple[str, str]]:
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    contacts, truth = contacts_with_truth(args.contacts, args.seed)
    rules = MatchRules()
    started = time.perf_counter()
    people = [person(c, c["AccountId"], rules, ("Phone", "MobilePhone")) for c in contacts]
    clusters: list[Cluster] = match_people(people, rules, FLAG_THRESHOLD)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    true_pairs = pairs(truth)
    merged = pairs(g for c in clusters for g in c.groups(MERGE_THRESHOLD) if len(g) > 1)
    found = pairs(c.members for c in clusters)
    precision = len(merged & true_pairs) / len(merged) if merged else 1.0
    recall = len(found & true_pairs) / len(true_pairs) if true_pairs else 1.0

    print(f"contacts                 {len(contacts):>10,}")
    print(f"true duplicate pairs     {len(true_pairs):>10,}")
    print(f"clusters (merge or flag) {len(clusters):>10,}")
    print(f"dedupe time              {seconds:>10.1f} s   (target <= 60 s)")
    print(f"peak memory (process)    {peak_mb:>10.0f} MB  (target <= 1024 MB)")
    print(f"precision at merge {MERGE_THRESHOLD:.2f}  {precision:>10.4f}   (target >= 0.98)")
    print(f"recall merge-or-flag     {recall:>10.4f}   (target >= 0.90)")


if __name__ == "__main__":
    main()
