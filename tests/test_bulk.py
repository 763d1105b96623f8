"""Bulk API 2.0 helpers: which queries go to Bulk, and CSV typed back into records."""

from __future__ import annotations

import pytest

from revsched.bulk import count_query, read_csv_pages, top_level_clauses
from revsched.bulk_csv import csv_cell


@pytest.mark.parametrize(
    ("soql", "counted"),
    [
        (
            "SELECT Id, Owner.Name FROM Account WHERE Type = 'x' ORDER BY Name",
            "SELECT COUNT() FROM Account WHERE Type = 'x'",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'Tools FROM (Acme' LIMIT 5",
            "SELECT COUNT() FROM Account WHERE Name = 'Tools FROM (Acme' LIMIT 5",
        ),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", None),
        ("SELECT OwnerId FROM Account GROUP BY OwnerId", None),
        ("SELECT Id FROM Lead ORDER BY Name LIMIT 10 OFFSET 20", None),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Task", None),
        (
            "SELECT Id FROM Account WHERE Name = 'Group By Offset Ltd'",
            "SELECT COUNT() FROM Account WHERE Name = 'Group By Offset Ltd'",
        ),
    ],
)
def test_count_query(soql: str, counted: str | None):
    assert count_query(soql) == counted


def test_semi_join_stays_in_the_rest_of_the_query():
    soql = "SELECT Id FROM Opportunity WHERE AccountId IN (SELECT Id FROM Account)"

    assert top_level_clauses(soql) == (
        "Id",
        "FROM Opportunity WHERE AccountId IN (SELECT Id FROM Account)",
    )


class Types:
    KINDS = {
        "Id": "id",
        "IsActive": "boolean",
        "Health_Score__c": "double",
        "NumberOfEmployees": "int",
        "Owner.Name": "string",
        "Churn_Date__c": "date",
    }

    def type_of(self, sobject: str, path: str) -> str:
        assert sobject == "Account"
        return self.KINDS[path]


def test_csv_rows_come_back_typed_and_nested_like_rest_records():
    page = (
        "Id,IsActive,Health_Score__c,NumberOfEmployees,Owner.Name,Churn_Date__c\n"
        '001A,true,41.5,120,"Patel, Ava",2026-05-23\n'
        "001B,false,,,,\n"
    )

    records = list(read_csv_pages(iter([page]), "Account", Types()))

    assert records == [
        {
            "Id": "001A",
            "IsActive": True,
            "Health_Score__c": 41.5,
            "NumberOfEmployees": 120,
            "Owner": {"Name": "Patel, Ava"},
            "Churn_Date__c": "2026-05-23",
        },
        {
            "Id": "001B",
            "IsActive": False,
            "Health_Score__c": None,
            "NumberOfEmployees": None,
            "Owner": {"Name": None},
            "Churn_Date__c": None,
        },
    ]


def test_null_and_booleans_are_written_as_bulk_csv_expects():
    assert [csv_cell(v) for v in (None, True, False, "x", 2)] == ["#N/A", "true", "false", "x", 2]


# A third of calls failing with 5xx, records locked, sessions expiring every 7 calls.
HOSTILE = {
    "seed": 11,
    "error_rate": 0.3,
    "record_failure_rate": 0.1,
    "record_error": "UNABLE_TO_LOCK_ROW",
    "session_expires_after": 7,
}


@pytest.mark.parametrize("faults", [None, HOSTILE], ids=["calm", "hostile"])
def test_bulk_path_reaches_the_same_org_state_as_rest(tmp_path, faults):
    from datetime import date

    from harness import RecordingNotifier, token_client

    from revsched.alerts import AlertRenderer
    from revsched.config import ApiSettings, Settings
    from revsched.localorg import FaultProfile
    from revsched.localorg.demo import build_demo_org
    from revsched.org import OrgGateway
    from revsched.play import load_plays
    from revsched.runner import run_play
    from revsched.state import StateStore

    today = date(2026, 11, 23)
    states = []
    for name, threshold in (("rest", 10**9), ("bulk", 0)):
        org = build_demo_org(tmp_path / f"{name}.sqlite", accounts=60, seed=5, today=today)
        api = ApiSettings(
            bulk_read_threshold=threshold,
            bulk_write_threshold=threshold,
            retry_base_seconds=0,
            retry_max_seconds=0,
            max_attempts=10,
        )
        settings = Settings(api=api)
        if faults and name == "bulk":
            org.faults = FaultProfile(**faults)
        result = run_play(
            load_plays(settings)["win-back"],
            settings,
            as_of=today,
            dry_run=False,
            store=StateStore(f"sqlite:///{tmp_path / name}-state.sqlite"),
            org=OrgGateway(token_client(org, []), api),
            renderer=AlertRenderer("https://x"),
            notifier=RecordingNotifier(),
        )
        assert result.status == "succeeded" and result.counts["applied"] > 0
        org.faults = None
        fields = "Id, OwnerId, SDR__c, Win_Back_Campaign__c, Owner_Assigned_Date__c"
        states.append(org.salesforce().query_all(f"SELECT {fields} FROM Account ORDER BY Id"))

    assert states[0]["records"] == states[1]["records"]


