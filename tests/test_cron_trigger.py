"""Fire times across DST changes: every local day (week, month) a schedule names, once.

The expected times come from walking UTC minute by minute and reading the local
clock, not from any cron code: APScheduler 3.11 skipped the day after a spring
change for a midnight schedule (2026-03-08, then 03-10 in New York), and returned
a fire time in an autumn change's repeated hour again and again. Away from those
days, the fire times are APScheduler's CronTrigger's, field for field; and the next
runs `revsched plays` lists are the scheduler's jobs' own."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.cron_trigger import ScheduleTrigger
from revsched.play import load_plays
from revsched.schedule import CRON_DAYS, expand_weekdays, parse_schedule
from revsched.scheduler import build_scheduler

# Each zone's 2026 changes (local dates), and schedules whose times exist on every day.
CHANGES = {
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Europe/London": (date(2026, 3, 29), date(2026, 10, 25)),
    "Australia/Sydney": (date(2026, 4, 5), date(2026, 10, 4)),
}
SCHEDULES: dict[str, Callable[[datetime], bool]] = {
    "daily": lambda t: (t.hour, t.minute) == (0, 0),
    "daily 06:00": lambda t: (t.hour, t.minute) == (6, 0),
    "daily 23:30": lambda t: (t.hour, t.minute) == (23, 30),
    "weekly mon": lambda t: (t.weekday(), t.hour, t.minute) == (0, 0, 0),
    "monthly 1": lambda t: (t.day, t.hour, t.minute) == (1, 0, 0),
}


def _walked(zone: ZoneInfo, start: datetime, end: datetime, names: Callable[[datetime], bool]):
    """Local fire times from the clock itself; a wall time seen twice (fall back) once."""
    found: list[datetime] = []
    minute = start
    while minute < end:
        local = minute.astimezone(zone)
        if names(local) and not local.fold:
            found.append(local)
        minute += timedelta(minutes=1)
    return found


@pytest.mark.parametrize("text", SCHEDULES)
@pytest.mark.parametrize("zone_name", CHANGES)
def test_each_named_day_fires_once_across_dst_changes(zone_name: str, text: str):
    zone = ZoneInfo(zone_name)
    trigger = ScheduleTrigger(parse_schedule(text), zone)
    for change in CHANGES[zone_name]:
        start = datetime.combine(change - timedelta(days=9), datetime.min.time(), UTC)
        end = start + timedelta(days=40)
        expected = _walked(zone, start, end, SCHEDULES[text])
        fired: list[datetime] = []
        fire = trigger.get_next_fire_time(None, start)
        while fire is not None and fire < end:
            fired.append(fire)
            # As the scheduler asks once a job has run.
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))

        assert [f.astimezone(UTC) for f in fired] == [e.astimezone(UTC) for e in expected]


def _fire_times(text: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """What the scheduler fires, asking its trigger as it does after each fire."""
    trigger = ScheduleTrigger(parse_schedule(text), zone)
    fired: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        # In UTC: local times compare by wall clock, blind to a repeated hour.
        fire = fire.astimezone(UTC)
        assert not fired or fire > fired[-1], f"{text}: {fire} after {fired[-1]}"
        fired.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fired


NEW_YORK = ZoneInfo("America/New_York")
# New York's 2026 changes: 02:00 EST -> 03:00 EDT on 8 March, 02:00 EDT -> 01:00 EST on 1 November.
SPRING = datetime(2026, 3, 8, tzinfo=UTC)
AUTUMN = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_time_the_autumn_change_repeats_fires_once_and_the_next_day_again():
    fired = _fire_times(
        "30 1 * * *", NEW_YORK, AUTUMN - timedelta(days=1), AUTUMN + timedelta(days=2)
    )

    assert [f"{f.astimezone(NEW_YORK):%m-%d %H:%M %Z}" for f in fired] == [
        "10-31 01:30 EDT",
        "11-01 01:30 EDT",
        "11-02 01:30 EST",
    ]


def test_a_time_the_spring_change_skips_fires_as_late_as_the_clock_moved():
    fired = _fire_times(
        "30 2 * * *", NEW_YORK, SPRING - timedelta(days=1), SPRING + timedelta(days=2)
    )

    assert [f"{f.astimezone(NEW_YORK):%m-%d %H:%M %Z}" for f in fired] == [
        "03-07 02:30 EST",
        "03-08 03:30 EDT",
        "03-09 02:30 EDT",
    ]


@pytest.mark.parametrize("change", [SPRING, AUTUMN])
@pytest.mark.parametrize("minutes", [15, 30])
def test_every_n_minutes_follows_real_time_across_the_changes(change: datetime, minutes: int):
    """Both repeated 01:xx hours fire, the skipped 02:xx hour does not: N minutes apart."""
    start, end = change, change + timedelta(hours=12)
    expected = _walked(NEW_YORK, start, end, lambda t: t.minute % minutes == 0)
    expected += [
        e.astimezone(NEW_YORK).replace(fold=1)
        for e in expected
        if e.astimezone(NEW_YORK).replace(fold=1).utcoffset() != e.utcoffset()
    ]

    fired = _fire_times(f"every {minutes} minutes", NEW_YORK, start, end)

    assert fired == sorted(e.astimezone(UTC) for e in expected)
    assert {b - a for a, b in pairwise(fired)} == {timedelta(minutes=minutes)}


def _apscheduler_trigger(text: str, zone: ZoneInfo) -> CronTrigger:
    """APScheduler's own CronTrigger for the schedule (weekdays by name: 0 is Sunday)."""
    schedule = parse_schedule(text)
    weekdays = schedule.day_of_week
    if weekdays != "*":
        weekdays = ",".join(CRON_DAYS[d] for d in expand_weekdays(weekdays))
    return CronTrigger(
        minute=schedule.minute,
        hour=schedule.hour,
        day=schedule.day,
        month=schedule.month,
        day_of_week=weekdays,
        timezone=zone,
    )


