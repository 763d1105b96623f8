"""Fire times across DST changes: every local day (week, month) a schedule names, once.

The expected times come from walking UTC minute by minute and reading the local
clock, not from any cron code: APScheduler 3.11 skipped the day after a spring
change for a midnight schedule (2026-03-08, then 03-10 in New York)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from revsched.schedule import parse_schedule

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
    trigger = parse_schedule(text).trigger(zone)
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
