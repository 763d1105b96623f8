"""Merges in a plan: executed with SOAP merge() after the field changes, audited in full."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from harness import NoAlerts, run_named, token_client

from revsched.config import Settings
from revsched.errors import ApiLimitError
from revsched.localorg import FaultProfile, LocalOrg
from revsched.org import OrgGateway
from revsched.plan import FieldChange, Merge, MergedRecord, Plan
from revsched.runner import apply_plan
from revsched.salesforce_soap import MergeRequest
from revsched.state import StateStore

TODAY = date(2026, 11, 23)


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    return LocalOrg(tmp_path / "org.sqlite", today=lambda: TODAY)


def accounts(org: LocalOrg, *names: str) -> list[str]:
    return org.insert("Account", [{"Name": n} for n in names])


def merge(master: str, *merged: str, after: dict | None = None) -> Merge:
    return Merge(
        sobject="Account",
        master_id=master,
        master_name="Acme",
        merged=tuple(
            MergedRecord(record_id=i, record_name=f"dup {i}", fields={"Id": i}) for i in merged
        ),
        master_before={"Id": master, "Phone": None},
        master_after=after or {"Id": master, "Phone": None},
        reason="same website domain acme.com",
    )


def names(org: LocalOrg) -> list[str]:
    rows = org.salesforce().query_all("SELECT Name FROM Account ORDER BY Name")["records"]
    return [r["Name"] for r in rows]


def test_a_cluster_of_four_merges_in_two_successive_requests(org: LocalOrg, tmp_path: Path):
    master, *dups = accounts(org, "Acme", "Acme Inc", "ACME", "Acme HQ")
    contact = org.insert("Contact", [{"LastName": "Lee", "AccountId": dups[2]}])[0]
    plan = Plan(
        play="dedupe-accounts",
        as_of=TODAY,
        changes=(
            FieldChange(
                sobject="Account",
                record_id=master,
                record_name="Acme",
                field="Phone",
                old=None,
                new="+14155550100",
                reason="empty on the master",
            ),
        ),
        merges=(merge(master, *dups[:2]), merge(master, dups[2])),
    )
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = apply_plan(plan, (), store, OrgGateway(org.salesforce), NoAlerts())

    assert result.status == "succeeded"
    assert result.counts["merged"] == 3
    assert names(org) == ["Acme"]
    moved = org.salesforce().query(f"SELECT AccountId FROM Contact WHERE Id = '{contact}'")
    assert moved["records"][0]["AccountId"] == master
    run = store.run(result.run_id)
    assert [(m.master_id, m.merged_id, m.status) for m in run.merges] == [
        (master, dups[0], "merged"),
        (master, dups[1], "merged"),
        (master, dups[2], "merged"),
    ]
    assert json.loads(run.merges[0].merged_fields) == {"Id": dups[0]}


def test_a_failed_merge_is_audited_and_holds_back_the_masters_next_merge(
    org: LocalOrg, tmp_path: Path
):
    master, other = accounts(org, "Acme", "ACME")
    missing = "001000000000000AAA"
    plan = Plan(
        play="dedupe-accounts",
        as_of=TODAY,
        merges=(merge(master, missing), merge(master, other)),
    )
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = apply_plan(plan, (), store, OrgGateway(org.salesforce), NoAlerts())

    assert result.status == "partial"
    statuses = {m.merged_id: (m.status, m.error) for m in store.run(result.run_id).merges}
    assert statuses[missing][0] == "failed"
    assert statuses[other] == ("failed", f"not merged: {statuses[missing][1]}")
    assert set(names(org)) == {"Acme", "ACME"}


def test_a_master_whose_change_failed_is_not_merged(org: LocalOrg, tmp_path: Path):
    master, dup = accounts(org, "Acme", "Acme Inc")
    bad = FieldChange(
        sobject="Account",
        record_id=master,
        record_name="Acme",
        field="NumberOfEmployees",
        old=None,
        new="many",
        reason="survivorship",
    )
    plan = Plan(play="dedupe-accounts", as_of=TODAY, changes=(bad,), merges=(merge(master, dup),))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = apply_plan(plan, (), store, OrgGateway(org.salesforce), NoAlerts())

    [row] = store.run(result.run_id).merges
    assert row.status == "failed" and row.error.startswith("not merged: ")
    assert set(names(org)) == {"Acme", "Acme Inc"}


def test_a_merge_names_one_or_two_records():
    with pytest.raises(ValueError, match="at most 2"):
        merge("001000000000000AAA", "1", "2", "3")


def test_an_expired_session_logs_in_again_and_merges(org: LocalOrg):
    master, dup = accounts(org, "Acme", "Acme Inc")
    logins: list[int] = []
    gateway = OrgGateway(token_client(org, logins))
    org.faults = FaultProfile(session_expires_after=1)
    gateway.query("SELECT Id FROM Account")  # the session's one call

    [result] = gateway.merge("Account", [MergeRequest(master, [dup])])

    assert result.success and len(logins) == 2
    assert names(org) == ["Acme"]


def test_the_request_limit_stops_merging(org: LocalOrg):
    master, dup = accounts(org, "Acme", "Acme Inc")
    gateway = OrgGateway(org.salesforce)
    org.faults = FaultProfile(api_limit_after=0)

    with pytest.raises(ApiLimitError, match="REQUEST_LIMIT_EXCEEDED"):
        gateway.merge("Account", [MergeRequest(master, [dup])])


def test_an_applied_dedupe_run_leaves_its_rerun_nothing_to_do(org: LocalOrg, tmp_path: Path):
    """Two Laurie Larsens merge (the one with a title survives, and keeps it); Laura Larsen,
    on their phone but another first name, is flagged to the survivor. She has more fields
    filled than it even after the merge, and is the master the rules would pick between the
    two, but the rerun keeps the master its flag points at: it plans nothing."""
    [account] = accounts(org, "Larsen Freight")
    phone = "+1 416 610 3109"
    laurie = {"FirstName": "Laurie", "LastName": "Larsen", "AccountId": account, "Phone": phone}
    laura = laurie | {"FirstName": "Laura", "Email": "laura@larsen.example", "LeadSource": "Web"}
    _plain, titled, flagged = org.insert(
        "Contact", [laurie, laurie | {"Title": "CRO"}, laura | {"Title": "CFO"}]
    )
    settings = Settings(plays={"dedupe-contacts": {"integration_users": []}})
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    gateway = OrgGateway(org.salesforce)

    applied = run_named("dedupe-contacts", gateway, store, NoAlerts(), settings=settings)

    assert applied.status == "succeeded" and applied.counts["merged"] == 1
    sf = org.salesforce()
    rows = sf.query_all("SELECT Id, Title, Possible_Duplicate_Of__c FROM Contact")["records"]
    assert {r["Id"]: (r["Title"], r["Possible_Duplicate_Of__c"]) for r in rows} == {
        titled: ("CRO", None),
        flagged: ("CFO", titled),
    }
    rerun = run_named(
        "dedupe-contacts", gateway, store, NoAlerts(), settings=settings, dry_run=True
    )
    assert rerun.plan.changes == () and rerun.plan.merges == ()
    assert {d.record_id: d.stage for d in rerun.plan.decisions} == {
        titled: "cluster 1: master",
        flagged: "cluster 1: flag",
    }
