"""Reviewed plans applied later, and runs undone, from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import format_soql
from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg import LocalOrg

TODAY = date(2026, 11, 23)
AS_OF = ["--as-of", TODAY.isoformat()]


@pytest.fixture
def org(demo_org: Path) -> LocalOrg:
    """The default demo org (conftest), as the org to inspect and edit behind revsched's back."""
    return LocalOrg(demo_org)


def cli(*args: str, exit_code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == exit_code, result.output
    return result


def cli_json(*args: str) -> dict[str, Any]:
    return json.loads(cli(*args, "--json").stdout)


def value(org: LocalOrg, record_id: str, field: str) -> Any:
    return org.salesforce().Account.get(record_id)[field]


def edit(org: LocalOrg, record_id: str, **fields: Any) -> None:
    org.salesforce().Account.update(record_id, fields)


def planned_changes(plan_file: Path) -> list[dict[str, Any]]:
    return json.loads(plan_file.read_text())["plan"]["changes"]


def test_reviewed_plan_is_applied_later(org: LocalOrg, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    cli("run", "win-back", "--dry-run", *AS_OF, "--out", str(plan_file))
    changes = planned_changes(plan_file)
    assert changes and all(value(org, c["record_id"], c["field"]) == c["old"] for c in changes)

    applied = cli_json("apply", str(plan_file))

    assert applied["status"] == "succeeded" and applied["stale"] == {}
    assert all(value(org, c["record_id"], c["field"]) == c["new"] for c in changes)
    assert len(applied["alerts"]) == applied["counts"]["alerts_sent"] > 0
    # Applying the same plan again finds every record already handled.
    again = cli_json("apply", str(plan_file))
    assert set(again["stale"]) == {c["record_id"] for c in changes}
    assert again["counts"]["applied"] == 0 and again["counts"]["alerts_sent"] == 0


def test_record_edited_since_review_is_left_alone(org: LocalOrg, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    cli("run", "win-back", "--dry-run", *AS_OF, "--out", str(plan_file))
    changes = planned_changes(plan_file)
    # An unassigned account: the plan both sets its campaign and assigns an owner.
    owner_change = next(c for c in changes if c["field"] == "OwnerId")
    record_id = owner_change["record_id"]
    edit(org, record_id, Win_Back_Campaign__c="Win Back - Product")

    applied = cli_json("apply", str(plan_file))

    assert applied["stale"] == {
        record_id: "Win_Back_Campaign__c is now 'Win Back - Product', the plan expected None"
    }
    assert value(org, record_id, "OwnerId") == owner_change["old"]
    others = [c for c in changes if c["record_id"] != record_id]
    assert all(value(org, c["record_id"], c["field"]) == c["new"] for c in others)
    shown = cli_json("show", str(applied["run_id"]))
    assert {c["status"] for c in shown["changes"] if c["record_id"] == record_id} == {"stale"}
    assert [a["status"] for a in shown["alerts"] if a["record_id"] == record_id] == ["skipped"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"format": 9, "plan": {}}', "not a revsched plan (expected format 1)"),
        ('{"format": 1, "plan": {"play": "win-back"}}', "plan.as_of: Field required"),
    ],
)
def test_bad_plan_file(tmp_path: Path, content: str, message: str):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(content, encoding="utf-8")

    result = cli("apply", str(plan_file), exit_code=2)

    assert message in result.stderr


def test_out_needs_dry_run(tmp_path: Path):
    result = cli("run", "win-back", "--out", str(tmp_path / "p.json"), exit_code=2)

    assert "use it with --dry-run" in result.stderr


def test_revert_restores_old_values_and_lets_the_play_fire_again(org: LocalOrg):
    applied = cli_json("run", "win-back", *AS_OF)
    changes = applied["plan"]["changes"]

    reverted = cli_json("revert", str(applied["run_id"]))

    assert reverted["status"] == "succeeded"
    assert all(value(org, c["record_id"], c["field"]) == c["old"] for c in changes)
    shown = cli_json("show", str(reverted["run_id"]))
    assert shown["reverts_run_id"] == applied["run_id"]
    assert sorted(
        (c["record_id"], c["field"], c["old"], c["new"]) for c in shown["changes"]
    ) == sorted((c["record_id"], c["field"], c["new"], c["old"]) for c in changes)
    assert f"revert of {applied['run_id']}" in cli("history").output
    # The stages it fired are un-fired: the same plan comes back.
    again = cli_json("run", "win-back", "--dry-run", *AS_OF)
    assert {c["record_id"] for c in again["plan"]["changes"]} == {c["record_id"] for c in changes}


def test_revert_leaves_records_edited_since_alone(org: LocalOrg):
    applied = cli_json("run", "win-back", *AS_OF)
    owner_change = next(c for c in applied["plan"]["changes"] if c["field"] == "OwnerId")
    edit(org, owner_change["record_id"], Win_Back_Campaign__c="Win Back - Product")

    reverted = cli_json("revert", str(applied["run_id"]))

    assert list(reverted["stale"]) == [owner_change["record_id"]]
    assert (
        "Win_Back_Campaign__c is now 'Win Back - Product'"
        in reverted["stale"][owner_change["record_id"]]
    )
    assert value(org, owner_change["record_id"], "OwnerId") == owner_change["new"]


def test_revert_refuses_dry_runs_repeats_and_unknown_runs(org: LocalOrg):
    dry = cli_json("run", "win-back", "--dry-run", *AS_OF)
    applied = cli_json("run", "win-back", *AS_OF)
    reverted = cli_json("revert", str(applied["run_id"]))

    assert "was a dry run" in cli("revert", str(dry["run_id"]), exit_code=2).stderr
    assert (
        f"already reverted by run {reverted['run_id']}"
        in cli("revert", str(applied["run_id"]), exit_code=2).stderr
    )
    assert "no run 999" in cli("revert", "999", exit_code=2).stderr


def test_revert_of_a_run_that_wrote_date_times_restores_them(org: LocalOrg):
    """Salesforce reads a dateTime back as ...+0000 that was written as ...Z: the same value,
    so the revert does not take every lead route-leads stamped for one edited since."""
    applied = cli_json("run", "route-leads", *AS_OF)
    stamped = [c for c in applied["plan"]["changes"] if c["field"] == "Last_Routed_Date__c"]
    assert stamped and all(c["new"].endswith("Z") for c in stamped)

    reverted = cli_json("revert", str(applied["run_id"]))

    assert (reverted["status"], reverted["stale"]) == ("succeeded", {})
    leads = org.salesforce().query_all(
        format_soql(
            "SELECT Id, Last_Routed_Date__c FROM Lead WHERE Id IN {}",
            [c["record_id"] for c in stamped],
        )
    )["records"]
    old = {c["record_id"]: c["old"] for c in stamped}
    assert {lead["Id"]: lead["Last_Routed_Date__c"] for lead in leads} == old