def test_a_bulk_write_reports_each_job_state_with_its_processed_count(tmp_path):
    """The bar of a Bulk write follows the job (Open, UploadComplete, InProgress,
    JobComplete) and the records Salesforce has processed, rather than sitting at 0%."""
    from datetime import date

    from harness import token_client

    from revsched.config import ApiSettings
    from revsched.localorg.demo import build_demo_org
    from revsched.org import OrgGateway

    org = build_demo_org(tmp_path / "org.sqlite", accounts=30, seed=5, today=date(2026, 11, 23))
    api = ApiSettings(bulk_write_threshold=0, retry_base_seconds=0, retry_max_seconds=0)
    gateway = OrgGateway(token_client(org, []), api)
    ids = [r["Id"] for r in gateway.query("SELECT Id FROM Account ORDER BY Id")]
    heard: list[tuple[str, int | None]] = []

    outcomes = gateway.bulk_update(
        "Account",
        [{"Id": i, "Industry": "Retail"} for i in ids],
        on_state=lambda state, processed: heard.append((state, processed)),
    )

    assert set(outcomes.values()) == {None}
    assert heard[:2] == [("Open", 0), ("UploadComplete", 0)]
    assert heard[-1] == ("JobComplete", len(ids))
    assert {state for state, _ in heard} <= {"Open", "UploadComplete", "InProgress", "JobComplete"}
    counts = [processed for _, processed in heard]
    assert counts == sorted(counts)


def test_a_bar_shows_the_job_state_and_follows_its_count():
    import io

    from rich.console import Console

    from revsched import progress

    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with progress.shown(console), progress.task("writing Account", 500) as tracker:
        shown = progress._progress
        assert shown is not None
        tracker.state("InProgress", 200)
        [task] = shown.tasks
        assert (task.description, task.completed) == (
            "writing Account (InProgress, 200 processed)",
            200,
        )
        tracker.state("JobComplete", 0, noun="read")
        tracker(150)
        assert (task.description, task.completed) == (
            "writing Account (JobComplete, 150 read)",
            150,
        )


class FakeClock:
    """time as revsched.bulk uses it: sleeping moves the clock on, and is noted."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_job_is_polled_again_when_its_rate_says_it_will_be_done(monkeypatch):
    """Each poll is an API call: none right after the upload; after the first processed
    records, the next one halfway to the end their rate gives (that rate counts the job's
    start too), then one when the job should have finished at its rate between the two."""
    import revsched.bulk as bulk

    clock = FakeClock()
    monkeypatch.setattr(bulk, "time", clock)
    # 2,000 records: the job starts 0.2 s after the upload, then does 250 a second (done at 8.2).
    polls: list[float] = []

    def call(action, request):
        polls.append(clock.now)
        processed = min(2000, round((clock.now - 0.2) * 250))
        return {
            "state": "JobComplete" if processed == 2000 else "InProgress",
            "numberRecordsProcessed": processed,
        }

    info = bulk._wait_for(call, "Account", "750x", False, 1.0, lambda *_: None, total=2000)

    assert info["state"] == "JobComplete"
    # At 1 s: 200 done, so 9 s more at that rate: polled again 4.5 s later (1,325 done),
    # which gives 250 a second, and the remaining 675 take 2.7 s.
    assert polls == pytest.approx([1.0, 5.5, 8.2])


def test_a_slow_job_is_polled_at_least_every_max_poll_seconds(monkeypatch):
    import revsched.bulk as bulk

    clock = FakeClock()
    monkeypatch.setattr(bulk, "time", clock)

    def call(action, request):
        state = "JobComplete" if clock.now >= 60 else "InProgress"
        return {"state": state, "numberRecordsProcessed": 1}

    bulk._wait_for(call, "Account", "750x", False, 1.0, lambda *_: None, total=1000)

    assert max(clock.slept) == bulk.MAX_POLL_SECONDS
    assert clock.now < 60 + bulk.MAX_POLL_SECONDS


def _demo_gateway(tmp_path, **api):
    from harness import TODAY, token_client

    from revsched.config import ApiSettings
    from revsched.localorg.demo import build_demo_org
    from revsched.org import OrgGateway

    org = build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=5, today=TODAY)
    settings = ApiSettings(retry_base_seconds=0, retry_max_seconds=0, **api)
    return org, OrgGateway(token_client(org, []), settings)


def _noting_actions(gateway, monkeypatch) -> list[str]:
    """The action of every call the gateway makes, in order."""
    actions: list[str] = []
    real = gateway.call

    def call(action, request, hint=None):
        actions.append(action)
        return real(action, request, hint)

    monkeypatch.setattr(gateway, "call", call)
    return actions


def test_a_bulk_read_over_many_pages_gives_the_records_a_rest_read_gives(tmp_path):
    soql = "SELECT Id, Name, AnnualRevenue, Owner.Name, CreatedDate FROM Account ORDER BY Id"
    _, bulk = _demo_gateway(tmp_path, bulk_read_threshold=0, bulk_page_size=7)
    _, rest = _demo_gateway(tmp_path / "rest", bulk_read_threshold=10**9)

    assert bulk.query(soql) == rest.query(soql)


def test_an_object_is_described_once_however_many_bulk_reads_type_it(tmp_path, monkeypatch):
    _, gateway = _demo_gateway(tmp_path, bulk_read_threshold=0, bulk_page_size=20)
    actions = _noting_actions(gateway, monkeypatch)

    gateway.query("SELECT Id, Name FROM Account")
    gateway.query("SELECT Id, AnnualRevenue FROM Account WHERE AnnualRevenue > 0")

    assert actions.count("describe Account") == 1
    assert actions.count("start a Bulk API 2.0 query") == 2


def test_a_describe_older_than_its_max_age_is_fetched_again(tmp_path, monkeypatch):
    """A scheduler's gateway lives for weeks: a field's type changed by an admin is seen."""
    import revsched.org

    _, gateway = _demo_gateway(tmp_path, bulk_read_threshold=0)
    actions = _noting_actions(gateway, monkeypatch)
    clock = FakeClock()
    monkeypatch.setattr(revsched.org, "time", clock)

    gateway.query("SELECT Id, Name FROM Account")
    clock.now += revsched.org.DESCRIBE_MAX_AGE.total_seconds() - 1
    gateway.query("SELECT Id, Name FROM Account")
    assert actions.count("describe Account") == 1

    clock.now += 2
    gateway.query("SELECT Id, Name FROM Account")
    assert actions.count("describe Account") == 2


def test_each_step_of_a_bulk_write_is_one_api_call(tmp_path, monkeypatch):
    """Create, upload, close, then polls: the close does not look at the job first."""
    org, gateway = _demo_gateway(tmp_path, bulk_write_threshold=0)
    ids = [r["Id"] for r in gateway.query("SELECT Id FROM Account")]
    actions = _noting_actions(gateway, monkeypatch)
    used = org.api_usage()[0]

    outcomes = gateway.bulk_update("Account", [{"Id": i, "Industry": "Retail"} for i in ids])

    assert set(outcomes.values()) == {None}
    assert [action.split()[0] for action in actions[:3]] == ["start", "upload", "close"]
    assert {action.split()[0] for action in actions[3:]} == {"check"}
    assert org.api_usage()[0] - used == len(actions)


class Jobs:
    """simple-salesforce's Bulk 2.0 client for one job, noting the calls made to it."""

    def __init__(self) -> None:
        self.state = "Open"
        self.calls: list[str] = []

    def get_job(self, job_id, is_query):
        self.calls.append("get")
        return {"state": self.state}

    def close_job(self, job_id):
        self.calls.append("close")
        self.state = "UploadComplete"


