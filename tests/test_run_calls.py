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
from harness import RecordingNotifier, run_on
from simple_salesforce import Salesforce

from revsched import org_memory
from revsched.alerts import AlertRenderer
from revsched.config import ApiSettings
from revsched.errors import ConfigError
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.plan import Plan, Recipient, diff_changes
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Records
from revsched.runner import RunResult
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
    """8 calls each: a query job created, polled and read (one page), an update job
    created, uploaded, closed and polled. Besides those, revsched describes Account (the
    types of the CSV cells), with the firings read in the same call, and the script reads
    the finished job once more."""
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


def _welcome_queries(ctx: DecideContext[PlayConfig]) -> dict[str, str]:
    return {"accounts": "SELECT Id, Name FROM Account WHERE Name LIKE 'Account 00%'"}


def _welcome(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
    """Each account is welcomed once: an alert at stage "welcome", unless it fired."""
    plan = PlanBuilder(ctx, "Account")
    revops = (Recipient(role="revops", user_id=None, name="RevOps"),)
    for account in records["accounts"]:
        if (account["Id"], "welcome") in ctx.fired:
            plan.skip(account, "welcomed before", kind="welcomed")
            continue
        plan.select(account, "not welcomed yet")
        context = {"name": account["Name"]}
        plan.alert("welcome.j2", account["Id"], "welcome", revops, "new account", context)
        plan.mark_fired(account["Id"], "welcome")
    return plan.build()


WELCOME = Play(
    "welcome",
    "Welcome each account once",
    PlayConfig,
    _welcome_queries,
    _welcome,
    streams="accounts",
)


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk"])
def test_a_new_machine_repeats_no_alert_of_a_streamed_play(
    org: LocalOrg, tmp_path: Path, bulk: bool
) -> None:
    """What a streamed play alerted about on one machine, a machine with an empty state
    store does not alert about again, on either read path: the org remembers the firings
    (without them, it would)."""
    (tmp_path / "welcome.j2").write_text("Welcome {{ name }}")
    renderer = AlertRenderer(org.salesforce().base_url, [tmp_path])
    sent = RecordingNotifier()

    def machine(name: str, memory: bool = True, dry_run: bool = True) -> RunResult:
        gateway = OrgGateway(org.salesforce, _api(bulk), org_memory=memory)
        store = StateStore(f"sqlite:///{tmp_path / name}.sqlite")
        return run_on(WELCOME, gateway, store, dry_run, renderer=renderer, notifier=sent)

    first = machine("first", dry_run=False)
    assert first.status == "succeeded" and len(sent.sent) == 10

    assert machine("rebuilt").plan.alerts == ()
    assert len(machine("forgetful", memory=False).plan.alerts) == 10


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
    [account] = org.insert("Account", [{"Name": "Fired"}])
    key = org_memory.firing_key(TOUCH.name, account, "welcome")
    firing = {"Name": key, "Play__c": TOUCH.name, "Record_Id__c": account, "Stage__c": "welcome"}
    org.insert(org_memory.FIRING_OBJECT, [{**firing, org_memory.KEY_FIELD: key}])
    gateway = OrgGateway(org.salesforce, _api(bulk=True))
    gateway.describe("Account")
    firings = org_memory.firings_query(gateway, TOUCH.name)

    calls = _calls(org, lambda: list(gateway.iter_query(SOQL, None, firings)))

    assert calls == 1 + 3  # the firings alone; the query job: create, poll, one page
    assert org_memory.recalled(firings) == {(account, "welcome")}
