"""Play schedules: parsed once from config, used by the scheduler, claims and exports.

A schedule is held as the five cron fields with cron's meaning (weekday 0 and 7
are Sunday), because that is what crontab and systemd are exported from; the
APScheduler trigger is built by translating the weekday field to names, never
with `CronTrigger.from_crontab`, which counts weekday 0 as Monday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic_core import core_schema

if TYPE_CHECKING:  # listing plays parses schedules without loading the scheduler
    from apscheduler.triggers.cron import CronTrigger
    from pydantic import GetCoreSchemaHandler

Period = Literal["day", "week", "month", "minute"]

CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
WEEKDAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
FORMATS = (
    '"daily [HH:MM]", "weekly [mon..sun] [HH:MM]", "monthly [1..28] [HH:MM]",'
    ' "every N minutes", "every N hours" or a 5-field cron expression'
)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_FIELD = re.compile(r"^[\d*,/\-a-z]+$")
_FIELD_RANGES = {
    "minute": (0, 59),
    "hour": (0, 23),
    "day of month": (1, 31),
    "month": (1, 12),
    "day of week": (0, 7),
}
# How far back to look for the latest occurrence, widening until one is found.
_STEP = timedelta(seconds=1)
_LOOKBACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=367))


class ScheduleError(ValueError):
    """A schedule string that cannot be understood; the message says what is allowed."""


@dataclass(frozen=True)
class Schedule:
    """When a play runs, and which period one run covers (its occurrence's key)."""

    text: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str  # cron's meaning: 0 and 7 are Sunday
    period: Period

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated from config text, written back as it. Declared here so pydantic never
        builds a dataclass schema for Schedule (16 ms of every command's start)."""
        return core_schema.no_info_plain_validator_function(
            validate_schedule,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @property
    def cron(self) -> str:
        """The five crontab fields."""
        return f"{self.minute} {self.hour} {self.day} {self.month} {self.day_of_week}"

    def trigger(self, zone: ZoneInfo) -> CronTrigger:
        from revsched.cron_trigger import DstSafeCronTrigger

        return DstSafeCronTrigger(
            minute=self.minute,
            hour=self.hour,
            day=self.day,
            month=self.month,
            day_of_week=_apscheduler_weekdays(self.day_of_week),
            timezone=zone,
        )

    def period_key(self, occurrence: datetime) -> str:
        """The period one occurrence covers, in its local time: at most one run per key."""
        if self.period == "day":
            return occurrence.date().isoformat()
        if self.period == "week":
            year, week, _ = occurrence.isocalendar()
            return f"{year}-W{week:02d}"
        if self.period == "month":
            return f"{occurrence:%Y-%m}"
        return f"{occurrence:%Y-%m-%dT%H:%M}"

    def latest(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The most recent occurrence at or before `now` (what a late or manual fire covers)."""
        trigger = self.trigger(zone)
        # In UTC: local times compare by wall clock, so 01:30 EST would sort before 01:30:05 EDT.
        now = now.astimezone(UTC)
        for lookback in _LOOKBACK:
            found = None
            fire = trigger.get_next_fire_time(None, now - lookback)
            while fire is not None and fire.astimezone(UTC) <= now:
                found = fire
                fire = trigger.get_next_fire_time(None, fire.astimezone(UTC) + _STEP)
            if found is not None:
                return found
        raise ScheduleError(f"schedule {self.text!r} has not fired in the past year")


def parse_schedule(text: str) -> Schedule:
    """A Schedule from config text; ScheduleError says what forms are allowed."""
    words = text.strip().lower().split()
    if not words:
        raise ScheduleError(f"empty schedule; use {FORMATS}")
    if len(words) == 5 and words[0] not in ("daily", "weekly", "monthly", "every"):
        return _cron(text, words)
    kind, rest = words[0], words[1:]
    if kind == "daily" and len(rest) <= 1:
        hour, minute = _time(text, rest)
        return Schedule(text, minute, hour, "*", "*", "*", "day")
    if kind == "weekly" and len(rest) <= 2:
        named = bool(rest) and not _TIME.match(rest[0])
        day = rest[0] if named else "mon"
        if day not in CRON_DAYS and day not in WEEKDAY_NAMES:
            raise ScheduleError(f"{text!r}: {day!r} is not a weekday (mon..sun)")
        hour, minute = _time(text, rest[1:] if named else rest)
        return Schedule(text, minute, hour, "*", "*", str(CRON_DAYS.index(day[:3])), "week")
    if kind == "monthly" and len(rest) <= 2:
        numbered = bool(rest) and rest[0].isdigit()
        day = rest[0] if numbered else "1"
        if not 1 <= int(day) <= 28:
            raise ScheduleError(f"{text!r}: day {day} must be 1..28 so every month has it")
        hour, minute = _time(text, rest[1:] if numbered else rest)
        return Schedule(text, minute, hour, str(int(day)), "*", "*", "month")
    if kind == "every" and len(rest) == 2 and rest[0].isdigit():
        return _every(text, int(rest[0]), rest[1])
    raise ScheduleError(f"{text!r} is not a schedule; use {FORMATS}")


def _time(text: str, rest: list[str]) -> tuple[str, str]:
    if not rest:
        return "0", "0"
    match = _TIME.match(rest[0]) if len(rest) == 1 else None
    if match is None:
        raise ScheduleError(f"{text!r}: {' '.join(rest)!r} is not a time of day (HH:MM, 24-hour)")
    return str(int(match[1])), str(int(match[2]))


def _every(text: str, count: int, unit: str) -> Schedule:
    if unit.rstrip("s") == "minute" and count > 0 and 60 % count == 0:
        return Schedule(text, f"*/{count}" if count > 1 else "*", "*", "*", "*", "*", "minute")
    if unit.rstrip("s") == "hour" and count > 0 and 24 % count == 0:
        return Schedule(text, "0", f"*/{count}" if count > 1 else "*", "*", "*", "*", "minute")
    raise ScheduleError(
        f"{text!r}: use every N minutes with N dividing 60, or every N hours with N dividing 24"
    )


def _cron(text: str, fields: list[str]) -> Schedule:
    for name, value in zip(_FIELD_RANGES, fields, strict=True):
        _check_field(text, name, value)
    minute, hour, day, month, day_of_week = fields
    if day != "*" and day_of_week != "*":
        # cron runs when EITHER matches, APScheduler when BOTH do: refuse the ambiguity.
        raise ScheduleError(
            f"{text!r}: restrict the day of month or the day of week, not both"
            " (cron would run on either, which is rarely what is meant)"
        )
    return Schedule(text, minute, hour, day, month, day_of_week, "minute")


def _check_field(text: str, name: str, value: str) -> None:
    low, high = _FIELD_RANGES[name]
    names = CRON_DAYS if name == "day of week" else ()
    for part in value.split(","):
        base, _, step = part.partition("/")
        bounds = [] if base == "*" else base.split("-")
        valid = _FIELD.match(part) and (not step or (step.isdigit() and int(step) > 0))
        valid = valid and len(bounds) <= 2
        numbers = [_number(b, names) for b in bounds] if valid else []
        known = [n for n in numbers if n is not None and low <= n <= high]
        if valid and len(known) == len(numbers) and known == sorted(known):
            continue
        raise ScheduleError(
            f"{text!r}: {name} {value!r} is not valid: use values within {low}..{high},"
            " ascending ranges (a-b), lists (a,b) and steps (*/n)"
        )


def _number(value: str, names: tuple[str, ...]) -> int | None:
    if value.isdigit():
        return int(value)
    return names.index(value) if value in names else None


def _weekday_number(value: str) -> int:
    number = _number(value, CRON_DAYS)
    assert number is not None  # checked when parsed
    return number


def expand_weekdays(field: str) -> list[int]:
    """Cron's weekday field as sorted day numbers, 0 = Sunday (7 folded onto 0)."""
    days: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        bounds = [0, 6] if base == "*" else [_weekday_number(b) for b in base.split("-")]
        # "N/S" steps from N to the end of the week, as cron does.
        last = bounds[-1] if len(bounds) == 2 else 7 if step else bounds[0]
        days.update(d % 7 for d in range(bounds[0], last + 1, int(step or 1)))
    return sorted(days)


def _apscheduler_weekdays(field: str) -> str:
    """Cron's weekday field (0 or 7 = Sunday) as the day names APScheduler understands."""
    if field == "*":
        return "*"
    return ",".join(CRON_DAYS[d] for d in expand_weekdays(field))


def validate_schedule(value: Any) -> Schedule:
    """Config text (or a Schedule) as a Schedule; ValueError says what forms are allowed."""
    if isinstance(value, Schedule):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a schedule is a string: {FORMATS}")
    try:
        return parse_schedule(value)
    except ScheduleError as error:
        raise ValueError(str(error)) from None


# The type of PlayConfig.schedule (Schedule validates itself from config text).
ScheduleField = Schedule