def test_a_close_tried_again_after_its_answer_was_lost_is_not_sent_twice():
    from types import SimpleNamespace

    import revsched.bulk as bulk

    jobs = Jobs()
    sf = SimpleNamespace(bulk2=SimpleNamespace(Account=SimpleNamespace(_client=jobs)))
    close = bulk._closing("Account", "750x")

    close(sf)  # closed, but its answer never arrived: the gateway tries again
    close(sf)

    assert jobs.calls == ["close", "get"]
    assert jobs.state == "UploadComplete"


class DiskFull(Exception):
    """The state store could not save the plan."""


def test_a_bulk_job_is_run_only_once_its_plan_is_saved(tmp_path, monkeypatch):
    """Its records are uploaded while the plan is saved, but the job is closed (and so
    written) only after: a run stopped while saving its plan aborts the job and leaves
    the org as it was, and the rerun writes it all."""
    from harness import run_named

    from revsched.config import Settings
    from revsched.state import StateStore

    org, gateway = _demo_gateway(tmp_path, bulk_read_threshold=0, bulk_write_threshold=0)
    settings = Settings(api=gateway.api)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    soql = "SELECT Id, OwnerId, SDR__c, Win_Back_Campaign__c FROM Account ORDER BY Id"
    before = org.salesforce().query_all(soql)["records"]

    def full(*args, **kwargs):
        raise DiskFull

    monkeypatch.setattr(StateStore, "start_run", full)
    with pytest.raises(DiskFull):
        run_named("win-back", gateway, store, settings=settings)

    ingest = [job for job in org.wsgi_app.bulk.jobs.values() if job.kind == "ingest"]
    assert [job.info["state"] for job in ingest] == ["Aborted"]
    assert org.salesforce().query_all(soql)["records"] == before

    monkeypatch.undo()
    actions = _noting_actions(gateway, monkeypatch)
    saved = StateStore.start_run

    def noted(*args, **kwargs):
        run_id = saved(*args, **kwargs)
        actions.append("plan saved")
        return run_id

    monkeypatch.setattr(StateStore, "start_run", noted)
    result = run_named("win-back", gateway, store, settings=settings)

    assert result.status == "succeeded" and result.counts["applied"] > 0
    closed = next(i for i, a in enumerate(actions) if a.startswith("close Bulk API 2.0 job"))
    assert actions.index("plan saved") < closed
    assert org.salesforce().query_all(soql)["records"] != before
