"""A dedupe run's rerun, right after its plan is applied, plans nothing: what the run
merges, flags and keeps apart is complete the first time, and the flags it set are
remembered (state store and org), not dropped or set again while no record changed.

Each case is hand-built with its truth written first: who is one person, and the
look-alikes who are not (hard negatives), which no run may merge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import NoAlerts, run_named
from sqlalchemy import select
from test_dedupe_plays import TODAY, USERS, cid, contact, rows

from revsched.config import Settings
from revsched.jobs.dedupe_contacts import DedupeContactsConfig
from revsched.jobs.dedupe_contacts import play as contacts_play
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.play import DecideContext
from revsched.state import StateStore
from revsched.state.models import FiringRow

FLAG = "Possible_Duplicate_Of__c"
HOME = {
    "birthdate_field": "Birthdate",
    "street_field": "MailingStreet",
    "city_field": "MailingCity",
    "postal_code_field": "MailingPostalCode",
}
Fired = frozenset[tuple[str, str]]


def decide(contacts: list[dict[str, Any]], fired: Fired = frozenset(), **config: Any) -> Plan:
    ctx = DecideContext(as_of=TODAY, config=DedupeContactsConfig(**config), fired=fired)
    return contacts_play.decide({"contacts": contacts, "integration_users": USERS}, ctx)


def remembered(plan: Plan) -> Fired:
    """The stages the runner records once the plan is applied (state store and org)."""
    return frozenset((f.record_id, f.stage) for f in plan.firings)


def applied(
    contacts: list[dict[str, Any]], plan: Plan, merges: int | None = None
) -> list[dict[str, Any]]:
    """The contacts once the plan's changes and its first `merges` merge requests (all by
    default) are applied as Salesforce does it: merged records deleted, lookups to them
    moved to their master."""
    into = {r.record_id: m.master_id for m in plan.merges[:merges] for r in m.merged}
    changed = {(c.record_id, c.field): c.new for c in plan.changes}
    left = []
    for row in (c for c in contacts if c["Id"] not in into):
        record = {k: changed.get((row["Id"], k), v) for k, v in row.items()}
        left.append(record | {FLAG: into.get(record[FLAG], record[FLAG])})
    return left


def merged(plan: Plan) -> list[tuple[str, list[str]]]:
    return [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges]


def flags(plan: Plan) -> dict[str, str | None]:
    return {c.record_id: c.new for c in plan.changes if c.field == FLAG}


def role(plan: Plan, n: int) -> tuple[str, str]:
    [decision] = [d for d in plan.decisions if d.record_id == cid(n) and d.stage]
    return decision.stage or "", decision.reason


# Truth: 1, 2 and 3 are Robert Smith, who moved from Acme to Globex (3, "Bob", on his old
# mobile); 4, Robert Smith Jr. at Acme, is his son. 2 and 3 share the mobile only.
SMITHS = [
    contact(1, "Robert", "Smith", Email="rsmith@acme.com", OpportunityContactRoles=rows(1)),
    contact(2, "Robert", "Smith", Email="rsmith@acme.com", MobilePhone="+1 415 555 0199"),
    contact(
        3,
        "Bob",
        "Smith",
        AccountId="001000000000000GLX",
        Email="bob.smith@globex.com",
        MobilePhone="+1 415 555 0199",
    ),
    contact(4, "Robert", "Smith Jr.", Email="robert.smith.jr@acme.com"),
]
# The mobile is not copied to the survivor, so nothing links 3 to it once 2 is merged.
NO_SURVIVORS = {"survivorship": {}}


def test_a_record_flagged_through_a_duplicate_merged_away_keeps_its_flag():
    plan = decide(SMITHS, **NO_SURVIVORS)
    assert merged(plan) == [(cid(1), [cid(2)])]
    assert flags(plan) == {cid(3): cid(1)}
    assert "no direct link to the master (linked through another record)" in role(plan, 3)[1]

    rerun = decide(applied(SMITHS, plan), remembered(plan), **NO_SURVIVORS)

    assert rerun.changes == () and rerun.merges == ()
    stage, reason = role(rerun, 3)
    assert stage == "cluster 1: flag"
    assert reason.startswith(
        "possible duplicate of Robert Smith (003000000000000001), not merged (not linked now;"
        " flagged by an earlier run, and neither changed since): remembered flag 0.80 with"
        " Robert Smith (003000000000000001)"
    )
    assert cid(4) not in {r for _m, ids in merged(rerun) for r in ids}


def test_a_remembered_flag_is_judged_afresh_once_a_record_changes():
    """A rep corrects Bob's mobile: nothing links him to Robert any more, so his flag goes."""
    plan = decide(SMITHS, **NO_SURVIVORS)
    mobile = {cid(3): {"MobilePhone": "+1 415 555 0142"}}
    corrected = [c | mobile.get(c["Id"], {}) for c in applied(SMITHS, plan)]

    rerun = decide(corrected, remembered(plan), **NO_SURVIVORS)

    assert flags(rerun) == {cid(3): None}
    assert rerun.changes[0].reason == "no longer a possible duplicate: its cluster no longer holds"


