"""Records a play creates are upserted on a deterministic key: never created twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from harness import NoAlerts

from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.plan import FieldChange, Plan, RecordCreate
from revsched.runner import apply_plan, revert_run
from revsched.state import StateStore

TODAY = date(2026, 11, 23)


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    return build_demo_org(tmp_path / "org.sqlite", accounts=20, seed=3, today=TODAY)


def task_plan(org: LocalOrg, subject: str = "Renewal is behind its stage") -> Plan:
    opportunity = org.salesforce().query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]
    return Plan(
        play="renewal-sla",
        as_of=TODAY,
        creates=(
            RecordCreate(
                sobject="Task",
                key=f"renewal-sla:{opportunity['Id']}:90",
                fields={
                    "Subject": subject,
                    "WhatId": opportunity["Id"],
                    "ActivityDate": "2026-11-30",
                },
                reason="90-day checkpoint missed",
                parent_id=opportunity["Id"],
            ),
        ),
    )


def tasks_with_key(org: LocalOrg, key: str) -> list[dict]:
    soql = f"SELECT Id, Subject FROM Task WHERE Revsched_Key__c = '{key}'"
    return org.salesforce().query_all(soql)["records"]


def test_create_is_upserted_once_even_when_the_state_is_lost(org: LocalOrg, tmp_path: Path):
    plan = task_plan(org)
    key = plan.creates[0].key

    first = apply_plan(
        plan,
        (),
        StateStore(f"sqlite:///{tmp_path / 'a.sqlite'}"),
        OrgGateway(org.salesforce),
        NoAlerts(),
    )
    # A new machine, an empty state store: the same plan again.
    fresh_store = StateStore(f"sqlite:///{tmp_path / 'b.sqlite'}")
    second = apply_plan(
        task_plan(org, "Renewal is behind its stage (again)"),
        (),
        fresh_store,
        OrgGateway(org.salesforce),
        NoAlerts(),
    )

    assert first.status == second.status == "succeeded"
    [task] = tasks_with_key(org, key)
    assert task["Subject"] == "Renewal is behind its stage (again)"
    audit = fresh_store.run(second.run_id)
    assert [(c.key, c.record_id, c.status) for c in audit.creates] == [(key, task["Id"], "updated")]


def test_revert_deletes_what_the_run_created(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    plan = task_plan(org)
    created = apply_plan(plan, (), store, OrgGateway(org.salesforce), NoAlerts())
    [task] = tasks_with_key(org, plan.creates[0].key)
    assert [(c.record_id, c.status) for c in store.run(created.run_id).creates] == [
        (task["Id"], "created")
    ]

    reverted = revert_run(
        created.run_id, store=store, org=OrgGateway(org.salesforce), notifier=NoAlerts()
    )

    assert reverted.status == "succeeded"
    assert tasks_with_key(org, plan.creates[0].key) == []
    assert [(d.record_id, d.status) for d in store.run(reverted.run_id).deletes] == [
        (task["Id"], "deleted")
    ]


def test_failed_create_holds_back_its_parent(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    plan = task_plan(org)
    bad = plan.creates[0].model_copy(update={"fields": {"Subject": "x", "No_Such__c": 1}})
    result = apply_plan(
        plan.model_copy(update={"creates": (bad,)}),
        (),
        store,
        OrgGateway(org.salesforce),
        NoAlerts(),
    )

    assert result.status == "partial"
    assert set(result.failures) == {bad.parent_id}
    assert "INVALID_FIELD" in result.failures[bad.parent_id]
    assert [c.status for c in store.run(result.run_id).creates] == ["failed"]


def test_record_created_for_a_parent_whose_write_failed_waits_with_it(
    org: LocalOrg, tmp_path: Path
):
    plan = task_plan(org)
    parent = plan.creates[0].parent_id
    failing = FieldChange(
        sobject="Opportunity",
        record_id=str(parent),
        record_name="Renewal",
        field="No_Such__c",
        old=None,
        new="x",
        reason="a write the org refuses",
    )
    result = apply_plan(
        plan.model_copy(update={"changes": (failing,)}),
        (),
        StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}"),
        OrgGateway(org.salesforce),
        NoAlerts(),
    )

    assert result.status == "partial" and set(result.failures) == {parent}
    assert tasks_with_key(org, plan.creates[0].key) == []
