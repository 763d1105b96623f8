"""A run's lifecycle: its saved plan (the audit rows), each write's outcome, its end,
history and retention. Apart from the outbox and progress: this is the per-field audit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from revsched.plan import Plan
from revsched.state.database import (
    IN_CHUNK,
    Database,
    chunks,
    driver_sql,
    executemany,
    insert,
    insert_values,
    now,
)
from revsched.state.models import (
    AlertRow,
    ChangeRow,
    ConversionRow,
    CreateRow,
    DecisionRow,
    DeleteRow,
    EnrollmentRow,
    FiringRow,
    MergeRow,
    OccurrenceRow,
    PlannedFiringRow,
    ReportRow,
    Run,
)
from revsched.state.outbox import OutboxEntry, readdress_digests

# A planned change's row, in the order start_run gives its values; the names of its old
# and new values (Ids of owners, accounts) after them, when the plan knows any.
CHANGE_COLUMNS = ("run_id", "status", "sobject", "record_id", "record_name", "field")
CHANGE_COLUMNS += ("old", "new", "reason")
NAME_COLUMNS = ("old_name", "new_name")
DECISION_COLUMNS = ("run_id", "sobject", "record_id", "record_name", "outcome", "reason")
DECISION_COLUMNS += ("stage", "kind")


def _json_scalar(value: Any) -> str:
    """json.dumps of a field value, the common types without the encoder's machinery (a
    run saves two per changed field)."""
    kind = type(value)
    if value is None or kind is bool:
        return "null" if value is None else "true" if value else "false"
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return json.dumps(value)


def _name_of(value: Any, names: Mapping[str, str] | None) -> str | None:
    """The name of the record whose Id the value is, when known (cut to the column's size)."""
    name = names.get(value) if names and isinstance(value, str) else None
    return name[:255] if name is not None else None


def _rewrite_alerts(session: Session, run_id: int, texts: Mapping[tuple[str, str], str]) -> None:
    for (record_id, stage), text in texts.items():
        session.execute(
            update(AlertRow)
            .where(
                AlertRow.run_id == run_id,
                AlertRow.record_id == record_id,
                AlertRow.stage == stage,
            )
            .values(text=text)
        )


def _mark_stale(session: Session, run_id: int, reasons: Mapping[str, str]) -> None:
    """Mark what the run planned for these records (writes and alerts) as left alone."""
    for record_id, reason in reasons.items():
        for model, status, about in (
            (ChangeRow, "stale", ChangeRow.record_id == record_id),
            (CreateRow, "stale", CreateRow.parent_id == record_id),
            (
                MergeRow,
                "stale",
                (MergeRow.master_id == record_id) | (MergeRow.merged_id == record_id),
            ),
            (AlertRow, "skipped", AlertRow.record_id == record_id),
        ):
            session.execute(
                update(model)
                .where(model.run_id == run_id, about)
                .values(status=status, error=reason)
            )


def _new_run(
    session: Session, play: str, as_of: date, dry_run: bool, reverts: int | None, status: str
) -> int:
    run = Run(
        play=play,
        dry_run=dry_run,
        as_of=as_of,
        started_at=now(),
        status=status,
        reverts_run_id=reverts,
        counts={},
    )
    session.add(run)
    session.flush()
    return run.id


def _save_rows(
    session: Session,
    run_id: int,
    plan: Plan,
    alerts: Iterable[OutboxEntry],
    stale: Mapping[str, str] | None,
    names: Mapping[str, str] | None,
) -> None:
    """The plan's rows and the outbox's, as plain tuples in bulk inserts."""
    planned = {"run_id": run_id, "status": "planned"}
    # Tuples, not dicts: one row per changed field.
    rows: Iterable[tuple[Any, ...]] = (
        (
            run_id,
            "planned",
            c.sobject,
            c.record_id,
            c.record_name,
            c.field,
            _json_scalar(c.old),
            _json_scalar(c.new),
            c.reason,
        )
        for c in plan.changes
    )
    columns = CHANGE_COLUMNS
    if names:  # else the name columns stay null, bound by no row (most plans set no Id)
        columns += NAME_COLUMNS
        rows = (
            (*row, _name_of(c.old, names), _name_of(c.new, names))
            for row, c in zip(rows, plan.changes, strict=True)
        )
    insert_values(session, ChangeRow, columns, rows)
    insert(
        session,
        CreateRow,
        (
            {
                **planned,
                "sobject": c.sobject,
                "key": c.key,
                "fields": json.dumps(c.fields),
                "reason": c.reason,
                "parent_id": c.parent_id,
            }
            for c in plan.creates
        ),
    )
    insert(
        session,
        DeleteRow,
        (
            {**planned, "sobject": d.sobject, "record_id": d.record_id, "reason": d.reason}
            for d in plan.deletes
        ),
    )
    insert(
        session,
        MergeRow,
        (
            {
                **planned,
                "sobject": m.sobject,
                "master_id": m.master_id,
                "master_name": m.master_name,
                "merged_id": r.record_id,
                "merged_name": r.record_name,
                "merged_fields": json.dumps(r.fields),
                "master_before": json.dumps(m.master_before),
                "master_after": json.dumps(m.master_after),
                "reason": m.reason,
            }
            for m in plan.merges
            for r in m.merged
        ),
    )
    insert(
        session,
        ConversionRow,
        (
            {
                **planned,
                **c.model_dump(
                    include={
                        "lead_id",
                        "lead_name",
                        "account_id",
                        "account_name",
                        "owner_id",
                        "converted_status",
                        "reason",
                    }
                ),
            }
            for c in plan.conversions
        ),
    )
    insert(
        session,
        EnrollmentRow,
        (
            {
                **planned,
                "key": e.key,
                "sobject": e.person.sobject,
                "record_id": e.person.record_id,
                "record_name": e.person.name,
                "email": e.person.email,
                "sequence": e.sequence,
                "sender": e.sender.model_dump_json(),
                "field": e.field,
                "reason": e.reason,
            }
            for e in plan.enrollments
        ),
    )
    insert(
        session,
        AlertRow,
        ({**planned, **a._asdict(), "record_name": _name_of(a.record_id, names)} for a in alerts),
    )
    insert_values(
        session,
        DecisionRow,
        DECISION_COLUMNS,
        (
            (
                run_id,
                d.sobject,
                d.record_id,
                d.record_name,
                d.outcome,
                d.reason,
                d.stage,
                d.kind,
            )
            for d in plan.decisions
        ),
    )
    insert_values(
        session,
        ReportRow,
        ("run_id", "report", "row"),
        ((run_id, name, json.dumps(row)) for name, rows in plan.reports.items() for row in rows),
    )
    _mark_stale(session, run_id, stale or {})


class RunLog(Database):
    # A run's lifecycle

    def start_run(
        self,
        plan: Plan,
        dry_run: bool,
        reverts: int | None = None,
        alerts: Iterable[OutboxEntry] = (),
        stale: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> int:
        """Save the run, its whole plan (as planned changes) and the alerts it will owe
        (the outbox) in one transaction, before anything is written; what it plans for
        the `stale` records (record Id -> why) is marked left alone at once. `names`
        (record Id -> name) are kept beside the Ids changed values and alerts refer to.

        Rows go in with bulk inserts, in chunks: a 100k-record plan must not become
        100k ORM objects in memory.
        """
        with self.session() as session:
            run_id = _new_run(session, plan.play, plan.as_of, dry_run, reverts, "running")
            _save_rows(session, run_id, plan, alerts, stale, names)
            return run_id

    def open_run(self, play: str, as_of: date, dry_run: bool) -> int:
        """A run whose plan is saved in parts as it is decided (`save_plan`): it is
        `planning` until `start_writing`, so a run stopped before then wrote nothing."""
        with self.session() as session:
            return _new_run(session, play, as_of, dry_run, None, "planning")

    def save_plan(
        self,
        run_id: int,
        plan: Plan,
        alerts: Iterable[OutboxEntry] = (),
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Add a part of an open run's plan (and the alerts it will owe), as start_run saves
        a whole one."""
        with self.session() as session:
            _save_rows(session, run_id, plan, alerts, None, names)

    def start_writing(self, run_id: int) -> None:
        """An open run's plan is whole: from here on it writes, as a started run does."""
        with self.session() as session:
            session.get_one(Run, run_id).status = "running"

    def record_batch(self, run_id: int, outcomes: Mapping[str, str | None]) -> None:
        """The outcome of one write call: record Id -> None when saved, else its error."""
        applied = [record_id for record_id, error in outcomes.items() if error is None]
        with self.session() as session:
            # On the (run, record) index, whatever the run's size: the saved records with
            # one statement per chunk (less than half the CPU of a statement each), then the
            # failed ones with their errors.
            connection = session.connection()
            for chunk in chunks(applied, IN_CHUNK):
                marks = ", ".join("?" * len(chunk))
                sql = "UPDATE changes SET status = 'applied', error = NULL"
                sql += f" WHERE run_id = ? AND record_id IN ({marks})"
                connection.exec_driver_sql(driver_sql(session, sql), (run_id, *chunk))
            executemany(
                session,
                "UPDATE changes SET status = 'failed', error = ?"
                " WHERE run_id = ? AND record_id = ?",
                (
                    (error, run_id, record_id)
                    for record_id, error in outcomes.items()
                    if error is not None
                ),
            )

    def record_creates(
        self, run_id: int, outcomes: Mapping[str, tuple[str | None, bool, str | None]]
    ) -> None:
        """The outcome of an upsert call, by key: (record Id, created, error)."""
        with self.session() as session:
            rows = session.scalars(
                select(CreateRow).where(
                    CreateRow.run_id == run_id, CreateRow.key.in_(list(outcomes))
                )
            )
            for row in rows:
                row.record_id, created, row.error = outcomes[row.key]
                row.status = "failed" if row.error else "created" if created else "updated"

    def skip_creates(self, run_id: int, reasons: Mapping[str, str]) -> None:
        """The creates (by key) not tried, with why; those audited already (left alone with
        their parent) stay as they are."""
        with self.session() as session:
            for key, reason in reasons.items():
                session.execute(
                    update(CreateRow)
                    .where(
                        CreateRow.run_id == run_id,
                        CreateRow.key == key,
                        CreateRow.status == "planned",
                    )
                    .values(status="skipped", error=reason)
                )

    def record_deletes(self, run_id: int, outcomes: Mapping[str, str | None]) -> None:
        with self.session() as session:
            for record_id, error in outcomes.items():
                session.execute(
                    update(DeleteRow)
                    .where(DeleteRow.run_id == run_id, DeleteRow.record_id == record_id)
                    .values(status="failed" if error else "deleted", error=error)
                )

    def record_merges(self, run_id: int, outcomes: Mapping[str, str | None]) -> None:
        """The outcome of merge requests, by merged record Id: None when merged, else why not."""
        with self.session() as session:
            for merged_id, error in outcomes.items():
                session.execute(
                    update(MergeRow)
                    .where(MergeRow.run_id == run_id, MergeRow.merged_id == merged_id)
                    .values(status="failed" if error else "merged", error=error)
                )

    def record_conversions(
        self,
        run_id: int,
        outcomes: Mapping[str, tuple[str | None, str | None]],
        texts: Mapping[tuple[str, str], str],
    ) -> None:
        """The outcome of convertLead, by lead Id: (contact Id, None) or (None, error).

        What the run planned for a converted lead (writes, alerts, stages it fires, what
        its digests list) is audited and owed against its contact from here on, the
        alerts with `texts` ((contact, stage) -> the text naming the contact); for a lead
        not converted, it is left alone."""
        with self.session() as session:
            for lead_id, (contact_id, error) in outcomes.items():
                session.execute(
                    update(ConversionRow)
                    .where(ConversionRow.run_id == run_id, ConversionRow.lead_id == lead_id)
                    .values(
                        status="failed" if error else "converted",
                        contact_id=contact_id,
                        error=error,
                    )
                )
                if contact_id is None:
                    _mark_stale(session, run_id, {lead_id: f"the lead was not converted: {error}"})
                    continue
                for model, about, values in (
                    (
                        ChangeRow,
                        ChangeRow.record_id,
                        {"sobject": "Contact", "record_id": contact_id},
                    ),
                    (CreateRow, CreateRow.parent_id, {"parent_id": contact_id}),
                    (AlertRow, AlertRow.record_id, {"record_id": contact_id}),
                    # Its stages fired with no alert go to the contact too (Plan.redirected).
                    (PlannedFiringRow, PlannedFiringRow.record_id, {"record_id": contact_id}),
                    (
                        EnrollmentRow,
                        EnrollmentRow.record_id,
                        {"sobject": "Contact", "record_id": contact_id},
                    ),
                ):
                    session.execute(
                        update(model).where(model.run_id == run_id, about == lead_id).values(values)
                    )
            converted = {lead: contact for lead, (contact, _) in outcomes.items() if contact}
            readdress_digests(session, run_id, converted)
            _rewrite_alerts(session, run_id, texts)

    def rewrite_alerts(self, run_id: int, texts: Mapping[tuple[str, str], str]) -> None:
        """The run's owed alerts ((record, stage) -> text) as they are to be sent now."""
        with self.session() as session:
            _rewrite_alerts(session, run_id, texts)

    def finish_run(
        self, run_id: int, status: str, counts: Mapping[str, int], error: str | None = None
    ) -> None:
        with self.session() as session:
            run = session.get_one(Run, run_id)
            run.status, run.counts, run.error = status, dict(counts), error
            run.finished_at = now()

    # Retention

    def prune(self, before: datetime) -> dict[str, int]:
        """Delete audit detail and claims older than `before`; returns counts by kind.

        A run that recorded fired stages, or that a revert points at, keeps its
        one-row summary: the fired stages must keep stopping repeats.
        """
        with self.session() as session:
            old_runs = select(Run.id).where(Run.started_at < before)
            counts = {
                row.__tablename__: session.execute(
                    delete(row).where(row.run_id.in_(old_runs))
                ).rowcount
                for row in (
                    ChangeRow,
                    AlertRow,
                    CreateRow,
                    DeleteRow,
                    MergeRow,
                    ConversionRow,
                    EnrollmentRow,
                    DecisionRow,
                    ReportRow,
                    PlannedFiringRow,
                )
            }
            kept = select(FiringRow.run_id).union(
                select(Run.reverts_run_id).where(Run.reverts_run_id.is_not(None))
            )
            counts["runs"] = session.execute(
                delete(Run).where(Run.started_at < before, Run.id.not_in(kept))
            ).rowcount
            counts["occurrences"] = session.execute(
                delete(OccurrenceRow).where(OccurrenceRow.claimed_at < before)
            ).rowcount
            return counts
