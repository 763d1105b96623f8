"""A run makes no more API calls than the script a competent engineer writes for the same
job (benchmarks/engine.py's peers): the firings the org remembers, read before a streamed
play decides, ride in a call the run makes anyway (a composite call with the query's first
page, or on the Bulk path with the object's describe), and still keep a new machine from
alerting again."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from harness import TODAY, RecordingNotifier, run_on
from simple_salesforce import Salesforce

from revsched import org_memory
from revsched.config import ApiSettings
from revsched.errors import ConfigError
from revsched.jobs.churn_intake import play as churn_intake
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.plan import Plan, diff_changes
from revsched.play import DecideContext, Play, PlayConfig, Records
from revsched.state import StateStore

# benchmarks/engine.py's play: one query, one field set on every account.
SOQL = "SELECT Id, Name, Health_Score__c FROM Account"
TARGET = 50.0
ACCOUNTS = 450
# Query pages of 200 (the least Salesforce takes): 450 accounts read in 3 calls.
BATCH = 200


def _queries(ctx: DecideContext[PlayConfig]) -> dict[str, str]:
    return {"accounts": SOQL}


def _decide(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
    target = {"Health_Score__c": (TARGET, "benchmark")}
    changes = [c for a in records["accounts"] for c in diff_changes("Account", a, target)]
    return Plan(play="benchmark-touch", as_of=ctx.as_of, changes=tuple(changes))


TOUCH = Play(
    "benchmark-touch",
    "Set one field on every account",
    PlayConfig,
    _queries,
    _decide,
    streams="accounts",
)


def _api(bulk: bool) -> ApiSettings:
    threshold = 0 if bulk else 10**6
    return ApiSettings(
        query_batch_size=BATCH, bulk_read_threshold=threshold, bulk_write_threshold=threshold
    )


def _accounts(path: Path) -> Iterator[LocalOrg]:
    """An org of ACCOUNTS accounts scored 1."""
    local = LocalOrg(path)
    local.insert(
        "Account", [{"Name": f"Account {n:03d}", "Health_Score__c": 1.0} for n in range(ACCOUNTS)]
    )
    yield local
    local.close()


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    """The org revsched runs on."""
    yield from _accounts(tmp_path / "org.sqlite")


@pytest.fixture
def script_org(tmp_path: Path) -> Iterator[LocalOrg]:
    """The same org, for the script."""
    yield from _accounts(tmp_path / "script.sqlite")


def _rest_script(sf: Salesforce) -> None:
    """benchmarks/engine.py's REST peer: query_all_iter, then 200-record Collections PATCHes."""
    todo = [
        {"attributes": {"type": "Account"}, "Id": r["Id"], "Health_Score__c": TARGET}
        for r in sf.query_all_iter(SOQL)
        if r["Health_Score__c"] != TARGET
    ]
    for start in range(0, len(todo), 200):
        body = {"allOrNone": False, "records": todo[start : start + 200]}
        sf.restful("composite/sobjects", method="PATCH", json=body)


def _bulk_script(sf: Salesforce, upload: Path) -> None:
    """benchmarks/engine.py's Bulk peer: a Bulk 2.0 query, then one Bulk 2.0 update job."""
    with upload.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["Id", "Health_Score__c"])
        for page in sf.bulk2.Account.query(SOQL, wait=1):
            for row in csv.DictReader(io.StringIO(page)):
                writer.writerow([row["Id"], TARGET])
    sf.bulk2.Account.update(csv_file=str(upload), wait=1)


def _calls(org: LocalOrg, job: Any) -> int:
    """The API calls the org counts while `job` runs."""
    before = org.api_usage()[0]
    job()
    return org.api_usage()[0] - before


