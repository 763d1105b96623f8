"""Conversion of field values between the API (JSON), Python callers and SQLite columns.

Datetimes are stored in Salesforce's own output form (UTC, `2026-11-23T10:00:00.000+0000`)
so that text comparison orders them correctly and reads need no conversion."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from revsched.localorg import schema
from revsched.localorg.salesforce_errors import SalesforceError

TEXT_TYPES = {
    schema.STRING,
    schema.TEXTAREA,
    schema.EMAIL,
    schema.PHONE,
    schema.URL,
    schema.PICKLIST,
    schema.MULTIPICKLIST,
}
NUMBER_TYPES = {schema.DOUBLE, schema.CURRENCY, schema.PERCENT, schema.INT}
# Fields of these types cannot be grouped (describe's `groupable`; Object Reference: Amount,
# a currency, has no Group property while int NumberOfEmployees has).
UNGROUPABLE_TYPES = {
    schema.TEXTAREA,
    schema.MULTIPICKLIST,
    schema.DOUBLE,
    schema.CURRENCY,
    schema.PERCENT,
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)


def column_type(field: schema.Field) -> str:
    """The SQLite column declaration: text compares case-insensitively, as SOQL does."""
    if field.type in TEXT_TYPES:
        return "TEXT COLLATE NOCASE"
    if field.type in (schema.BOOLEAN, schema.INT):
        return "INTEGER"
    if field.type in NUMBER_TYPES:
        return "REAL"
    return "TEXT"


def format_datetime(value: datetime) -> str:
    """A datetime as Salesforce returns it: UTC with milliseconds and a +0000 offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is C code, several times faster than strftime (this runs per loaded row).
    return value.isoformat(timespec="milliseconds")[:-6] + "+0000"


def converter(field: schema.Field) -> Callable[[object], object]:
    """to_db for one field, with the common, already-valid values taken on a fast path
    (the bulk load converts millions of values)."""
    kind = field.type
    slow = partial(to_db, field)
    if kind in TEXT_TYPES:
        limit = field.length or 1 << 62

        def text(value: object) -> object:
            return value if type(value) is str and len(value) <= limit else slow(value)

        return text
    if kind == schema.BOOLEAN:
        return lambda value: int(value) if type(value) is bool else slow(value)  # type: ignore[arg-type]
    if kind == schema.DATETIME:

        def stamp(value: object) -> object:
            if type(value) is datetime and value.tzinfo is UTC:
                return value.isoformat(timespec="milliseconds")[:-6] + "+0000"
            return slow(value)

        return stamp
    if kind == schema.DATE:
        return lambda value: value.isoformat() if type(value) is date else slow(value)
    if kind in (schema.ID, schema.REFERENCE):
        return lambda value: value if type(value) is str else slow(value)
    return slow


def parse_datetime(text: str) -> datetime | None:
    """A datetime in any of the forms Salesforce accepts (Z, +hh:mm, +hhmm, no offset = UTC)."""
    match = _DATETIME.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, offset = match.groups()
    tz = UTC
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError:
        return None


def _bad_value(field: schema.Field, value: object) -> SalesforceError:
    kind = type(value).__name__.upper()
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {field.type} from VALUE_{kind} value {value} "
        "or request may be missing a required field",
        [field.name],
    )


def label(field: schema.Field) -> str:
    """An approximation of the field label Salesforce puts in error messages."""
    if field.name.endswith("__c"):
        return field.name[:-3].replace("_", " ")
    if field.type == schema.REFERENCE and field.name.endswith("Id"):
        return field.name[:-2] + " ID"
    return field.name


def to_db(field: schema.Field, value: object) -> object:
    """Validate and convert one written value to its column form."""
    kind = field.type
    if value is None:
        # A checkbox is never null in Salesforce: clearing it stores false.
        return 0 if kind == schema.BOOLEAN else None
    if kind == schema.BOOLEAN:
        if isinstance(value, bool):
            return int(value)
        raise _bad_value(field, value)
    if kind in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad_value(field, value)
        return int(value) if kind == schema.INT else float(value)
    if kind == schema.DATE:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str) and _DATE.fullmatch(value):
            return value
        if isinstance(value, str) and parse_datetime(value):
            return value[:10]
        raise _bad_value(field, value)
    if kind == schema.DATETIME:
        if isinstance(value, datetime):
            return format_datetime(value)
        if isinstance(value, date):
            return format_datetime(datetime(value.year, value.month, value.day, tzinfo=UTC))
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None and isinstance(value, str) and _DATE.fullmatch(value):
            parsed = datetime.fromisoformat(value).replace(tzinfo=UTC)
        if parsed is None:
            raise _bad_value(field, value)
        return format_datetime(parsed)
    if not isinstance(value, str):
        raise _bad_value(field, value)
    if field.length and kind in TEXT_TYPES and len(value) > field.length:
        raise SalesforceError(
            400,
            "STRING_TOO_LONG",
            f"{label(field)}: data value too large: {value[:60]} (max length={field.length})",
            [field.name],
        )
    return value


def from_db(field: schema.Field, value: object) -> object:
    """A column value as the REST API returns it (booleans as JSON booleans)."""
    if field.type == schema.BOOLEAN and value is not None:
        return bool(value)
    return value


# FORMAT() formats these; the rest have no localized form.
FORMATTED_TYPES = NUMBER_TYPES | {schema.DATE, schema.DATETIME}


def scale(field: schema.Field) -> int:
    """Digits after the decimal point, as describe reports them: 2 for currency."""
    return 2 if field.type == schema.CURRENCY else 0


def display(field: schema.Field, value: object) -> str | None:
    """A value as SOQL's FORMAT() returns it to the local org's user, who reads en_US on
    UTC in one currency (US dollars): 1,500 / $44,000.00 / 10% / 12/28/2015 /
    4/10/2025, 3:31 PM (SOQL and SOSL Reference, "FORMAT()")."""
    if value is None:
        return None
    if field.type == schema.DATE:
        day = date.fromisoformat(str(value))
        return f"{day.month}/{day.day}/{day.year}"
    if field.type == schema.DATETIME:
        at = parse_datetime(str(value))
        assert at is not None
        half = "AM" if at.hour < 12 else "PM"
        return f"{at.month}/{at.day}/{at.year}, {at.hour % 12 or 12}:{at.minute:02d} {half}"
    places = scale(field)
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    digits = f"{abs(rounded):,.{places}f}"
    if field.type == schema.CURRENCY:
        return f"{sign}${digits}"
    return f"{sign}{digits}%" if field.type == schema.PERCENT else sign + digits
