"""The state store keeps the audit, fired stages and cursors on every backend."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from revsched.plan import FieldChange, Firing, LeadConversion, Plan
from revsched.settlement import fire_landed
from revsched.state import OutboxEntry, StateStore


def plan_with_changes() -> Plan:
    def change(record: str, field: str, old: object, new: object) -> FieldChange:
        return FieldChange(
            sobject="Account",
            record_id=record,
            record_name=f"Acct {record}",
            field=field,
            old=old,
            new=new,
            reason="test",
        )

    return Plan(
        play="win-back",
        as_of=date(2026, 11, 23),
        changes=(
            change("001A", "OwnerId", "005R", "005A"),
            change("001A", "Owner_Assigned_Date__c", None, "2026-11-23"),
            change("001B", "Health_Score__c", 1.5, None),
        ),
    )


def test_run_audit_records_each_field_outcome(state_url: str):
    store = StateStore(state_url)
    run_id = store.start_run(plan_with_changes(), dry_run=False)

    store.record_batch(run_id, {"001A": None, "001B": "UNABLE_TO_LOCK_ROW: locked"})
    store.finish_run(run_id, "partial", {"changes": 3})

    run = store.run(run_id)
    assert run is not None
    assert [(c.record_id, c.field, c.old, c.new, c.status, c.error) for c in run.changes] == [
        ("001A", "OwnerId", '"005R"', '"005A"', "applied", None),
        ("001A", "Owner_Assigned_Date__c", "null", '"2026-11-23"', "applied", None),
        ("001B", "Health_Score__c", "1.5", "null", "failed", "UNABLE_TO_LOCK_ROW: locked"),
    ]
    assert (run.status, run.counts) == ("partial", {"changes": 3})
    assert run.started_at.tzinfo is not None and run.finished_at >= run.started_at


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -7, 10**20, 2.5, 1e-9, float("inf"), "", 'say "hi"\\n', "Zoë 日本"],
)
def test_audit_keeps_old_and_new_values_as_json(tmp_path, value: object):
    change = FieldChange(
        sobject="Account",
        record_id="001A",
        record_name="Acct",
        field="F__c",
        old=value,
        new="x",
        reason="test",
    )
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run_id = store.start_run(Plan(play="p", as_of=date(2026, 11, 23), changes=(change,)), False)

    [row] = store.run(run_id).changes

    assert row.old == json.dumps(value)
    assert json.loads(row.old) == value


def test_fired_stages_and_cursors_persist_across_stores(state_url: str):
    store = StateStore(state_url)
    run_id = store.start_run(plan_with_changes(), dry_run=False)
    store.record_firing(run_id, "win-back", "001A", "6-month")
    store.save_cursors({"win-back-ae": 3})
    store.save_cursors({"win-back-ae": 4, "win-back-sdr": 1})

    reopened = StateStore(state_url)
    assert reopened.fired("win-back") == frozenset({("001A", "6-month")})
    assert reopened.fired("other-play") == frozenset()
    assert reopened.cursors() == {"win-back-ae": 4, "win-back-sdr": 1}


def test_a_stage_cannot_be_recorded_fired_twice(state_url: str):
    store = StateStore(state_url)
    run_id = store.start_run(plan_with_changes(), dry_run=False)
    store.record_firing(run_id, "win-back", "001A", "6-month")

    with pytest.raises(IntegrityError):
        store.record_firing(run_id, "win-back", "001A", "6-month")


def test_history_newest_first_and_by_play(state_url: str):
    store = StateStore(state_url)
    first = store.start_run(plan_with_changes(), dry_run=True)
    second = store.start_run(plan_with_changes().model_copy(update={"play": "other"}), False)

    assert [r.id for r in store.runs()] == [second, first]
    assert [r.id for r in store.runs(play="win-back")] == [first]
    assert store.run(9999) is None


def test_lease_is_exclusive_until_released_or_expired(state_url: str):
    store = StateStore(state_url)
    minute = timedelta(minutes=1)

    assert store.acquire_lease("play:win-back", "host-a:1", minute) is None
    held = store.acquire_lease("play:win-back", "host-b:2", minute)
    assert held is not None and held.holder == "host-a:1"
    assert store.acquire_lease("play:win-back", "host-a:1", minute) is None  # renewal
    assert store.acquire_lease("play:other", "host-b:2", minute) is None  # other plays free

    store.release_lease("play:win-back", "host-a:1")
    assert store.acquire_lease("play:win-back", "host-b:2", minute) is None

    # A holder that died leaves a lease in the past: the next one takes over.
    store.release_lease("play:win-back", "host-b:2")
    assert store.acquire_lease("play:win-back", "dead:3", timedelta(seconds=-1)) is None
    assert store.acquire_lease("play:win-back", "host-c:4", minute) is None


def test_unfinished_runs_are_marked_interrupted(state_url: str):
    store = StateStore(state_url)
    crashed = store.start_run(plan_with_changes(), dry_run=False)
    finished = store.start_run(plan_with_changes(), dry_run=False)
    store.finish_run(finished, "succeeded", {})

    assert [r.id for r in store.interrupt_unfinished("win-back")] == [crashed]
    assert store.run(crashed).status == "interrupted"
    assert store.interrupt_unfinished("win-back") == []


def test_reverting_a_firing_forgets_its_deliveries_so_the_alert_can_go_again(state_url: str):
    store = StateStore(state_url)
    run_id = store.start_run(Plan(play="win-back", as_of=date(2026, 11, 23)), dry_run=False)
    store.record_delivery("win-back", [("001A", "6-month"), ("001B", "6-month")], "slack:dm:U1")
    store.record_firing(run_id, "win-back", "001A", "6-month")
    store.record_firing(run_id, "win-back", "001B", "6-month")

    store.forget_firings(run_id, ["001A"])

    assert store.fired("win-back") == {("001B", "6-month")}
    assert store.delivered("win-back", ["001A", "001B"]) == {("001B", "6-month", "slack:dm:U1")}


LEAD, CONTACT = "00QA00000000001AAA", "003A00000000001AAA"


def converting_rhea(*firings: Firing) -> Plan:
    """A job-changes plan converting lead LEAD (which becomes CONTACT)."""
    conversion = LeadConversion(
        lead_id=LEAD,
        lead_name="Rhea Quill",
        account_id="001A",
        account_name="Acme",
        owner_id="005A",
        converted_status="Qualified",
        reason="test",
    )
    return Plan(
        play="job-changes", as_of=date(2026, 11, 23), conversions=(conversion,), firings=firings
    )


def test_a_killed_runs_stages_on_a_lead_it_converted_fire_on_the_contact(state_url: str):
    """A run converts a lead and fires a stage on it without an alert; it is killed after the
    conversion. Its settle fires the stage where the finished run would have (Plan.redirected):
    on the contact the lead became, which is what the rerun reads and checks."""
    store = StateStore(state_url)
    killed = store.start_run(converting_rhea(Firing(record_id=LEAD, stage="2026-11-20")), False)
    store.plan_firings(killed, [(LEAD, "2026-11-20")])
    store.record_conversions(killed, {LEAD: (CONTACT, None)}, {})
    store.interrupt_unfinished("job-changes")

    assert fire_landed("job-changes", store) == [(CONTACT, "2026-11-20")]
    assert store.fired("job-changes") == {(CONTACT, "2026-11-20")}


def test_what_a_digest_lists_of_a_lead_the_run_converted_fires_on_the_contact(state_url: str):
    """A digest listing a lead the run converts: delivered, it fires the stage where
    Plan.redirected has it, on the contact, which is what the next run reads and checks."""
    manager = "005A00000000001AAA"
    covers = json.dumps([[LEAD, "2026-W48"]])
    digest = OutboxEntry(manager, "2026-W48", "[]", "1 lead converted", True, covers)
    store = StateStore(state_url)
    run_id = store.start_run(converting_rhea(), dry_run=False, alerts=[digest])
    store.record_conversions(run_id, {LEAD: (CONTACT, None)}, {})

    [owed] = store.owed_alerts("job-changes")
    store.settle_alerts("job-changes", {owed.id: None})

    assert store.fired("job-changes") == {(manager, "2026-W48"), (CONTACT, "2026-W48")}