def _requests(gateway: OrgGateway, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each request the gateway sends, as one decoded line: method, URL, parameters, body."""
    sent: list[str] = []
    session = gateway.sf.session
    real = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = (method, url, kwargs.get("params") or "", kwargs.get("json") or "")
        sent.append(unquote_plus(" ".join(map(str, parts))))
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(session, "request", request)
    return sent


def _scores(org: LocalOrg) -> set[Any]:
    rows = org.salesforce().query_all("SELECT Health_Score__c FROM Account")["records"]
    return {row["Health_Score__c"] for row in rows}


def test_a_rest_run_makes_the_rest_scripts_calls(
    org: LocalOrg, script_org: LocalOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 query pages and 3 PATCHes of 200 each: the firings ride in the first page's call."""
    script = script_org.salesforce()
    script.session.headers["Sforce-Query-Options"] = f"batchSize={BATCH}"
    gateway = OrgGateway(org.salesforce, _api(bulk=False))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    sent = _requests(gateway, monkeypatch)

    ours = _calls(org, lambda: run_on(TOUCH, gateway, store))
    theirs = _calls(script_org, lambda: _rest_script(script))

    assert ours == theirs == 6
    assert _scores(org) == _scores(script_org) == {TARGET}
    [carrying] = [line for line in sent if org_memory.FIRING_OBJECT in line]
    assert carrying.startswith("POST") and "/composite " in carrying
    assert f"query/?q={SOQL}'" in carrying


def test_a_bulk_run_makes_the_bulk_scripts_calls(
    org: LocalOrg, script_org: LocalOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each side creates, polls and reads a query job, then creates, uploads, closes and
    polls an update job; revsched's describe of Account carries the firings read, as the
    script's last read of the finished job is a call revsched does not make."""
    gateway = OrgGateway(org.salesforce, _api(bulk=True))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    sent = _requests(gateway, monkeypatch)

    ours = _calls(org, lambda: run_on(TOUCH, gateway, store))
    theirs = _calls(script_org, lambda: _bulk_script(script_org.salesforce(), tmp_path / "u.csv"))

    assert ours == theirs == 8
    assert _scores(org) == _scores(script_org) == {TARGET}
    [carrying] = [line for line in sent if org_memory.FIRING_OBJECT in line]
    assert carrying.startswith("POST") and "/composite " in carrying
    assert "/sobjects/Account/describe'" in carrying


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk"])
def test_a_new_machine_repeats_no_alert_of_a_streamed_play(tmp_path: Path, bulk: bool) -> None:
    """churn-intake streams its accounts: what it alerted about on one machine, a machine
    with an empty state store does not alert about again, on either read path."""
    demo = build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=7, today=TODAY)
    gateway = OrgGateway(demo.salesforce, _api(bulk))
    notifier = RecordingNotifier()
    first = run_on(
        churn_intake, gateway, StateStore(f"sqlite:///{tmp_path / 'a.sqlite'}"), notifier=notifier
    )
    assert first.status == "succeeded" and notifier.sent

    again = run_on(
        churn_intake, gateway, StateStore(f"sqlite:///{tmp_path / 'b.sqlite'}"), dry_run=True
    )

    assert again.plan.alerts == ()


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk"])
def test_an_org_without_the_firing_object_is_told_what_to_deploy(
    org: LocalOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    """The firings read refused (INVALID_TYPE) is one line naming the read and the fix, as
    when it was a call of its own; the run writes nothing and leaves no run behind."""
    monkeypatch.setattr(org_memory, "FIRING_OBJECT", "Revsched_Missing__c")
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    with pytest.raises(ConfigError) as refused:
        run_on(TOUCH, OrgGateway(org.salesforce, _api(bulk)), store)

    assert str(refused.value) == (
        "Salesforce refused to read the org's memory of firings (INVALID_TYPE: ERROR at"
        " Row:1:Column:36 sObject type 'Revsched_Missing__c' is not supported. If you are"
        " attempting to use a custom object, be sure to append the '__c' after the entity"
        " name. Please reference your WSDL or the describe call for the appropriate names.): "
        + org_memory.HINT
    )
    assert _scores(org) == {1.0}
    assert store.runs(TOUCH.name) == []


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk"])
def test_org_memory_off_reads_no_firings(
    org: LocalOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    gateway = OrgGateway(org.salesforce, _api(bulk), org_memory=False)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    sent = _requests(gateway, monkeypatch)

    ours = _calls(org, lambda: run_on(TOUCH, gateway, store))

    assert ours == (8 if bulk else 6)
    assert not [line for line in sent if "/composite " in line]
    assert _scores(org) == {TARGET}


def test_a_side_query_not_carried_is_read_alone(org: LocalOrg) -> None:
    """A Bulk read whose describe is still fresh has no call to carry the firings in."""
    gateway = OrgGateway(org.salesforce, _api(bulk=True))
    gateway.describe("Account")
    firings = org_memory.firings_query(gateway, TOUCH.name)
    assert firings is not None

    rows = _calls(org, lambda: list(gateway.iter_query(SOQL, None, firings)))

    assert rows == 1 + 3  # the firings alone; the query job: create, poll, one page
    assert org_memory.recalled(firings) == frozenset()