# Truth: Olivia Johnson (1) and Olivia Jonson (2, her private address) are one person;
# nothing else says so, so she is only flagged.
OLIVIAS = [
    contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
    contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
]


def test_a_flag_a_reviewer_cleared_is_not_set_again_until_a_record_changes():
    plan = decide(OLIVIAS)
    assert flags(plan) == {cid(2): cid(1)}
    reviewed = [OLIVIAS[0], OLIVIAS[1] | {FLAG: None}]  # applied, then cleared by a reviewer

    rerun = decide(reviewed, remembered(plan))

    assert rerun.changes == ()
    stage, reason = role(rerun, 2)
    assert stage == "cluster 1: flag cleared"
    assert reason.startswith(
        "possible duplicate of Olivia Johnson (003000000000000001), not flagged again: its"
        " flag, set by an earlier run, was cleared since, and neither record has changed"
    )
    edited = [OLIVIAS[0], reviewed[1] | {"Email": "olivia.jonson@gmail.com"}]
    assert flags(decide(edited, remembered(plan))) == {cid(2): cid(1)}


def test_a_rebuilt_server_remembers_the_flags_in_the_org(tmp_path: Path):
    """The flag a reviewer cleared stays cleared for a server with an empty state store:
    the flag is remembered in the org's firing records too."""
    org = LocalOrg(tmp_path / "org.sqlite", today=lambda: TODAY)
    [account] = org.insert("Account", [{"Name": "Acme"}])
    master, flagged = org.insert(
        "Contact",
        [
            {k: v for k, v in c.items() if k in ("FirstName", "LastName", "Email")}
            | {"AccountId": account}
            for c in OLIVIAS
        ],
    )
    settings = Settings(plays={"dedupe-contacts": {"integration_users": []}})
    gateway = OrgGateway(org.salesforce)
    first = run_named(
        "dedupe-contacts",
        gateway,
        StateStore(f"sqlite:///{tmp_path / 'a.sqlite'}"),
        NoAlerts(),
        settings=settings,
    )
    assert first.status == "succeeded"
    assert [(c.record_id, c.new) for c in first.plan.changes] == [(flagged, master)]
    org.salesforce().Contact.update(flagged, {FLAG: None})

    rebuilt = StateStore(f"sqlite:///{tmp_path / 'b.sqlite'}")
    rerun = run_named(
        "dedupe-contacts", gateway, rebuilt, NoAlerts(), settings=settings, dry_run=True
    )

    assert rerun.plan.changes == ()
    assert {d.record_id: d.stage for d in rerun.plan.decisions} == {
        master: "cluster 1: master",
        flagged: "cluster 1: flag cleared",
    }


# Truth: 1-4 are Mikaela White and 5-7 Blake Aldous ("Boake", "Blak": typos), born the
# same day; 8, Edward White, is another person at Mikaela's postal code with her
# birthdate. Mikaela's records merge; Blake's only match each other through names that
# differ, so they are flagged.
WHITE = {"MailingStreet": "4 Anzac Park", "MailingCity": "Blair Athol", "MailingPostalCode": "4557"}
ALDOUS = {
    "MailingStreet": "4 Yambina Crescent",
    "MailingCity": "West Perth",
    "MailingPostalCode": "3805",
}
BORN = {"Birthdate": "1981-10-17", "AccountId": None}
WHITES_AND_ALDOUSES = [
    *(contact(n, "Mikaela", "White", **BORN, **WHITE) for n in range(1, 5)),
    contact(5, "Blake", "Aldous", **BORN, **ALDOUS),
    contact(6, "Boake", "Aldous", **BORN, **ALDOUS),
    contact(7, "Blak", "Aldous", **BORN, **ALDOUS),
    contact(8, "Edward", "White", **BORN, MailingCity="Blair Athol", MailingPostalCode="4557"),
]


def test_the_master_stays_once_its_merges_leave_a_larger_set_beside_it():
    """Mikaela's four records are the largest merge set, so she is the master; once they
    are one record, Blake's three (which merge nothing) are the largest. The master its
    flags point at stays: no flag moves."""
    plan = decide(WHITES_AND_ALDOUSES, **HOME)
    assert merged(plan) == [(cid(1), [cid(2), cid(3)]), (cid(1), [cid(4)])]
    assert flags(plan) == {cid(n): cid(1) for n in (5, 6, 7, 8)}

    rerun = decide(applied(WHITES_AND_ALDOUSES, plan), remembered(plan), **HOME)

    assert rerun.changes == () and rerun.merges == ()
    stage, reason = role(rerun, 1)
    assert stage == "cluster 1: master"
    assert reason.startswith("master of 5 records (already its master (4 flagged")


