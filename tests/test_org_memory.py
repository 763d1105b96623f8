"""Memory in the org: a run on a new machine (an empty state store) plans nothing that
already fired, because every firing is also a Revsched_Firing__c record in the org."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_TODAY
from harness import NoAlerts
from simple_salesforce.format import format_soql

from revsched import org_memory
from revsched.config import Settings
from revsched.localorg import FaultProfile, LocalOrg
from revsched.org import OrgGateway
from revsched.play import load_plays
from revsched.runner import revert_run
from revsched.state import StateStore

AS_OF = ("--as-of", DEMO_TODAY.isoformat())


def _planned(plan: dict[str, Any]) -> dict[str, int]:
    return {part: len(plan[part]) for part in ("changes", "creates", "alerts", "firings")}


def _new_machine(home: Path) -> None:
    """What a rebuilt server, a laptop or a CI job starts from: no local state at all."""
    for path in home.glob("state.sqlite*"):
        path.unlink()


# Every shipped play that alerts (the dedupe plays alert nobody and fire nothing).
ALERTING = sorted(name for name in load_plays(Settings()) if not name.startswith("dedupe-"))


@pytest.mark.parametrize("play", ALERTING)
def test_a_run_with_an_empty_state_store_plans_nothing_already_done(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]], play: str
) -> None:
    first = run_json(play, *AS_OF)
    assert first["status"] == "succeeded"
    assert first["plan"]["alerts"], "the demo org gives the play something to alert"
    _new_machine(revsched_home)
    again = run_json(play, *AS_OF, "--dry-run")["plan"]
    assert _planned(again) == {"changes": 0, "creates": 0, "alerts": 0, "firings": 0}


def test_a_new_machine_later_in_the_week_digests_only_the_leads_no_digest_listed(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    """queue-recycle's weekly digest: the leads it listed and the manager it went to are
    remembered in the org, so a new machine's second digest of the week lists only the
    lead recycled since, as that week's second digest."""
    first = run_json("queue-recycle", *AS_OF)
    [digest] = first["plan"]["alerts"]
    assert digest["stage"] == "2026-W48"
    sf = LocalOrg(demo_org).salesforce()
    rep_ids = sf.query_all(
        format_soql("SELECT Id FROM User WHERE ManagerId = {}", digest["record_id"])
    )["records"]
    [fresh] = sf.query_all(
        format_soql(
            "SELECT Id FROM Lead WHERE OwnerId IN {} AND Status = 'Working'"
            " AND Actively_Being_Sequenced__c = false AND IsConverted = false"
            " ORDER BY Id LIMIT 1",
            [r["Id"] for r in rep_ids],
        )
    )["records"]
    sf.Lead.update(fresh["Id"], {"Status": "Recycle"})
    _new_machine(revsched_home)

    again = run_json("queue-recycle", "--as-of", "2026-11-24", "--dry-run")["plan"]

    [second] = again["alerts"]
    assert (second["record_id"], second["stage"]) == (digest["record_id"], "2026-W48 2026-11-24")
    assert [c["record_id"] for c in again["changes"]] == [fresh["Id"]]
    assert [row["lead_id"] for row in second["context"]["moved"]] == [fresh["Id"]]


def test_each_firing_is_a_record_keyed_play_record_stage(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    plan = run_json("win-back", *AS_OF)["plan"]
    rows = (
        LocalOrg(demo_org)
        .salesforce()
        .query_all(
            format_soql(
                "SELECT Revsched_Key__c, Play__c, Record_Id__c, Stage__c, Fired_On__c, Run_Id__c"
                " FROM Revsched_Firing__c WHERE Play__c = {}",
                "win-back",
            )
        )["records"]
    )
    expected = {(f["record_id"], f["stage"]) for f in plan["firings"]}
    assert {(r["Record_Id__c"], r["Stage__c"]) for r in rows} == expected
    for row in rows:
        assert row["Revsched_Key__c"] == f"win-back:{row['Record_Id__c']}:{row['Stage__c']}"
        assert row["Fired_On__c"] == DEMO_TODAY.isoformat()
        assert row["Run_Id__c"].endswith(":1")


def test_org_memory_off_forgets_with_the_state_store(
    demo_org: Path, revsched_home: Path, tmp_path: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    """The opt-out for orgs that cannot deploy the object: nothing is written to or read
    from it, so a new machine repeats the alerts (doctor warns about it)."""
    (tmp_path / "revsched.toml").write_text("[state]\norg_memory = false\n")
    first = run_json("win-back", *AS_OF)["plan"]
    sf = LocalOrg(demo_org).salesforce()
    assert sf.query("SELECT COUNT() FROM Revsched_Firing__c")["totalSize"] == 0
    _new_machine(revsched_home)
    again = run_json("win-back", *AS_OF, "--dry-run")["plan"]
    assert len(again["alerts"]) == len(first["alerts"]) > 0


def test_a_reverted_run_forgets_its_firings_in_the_org(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    from typer.testing import CliRunner

    from revsched.cli import app

    first = run_json("win-back", *AS_OF)
    result = CliRunner().invoke(app, ["revert", str(first["run_id"])])
    assert result.exit_code == 0, result.output
    _new_machine(revsched_home)
    again = run_json("win-back", *AS_OF, "--dry-run")["plan"]
    assert {a["record_id"] for a in again["alerts"]} == {
        a["record_id"] for a in first["plan"]["alerts"]
    }


def test_a_firing_the_org_keeps_makes_the_revert_partial(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    """A firing the revert cannot delete (no Delete on the object, a trigger) keeps the
    stage fired on every machine: the revert says so instead of succeeding."""
    first = run_json("win-back", *AS_OF)
    org = LocalOrg(demo_org)
    [kept, *others] = org.salesforce().query_all(
        "SELECT Id, Revsched_Key__c FROM Revsched_Firing__c ORDER BY Revsched_Key__c"
    )["records"]
    assert others
    org.faults = FaultProfile(fail_records={kept["Id"]: "FIELD_CUSTOM_VALIDATION_EXCEPTION"})
    store = StateStore(f"sqlite:///{revsched_home / 'state.sqlite'}")

    reverted = revert_run(
        first["run_id"], store=store, org=OrgGateway(org.salesforce), notifier=NoAlerts()
    )

    assert (reverted.status, reverted.counts["firings_not_forgotten"]) == ("partial", 1)
    assert store.run(reverted.run_id).status == "partial"
    org.faults = None
    left = org.salesforce().query_all("SELECT Revsched_Key__c FROM Revsched_Firing__c")
    assert [r["Revsched_Key__c"] for r in left["records"]] == [kept["Revsched_Key__c"]]


def test_a_large_scope_reads_all_of_the_plays_firings_at_once(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    fired = {(f["record_id"], f["stage"]) for f in run_json("win-back", *AS_OF)["plan"]["firings"]}
    org = OrgGateway(LocalOrg(demo_org).salesforce)
    others = [f"001{n:015d}" for n in range(org_memory.IDS_PER_QUERY)]

    few = org_memory.recall(org, "win-back", [record for record, _ in fired])
    many = org_memory.recall(org, "win-back", [*others, *(record for record, _ in fired)])

    assert few == many == fired
    assert org_memory.recall(org, "renewal-sla", [record for record, _ in fired]) == frozenset()
