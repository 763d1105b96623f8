"""Each scheduled occurrence runs once, however many schedulers, crons or DST folds fire it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg.demo import build_demo_org
from revsched.occurrences import claim_latest
from revsched.schedule import parse_schedule
from revsched.state import StateStore

NEW_YORK = ZoneInfo("America/New_York")


def test_a_period_is_claimed_once(state_url: str):
    store = StateStore(state_url)

    assert store.claim_occurrence("win-back", "2026-11-23", "ops-1:10") is None
    taken = store.claim_occurrence("win-back", "2026-11-23", "ops-2:20")
    assert taken is not None and taken.holder == "ops-1:10" and taken.claimed_at.tzinfo
    assert store.claim_occurrence("win-back", "2026-11-24", "ops-2:20") is None
    assert store.claim_occurrence("other-play", "2026-11-23", "ops-2:20") is None


def test_racing_claimers_get_one_winner(state_url: str):
    stores = [StateStore(state_url) for _ in range(6)]

    with ThreadPoolExecutor(len(stores)) as pool:
        results = list(
            pool.map(
                lambda i: stores[i].claim_occurrence("win-back", "2026-W48", f"ops-{i}"),
                range(len(stores)),
            )
        )

    assert sum(result is None for result in results) == 1


def test_dst_fall_back_double_fire_runs_once(state_url: str):
    store = StateStore(state_url)
    schedule = parse_schedule("30 1 * * *")
    first_fire = datetime.fromisoformat("2026-11-01T01:30:05-04:00")  # EDT
    second_fire = datetime.fromisoformat("2026-11-01T01:30:05-05:00")  # EST, an hour later

    first = claim_latest(store, "win-back", schedule, NEW_YORK, first_fire)
    second = claim_latest(store, "win-back", schedule, NEW_YORK, second_fire)

    assert first.taken_by is None and first.period_key == "2026-11-01T01:30"
    assert second.taken_by is not None and second.period_key == first.period_key
    assert "already ran or is running" in second.message()


def test_late_fire_claims_the_occurrence_it_missed(state_url: str):
    store = StateStore(state_url)
    schedule = parse_schedule("daily 06:00")

    late = claim_latest(store, "win-back", schedule, NEW_YORK, datetime(2026, 11, 24, 3, 0))
    on_time = claim_latest(store, "win-back", schedule, NEW_YORK, datetime(2026, 11, 23, 12))

    assert late.period_key == on_time.period_key == "2026-11-23"
    assert late.taken_by is None and on_time.taken_by is not None


def test_scheduled_run_from_cron_runs_once_per_period(revsched_home: Path):
    revsched_home.mkdir()
    build_demo_org(revsched_home / "demo-org.sqlite", accounts=30, seed=7).close()
    runner = CliRunner()

    first = runner.invoke(app, ["run", "win-back", "--scheduled"])
    second = runner.invoke(app, ["run", "win-back", "--scheduled"])

    assert first.exit_code == 0, first.output
    assert "claimed the" in first.stderr
    assert second.exit_code == 0, second.output
    assert "already ran or is running" in second.stderr and "nothing to do" in second.stderr
    assert second.stdout == ""
    runs = StateStore(f"sqlite:///{revsched_home / 'state.sqlite'}").runs()
    assert [run.play for run in runs] == ["win-back"]


def test_scheduled_refuses_dry_run():
    result = CliRunner().invoke(app, ["run", "win-back", "--scheduled", "--dry-run"])

    assert result.exit_code == 2
    assert "--scheduled runs the current occurrence" in result.stderr
