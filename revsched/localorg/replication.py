"""Data replication resources: sObject Get Updated and Get Deleted (REST API Developer
Guide, "sObject Get Updated", "sObject Get Deleted"; SOAP API, "Data Replication"), how
incremental syncs read what changed since their last poll.

Both read SystemModstamp, which every write (and a delete or merge) sets. The local org
never empties its recycle bin, so every deleted record stays listed."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from revsched.localorg import schema
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.sql import q
from revsched.localorg.storage import Storage
from revsched.localorg.values import format_datetime, parse_datetime

# Results go back no more than 30 days before the day of the call; at most 600,000 Ids.
WINDOW_DAYS = 30
MAX_IDS = 600_000


def _invalid(detail: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_REPLICATION_DATE", detail)


def _earliest(storage: Storage) -> datetime:
    """Midnight (UTC) 30 days before the org's today: the oldest start a call may ask for."""
    return datetime.combine(storage.today() - timedelta(WINDOW_DAYS), time(), UTC)


def _span(storage: Storage, start_text: str | None, end_text: str | None) -> tuple[str, str]:
    """The [start, latest date covered] span asked for, as stored text. Seconds are ignored,
    as Salesforce ignores them; an end in the future is covered up to now. A record stamped
    at the very end may come again in the next poll (from latestDateCovered), never be
    missed."""
    start = parse_datetime(start_text or "")
    end = parse_datetime(end_text or "")
    if start is None or end is None:
        raise _invalid("start and end must be dateTimes, such as 2026-11-20T00:00:00+00:00")
    start, end = (d.replace(second=0, microsecond=0) for d in (start, end))
    if start >= end:
        raise _invalid("start must chronologically precede end")
    now = parse_datetime(storage.now())
    assert now is not None
    if start < _earliest(storage):
        raise _invalid(f"start must be within the last {WINDOW_DAYS} days")
    return format_datetime(start), format_datetime(min(end, now))


def _rows(storage: Storage, sobj: schema.SObject, deleted: bool, span: tuple[str, str]):
    rows = storage.conn.execute(
        f"SELECT Id, SystemModstamp FROM {q(sobj.name)} WHERE IsDeleted = ? "
        "AND SystemModstamp >= ? AND SystemModstamp <= ? ORDER BY SystemModstamp, rowid "
        f"LIMIT {MAX_IDS + 1}",
        (int(deleted), *span),
    ).fetchall()
    if len(rows) > MAX_IDS:
        raise SalesforceError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"More than {MAX_IDS} ids: choose start and end dates closer together",
        )
    return rows


def get_updated(
    storage: Storage, sobj: schema.SObject, start: str | None, end: str | None
) -> dict[str, object]:
    """sobjects/{type}/updated/?start=&end=: the Ids created or changed in the span."""
    span = _span(storage, start, end)
    return {
        "ids": [record_id for record_id, _ in _rows(storage, sobj, False, span)],
        "latestDateCovered": span[1],
    }


def get_deleted(
    storage: Storage, sobj: schema.SObject, start: str | None, end: str | None
) -> dict[str, object]:
    """sobjects/{type}/deleted/?start=&end=: the records deleted in the span, with when."""
    span = _span(storage, start, end)
    rows = _rows(storage, sobj, True, span)
    return {
        "deletedRecords": [{"id": record_id, "deletedDate": when} for record_id, when in rows],
        # Nothing is ever purged here: deletions are available as far back as a call may ask.
        "earliestDateAvailable": format_datetime(_earliest(storage)),
        "latestDateCovered": span[1],
    }
