"""SOQL's calendar: date literals (TODAY, LAST_N_WEEKS:n, THIS_FISCAL_QUARTER, ...) as day
ranges, and date functions (CALENDAR_YEAR, DAY_IN_WEEK, FISCAL_QUARTER, ...) as SQLite
expressions over the stored ISO text.

The local org's user is on UTC with the en_US locale, so weeks start on Sunday and date
functions need no time-zone conversion. The fiscal year is the org's standard fiscal year
(Setup > Fiscal Year): a start month and whether the year is named after its start or its
end, as the Organization object's FiscalYearStartMonth and UsesStartDateAsFiscalYearName."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from revsched.localorg import schema


@dataclass(frozen=True)
class FiscalYear:
    """The org's standard fiscal year: April start named by its end makes Apr 2026 - Mar
    2027 fiscal year 2027."""

    start_month: int = 1
    named_by_start: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"fiscal year start month must be 1-12, not {self.start_month}")


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months(start: date, count: int) -> tuple[date, date]:
    """The inclusive range of `count` whole months from `start` (a first of month)."""
    return start, _month_start(start, count) - timedelta(1)


def _period_start(today: date, length: int, first_month: int) -> date:
    """The first day of the period of `length` months (1, 3 or 12) containing today, when
    periods are aligned on `first_month`."""
    offset = (today.month - first_month) % length
    return _month_start(today.replace(day=1), -offset)


def _parse_literal(name: str) -> tuple[str, str]:
    """(unit, relation) of a literal name: LAST_N_WEEKS -> (WEEK, last)."""
    for prefix, relation in (("LAST_N_", "last"), ("NEXT_N_", "next"), ("N_", "ago")):
        if name.startswith(prefix):
            unit = name[len(prefix) :].removesuffix("_AGO").removesuffix("S")
            return unit, relation
    relation, _, unit = name.partition("_")
    return unit, relation.lower()


def date_range(literal: str, today: date, fiscal: FiscalYear | None = None) -> tuple[date, date]:
    """The inclusive range of days a SOQL date literal covers (SOQL and SOSL Reference,
    "Date Formats and Date Literals")."""
    fiscal = fiscal or FiscalYear()
    name, _, arg = literal.upper().partition(":")
    n = int(arg) if arg else 1
    fixed = {
        "TODAY": (today, today),
        "YESTERDAY": (today - timedelta(1), today - timedelta(1)),
        "TOMORROW": (today + timedelta(1), today + timedelta(1)),
        "LAST_90_DAYS": (today - timedelta(90), today),
        "NEXT_90_DAYS": (today + timedelta(1), today + timedelta(90)),
    }
    if name in fixed:
        return fixed[name]
    unit, relation = _parse_literal(name)
    if unit == "DAY":
        # LAST_N_DAYS includes today (LAST_N_DAYS:1 is yesterday and today); NEXT_N_DAYS
        # starts tomorrow.
        return {
            "last": (today - timedelta(n), today),
            "next": (today + timedelta(1), today + timedelta(n)),
            "ago": (today - timedelta(n), today - timedelta(n)),
        }[relation]
    if unit == "WEEK":
        # en_US weeks run Sunday to Saturday.
        this = today - timedelta((today.weekday() + 1) % 7)
        starts = {
            "this": (this, 1),
            "last": (this - timedelta(7 * n), n),
            "next": (this + timedelta(7), n),
            "ago": (this - timedelta(7 * n), 1),
        }
        start, weeks = starts[relation]
        return start, start + timedelta(7 * weeks - 1)
    length, first_month = {
        "MONTH": (1, 1),
        "QUARTER": (3, 1),
        "YEAR": (12, 1),
        "FISCAL_QUARTER": (3, fiscal.start_month),
        "FISCAL_YEAR": (12, fiscal.start_month),
    }[unit]
    this = _period_start(today, length, first_month)
    periods = {
        "this": (0, 1),
        "last": (-n, n),
        "next": (1, n),
        "ago": (-n, 1),
    }
    shift, count = periods[relation]
    return _months(_month_start(this, shift * length), count * length)


# -- date functions ---------------------------------------------------------------------

DATE_FUNCTIONS = {
    "CALENDAR_MONTH",
    "CALENDAR_QUARTER",
    "CALENDAR_YEAR",
    "DAY_IN_MONTH",
    "DAY_IN_WEEK",
    "DAY_IN_YEAR",
    "DAY_ONLY",
    "FISCAL_MONTH",
    "FISCAL_QUARTER",
    "FISCAL_YEAR",
    "HOUR_IN_DAY",
    "WEEK_IN_MONTH",
    "WEEK_IN_YEAR",
}
# Functions that only take a dateTime field.
DATETIME_ONLY = {"DAY_ONLY", "HOUR_IN_DAY"}


def date_function_sql(name: str, column: str, fiscal: FiscalYear) -> tuple[str, str]:
    """(SQLite expression, result field type) of a date function over a date or dateTime
    column stored as ISO text (`2026-11-23` or `2026-11-23T10:00:00.000+0000`)."""
    year = f"CAST(substr({column}, 1, 4) AS INTEGER)"
    month = f"CAST(substr({column}, 6, 2) AS INTEGER)"
    day = f"CAST(substr({column}, 9, 2) AS INTEGER)"
    day_in_year = f"CAST(strftime('%j', substr({column}, 1, 10)) AS INTEGER)"
    start = fiscal.start_month
    fiscal_month = f"(({month} - {start} + 12) % 12 + 1)"
    # The fiscal year starting in `start` of calendar year Y is named Y (by start) or Y + 1.
    started = f"({year} - ({month} < {start}))"
    named = started if fiscal.named_by_start or start == 1 else f"({started} + 1)"
    sql = {
        "CALENDAR_YEAR": year,
        "CALENDAR_MONTH": month,
        "CALENDAR_QUARTER": f"(({month} + 2) / 3)",
        "DAY_IN_MONTH": day,
        # 1 = Sunday ... 7 = Saturday.
        "DAY_IN_WEEK": f"(CAST(strftime('%w', substr({column}, 1, 10)) AS INTEGER) + 1)",
        "DAY_IN_YEAR": day_in_year,
        "DAY_ONLY": f"substr({column}, 1, 10)",
        "FISCAL_MONTH": fiscal_month,
        "FISCAL_QUARTER": f"(({fiscal_month} + 2) / 3)",
        "FISCAL_YEAR": named,
        "HOUR_IN_DAY": f"CAST(substr({column}, 12, 2) AS INTEGER)",
        # Week 1 is days 1-7 of the month or year, whatever their weekdays.
        "WEEK_IN_MONTH": f"(({day} - 1) / 7 + 1)",
        "WEEK_IN_YEAR": f"(({day_in_year} - 1) / 7 + 1)",
    }[name]
    return f"(CASE WHEN {column} IS NULL THEN NULL ELSE {sql} END)", (
        schema.DATE if name == "DAY_ONLY" else schema.INT
    )
