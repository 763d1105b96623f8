"""The engine against an org that misbehaves on purpose (the local org's fault profiles)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import TODAY, run_win_back, token_client

from revsched.config import ApiSettings
from revsched.errors import ApiLimitError
from revsched.localorg import FaultProfile, LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.state import StateStore

# No waiting between tries: the faults are the local org's, the backoff is tenacity's.
FAST = ApiSettings(retry_base_seconds=0, retry_max_seconds=0, max_attempts=6)


def build(tmp_path: Path, name: str) -> LocalOrg:
    return build_demo_org(tmp_path / f"{name}.sqlite", accounts=60, seed=5, today=TODAY)


def accounts(org: LocalOrg) -> list[dict]:
    org.faults = None
    fields = "Id, OwnerId, SDR__c, Win_Back_Campaign__c, Owner_Assigned_Date__c"
    return org.salesforce().query_all(f"SELECT {fields} FROM Account ORDER BY Id")["records"]


@pytest.fixture
def clean_state(tmp_path: Path) -> list[dict]:
    """The org state an undisturbed run leaves behind."""
    org = build(tmp_path, "clean")
    run_win_back(OrgGateway(org.salesforce, FAST), StateStore(f"sqlite:///{tmp_path / 'c.sqlite'}"))
    return accounts(org)


@pytest.mark.parametrize(
    "faults",
    [
        FaultProfile(seed=1, error_rate=0.3),
        FaultProfile(seed=2, drop_rate=0.3),
        FaultProfile(seed=3, record_failure_rate=0.3, record_error="UNABLE_TO_LOCK_ROW"),
    ],
    ids=["5xx", "dropped-connections", "locked-rows"],
)
def test_transient_faults_are_retried_to_the_same_result(
    tmp_path: Path, clean_state: list[dict], faults: FaultProfile
):
    org = build(tmp_path, "faulty")
    org.faults = faults

    result = run_win_back(
        OrgGateway(org.salesforce, FAST), StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    )

    assert result.status == "succeeded", result.failures
    assert accounts(org) == clean_state


def test_validation_failure_is_recorded_and_not_retried(tmp_path: Path):
    org = build(tmp_path, "org")
    store = StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    dry = run_win_back(OrgGateway(org.salesforce, FAST), store, dry_run=True)
    rejected = dry.plan.changes[0].record_id
    org.faults = FaultProfile(fail_records={rejected: "FIELD_CUSTOM_VALIDATION_EXCEPTION"})

    result = run_win_back(OrgGateway(org.salesforce, FAST), store)

    assert result.status == "partial"
    assert result.failures == {
        rejected: "FIELD_CUSTOM_VALIDATION_EXCEPTION: Record rejected by a validation rule"
    }


def test_expired_session_logs_in_again(tmp_path: Path, clean_state: list[dict]):
    org = build(tmp_path, "org")
    org.faults = FaultProfile(session_expires_after=2)
    logins = []

    result = run_win_back(
        OrgGateway(token_client(org, logins), FAST),
        StateStore(f"sqlite:///{tmp_path / 's.sqlite'}"),
    )

    assert result.status == "succeeded"
    assert len(logins) > 1
    assert accounts(org) == clean_state


def test_request_limit_stops_cleanly_and_a_rerun_finishes(tmp_path: Path, clean_state: list[dict]):
    org = build(tmp_path, "org")
    store = StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    # Enough calls for the reads (three queries and the org's memory of firings), none
    # for the writes.
    org.faults = FaultProfile(api_limit_after=4)

    with pytest.raises(ApiLimitError, match="REQUEST_LIMIT_EXCEEDED") as error:
        run_win_back(OrgGateway(org.salesforce, FAST), store)

    [stopped] = store.runs()
    assert stopped.status == "stopped"
    assert f"run {stopped.id} stopped" in str(error.value)
    org.faults = None
    assert run_win_back(OrgGateway(org.salesforce, FAST), store).status == "succeeded"
    assert accounts(org) == clean_state


def test_budget_share_stops_between_reads_and_writes(tmp_path: Path):
    path = tmp_path / "org.sqlite"
    build_demo_org(path, accounts=60, seed=5, today=TODAY).close()
    # One call to read the accounts here, then the run's four reads (the last one the org's
    # memory of firings): 5 of 6 is 83%, past the 80% budget share, so the writes never start.
    org = LocalOrg(path, daily_api_limit=6, today=lambda: TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    before = accounts(org)

    with pytest.raises(ApiLimitError, match=r"used 5 of its 6 daily API requests \(83%\)"):
        run_win_back(OrgGateway(org.salesforce, FAST), store)

    assert [run.status for run in store.runs()] == ["stopped"]
    assert accounts(org) == before