CRON_FORMS = (
    "daily",
    "daily 23:30",
    "weekly sun 07:15",
    "monthly 28 06:00",
    "every 20 minutes",
    "every 3 hours",
    "5,35 9-17/2 * * 1-5",
    "0 12 * * 0",
    "0 12 * * 7",
    "0 0 15 */3 *",
    "10 4 1-7 1,6 *",
    "7/20 3/8 * * *",
    "0 8 * * fri-sat",
    "59 23 31 * *",
    "0 0 29 2 *",
)


@pytest.mark.parametrize("text", CRON_FORMS)
@pytest.mark.parametrize("zone_name", ["UTC", "America/New_York", "Australia/Sydney"])
def test_fire_times_are_apschedulers_away_from_dst_changes(text: str, zone_name: str):
    zone = ZoneInfo(zone_name)
    ours = ScheduleTrigger(parse_schedule(text), zone)
    theirs = _apscheduler_trigger(text, zone)
    # Every 2 days 7 hours 13 minutes over 2026-2027: all hours, weekdays and months.
    moment = datetime(2026, 1, 1, 0, 7, 30, tzinfo=UTC)
    compared = 0
    while moment.year < 2028:
        expected = theirs.get_next_fire_time(None, moment)
        near_a_change = any(
            (t - timedelta(days=2)).astimezone(zone).utcoffset()
            != (t + timedelta(days=2)).astimezone(zone).utcoffset()
            for t in (moment, expected)
        )
        if not near_a_change:
            assert ours.get_next_fire_time(None, moment) == expected, moment
            compared += 1
        moment += timedelta(days=2, hours=7, minutes=13)
    assert compared > 200


EDGES = [
    SPRING + timedelta(hours=6, minutes=59),  # 01:59 EST, a minute before the change
    SPRING + timedelta(hours=7),  # 03:00 EDT
    AUTUMN + timedelta(hours=5, minutes=30),  # the first 01:30
    AUTUMN + timedelta(hours=6, minutes=30, seconds=1),  # just after the second 01:30
    AUTUMN + timedelta(hours=7),  # 01:00 -> 02:00 EST
]


@pytest.mark.parametrize("moment", EDGES)
def test_plays_lists_the_next_runs_the_scheduler_fires_at(moment: datetime):
    """Every shipped play on a schedule next to a DST change: `revsched plays` names the
    time the scheduler's job fires at next."""
    schedules = ["30 1 * * *", "every 15 minutes", "30 2 * * *", "daily 01:00", "0 * * * *"]
    names = sorted(load_plays(Settings()))
    sections = {name: {"schedule": schedules[i % len(schedules)]} for i, name in enumerate(names)}
    settings = Settings(time_zone="America/New_York", plays=sections)
    scheduler = build_scheduler(settings, load_plays(settings), lambda name: None, moment)
    fires = {
        job.args[0]: job.trigger.get_next_fire_time(None, moment) for job in scheduler.get_jobs()
    }

    listed = {
        play.name: play.configure(settings).schedule.next_fire(moment, settings.zone)
        for play in load_plays(settings).values()
    }

    assert listed == fires
    assert len(set(listed.values())) > 1


def test_plays_shows_the_next_run_in_the_configured_zone(tmp_path):
    config = tmp_path / "revsched.toml"
    config.write_text(
        'time_zone = "America/New_York"\n[plays.win-back]\nschedule = "every 15 minutes"\n',
        encoding="utf-8",
    )
    before = datetime.now(UTC)

    result = CliRunner().invoke(app, ["plays", "--json", "-c", str(config)])

    listed = {play["name"]: play for play in json.loads(result.stdout)}
    next_run = datetime.fromisoformat(listed["win-back"]["next_run"])
    assert listed["win-back"]["time_zone"] == "America/New_York"
    assert next_run.utcoffset() == before.astimezone(NEW_YORK).utcoffset()
    assert before <= next_run <= before + timedelta(minutes=15)
    assert next_run.minute % 15 == 0
