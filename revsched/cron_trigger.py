"""The scheduler's trigger for a play: APScheduler asks it when to fire next, and it
answers with the schedule's own fire times (`Schedule.next_fire`).

Not APScheduler's CronTrigger: in 3.11 it skips the day after a spring DST change
for a midnight schedule (New York: 2026-03-08, then 03-10), and from a fire time in
the hour an autumn change repeats it returns that same time again, which loops the
scheduler forever (agronholm/apscheduler#1021). Only this module loads APScheduler,
so `revsched plays` shows the same next runs without it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from revsched.schedule import Schedule

_TICK = timedelta(microseconds=1)


class ScheduleTrigger(BaseTrigger):
    def __init__(self, schedule: Schedule, zone: ZoneInfo) -> None:
        self.schedule = schedule
        self.timezone = zone

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first fire time after the previous one (at or after `now` on the first
        call), as CronTrigger answers."""
        # In UTC: local times add and compare by wall clock, blind to a repeated hour.
        start = now.astimezone(UTC)
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(UTC)
            start = min(start, previous + _TICK)
            if start == previous:
                start += _TICK
        return self.schedule.next_fire(start, self.timezone)

    def __str__(self) -> str:
        return f"schedule[{self.schedule.text!r} {self.schedule.cron}, {self.timezone.key}]"

    def __repr__(self) -> str:
        return f"<ScheduleTrigger ({self.schedule.text!r}, timezone={self.timezone.key!r})>"
