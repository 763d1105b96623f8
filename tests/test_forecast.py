"""`revsched forecast`: what a play will do each coming day, exactly what applying it on
each of those days then does; and the same under a changed config, side by side."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import own_records, with_own_records
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.plan import Decision
from revsched.play import DecideContext, load_plays
from revsched.reports.forecast import Snapshot
from revsched.reports.forecast import forecast as forecast_days
from revsched.reports.windows import Window
from revsched.session import Session
from revsched.state import StateStore
from revsched.summary import decision_kind

START = date(2026, 11, 23)
DAYS = 10
# The wall clock, after the forecast's days: a run --as-of one of them is in the past.
AFTER_DIGEST_TIME = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
BEFORE_DIGEST_TIME = datetime(2026, 12, 15, 7, 30, tzinfo=UTC)


def context(play: str) -> DecideContext:
    settings = Settings()
    config = load_plays(settings)[play].configure(settings)
    return DecideContext(as_of=START, config=config, pools=settings.pools)


def forecast(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["forecast", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stages(selected: list[dict[str, Any]]) -> dict[str, int]:
    """Selected by stage as the run's summary counts them (by kind, without dates)."""
    counts = Counter(decision_kind(Decision(**d)) if d["stage"] else "" for d in selected)
    return dict(sorted(counts.items()))


def day_of(plan: dict[str, Any]) -> dict[str, Any]:
    """A run's plan counted the way a forecast day is."""
    selected = [d for d in plan["decisions"] if d["outcome"] == "selected"]
    assignees: Counter[str] = Counter()
    for members in plan["assignments"].values():
        assignees.update(members)
    return {
        "day": plan["as_of"],
        "selected": len(selected),
        "changed": len({(c["sobject"], c["record_id"]) for c in plan["changes"]}),
        "created": len(plan["creates"]),
        "merged": sum(len(m["merged"]) for m in plan["merges"]),
        "alerts": len(plan["alerts"]),
        "by_stage": stages(selected),
        "by_assignee": dict(sorted(assignees.items())),
    }


@pytest.mark.usefixtures("demo_org")
@pytest.mark.parametrize(
    ("play", "busy_days", "clock"),
    # win-back and renewal-sla act on several days; queue-recycle, dedupe-contacts and
    # lead-status-hygiene clear their backlog on the first, and the days after must know
    # it was applied (values changed, records merged, Tasks created under the leads).
    # A run --as-of a day happens at the clock's time of day: each play is run after
    # route-leads' digest_time (08:00), when its digest is due, and route-leads before too.
    [
        ("win-back", 2, AFTER_DIGEST_TIME),
        ("renewal-sla", 2, AFTER_DIGEST_TIME),
        ("queue-recycle", 1, AFTER_DIGEST_TIME),
        ("dedupe-contacts", 1, AFTER_DIGEST_TIME),
        ("lead-status-hygiene", 1, AFTER_DIGEST_TIME),
        ("account-review", 1, AFTER_DIGEST_TIME),
        # They read what their records lead to (accounts) with follow-up queries.
        ("route-leads", 1, AFTER_DIGEST_TIME),
        ("route-leads", 1, BEFORE_DIGEST_TIME),
        ("job-changes", 1, AFTER_DIGEST_TIME),
    ],
    indirect=["clock"],
)
def test_the_forecast_is_what_applying_the_play_each_day_does(
    play: str, busy_days: int, clock: datetime, run_json
):
    document = forecast(play, "--days", str(DAYS), "--from", START.isoformat())
    predicted = document["days"]
    # One read a query: date windows are read once over all the days (a follow-up query
    # is read again on a day it asks for other records).
    shipped = load_plays(Settings())[play]
    if shipped.follow_ups is None:
        assert document["reads"] == len(shipped.queries(context(play)))

    applied = [
        day_of(run_json(play, "--as-of", (START + timedelta(days=n)).isoformat())["plan"])
        for n in range(DAYS)
    ]

    assert predicted == applied
    # The play has something to do (the test could not pass vacuously).
    assert sum(1 for day in applied if day["selected"]) >= busy_days


@pytest.mark.usefixtures("demo_org")
def test_set_forecasts_a_config_change_side_by_side_and_writes_nothing(tmp_path: Path):
    args = ["win-back", "--days", "5", "--from", START.isoformat()]
    before = CliRunner().invoke(app, ["history", "--json"]).stdout

    both = forecast(*args, "--set", "plays.win-back.stages_months=[12]")

    assert both["with_changes"]["set"] == {"plays.win-back.stages_months": [12]}
    plain = forecast(*args)
    assert both["days"] == plain["days"]
    changed = both["with_changes"]["days"]
    assert all(set(d["by_stage"]) <= {"12-month"} for d in changed)
    assert sum(d["selected"] for d in changed) < sum(d["selected"] for d in plain["days"])
    assert CliRunner().invoke(app, ["history", "--json"]).stdout == before  # no run recorded


