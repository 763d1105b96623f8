"""Schedules: what config may say, what it means (cron's Sunday 0), and period keys."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from revsched.config import Settings
from revsched.cron_trigger import ScheduleTrigger
from revsched.errors import ConfigError
from revsched.play import load_plays
from revsched.schedule import ScheduleError, parse_schedule

UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")


def fires(text: str, after: datetime, count: int, zone: ZoneInfo = UTC) -> list[str]:
    """The next `count` fire times after `after`, as local 'Day YYYY-MM-DD HH:MM' strings."""
    trigger = ScheduleTrigger(parse_schedule(text), zone)
    found: list[str] = []
    fire = trigger.get_next_fire_time(None, after)
    while len(found) < count:
        found.append(f"{fire:%a %Y-%m-%d %H:%M %Z}")
        fire = trigger.get_next_fire_time(fire, fire)
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", ["Mon 2026-11-23 00:00 UTC", "Tue 2026-11-24 00:00 UTC"]),
        ("daily 06:00", ["Mon 2026-11-23 06:00 UTC", "Tue 2026-11-24 06:00 UTC"]),
        ("weekly mon 07:00", ["Mon 2026-11-23 07:00 UTC", "Mon 2026-11-30 07:00 UTC"]),
        ("Weekly Friday", ["Fri 2026-11-27 00:00 UTC", "Fri 2026-12-04 00:00 UTC"]),
        ("monthly 1 00:30", ["Tue 2026-12-01 00:30 UTC", "Fri 2027-01-01 00:30 UTC"]),
        ("every 15 minutes", ["Sun 2026-11-22 12:15 UTC", "Sun 2026-11-22 12:30 UTC"]),
        ("every 6 hours", ["Sun 2026-11-22 18:00 UTC", "Mon 2026-11-23 00:00 UTC"]),
        # cron's weekday 0 (and 7) is Sunday, not Monday as in CronTrigger.from_crontab.
        ("0 6 * * 0", ["Sun 2026-11-29 06:00 UTC", "Sun 2026-12-06 06:00 UTC"]),
        ("0 6 * * 7", ["Sun 2026-11-29 06:00 UTC", "Sun 2026-12-06 06:00 UTC"]),
        ("30 8 * * 1-5", ["Mon 2026-11-23 08:30 UTC", "Tue 2026-11-24 08:30 UTC"]),
        ("0 9 * * 5-7", ["Fri 2026-11-27 09:00 UTC", "Sat 2026-11-28 09:00 UTC"]),
        ("0 9 * * sat,sun", ["Sat 2026-11-28 09:00 UTC", "Sun 2026-11-29 09:00 UTC"]),
        ("0 0 15 */3 *", ["Fri 2027-01-15 00:00 UTC", "Thu 2027-04-15 00:00 UTC"]),
    ],
)
def test_schedules_fire_when_cron_would(text: str, expected: list[str]):
    # Sunday 22 November 2026, midday.
    assert fires(text, datetime(2026, 11, 22, 12, 1, tzinfo=UTC), 2) == expected


def test_schedules_fire_in_the_configured_time_zone():
    assert fires("daily 06:00", datetime(2026, 11, 22, 12, tzinfo=UTC), 1, NEW_YORK) == [
        "Mon 2026-11-23 06:00 EST"
    ]


@pytest.mark.parametrize(
    ("text", "occurrence", "key"),
    [
        ("daily 06:00", datetime(2026, 11, 23, 6), "2026-11-23"),
        ("weekly mon", datetime(2026, 11, 23), "2026-W48"),
        ("weekly sun", datetime(2027, 1, 3), "2026-W53"),
        ("monthly 1", datetime(2026, 11, 1), "2026-11"),
        ("every 15 minutes", datetime(2026, 11, 23, 10, 15), "2026-11-23T10:15"),
        ("15 10 * * *", datetime(2026, 11, 23, 10, 15), "2026-11-23T10:15"),
    ],
)
def test_period_key_names_the_period_one_run_covers(text: str, occurrence: datetime, key: str):
    assert parse_schedule(text).period_key(occurrence.replace(tzinfo=UTC)) == key


@pytest.mark.parametrize(
    ("text", "now", "latest"),
    [
        ("daily 06:00", datetime(2026, 11, 23, 5, 59), datetime(2026, 11, 22, 6)),
        ("daily 06:00", datetime(2026, 11, 23, 6, 0), datetime(2026, 11, 23, 6)),
        ("every 15 minutes", datetime(2026, 11, 23, 10, 29), datetime(2026, 11, 23, 10, 15)),
        ("weekly mon 07:00", datetime(2026, 11, 22, 23), datetime(2026, 11, 16, 7)),
        ("monthly 1", datetime(2026, 11, 30, 23), datetime(2026, 11, 1)),
        ("0 0 29 2 *", datetime(2026, 11, 23), datetime(2024, 2, 29)),
    ],
)
def test_latest_occurrence_is_what_a_late_fire_covers(text: str, now: datetime, latest: datetime):
    if latest.year == 2024:
        with pytest.raises(ScheduleError, match="has not fired in the past year"):
            parse_schedule(text).latest(now.replace(tzinfo=UTC), UTC)
        return
    assert parse_schedule(text).latest(now.replace(tzinfo=UTC), UTC) == latest.replace(tzinfo=UTC)


def test_dst_fall_back_double_fire_shares_one_period_key():
    """01:30 happens twice in New York on 1 Nov 2026; both fires are the same occurrence."""
    schedule = parse_schedule("30 1 * * *")
    trigger = ScheduleTrigger(schedule, NEW_YORK)
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC).astimezone(NEW_YORK)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC).astimezone(NEW_YORK)  # 01:30 EST
    assert trigger.get_next_fire_time(None, first) == first
    assert schedule.period_key(first) == schedule.period_key(second) == "2026-11-01T01:30"
    daily = parse_schedule("daily 01:30")
    assert daily.period_key(first) == daily.period_key(second) == "2026-11-01"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("daily 25:00", "'25:00' is not a time of day (HH:MM, 24-hour)"),
        ("weekly someday", "'someday' is not a weekday (mon..sun)"),
        ("monthly 31", "day 31 must be 1..28 so every month has it"),
        ("every 7 minutes", "every N minutes with N dividing 60"),
        ("0 6 * * 8", "day of week '8' is not valid: use values within 0..7"),
        ("61 * * * *", "minute '61' is not valid"),
        ("5-1 * * * *", "minute '5-1' is not valid"),
        ("0 6 1 * 1", "restrict the day of month or the day of week, not both"),
        ("fortnightly", "'fortnightly' is not a schedule; use \"daily [HH:MM]\""),
    ],
)
def test_bad_schedules_say_what_is_allowed(text: str, message: str):
    with pytest.raises(ScheduleError) as error:
        parse_schedule(text)

    assert message in str(error.value)


def test_bad_schedule_in_config_names_the_key():
    play = load_plays(Settings())["win-back"]

    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"win-back": {"schedule": "daily 6am"}}))

    assert str(error.value).startswith("plays.win-back.schedule = 'daily 6am': 'daily 6am'")


def test_configured_schedule_is_typed_and_prints_as_written():
    play = load_plays(Settings())["win-back"]

    config = play.configure(Settings(plays={"win-back": {"schedule": "0 7 * * 1-5"}}))

    assert config.schedule.cron == "0 7 * * 1-5"
    assert str(config.schedule) == "0 7 * * 1-5"


def test_play_redeclaring_schedule_as_text_still_gets_a_schedule():
    from revsched.play import PlayConfig

    class OldStyle(PlayConfig):
        schedule: str = "weekly fri 09:00"

    assert OldStyle().schedule == parse_schedule("weekly fri 09:00")
    with pytest.raises(ValueError, match="is not a schedule"):
        OldStyle(schedule="sometimes")
