"""`revsched forecast`: what a play will do each coming day, exactly what applying it on
each of those days then does; and the same under a changed config, side by side."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import own_records, with_own_records
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.play import DecideContext, load_plays
from revsched.reports.forecast import Snapshot
from revsched.reports.forecast import forecast as forecast_days
from revsched.reports.windows import Window
from revsched.state import StateStore

START = date(2026, 11, 23)
DAYS = 10


def context(play: str) -> DecideContext:
    settings = Settings()
    config = load_plays(settings)[play].configure(settings)
    return DecideContext(as_of=START, config=config, pools=settings.pools)


def forecast(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["forecast", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stages(selected: list[dict[str, Any]]) -> dict[str, int]:
    """Selected by stage; one stage per dedupe cluster is counted as "cluster N: ..."."""
    counts = Counter(d["stage"] or "" for d in selected)
    if len(counts) > 10:
        counts = Counter(re.sub(r"\d+", "N", d["stage"] or "") for d in selected)
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
    ("play", "busy_days"),
    # win-back and renewal-sla act on several days; queue-recycle, dedupe-contacts and
    # lead-status-hygiene clear their backlog on the first, and the days after must know
    # it was applied (values changed, records merged, Tasks created under the leads).
    [
        ("win-back", 2),
        ("renewal-sla", 2),
        ("queue-recycle", 1),
        ("dedupe-contacts", 1),
        ("lead-status-hygiene", 1),
    ],
)
def test_the_forecast_is_what_applying_the_play_each_day_does(play: str, busy_days: int, run_json):
    document = forecast(play, "--days", str(DAYS), "--from", START.isoformat())
    predicted = document["days"]
    # One read a query: date windows are read once over all the days.
    assert document["reads"] == len(load_plays(Settings())[play].queries(context(play)))

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
        "SELECT Id FROM Account WHERE Churn__c <= {} OR Type = 'X'",
        "SELECT Id FROM Account WHERE Churn__c <= {} LIMIT 10",
        "SELECT Id FROM Account WHERE Churn__c = {}",
        "SELECT Id, (SELECT Id FROM Tasks WHERE ActivityDate > {}) FROM Account WHERE Type = 'X'",
    ):
        assert Window.of([unsafe.format(d) for d in days]) is None, unsafe


def test_a_plays_queries_read_its_records_by_its_name_each_day(tmp_path: Path):
    local = LocalOrg(tmp_path / "org.sqlite")
    accounts, _contacts = with_own_records(local)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    snapshot = Snapshot(OrgGateway(local.salesforce))

    plans = forecast_days(own_records, Settings(), START, 2, store, snapshot)

    assert [[d.record_id for d in plan.decisions] for plan in plans] == [accounts, accounts]