@pytest.mark.usefixtures("demo_org")
@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("catch_up_days=3", "--set 'catch_up_days=3': expected plays.PLAY.KEY=VALUE"),
        ("plays.win-back.catch_up_days=-1", "plays.win-back.catch_up_days"),
        ("plays.win-back.no_such_key=1", "plays.win-back.no_such_key"),
    ],
)
def test_a_bad_set_is_one_line_naming_it(given: str, message: str):
    result = CliRunner().invoke(app, ["forecast", "win-back", "--set", given])

    assert result.exit_code != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.usefixtures("demo_org")
def test_the_forecast_table_names_the_assignees_and_json_keeps_their_usernames():
    args = ["forecast", "win-back", "--days", "3", "--from", START.isoformat()]
    text = CliRunner().invoke(app, args, env={"COLUMNS": "300"})

    assert text.exit_code == 0, text.output
    first_day = next(line for line in text.stdout.splitlines() if line.startswith("2026-11-23"))
    assert first_day.split("   ")[-1].strip() == (
        "Ava Patel 1, Ben Okafor 1, Carla Mendez 1, Dev Sharma 1, Fay Nguyen 1, Gus Romero 1,"
        " Hana Kim 1, Ivan Petrov 1"
    )
    assert "ava.patel@demo.revsched.dev" in forecast(*args[1:])["days"][0]["by_assignee"]


@pytest.mark.usefixtures("demo_org")
@pytest.mark.parametrize(
    ("given", "line"),
    [
        (
            "plays.win-back.stages_months=abc",
            "error: --set: plays.win-back.stages_months = 'abc': expected a valid list",
        ),
        (
            "plays.win-back.no_such_key=1",
            "error: --set: plays.win-back.no_such_key: unknown key"
            " (check the spelling against config.example.toml)",
        ),
        (
            "plays.account-review.catch_up_days=3",
            "error: --set 'plays.account-review.catch_up_days=3': the forecast is of win-back;"
            " set plays.win-back.KEY=VALUE",
        ),
    ],
)
def test_a_bad_set_is_blamed_on_set_not_on_the_config_file(tmp_path: Path, given: str, line: str):
    config = tmp_path / "revsched.toml"
    config.write_text("[plays.win-back]\ncatch_up_days = 20\n")

    result = CliRunner().invoke(app, ["forecast", "win-back", "-c", str(config), "--set", given])

    assert result.exit_code == 2
    assert result.stderr.strip() == line


@pytest.mark.usefixtures("demo_org")
def test_a_bad_config_file_is_still_blamed_on_the_file_when_set_is_given(tmp_path: Path):
    config = tmp_path / "revsched.toml"
    config.write_text("[plays.win-back]\ncatch_up_days = -1\n")
    given = "plays.win-back.stages_months=[12]"

    result = CliRunner().invoke(app, ["forecast", "win-back", "-c", str(config), "--set", given])

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {config}: plays.win-back.catch_up_days = -1: expected greater than or equal to 0"
    )