# Truth: 1-6 are Zachary Hope (typos; 6 under another surname, by his birthdate and
# address); 7, Zachary Hope born 1971 at the same address, is his son.
COSTELLO = {
    "Birthdate": "1939-02-17",
    "MailingStreet": "64 Costello Circuit",
    "MailingCity": "Mosman",
    "MailingPostalCode": "2280",
    "AccountId": None,
}
HOPES = [
    contact(1, "Zachary", "Hope", **COSTELLO),
    contact(2, "Zachary", "Hope", **COSTELLO),
    contact(3, "Zachry", "Hope", **COSTELLO),
    contact(4, "Zachary", "Hopd", **COSTELLO),
    contact(5, "Zachery", "Hope", **COSTELLO),
    contact(6, "Zachary", "Ebert", **COSTELLO),
    contact(7, "Zachary", "Hope", **COSTELLO | {"Birthdate": "1971-05-02"}),
]


def test_an_address_is_counted_on_the_names_the_run_leaves():
    """Five names at one address make it an office (no evidence) while the typos are
    separate records; the run merges them, leaving two names, so the address is a home
    and counts for Zachary Ebert in the same run, not only on the rerun. The son never
    merges (his birthdate keeps him apart)."""
    plan = decide(HOPES, **HOME)

    assert merged(plan) == [
        (cid(1), [cid(2), cid(3)]),
        (cid(1), [cid(4), cid(5)]),
        (cid(1), [cid(6)]),
    ]
    why = next(d.reason for d in plan.decisions if d.record_id == cid(6))
    assert "same street address 64 costello circuit +5.0" in why
    rerun = decide(applied(HOPES, plan), remembered(plan), **HOME)
    assert rerun.changes == () and rerun.merges == ()


def test_a_run_killed_mid_merges_reruns_the_rest_and_nothing_twice():
    """Killed after the field changes and the first merge request, before it recorded
    anything: the rerun merges what is left into the same master, nothing already merged
    away, and its own rerun plans nothing."""
    plan = decide(HOPES, **HOME)
    killed = applied(HOPES, plan, merges=1)

    rerun = decide(killed, **HOME)

    assert merged(rerun) == [(cid(1), [cid(4), cid(5)]), (cid(1), [cid(6)])]
    assert applied(killed, rerun) == applied(HOPES, plan)
    assert decide(applied(killed, rerun), remembered(rerun), **HOME).merges == ()


class Killed(BaseException):
    """The process dies (as SIGKILL leaves it: nothing after it runs)."""


def test_a_flag_whose_link_a_killed_run_merged_away_is_kept_by_the_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Killed right after Salesforce merged Robert's duplicate (the link that flagged Bob),
    before anything was recorded: the rerun fires the killed run's flag stage for Bob, whose
    flag was written, in the state store and the org, so it keeps the flag, plans nothing,
    and its own rerun plans nothing either."""
    org = LocalOrg(tmp_path / "org.sqlite", today=lambda: TODAY)
    [acme, globex] = org.insert("Account", [{"Name": "Acme"}, {"Name": "Globex"}])
    fields = ("FirstName", "LastName", "Email", "MobilePhone")
    accounts = {"001000000000000GLX": globex}
    _robert, _duplicate, bob, _junior = org.insert(
        "Contact",
        [
            {k: c[k] for k in fields if c.get(k)}
            | {"AccountId": accounts.get(c["AccountId"], acme)}
            for c in SMITHS
        ],
    )
    settings = Settings(plays={"dedupe-contacts": {"integration_users": [], **NO_SURVIVORS}})
    gateway, store = OrgGateway(org.salesforce), StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    merge = OrgGateway.merge

    def merge_then_die(*args: Any, **kwargs: Any) -> Any:
        merge(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(OrgGateway, "merge", merge_then_die)
    with pytest.raises(Killed):
        run_named("dedupe-contacts", gateway, store, NoAlerts(), settings=settings)
    monkeypatch.undo()
    [killed] = store.runs("dedupe-contacts")

    rerun = run_named("dedupe-contacts", gateway, store, NoAlerts(), settings=settings)

    audit = store.run(killed.id)
    assert audit is not None and [m.status for m in audit.merges] == ["merged"]
    master, duplicate = audit.merges[0].master_id, audit.merges[0].merged_id
    stage = next(stage for record, stage in store.fired("dedupe-contacts") if record == bob)
    assert stage.startswith(f"flagged to {master} ")
    with store.session() as session:
        assert list(session.scalars(select(FiringRow.run_id))) == [killed.id]
    assert rerun.settled.interrupted == (killed.id,)
    assert rerun.plan.changes == () and rerun.plan.merges == ()
    assert org.salesforce().Contact.get(bob)[FLAG] == master
    assert not org.salesforce().query(f"SELECT Id FROM Contact WHERE Id = '{duplicate}'")["records"]
    memory = org.salesforce().query("SELECT Record_Id__c, Stage__c FROM Revsched_Firing__c")
    assert [(r["Record_Id__c"], r["Stage__c"]) for r in memory["records"]] == [(bob, stage)]
    again = run_named("dedupe-contacts", gateway, store, NoAlerts(), settings=settings)
    assert again.plan.changes == () and again.plan.merges == ()
