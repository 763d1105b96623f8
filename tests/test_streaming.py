"""A play that streams its records: decided a page at a time, each page's plan saved as it
is decided, and written back from the store. The same records give the same plan, audit
and writes as deciding them all at once."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from harness import TODAY, NoAlerts, RecordingNotifier
from harness import run_on as run
from rich.console import Console

from revsched import bulk, streaming
from revsched.apply import whole_plan
from revsched.config import ApiSettings
from revsched.errors import OrgError
from revsched.jobs.churn_intake import play as churn_intake
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.plan_builder import PlanBuilder
from revsched.play import (
    DecideContext,
    Play,
    PlayConfig,
    Record,
    Records,
    Requirements,
    object_fields,
)
from revsched.runner import revert_run
from revsched.state import StateStore
from revsched.summary import print_plan, print_result

ACCOUNTS = 45
# Records decided at a time in these tests: five pages of 10 (the last one of 5).
PAGE = 10


def _queries(ctx: DecideContext[PlayConfig]) -> dict[str, str]:
    return {"accounts": "SELECT Id, Name, Industry, Health_Score__c FROM Account ORDER BY Name"}


def _decide(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
    """Every third account is left alone; the others get a score, and some an industry."""
    plan = PlanBuilder(ctx, "Account")
    for account in records["accounts"]:
        number = int(account["Name"].split()[-1])
        if number % 3 == 0:
            plan.skip(account, f"account {number} is a multiple of 3", kind="multiple of 3")
            continue
        plan.select(account, "scored")
        targets = {"Health_Score__c": (float(number), "its number")}
        if number % 2:
            targets["Industry"] = ("Retail", "odd accounts are retail")
        plan.change(account, targets)
    return plan.build()


STREAMED = Play(
    "rescore",
    "Score accounts by number",
    PlayConfig,
    _queries,
    _decide,
    requirements=lambda config: Requirements(
        writes=object_fields("Account", "Health_Score__c", "Industry")
    ),
    streams="accounts",
)
WHOLE = replace(STREAMED, streams=None)


@pytest.fixture(autouse=True)
def pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "PAGE", PAGE)


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    """ACCOUNTS accounts named by their number ("Account 07"), each scored 1."""
    named = LocalOrg(tmp_path / "org.sqlite")
    named.insert(
        "Account", [{"Name": f"Account {n:02d}", "Health_Score__c": 1.0} for n in range(ACCOUNTS)]
    )
    return named


@pytest.fixture
def store(state_url: str) -> StateStore:
    return StateStore(state_url)


class CountingOrg(OrgGateway):
    """The local org, counting the writes each record gets (REST or Bulk); with
    `answer_lost`, a REST write saves and then fails, as when its response never came."""

    def __init__(self, org: LocalOrg, bulk: bool = False, answer_lost: bool = False):
        threshold = 0 if bulk else 10**6
        super().__init__(org.salesforce, ApiSettings(bulk_write_threshold=threshold))
        self.answer_lost = answer_lost
        self.writes: Counter[str] = Counter()

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        self.writes.update(r["Id"] for r in records)
        outcomes = super().update(sobject, records)
        if self.answer_lost:
            raise OrgError("could not reach Salesforce to save the records: boom")
        return outcomes

    def bulk_update(self, sobject: str, records: Any, *args: Any, **kwargs: Any) -> Any:
        self.writes.update(r["Id"] for r in records)
        return super().bulk_update(sobject, records, *args, **kwargs)


def scores(org: LocalOrg) -> dict[str, tuple[Any, Any]]:
    rows = org.salesforce().query_all("SELECT Id, Health_Score__c, Industry FROM Account")
    return {r["Id"]: (r["Health_Score__c"], r["Industry"]) for r in rows["records"]}


def numbers(org: LocalOrg) -> dict[str, int]:
    rows = org.salesforce().query_all("SELECT Id, Name FROM Account")["records"]
    return {r["Id"]: int(r["Name"].split()[-1]) for r in rows}


def printed(plan: Plan, limit: int | None) -> str:
    out = io.StringIO()
    print_plan(Console(file=out, width=120, color_system=None), plan, limit)
    return out.getvalue()


def test_a_streamed_plan_is_saved_and_printed_as_the_whole_plan_is(
    org: LocalOrg, store: StateStore
):
    shown: list[Plan] = []
    whole = run(WHOLE, CountingOrg(org), store, dry_run=True, on_plan=shown.append)
    streamed = run(STREAMED, CountingOrg(org), store, dry_run=True, on_plan=shown.append)

    assert (
        streamed.counts
        == whole.counts
        == {
            "selected": 30,
            "skipped": 15,
            "changes": 44,
            "merges": 0,
            "conversions": 0,
            "enrollments": 0,
            "alerts": 0,
        }
    )
    assert store.decisions(streamed.run_id) == store.decisions(whole.run_id)
    assert store.planned_changes(streamed.run_id) == list(whole.plan.changes)
    assert whole_plan(streamed.plan, store) == whole.plan
    # What a person reads before anything is written: the same summary and first rows, and
    # every row with --all (read back from the store).
    assert printed(shown[1], 5) == printed(shown[0], 5)
    assert printed(whole_plan(shown[1], store), None) == printed(shown[0], None)
    assert "Decisions (first 5 of 45)" in printed(shown[1], 5)
    assert scores(org) == {rid: (1.0, None) for rid in scores(org)}


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk"])
def test_a_streamed_run_writes_each_record_once_audits_it_and_reverts(
    org: LocalOrg, store: StateStore, bulk: bool
):
    before = scores(org)
    gateway = CountingOrg(org, bulk=bulk)

    result = run(STREAMED, gateway, store)

    assert result.status == "succeeded"
    assert result.counts["applied"] == 44
    assert set(gateway.writes.values()) == {1} and len(gateway.writes) == 30
    after = scores(org)
    for record_id, number in numbers(org).items():
        if number % 3 == 0:
            assert after[record_id] == before[record_id]
        else:
            assert after[record_id] == (float(number), "Retail" if number % 2 else None)
    audit = store.run(result.run_id)
    assert audit is not None and audit.status == "succeeded"
    assert Counter(c.status for c in audit.changes) == {"applied": 44}

    reverted = revert_run(result.run_id, store=store, org=gateway, notifier=NoAlerts())

    assert reverted.status == "succeeded"
    assert scores(org) == before


def test_a_streamed_bulk_job_uploads_the_rows_written_as_its_pages_were_decided(
    org: LocalOrg, store: StateStore, monkeypatch: pytest.MonkeyPatch
):
    """The job's CSV is the plan saved in the store, a row per changed record, written as
    each page was decided: only the first page (past the Bulk threshold of 0) is read back."""
    uploaded: list[str] = []
    upload = bulk._upload

    def kept(sobject: str, job_id: str, data: Any) -> Any:
        data.seek(0)
        uploaded.append(data.read().decode())
        return upload(sobject, job_id, data)

    read_back: list[str] = []
    planned_records = store.planned_records

    def reading(run_id: int, sobject: str, *args: Any) -> Any:
        for record in planned_records(run_id, sobject, *args):
            read_back.append(record["Id"])
            yield record

    monkeypatch.setattr(bulk, "_upload", kept)
    monkeypatch.setattr(store, "planned_records", reading)

    result = run(STREAMED, OrgGateway(org.salesforce, ApiSettings(bulk_write_threshold=0)), store)

    assert result.status == "succeeded" and result.counts["applied"] == 44
    written: dict[str, dict[str, str]] = {}
    for change in store.planned_changes(result.run_id):
        written.setdefault(change.record_id, {"Health_Score__c": "", "Industry": ""})
        written[change.record_id][change.field] = str(change.new)
    [text] = uploaded
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(written) == 30
    assert {row.pop("Id"): row for row in rows} == written
    first_page = [n for n in range(PAGE) if n % 3]
    assert sorted(read_back) == sorted(rid for rid, n in numbers(org).items() if n in first_page)


@pytest.mark.parametrize("bulk_writes", [False, True], ids=["rest", "bulk"])
def test_a_run_stopped_while_planning_wrote_nothing_and_its_rerun_writes_each_record_once(
    org: LocalOrg, store: StateStore, bulk_writes: bool
):
    before = scores(org)
    pages_decided = 0

    def failing(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
        nonlocal pages_decided
        pages_decided += 1
        if pages_decided == 3:
            raise RuntimeError("the play failed on its third page")
        return _decide(records, ctx)

    gateway = CountingOrg(org, bulk=bulk_writes)
    with pytest.raises(RuntimeError, match="third page"):
        run(replace(STREAMED, decide=failing), gateway, store)

    [stopped] = store.runs("rescore")
    assert stopped.status == "failed" and "third page" in (stopped.error or "")
    audit = store.run(stopped.id)
    assert audit is not None and {c.status for c in audit.changes} == {"failed"}
    assert scores(org) == before and not gateway.writes

    rerun = run(STREAMED, gateway, store)

    assert rerun.status == "succeeded" and rerun.counts["applied"] == 44
    assert set(gateway.writes.values()) == {1} and len(gateway.writes) == 30


def test_a_run_killed_while_planning_is_interrupted_without_reading_the_org_back(
    org: LocalOrg, store: StateStore
):
    killed = store.open_run("rescore", TODAY, dry_run=False)
    dry = run(STREAMED, CountingOrg(org), store, dry_run=True)
    store.save_plan(killed, whole_plan(dry.plan, store))  # its pages saved, then killed
    gateway = CountingOrg(org)

    result = run(STREAMED, gateway, store)

    assert result.interrupted == (killed,)
    assert result.settled.reconciled == 0
    audit = store.run(killed)
    assert audit is not None and audit.status == "interrupted"
    assert {c.status for c in audit.changes} == {"failed"}
    assert {c.error for c in audit.changes} == {
        "not written: the run stopped while it was planning, before any write"
    }
    assert result.counts["applied"] == 44 and set(gateway.writes.values()) == {1}


def test_a_streamed_run_whose_write_answer_was_lost_is_settled_not_written_again(
    org: LocalOrg, store: StateStore
):
    lost = CountingOrg(org, answer_lost=True)

    with pytest.raises(OrgError, match="boom"):
        run(STREAMED, lost, store)
    [stopped] = store.runs("rescore")
    assert stopped.status == "failed"

    gateway = CountingOrg(org)
    rerun = run(STREAMED, gateway, store)

    # The lost write is found in the org and audited; nothing is left to write.
    assert rerun.settled.reconciled == 44
    assert rerun.status == "succeeded" and rerun.counts["changes"] == 0
    assert not gateway.writes and set(lost.writes.values()) == {1}
    audit = store.run(stopped.id)
    assert audit is not None and {c.status for c in audit.changes} == {"applied"}


def test_churn_intake_streams_the_plan_it_decides_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """churn-intake decides each account on its own: a page at a time (here an account)
    gives the same plan, alerts and audit names as all at once."""
    assert churn_intake.streams == "accounts"
    monkeypatch.setattr(streaming, "PAGE", 1)
    demo = build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=7, today=TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    gateway = OrgGateway(demo.salesforce)

    whole = run(replace(churn_intake, streams=None), gateway, store, dry_run=True)
    streamed = run(churn_intake, gateway, store, dry_run=True)

    assert len(whole.plan.decisions) > 1 and whole.plan.alerts
    assert whole_plan(streamed.plan, store) == whole.plan
    assert [a.text for a in streamed.alerts] == [a.text for a in whole.alerts]
    saved = store.run(streamed.run_id)
    saved_whole = store.run(whole.run_id)
    assert saved is not None and saved_whole is not None
    assert [(c.record_id, c.field, c.old_name, c.new_name) for c in saved.changes] == [
        (c.record_id, c.field, c.old_name, c.new_name) for c in saved_whole.changes
    ]
    assert [(a.record_id, a.record_name, a.text) for a in saved.alerts] == [
        (a.record_id, a.record_name, a.text) for a in saved_whole.alerts
    ]

    notifier = RecordingNotifier()
    applied = run(churn_intake, gateway, store, notifier=notifier)

    assert applied.status == "succeeded"
    assert applied.counts["applied"] == len(whole.plan.changes)
    assert len(notifier.sent) == len(whole.alerts)


class LockedOrg(CountingOrg):
    """The local org, with one record locked by another process whenever it is written."""

    def __init__(self, org: LocalOrg, locked: str):
        super().__init__(org)
        self.locked = locked

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        outcomes = super().update(sobject, [r for r in records if r["Id"] != self.locked])
        if any(r["Id"] == self.locked for r in records):
            outcomes[self.locked] = "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"
        return outcomes


def test_a_streamed_run_names_the_record_whose_write_failed(org: LocalOrg, store: StateStore):
    locked = next(rid for rid, number in numbers(org).items() if number == 5)

    result = run(STREAMED, LockedOrg(org, locked), store)

    assert result.status == "partial"
    assert result.failures == {locked: "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"}
    assert result.counts["applied"] == 42  # its two field changes are not written
    out = io.StringIO()
    names = store.changed_names(result.run_id, list(result.failures))
    print_result(Console(file=out, width=200, color_system=None), result, names=names)
    assert f"failed Account 05 ({locked}): UNABLE_TO_LOCK_ROW" in out.getvalue()
