"""Play schedules: parsed once from config, used by the scheduler, claims and exports.

A schedule is held as the five cron fields with cron's meaning (weekday 0 and 7
are Sunday), because that is what crontab and systemd are exported from. Its fire
times are found here, in plain Python, for the scheduler (through the trigger in
`revsched.cron_trigger`), `revsched plays` and the occurrence claims alike, so
they cannot disagree, and listing the plays loads no scheduler. Across DST
changes, as cron does: a time of day the spring change skips fires as late as
the change moved the clock (02:30 at 03:30), one the autumn change repeats fires
once, at its first occurrence, and schedules of every hour (`*` hours) follow
real time, skipping the missing hour and firing in both repeated ones.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pydantic import GetCoreSchemaHandler
    from pydantic_core import core_schema

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
# How far ahead to look for the next fire time: 29 February comes within 8 years.
_HORIZON_DAYS = 8 * 366 + 1


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
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            validate_schedule,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @property
    def cron(self) -> str:
        """The five crontab fields."""
        return f"{self.minute} {self.hour} {self.day} {self.month} {self.day_of_week}"

    def next_fire(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time at or after `moment`, in the zone's time; None if the
        fields name no day in the next 8 years (31 February)."""
        start = moment.astimezone(UTC)
        # A day's times can move into the next (a skipped 23:30 fires at 00:30), so the
        # earliest of a day's is final only beside the next day's.
        first = start.astimezone(zone).date() - timedelta(days=1)
        for offset in range(_HORIZON_DAYS):
            found = [t for t in self._day_times(first + timedelta(offset), zone) if t >= start]
            if found:
                later = self._day_times(first + timedelta(offset + 1), zone)
                return min(found + [t for t in later if t >= start]).astimezone(zone)
        return None

    @functools.cached_property
    def _fields(self) -> _Fields:
        return _fields_of(self)

    def _day_times(self, day: date, zone: ZoneInfo) -> Iterator[datetime]:
        """The instants (in UTC) a day's matching local times fire at, in no set order."""
        fields = self._fields
        if (
            day.month not in fields.months
            or day.day not in fields.days
            or (day.weekday() + 1) % 7 not in fields.weekdays
        ):
            return
        for hour in fields.hours:
            for minute in fields.minutes:
                local = datetime.combine(day, time(hour, minute))
                earlier = local.replace(tzinfo=zone).astimezone(UTC)
                later = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
                if earlier == later:
                    yield earlier
                elif earlier < later:  # repeated by the autumn change
                    yield earlier
                    if fields.every_hour:
                        yield later
                elif not fields.every_hour:  # skipped by the spring change
                    yield earlier

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
        # In UTC: local times compare by wall clock, so 01:30 EST would sort before 01:30:05 EDT.
        now = now.astimezone(UTC)
        for lookback in _LOOKBACK:
            found = None
            fire = self.next_fire(now - lookback, zone)
            while fire is not None and fire.astimezone(UTC) <= now:
                found = fire
                fire = self.next_fire(fire.astimezone(UTC) + _STEP, zone)
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


def _expand(field: str, low: int, high: int) -> frozenset[int]:
    """A numeric cron field (checked when parsed) as the set of values it names."""
    values: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        bounds = [low, high] if base == "*" else [int(b) for b in base.split("-")]
        # "N/S" steps from N to the field's end, as cron does.
        last = bounds[-1] if len(bounds) == 2 else high if step else bounds[0]
        values.update(range(bounds[0], last + 1, int(step or 1)))
    return frozenset(values)


@dataclass(frozen=True)
class _Fields:
    """A schedule's fields as sets of values, to match a day and list its times."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    # Hours `*` (hourly or more often): real time across DST changes, not the wall clock.
    every_hour: bool


def _fields_of(schedule: Schedule) -> _Fields:
    return _Fields(
        minutes=tuple(sorted(_expand(schedule.minute, 0, 59))),
        hours=tuple(sorted(_expand(schedule.hour, 0, 23))),
        days=_expand(schedule.day, 1, 31),
        months=_expand(schedule.month, 1, 12),
        weekdays=frozenset(expand_weekdays(schedule.day_of_week)),
        every_hour=schedule.hour == "*",
    )


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
