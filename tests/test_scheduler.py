"""`revsched scheduler`: jobs from config, catch-up after downtime, one run per occurrence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revsched.config import Settings
from revsched.localorg.demo import build_demo_org
from revsched.play import load_plays
from revsched.scheduler import build_scheduler, catch_up_due, run_until_stopped
from revsched.state import OccurrenceRow, Run, StateStore

REVSCHED = Path(sys.executable).parent / "revsched"


def settings(**plays: dict[str, object]) -> Settings:
    """Only the plays given are enabled."""
    others = set(load_plays(Settings())) - set(plays)
    sections = {name: {"enabled": False} for name in others} | plays
    return Settings(time_zone="America/New_York", plays=sections)


def test_one_job_per_enabled_play_with_explicit_ids_and_defaults():
    config = settings(**{"win-back": {"schedule": "0 7 * * 1-5"}})
    now = datetime(2026, 11, 23, 20, tzinfo=UTC)

    scheduler = build_scheduler(config, load_plays(config), lambda name: None, now)

    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert list(jobs) == ["play:win-back"]
    assert jobs["play:win-back"].args == ("win-back",)
    assert scheduler._job_defaults == {
        "misfire_grace_time": 21600,
        "coalesce": True,
        "max_instances": 1,
    }
    trigger = jobs["play:win-back"].trigger
    fire = trigger.get_next_fire_time(None, now)
    assert f"{fire:%a %Y-%m-%d %H:%M %Z}" == "Tue 2026-11-24 07:00 EST"
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 28, tzinfo=UTC))  # a Saturday
    assert f"{fire:%a %Y-%m-%d %H:%M %Z}" == "Mon 2026-11-30 07:00 EST"


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2026, 11, 23, 11, 0, tzinfo=UTC), True),  # 06:00 EST was an hour ago
        (datetime(2026, 11, 23, 16, 59, tzinfo=UTC), True),  # just inside six hours
        (datetime(2026, 11, 23, 17, 1, tzinfo=UTC), False),  # missed by more than the grace
    ],
)
def test_a_server_that_was_down_catches_up_within_the_grace(now: datetime, due: bool):
    config = settings(**{"win-back": {"schedule": "daily 06:00"}})
    play = load_plays(config)["win-back"]

    assert catch_up_due(play, config, now) is due
    scheduler = build_scheduler(config, {"win-back": play}, lambda name: None, now)
    catch_up = getattr(scheduler.get_jobs()[0], "next_run_time", None)
    assert catch_up == (now if due else None)


def test_scheduler_fires_catch_up_once_then_stops_cleanly():
    config = settings(**{"win-back": {"schedule": "every 1 minutes"}})
    fired: list[str] = []
    done = threading.Event()

    def fire(name: str) -> None:
        fired.append(name)
        done.set()

    scheduler = build_scheduler(config, load_plays(config), fire)
    thread = threading.Thread(target=run_until_stopped, args=(scheduler,))
    thread.start()
    assert done.wait(10)
    scheduler.shutdown()
    thread.join(10)

    assert fired == ["win-back"]
    assert not thread.is_alive()


def _postgres_url(state_url: str) -> str:
    if not state_url.startswith("postgresql"):
        pytest.skip("two schedulers share a PostgreSQL state store; SQLite is one machine's")
    return state_url


def test_two_scheduler_processes_run_each_occurrence_once(
    state_url: str, revsched_home: Path, tmp_path: Path
):
    """Both start within the grace of the same daily occurrence (an hour ago), so both
    catch it up at start, whenever each gets going: exactly one claims and runs it. (An
    every-minute schedule made the pair claim different minutes when their starts, slow
    under load, straddled a minute.)"""
    url = _postgres_url(state_url)
    revsched_home.mkdir()
    build_demo_org(revsched_home / "demo-org.sqlite", accounts=30, seed=7).close()
    config = tmp_path / "revsched.toml"
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    config.write_text(
        f"time_zone = 'UTC'\n[state]\nurl = '{url}'\n"
        f'[plays.win-back]\nschedule = "daily {an_hour_ago:%H:%M}"\n'
        + "".join(
            f"[plays.{name}]\nenabled = false\n"
            for name in sorted(set(load_plays(Settings())) - {"win-back"})
        ),
        encoding="utf-8",
    )
    StateStore(url)  # migrated once, as `revsched state upgrade` would
    env = {**os.environ, "REVSCHED_CONFIG": str(config)}
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(2)]
    processes = [
        subprocess.Popen(
            [str(REVSCHED), "--log-format", "json", "scheduler"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 120  # two cold starts on a loaded machine
        while not (logged := all("occurrence" in log.read_text() for log in logs)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(60) for process in processes]

    texts = [log.read_text() for log in logs]
    assert logged and codes == [0, 0], (codes, texts)
    text = "".join(texts)
    assert (text.count("claimed the"), text.count("already ran or is running")) == (1, 1), texts
    store = StateStore(url)
    with store.session() as session:
        claims = session.query(OccurrenceRow).all()
        runs = session.query(Run).filter(Run.play == "win-back").all()
    assert len(claims) == len(runs) == 1
