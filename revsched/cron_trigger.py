"""APScheduler's CronTrigger, without the day it skips next to a DST change.

APScheduler 3.11's CronTrigger steps from one fire time to the next by adding a
wall-clock difference and normalising through a timestamp; on the day after a
spring-forward change that lands an hour off and moves on a day, so a "daily"
(midnight) schedule in America/New_York fires on 2026-03-08 and next on 03-10.
A fire time found from a start that already matches needs no step, so looking
again from each local midnight before the one it found gives the day back.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger


class DstSafeCronTrigger(CronTrigger):
    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        found = super().get_next_fire_time(previous_fire_time, now)
        if found is None:
            return None
        day = now.astimezone(self.timezone).date() + timedelta(days=1)
        while day < found.astimezone(self.timezone).date():
            midnight = datetime.combine(day, time(), self.timezone)
            earlier = super().get_next_fire_time(None, midnight)
            if earlier is not None and earlier < found:
                return earlier
            day += timedelta(days=1)
        return found
