"""Fault profiles: seeded, repeatable misbehaviour as Salesforce shows it."""

from __future__ import annotations

import json
import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from revsched.localorg import FaultProfile, LocalOrg, load_faults


def outcomes(org: LocalOrg, calls: int) -> list[int]:
    sf = org.salesforce()
    seen = []
    for _ in range(calls):
        try:
            sf.limits()
            seen.append(200)
        except SalesforceGeneralError as exc:
            seen.append(exc.status)
    return seen


def test_error_rate_is_seeded_and_repeatable(org):
    org.faults = FaultProfile(seed=3, error_rate=0.5)
    first = outcomes(org, 40)
    org.faults = FaultProfile(seed=3, error_rate=0.5)
    assert outcomes(org, 40) == first
    assert {500, 503, 200} == set(first)
    org.faults = FaultProfile(seed=4, error_rate=0.5)
    assert outcomes(org, 40) != first
    org.faults = None
    assert outcomes(org, 5) == [200] * 5


def test_server_error_bodies(org, sf):
    org.faults = FaultProfile(error_rate=1.0, error_statuses=(503,))
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.status == 503
    assert err.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    org.faults = FaultProfile(error_rate=1.0, error_statuses=(500,))
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"


def collection_update(sf, record_ids: list[str]) -> list[dict]:
    records = [
        {"attributes": {"type": "Account"}, "Id": i, "Industry": "Retail"} for i in record_ids
    ]
    return sf.restful("composite/sobjects", method="PATCH", json={"records": records})


def test_record_failures_in_collections(org, sf):
    accounts = org.insert("Account", [{"Name": f"A{i}"} for i in range(20)])
    org.faults = FaultProfile(
        seed=1,
        fail_records={accounts[3]: "FIELD_CUSTOM_VALIDATION_EXCEPTION"},
        record_failure_rate=0.2,
    )
    results = collection_update(sf, accounts)
    failed = [i for i, r in enumerate(results) if not r["success"]]
    assert 3 in failed and 0 < len(failed) < 20
    assert results[3]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    locked = [results[i] for i in failed if i != 3]
    assert locked[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    updated = sf.query("SELECT COUNT() FROM Account WHERE Industry = 'Retail'")["totalSize"]
    assert updated == 20 - len(failed)
    org.faults = FaultProfile(
        seed=1,
        fail_records={accounts[3]: "FIELD_CUSTOM_VALIDATION_EXCEPTION"},
        record_failure_rate=0.2,
    )
    again = collection_update(sf, accounts)
    assert [i for i, r in enumerate(again) if not r["success"]] == failed


def test_session_expires_after_n_calls_with_a_json_list(org, sf):
    org.faults = FaultProfile(session_expires_after=2)
    sf.limits()
    sf.limits()
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.limits()
    assert err.value.status == 401
    assert err.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()
    # A new login gets a new session.
    fresh = org.salesforce(username="admin@revsched.localorg", password="x", security_token="")
    assert fresh.limits()["DailyApiRequests"]["Max"] == 100_000


def test_api_allowance_exhausted(org, sf):
    org.faults = FaultProfile(api_limit_after=1)
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.limits()
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_dropped_connection_in_process_after_the_write(org, sf):
    org.faults = FaultProfile(drop_rate=1.0)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        sf.Account.create({"Name": "Written anyway"})
    org.faults = None
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1


def test_latency(org, sf):
    org.faults = FaultProfile(latency=0.05)
    start = time.monotonic()
    sf.limits()
    sf.limits()
    assert time.monotonic() - start >= 0.1


def test_profile_from_toml_and_json(tmp_path):
    toml = tmp_path / "faults.toml"
    toml.write_text(
        "seed = 7\nerror_rate = 0.1\nerror_statuses = [503]\nlatency = 0.02\n"
        'record_error = "FIELD_CUSTOM_VALIDATION_EXCEPTION"\n'
        '[fail_records]\n"001000000000001AAA" = "UNABLE_TO_LOCK_ROW"\n'
    )
    profile = load_faults(toml)
    assert profile == FaultProfile(
        seed=7,
        error_rate=0.1,
        error_statuses=(503,),
        latency=0.02,
        record_error="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        fail_records={"001000000000001AAA": "UNABLE_TO_LOCK_ROW"},
    )
    js = tmp_path / "faults.json"
    js.write_text(json.dumps({"drop_rate": 0.5, "session_expires_after": 10}))
    assert load_faults(js) == FaultProfile(drop_rate=0.5, session_expires_after=10)
    assert load_faults(None) is None
    js.write_text(json.dumps({"bogus": 1}))
    with pytest.raises(ValueError, match="bogus"):
        load_faults(js)
    with pytest.raises(ValueError):
        FaultProfile(error_rate=2)
    with pytest.raises(ValueError):
        FaultProfile(record_error="NOPE")
