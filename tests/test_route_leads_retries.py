"""route-leads with a lead whose write fails: the watermark moves past the leads handled,
the failing lead is read again by Id (the retry set in the state store), and after
`retry_runs` runs it is reported unrouted with its error instead of retried silently.
Record-level failures come from the local org's FaultProfile. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from harness import TODAY, run_named

from revsched.config import Settings
from revsched.jobs.route_leads import RETRIED, RouteLeadsConfig, queries
from revsched.localorg import FaultProfile, LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.plan import Retry
from revsched.play import DecideContext
from revsched.runner import RunResult
from revsched.state import StateStore

PLAY = "route-leads"
REFUSED = "FIELD_CUSTOM_VALIDATION_EXCEPTION"


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    return build_demo_org(tmp_path / "org.sqlite", accounts=0, seed=7, today=TODAY)


def run(org: LocalOrg, store: StateStore, retry_runs: int = 5) -> RunResult:
    # No overlap: a lead is read again only because it changed or its write failed.
    settings = Settings(
        plays={PLAY: {"digest_time": "00:00", "overlap_minutes": 0, "retry_runs": retry_runs}}
    )
    return run_named(PLAY, OrgGateway(org.salesforce), store, settings=settings)


def lead_id(org: LocalOrg, name: str) -> str:
    [lead] = org.salesforce().query(f"SELECT Id FROM Lead WHERE Name = '{name}'")["records"]
    return lead["Id"]


def routed(result: RunResult) -> list[str]:
    return sorted(d.record_name for d in result.plan.selected)


def test_a_failing_lead_lets_the_watermark_move_and_is_retried_by_id_until_written(
    org: LocalOrg, state_url: str
):
    store = StateStore(state_url)
    olivia = lead_id(org, "Olivia Grant")
    org.faults = FaultProfile(fail_records={olivia: REFUSED})

    first = run(org, store)

    assert first.status == "partial" and set(first.failures) == {olivia}
    assert "Olivia Grant" in routed(first) and len(routed(first)) > 1
    assert store.watermark(PLAY) == first.plan.watermark  # past the leads routed
    assert store.retries(PLAY) == {olivia: Retry(1, first.failures[olivia])}

    second = run(org, store)

    assert routed(second) == ["Olivia Grant"]  # the others are not read again
    assert store.retries(PLAY)[olivia].attempts == 2
    org.faults = None

    third = run(org, store)
    fourth = run(org, store)

    assert third.status == "succeeded" and routed(third) == ["Olivia Grant"]
    owner = org.salesforce().Lead.get(olivia)
    assert owner["Routing_Reason__c"] == "Account BDR"
    assert store.retries(PLAY) == {}
    assert fourth.plan.changes == () and routed(fourth) == []


def test_a_lead_failing_every_run_is_reported_after_retry_runs_then_left_alone(
    org: LocalOrg, state_url: str
):
    store = StateStore(state_url)
    olivia = lead_id(org, "Olivia Grant")
    org.faults = FaultProfile(fail_records={olivia: REFUSED})
    first = run(org, store, retry_runs=2)
    error = first.failures[olivia]
    run(org, store, retry_runs=2)

    third = run(org, store, retry_runs=2)
    fourth = run(org, store, retry_runs=2)

    why = f"not written in 2 runs ({error}); routed again when it next changes"
    assert routed(third) == [] and third.status == "succeeded"
    assert [(d.record_id, d.reason) for d in third.plan.skipped] == [(olivia, why)]
    assert {"lead_id": olivia, "reason": why}.items() <= third.plan.reports["unrouted"][0].items()
    assert store.retries(PLAY) == {}
    assert olivia not in {d.record_id for d in fourth.plan.decisions}  # left alone
    # Changed by someone: it routes again.
    org.faults = None
    org.salesforce().Lead.update(olivia, {"Title": "CTO"})
    assert routed(run(org, store, retry_runs=2)) == ["Olivia Grant"]


def test_retried_leads_are_read_by_id_in_queries_that_fit_a_request_uri():
    retries = {f"00Q{n:015d}": Retry(1, "UNABLE_TO_LOCK_ROW") for n in range(1500)}
    ctx = DecideContext(as_of=TODAY, config=RouteLeadsConfig(), retries=retries)

    found = {name: soql for name, soql in queries(ctx).items() if name.startswith(RETRIED)}

    assert len(found) > 1
    assert all(len(unquote_plus(soql)) <= 16_384 for soql in found.values())
    assert all("WHERE IsConverted = false AND Id IN (" in soql for soql in found.values())
    read = {i for soql in found.values() for i in retries if f"'{i}'" in soql}
    assert read == set(retries)