@pytest.mark.usefixtures("demo_org")
def test_the_forecast_report_charts_the_days(tmp_path: Path):
    args = ["forecast", "win-back", "--days", "7", "--from", START.isoformat()]
    result = CliRunner().invoke(app, [*args, "--report-dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "selected" in result.stdout and "2026-11-29" in result.stdout
    page = (tmp_path / "win-back-forecast-2026-11-23.html").read_text(encoding="utf-8")
    assert "<svg" in page and "win-back: selected per day" in page
    assert "win-back: selected per day by stage" in page  # 6-month and 12-month
    rows = (tmp_path / "win-back-forecast-days-2026-11-23.csv").read_text(encoding="utf-8")
    assert rows.splitlines()[0] == "day,selected,changed,created,merged,alerts,by_stage,by_assignee"
    assert len(rows.splitlines()) == 8


def test_only_queries_a_wider_bound_makes_a_superset_of_are_widened():
    days = ["2026-05-31", "2026-06-01"]
    bounded = "SELECT Id FROM Account WHERE Type = 'X' AND Churn__c <= {} ORDER BY Id"

    window = Window.of([bounded.format(d) for d in days])

    assert window is not None and window.widened.endswith("Churn__c <= 2026-06-01 ORDER BY Id")
    rows = [{"Id": "a", "Churn__c": "2026-06-01"}, {"Id": "b", "Churn__c": None}]
    assert window.day(rows, 0, {}) == [] and window.day(rows, 1, {}) == rows[:1]
    for unsafe in (
        "SELECT Id FROM Account WHERE Churn__c <= {} OR NOT Type = 'X'",
        "SELECT Id FROM Account WHERE Type = 'X' OR Id IN (SELECT Id FROM Account WHERE A__c < {})",
        "SELECT Id FROM Account WHERE Churn__c <= {} LIMIT 10",
        "SELECT Id FROM Account WHERE Churn__c = {}",
        "SELECT Id, (SELECT Id FROM Tasks WHERE ActivityDate > {}) FROM Account WHERE Type = 'X'",
    ):
        assert Window.of([unsafe.format(d) for d in days]) is None, unsafe


@pytest.mark.usefixtures("demo_org")
def test_a_play_that_runs_several_times_a_day_says_its_forecast_is_approximated():
    args = ["--days", "2", "--from", START.isoformat()]

    sub_daily = forecast("add-drop-approvals", *args)
    text = CliRunner().invoke(app, ["forecast", "add-drop-approvals", *args]).stdout

    assert sub_daily["approximated"] == (
        "add-drop-approvals runs several times a day (*/15 * * * *); the forecast counts"
        " one run a day, as if the day's later runs found nothing new"
    )
    assert "Approximated: add-drop-approvals runs several times a day" in " ".join(text.split())
    assert forecast("win-back", *args)["approximated"] is None  # daily: each day is its run


@pytest.mark.usefixtures("demo_org")
@pytest.mark.parametrize(("reads_the_date", "decided"), [(True, DAYS), (False, 2)])
def test_a_play_that_reads_no_date_is_decided_again_only_when_its_records_change(
    reads_the_date: bool, decided: int
):
    session = Session.open(None, True)
    shipped = load_plays(session.settings)["dedupe-contacts"]
    calls: list[date] = []

    def counted(records, ctx):
        calls.append(ctx.as_of)
        return shipped.decide(records, ctx)

    play = replace(shipped, decide=counted, reads_the_date=reads_the_date)
    days = list(
        forecast_days(play, session.settings, START, DAYS, session.store, Snapshot(session.org))
    )

    # Day 1 merges and flags; day 2 sees the result; every later day sees day 2's records.
    assert len(calls) == decided
    assert [plan.as_of for plan in days] == [START + timedelta(days=n) for n in range(DAYS)]
    assert sum(1 for plan in days if plan.merges) == 1


def test_a_row_a_bound_under_an_or_drops_is_kept_when_the_other_branch_admits_it():
    days = ["2026-05-31", "2026-06-01"]
    either = "SELECT Id FROM Account WHERE (Churn__c <= {} AND Type = 'X') OR Type = 'Y'"

    window = Window.of([either.format(d) for d in days])

    assert window is not None and window.disjunctive
    assert window.without(frozenset({0})) == (
        "SELECT Id FROM Account WHERE (Id = null AND Type = 'X') OR Type = 'Y'"
    )
    rows = [
        {"Id": "x", "Churn__c": "2026-06-01", "Type": "X"},
        {"Id": "y", "Churn__c": "2026-06-01", "Type": "Y"},
        {"Id": "z", "Churn__c": None, "Type": "Y"},
    ]
    asked: list[frozenset[int]] = []

    def passing(bounds: frozenset[int]) -> set[str]:
        asked.append(bounds)
        return {"y", "z"}  # what the org returns for the query without the bound

    assert window.day(rows, 0, {}, passing) == rows[1:]
    assert window.day(rows, 1, {}, passing) == rows
    assert set(asked) == {frozenset({0})}


@pytest.mark.usefixtures("demo_org")
def test_a_forecast_counts_stages_by_kind_not_one_per_date():
    first = forecast("lead-status-hygiene", "--days", "1", "--from", START.isoformat())["days"][0]

    assert first["by_stage"] == {
        "opportunity_names": 4,
        "plg_taken": 9,
        "remarket_reason": 9,
        "remarket_reason manager": 7,
        "working_next_step": 1,
        "working_next_step stale": 1,
    }


def test_a_plays_queries_read_its_records_by_its_name_each_day(tmp_path: Path):
    local = LocalOrg(tmp_path / "org.sqlite")
    accounts, contacts = with_own_records(local)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    snapshot = Snapshot(OrgGateway(local.salesforce))

    plans = forecast_days(own_records, Settings(), START, 2, store, snapshot)

    # Its follow-up query (the contacts) is read too, as a run reads it.
    own = accounts + contacts
    assert [[d.record_id for d in plan.decisions] for plan in plans] == [own, own]
