"""A streamed run's planned field changes read back from the audit, a chunk at a time.

A play that streams (`Play.streams`) saves its plan as it decides, a page at a time,
and holds none of it: its writes read the records they send back from the saved
rows, and the outcome of a Bulk job is saved as "all written but these".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from revsched.plan import FieldChange
from revsched.state.database import (
    CHUNK,
    IN_CHUNK,
    Database,
    chunks,
    driver_sql,
    executemany,
    now,
)
from revsched.state.models import ChangeRow, Run

NOT_WRITTEN = "not written: the run stopped while it was planning, before any write"
_LITERALS: dict[str, Any] = {"null": None, "true": True, "false": False}
# A run's planned changes of one object, (record Id, field, new), a record's together.
_PLANNED = (
    "SELECT record_id, field, new FROM changes WHERE run_id = ? AND sobject = ?"
    " AND status = 'planned' AND record_id {which} ORDER BY record_id, id"
)
_CHUNK_AFTER = _PLANNED.format(which="> ?") + " LIMIT ?"
_ONE_RECORD = _PLANNED.format(which="= ?")


def _scalar(text: str) -> Any:
    """A saved field value (JSON) back as the value, numbers without the decoder's machinery
    (a run reads one per changed record)."""
    first = text[:1]
    if first and first in "-0123456789":
        if "." in text or "e" in text or "E" in text or "I" in text:
            return float(text)  # -Infinity too
        return int(text)
    if text in _LITERALS:
        return _LITERALS[text]
    return json.loads(text)


def mark_unplanned(session: Session, run_id: int) -> None:
    """The planned changes of a run that stopped while planning: none was written."""
    session.execute(
        update(ChangeRow)
        .where(ChangeRow.run_id == run_id, ChangeRow.status == "planned")
        .values(status="failed", error=NOT_WRITTEN)
    )


def _records(rows: list[Any]) -> Iterator[dict[str, Any]]:
    """Rows of (record Id, field, new), a record's together, as the records they write."""
    current, record = None, {}
    for record_id, field, new in rows:
        if record_id != current:
            if current is not None:
                yield record
            current, record = record_id, {"Id": record_id}
        record[field] = _scalar(new)
    if current is not None:
        yield record


class PlannedChanges(Database):
    """Reading a run's planned changes back to write them, and saving a Bulk job's outcome."""

    def planned_records(
        self, run_id: int, sobject: str, chunk: int = CHUNK
    ) -> Iterator[dict[str, Any]]:
        """The records the run's planned changes of `sobject` write (`{"Id": ..., field:
        new}`, one per record whatever its fields), in record Id order: read `chunk` rows
        at a time on the (run, record) index, so memory holds a chunk, not the run."""
        after = ""
        while True:
            rows = self._planned_rows(_CHUNK_AFTER, run_id, sobject, after, chunk)
            full = len(rows) == chunk
            if full:
                # The last record's rows may go on in the next chunk: it is read there whole
                # (or alone, when its changes fill a chunk).
                last = rows[-1][0]
                rows = [row for row in rows if row[0] != last] or self._planned_rows(
                    _ONE_RECORD, run_id, sobject, last
                )
            yield from _records(rows)
            if not full:
                return
            after = rows[-1][0]

    def _planned_rows(self, sql: str, *values: Any) -> list[Any]:
        """By plain SQL, as tuples: a million rows are read."""
        with self.session() as session:
            connection = session.connection()
            return connection.exec_driver_sql(driver_sql(session, sql), values).fetchall()

    def record_bulk_job(self, run_id: int, sobject: str, failures: Mapping[str, str]) -> None:
        """A Bulk job's outcome for a run's planned changes of `sobject`: every one written
        but the `failures` (record Id -> error); the job held every planned record."""
        with self.session() as session:
            sql = "UPDATE changes SET status = 'applied', error = NULL"
            sql += " WHERE run_id = ? AND sobject = ? AND status = 'planned'"
            session.connection().exec_driver_sql(driver_sql(session, sql), (run_id, sobject))
            executemany(
                session,
                "UPDATE changes SET status = 'failed', error = ?"
                " WHERE run_id = ? AND record_id = ?",
                ((error, run_id, record_id) for record_id, error in failures.items()),
            )

    def abandon_plan(self, run_id: int, why: str) -> None:
        """A run stopped while planning (an error, a plan not confirmed) ends failed, its
        planned changes marked not written: none was."""
        with self.session() as session:
            mark_unplanned(session, run_id)
            run = session.get_one(Run, run_id)
            run.status, run.error, run.finished_at = (
                "failed",
                f"stopped while planning: {why}",
                now(),
            )

    def planned_changes(self, run_id: int, limit: int | None = None) -> list[FieldChange]:
        """The run's field changes as it planned them, in the order decided (the first
        `limit`): a streamed plan's, shown or written to a file."""
        columns = (ChangeRow.sobject, ChangeRow.record_id, ChangeRow.record_name)
        columns += (ChangeRow.field, ChangeRow.old, ChangeRow.new, ChangeRow.reason)
        query = select(*columns).where(ChangeRow.run_id == run_id)
        with self.session() as session:
            rows = session.execute(query.order_by(ChangeRow.id).limit(limit))
            return [
                FieldChange(sobject, record_id, name, field, _scalar(old), _scalar(new), reason)
                for sobject, record_id, name, field, old, new, reason in rows
            ]

    def changed_names(self, run_id: int, record_ids: Sequence[str]) -> dict[str, str]:
        """The names of these records, as the run's planned changes hold them."""
        with self.session() as session:
            return {
                record_id: name
                for chunk in chunks(record_ids, IN_CHUNK)
                for record_id, name in session.execute(
                    select(ChangeRow.record_id, ChangeRow.record_name).where(
                        ChangeRow.run_id == run_id, ChangeRow.record_id.in_(chunk)
                    )
                )
            }

    def count_changes(self, run_id: int, status: str) -> int:
        """How many of the run's field changes have this status."""
        with self.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(ChangeRow)
                    .where(ChangeRow.run_id == run_id, ChangeRow.status == status)
                )
                or 0
            )
