"""Writes keep `max_in_flight` calls under way all the time, and the audit saves their
outcomes in the order the calls were made, so what it holds is always a prefix."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pytest
from harness import NoAlerts

from revsched.alerts import AlertRenderer
from revsched.config import ApiSettings, Settings
from revsched.errors import OrgError
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.plan import Plan, diff_changes
from revsched.play import DecideContext, Play, PlayConfig, Record, Records
from revsched.runner import RunResult, run_play
from revsched.state import StateStore

ACCOUNTS = 1_800  # nine collection calls of 200


def _queries(ctx: DecideContext[PlayConfig]) -> dict[str, str]:
    return {"accounts": "SELECT Id, Name, Health_Score__c FROM Account ORDER BY Name"}


def _decide(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
    target = {"Health_Score__c": (50.0, "every account scores 50")}
    changes = [c for a in records["accounts"] for c in diff_changes("Account", a, target)]
    return Plan(play="score", as_of=ctx.as_of, changes=tuple(changes))


SCORE = Play("score", "Set every account's score", PlayConfig, _queries, _decide)


class SlowOrg(OrgGateway):
    """The local org with 20 ms per write call; counts the calls under way at once, and
    fails the call that writes `failing` when set."""

    def __init__(self, org: LocalOrg, failing: str | None = None):
        super().__init__(org.salesforce)
        self.failing = failing
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.02)
            if any(r["Id"] == self.failing for r in records):
                raise OrgError("could not reach Salesforce to save 200 Account records: boom")
            return super().update(sobject, records)
        finally:
            with self._lock:
                self.in_flight -= 1


class OrderedStore(StateStore):
    """The state store, noting the record Ids of each saved batch of outcomes in order."""

    def __init__(self, url: str):
        super().__init__(url)
        self.saved: list[str] = []

    def record_batch(self, run_id: int, outcomes: Mapping[str, str | None]) -> None:
        self.saved.extend(outcomes)
        super().record_batch(run_id, outcomes)


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    org = LocalOrg(tmp_path / "org.sqlite")
    rows = [{"Name": f"Account {n:04d}", "Health_Score__c": 1.0} for n in range(ACCOUNTS)]
    org.insert("Account", rows)
    return org


def run(gateway: OrgGateway, store: StateStore) -> RunResult:
    settings = Settings(api=ApiSettings(max_in_flight=3, bulk_write_threshold=10**6))
    gateway.api = settings.api
    return run_play(
        SCORE,
        settings,
        as_of=date(2026, 11, 25),
        dry_run=False,
        store=store,
        org=gateway,
        renderer=AlertRenderer(gateway.instance_url),
        notifier=NoAlerts(),
    )


def test_writes_keep_max_in_flight_calls_going_and_save_outcomes_in_call_order(
    org: LocalOrg, tmp_path: Path
):
    gateway = SlowOrg(org)
    store = OrderedStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = run(gateway, store)

    assert result.status == "succeeded"
    assert result.counts["applied"] == ACCOUNTS
    assert gateway.calls == ACCOUNTS // 200
    assert gateway.most_in_flight == 3
    assert store.saved == [c.record_id for c in result.plan.changes]
    audit = store.run(result.run_id)
    assert audit is not None
    assert {c.status for c in audit.changes} == {"applied"}
    scores = org.salesforce().query_all("SELECT Health_Score__c FROM Account")["records"]
    assert {r["Health_Score__c"] for r in scores} == {50.0}


def test_a_failed_call_stops_the_queued_ones_and_the_audit_keeps_what_landed_before_it(
    org: LocalOrg, tmp_path: Path
):
    names = org.salesforce().query_all("SELECT Id FROM Account ORDER BY Name")["records"]
    ids = [r["Id"] for r in names]
    # The third call of nine fails.
    gateway = SlowOrg(org, failing=ids[400])
    store = OrderedStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    with pytest.raises(OrgError, match="boom"):
        run(gateway, store)

    # The two calls before it saved; no call queued behind those in flight was made.
    assert store.saved == ids[:400]
    assert gateway.calls <= 3 + 2 * 3
    [stopped] = store.runs()
    assert stopped.status == "failed"
    audit = store.run(stopped.id)
    assert audit is not None
    applied = {c.record_id for c in audit.changes if c.status == "applied"}
    assert applied == set(ids[:400])
