"""The state store: runs, the per-field audit, alerts, fired stages and cursors.

SQLAlchemy over SQLite by default, any SQLAlchemy URL (PostgreSQL for several
ops servers) when configured. This is revsched's memory: what fired, what
changed from what to what, and where each round robin stands.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import create_engine, delete, event, func, or_, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

from revsched import migrate
from revsched.errors import ConfigError
from revsched.plan import Decision, Plan, Retry
from revsched.private import private_file
from revsched.state.models import (
    AlertRow,
    AssignmentCountRow,
    Base,
    ChangeRow,
    ConversionRow,
    CreateRow,
    CursorRow,
    DecisionRow,
    DeleteRow,
    DeliveryRow,
    EnrollmentRow,
    FiringRow,
    IndexRow,
    LeaseRow,
    MergeRow,
    OccurrenceRow,
    ReportRow,
    RetryRow,
    Run,
    SlackUserRow,
    WatermarkRow,
)

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


class OutboxEntry(NamedTuple):
    """An alert as the outbox keeps it: what its delivery needs, even after a kill."""

    record_id: str
    stage: str
    # JSON list of the recipients.
    recipients: str
    text: str
    # Delivering it marks (play, record, stage) fired.
    fires: bool = False
    # JSON [[record, stage], ...] also marked fired by delivering it (what a digest lists).
    covers: str | None = None


class EnrollmentOutcome(NamedTuple):
    """What an enrollment channel answered for one person."""

    # enrolled, already, skipped, failed
    status: str
    channel: str
    # One line: why, or what was done (never a secret).
    detail: str
    # The channel's record of it: a sequence state Id, the field written.
    reference: str | None = None
    # A failure that may pass (Outreach or Salesforce unavailable, a locked row): the
    # play's next runs ask again.
    retry: bool = False


class PlannedWrite(NamedTuple):
    """A write an unfinished run planned and never recorded, to read back from the org."""

    row_id: int
    sobject: str
    # The record's Id for a field change; the key of a record to create.
    record: str
    field: str
    # JSON, as the audit keeps it; None for a create.
    new: str | None


class PlannedMerge(NamedTuple):
    """A merge an unfinished run planned and never recorded, to read back from the org."""

    row_id: int
    sobject: str
    master_id: str
    merged_id: str


# Outcome statuses of the writes an alert waits on; planned means not known yet.
_WRITTEN = {"applied", "created", "updated", "merged", "converted"}


def _worse(status: str, than: str) -> bool:
    """Whether a write's `status` says less about its record being written than `than`."""

    def rank(s: str) -> int:
        return 0 if s == "planned" else 2 if s in _WRITTEN else 1

    return rank(status) < rank(than)


def fired_by(alert: AlertRow, unwritten: Collection[tuple[int, str]]) -> list[tuple[str, str]]:
    """The stages a delivered alert fires: its own (when it fires) and those of the records it
    lists, but not of a listed record whose write failed (the next run lists it again)."""
    fired = [(alert.record_id, alert.stage)] if alert.fires else []
    return fired + [
        (record, stage)
        for record, stage in json.loads(alert.covers or "[]")
        if (alert.run_id, record) not in unwritten
    ]


def _listed_unwritten(
    alert: AlertRow, outcomes: Mapping[tuple[int, str], tuple[str, str]]
) -> tuple[str, str] | None:
    """Why a digest is not owed: its run writes records it lists and none of those writes
    succeeded (planned when some are still unknown). A digest about records its run does
    not write is owed as it is."""
    listed = {record for record, _ in json.loads(alert.covers or "[]")}
    writes = [outcomes[(alert.run_id, r)] for r in sorted(listed) if (alert.run_id, r) in outcomes]
    if not writes or any(status in _WRITTEN for status, _ in writes):
        return None
    if any(status == "planned" for status, _ in writes):
        return "planned", "unknown"
    return (
        "failed",
        f"none of the {len(writes)} records it lists that its run writes was written"
        f" ({writes[0][1]})",
    )


SQLITE_BUSY_SECONDS = 30


def open_engine(url: str) -> Engine:
    """An engine on the state database (its SQLite directory created), schema unchecked."""
    database = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and database not in ("", ":memory:"):
        private_file(Path(database).expanduser())
    if not url.startswith("sqlite:///"):
        return create_engine(url)
    # A run, the scheduler and `show` may share the file: wait for a writer, as long as a
    # long batch may hold the lock, rather than failing after pysqlite's default 5 s.
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
    event.listen(engine, "connect", _write_ahead_log)
    return engine


def _write_ahead_log(connection: Any, _: Any) -> None:
    """SQLite in WAL mode, synced at checkpoints rather than at every commit: a run saves
    its outcomes a batch at a time, and a sync per batch cost more than the writes. A crash
    may lose the last batches, never the file; the next run reads those back from the org."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _shown(url: str) -> str:
    """The URL as an error may show it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url.split("@")[-1])


# A planned change's row, in the order start_run gives its values.
CHANGE_COLUMNS = ("run_id", "status", "sobject", "record_id", "record_name", "field")
CHANGE_COLUMNS += ("old", "new", "old_name", "new_name", "reason")
DECISION_COLUMNS = ("run_id", "sobject", "record_id", "record_name", "outcome", "reason")
DECISION_COLUMNS += ("stage", "kind")
# Rows per executemany call.
CHUNK = 1000
# Values in one IN (...): under SQLite's oldest limit of bound parameters (999).
IN_CHUNK = 500


def _chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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


def _driver_sql(session: Session, sql: str) -> str:
    """SQL written with `?` placeholders (and no value of its own) in the driver's style."""
    return sql if session.get_bind().dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def _executemany(session: Session, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows of plain values straight to the driver's executemany, in chunks: SQLAlchemy's
    per-row parameter handling cost more than the database's work at 100k rows."""
    sql = _driver_sql(session, sql)
    connection = session.connection()
    for batch in _chunks(rows):
        connection.exec_driver_sql(sql, batch)


def _insert(session: Session, model: type[Base], rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is not None:
        columns = tuple(first)
        values = (tuple(row[name] for name in columns) for row in itertools.chain([first], rows))
        _insert_values(session, model, columns, values)


def _insert_values(
    session: Session, model: type[Base], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples in the order of `columns`, each value through its
    column's bind processing (timestamps in UTC) as SQLAlchemy would."""
    table = model.__table__
    dialect = session.get_bind().dialect
    processors = [
        (i, process)
        for i, name in enumerate(columns)
        if (process := table.c[name].type.bind_processor(dialect)) is not None
    ]

    def processed(row: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(row)
        for i, process in processors:
            out[i] = process(out[i])
        return tuple(out)

    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
    _executemany(session, sql, map(processed, rows) if processors else rows)


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


def _is_locked(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


# SQLite answers "database is locked" at once, busy timeout or not, to a connection that
# switches a file being created to WAL while another one does: servers starting together
# on a fresh store retry rather than fail.
@retry(
    retry=retry_if_exception(_is_locked),
    wait=wait_random(0.05, 0.5),
    stop=stop_after_delay(SQLITE_BUSY_SECONDS),
    reraise=True,
)
def _ensure_current(engine: Engine) -> None:
    migrate.ensure_current(engine)


class StateStore:
    def __init__(self, url: str):
        try:
            self.engine = open_engine(url)
            _ensure_current(self.engine)
        except (ArgumentError, NoSuchModuleError):
            raise ConfigError(
                f"state.url: {_shown(url)} is not a database URL SQLAlchemy can open"
                " (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
            ) from None
        except OperationalError as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            raise ConfigError(
                f"state.url: cannot open the state store at {_shown(url)}: {reason}"
            ) from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # One run of a play at a time

    def _database_now(self, session: Session) -> datetime:
        """The database's clock, shared by every server, rather than this machine's."""
        value = session.scalar(select(func.current_timestamp()))
        if isinstance(value, str):  # SQLite returns text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def acquire_lease(self, name: str, holder: str, ttl: timedelta) -> LeaseRow | None:
        """Take or extend the lease; returns the current holder's lease when someone else has it."""
        with self.session() as session:
            db_now = self._database_now(session)
            taken = session.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == name,
                    or_(LeaseRow.holder == holder, LeaseRow.expires_at < db_now),
                )
                .values(holder=holder, expires_at=db_now + ttl)
            )
            if taken.rowcount:
                return None
            try:
                with session.begin_nested():
                    session.add(LeaseRow(name=name, holder=holder, expires_at=db_now + ttl))
                return None
            except IntegrityError:
                return session.get(LeaseRow, name)

    def release_lease(self, name: str, holder: str) -> None:
        with self.session() as session:
            session.execute(
                delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder)
            )

    def claim_occurrence(self, play: str, period_key: str, holder: str) -> OccurrenceRow | None:
        """Claim (play, period) for this holder; returns the existing claim if it was taken."""
        with self.session() as session:
            try:
                with session.begin_nested():
                    session.add(
                        OccurrenceRow(
                            play=play,
                            period_key=period_key,
                            holder=holder,
                            claimed_at=self._database_now(session),
                        )
                    )
                return None
            except IntegrityError:
                return session.scalars(
                    select(OccurrenceRow).where(
                        OccurrenceRow.play == play, OccurrenceRow.period_key == period_key
                    )
                ).one()

    def interrupt_unfinished(self, play: str) -> list[Run]:
        """Mark runs that never finished (killed, crashed) as interrupted; hold the lease."""
        with self.session() as session:
            runs = list(
                session.scalars(
                    select(Run).where(
                        Run.play == play, Run.status == "running", Run.dry_run.is_(False)
                    )
                )
            )
            for run in runs:
                run.status = "interrupted"
                run.error = "the run stopped before it finished; a later run converged"
            return runs

    # Reads the plays depend on

    def fired(self, play: str) -> frozenset[tuple[str, str]]:
        with self.session() as session:
            rows = session.execute(
                select(FiringRow.record_id, FiringRow.stage).where(FiringRow.play == play)
            )
            return frozenset((r.record_id, r.stage) for r in rows)

    def cursors(self) -> dict[str, int]:
        with self.session() as session:
            return {row.pool: row.position for row in session.scalars(select(CursorRow))}

    def watermark(self, play: str) -> datetime | None:
        """Where the play's last fully applied run began reading; None when never (or the
        store is new): the play then reads its whole catch-up window."""
        with self.session() as session:
            row = session.get(WatermarkRow, play)
            return row.moment if row else None

    def save_watermark(self, play: str, moment: datetime) -> None:
        with self.session() as session:
            session.merge(WatermarkRow(play=play, moment=moment, updated_at=now()))

    def retries(self, play: str) -> dict[str, Retry]:
        """The records whose writes failed in the play's last watermarked runs, by Id."""
        with self.session() as session:
            rows = session.scalars(select(RetryRow).where(RetryRow.play == play))
            return {row.record_id: Retry(row.attempts, row.error) for row in rows}

    def replace_retries(self, play: str, failed: Mapping[str, str]) -> None:
        """The play's retry set after a run that read all of it: this run's failures (Id ->
        error), each counting one more run if it failed in the last one too."""
        with self.session() as session:
            earlier = {
                row.record_id: row.attempts
                for row in session.scalars(select(RetryRow).where(RetryRow.play == play))
            }
            session.execute(delete(RetryRow).where(RetryRow.play == play))
            session.add_all(
                RetryRow(
                    play=play,
                    record_id=record_id,
                    attempts=earlier.get(record_id, 0) + 1,
                    error=error,
                    updated_at=now(),
                )
                for record_id, error in failed.items()
            )

    def index_records(
        self, index: str, entries: Iterable[tuple[str, set[str]]], *, rebuild: bool
    ) -> int:
        """Replace the keys of each (record Id, keys) in the index, 10,000 records a
        transaction; `rebuild` empties the index first. Returns how many records."""
        count = 0
        if rebuild:
            with self.session() as session:
                session.execute(delete(IndexRow).where(IndexRow.index_name == index))
        for chunk in _chunks(entries, 10_000):
            with self.session() as session:
                if not rebuild:
                    ids = [record_id for record_id, _ in chunk]
                    for part in _chunks(ids, 500):
                        session.execute(
                            delete(IndexRow).where(
                                IndexRow.index_name == index, IndexRow.record_id.in_(part)
                            )
                        )
                rows = (
                    {"index_name": index, "key": key[:255], "record_id": record_id}
                    for record_id, keys in chunk
                    for key in sorted(keys)
                )
                _insert(session, IndexRow, rows)
            count += len(chunk)
        return count

    def index_lookup(self, index: str, keys: Collection[str]) -> dict[str, set[str]]:
        """Key -> the Ids indexed under it (keys with none are left out)."""
        found: dict[str, set[str]] = {}
        with self.session() as session:
            for part in _chunks(sorted(keys), 500):
                rows = session.execute(
                    select(IndexRow.key, IndexRow.record_id).where(
                        IndexRow.index_name == index, IndexRow.key.in_(part)
                    )
                )
                for key, record_id in rows:
                    found.setdefault(key, set()).add(record_id)
        return found

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
            run = Run(
                play=plan.play,
                dry_run=dry_run,
                as_of=plan.as_of,
                started_at=now(),
                status="running",
                reverts_run_id=reverts,
                counts={},
            )
            session.add(run)
            session.flush()
            run_id = run.id  # read once: an ORM attribute costs a lookup per row
            planned = {"run_id": run_id, "status": "planned"}
            # Tuples, not dicts: one row per changed field.
            _insert_values(
                session,
                ChangeRow,
                CHANGE_COLUMNS,
                (
                    (
                        run_id,
                        "planned",
                        c.sobject,
                        c.record_id,
                        c.record_name,
                        c.field,
                        _json_scalar(c.old),
                        _json_scalar(c.new),
                        _name_of(c.old, names),
                        _name_of(c.new, names),
                        c.reason,
                    )
                    for c in plan.changes
                ),
            )
            _insert(
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
            _insert(
                session,
                DeleteRow,
                (
                    {**planned, "sobject": d.sobject, "record_id": d.record_id, "reason": d.reason}
                    for d in plan.deletes
                ),
            )
            _insert(
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
            _insert(
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
            _insert(
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
            _insert(
                session,
                AlertRow,
                (
                    {**planned, **a._asdict(), "record_name": _name_of(a.record_id, names)}
                    for a in alerts
                ),
            )
            _insert_values(
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
            _insert_values(
                session,
                ReportRow,
                ("run_id", "report", "row"),
                (
                    (run_id, name, json.dumps(row))
                    for name, rows in plan.reports.items()
                    for row in rows
                ),
            )
            _mark_stale(session, run_id, stale or {})
            return run_id

    def record_batch(self, run_id: int, outcomes: Mapping[str, str | None]) -> None:
        """The outcome of one write call: record Id -> None when saved, else its error."""
        applied = [record_id for record_id, error in outcomes.items() if error is None]
        with self.session() as session:
            # On the (run, record) index, whatever the run's size: the saved records with
            # one statement per chunk (less than half the CPU of a statement each), then the
            # failed ones with their errors.
            connection = session.connection()
            for chunk in _chunks(applied, IN_CHUNK):
                marks = ", ".join("?" * len(chunk))
                sql = "UPDATE changes SET status = 'applied', error = NULL"
                sql += f" WHERE run_id = ? AND record_id IN ({marks})"
                connection.exec_driver_sql(_driver_sql(session, sql), (run_id, *chunk))
            _executemany(
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

        What the run planned for a converted lead (writes, alerts) is audited and owed
        against its contact from here on, the alerts with `texts` ((contact, stage) ->
        the text naming the contact); for a lead not converted, it is left alone."""
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
                    (
                        EnrollmentRow,
                        EnrollmentRow.record_id,
                        {"sobject": "Contact", "record_id": contact_id},
                    ),
                ):
                    session.execute(
                        update(model).where(model.run_id == run_id, about == lead_id).values(values)
                    )
            _rewrite_alerts(session, run_id, texts)

    def rewrite_alerts(self, run_id: int, texts: Mapping[tuple[str, str], str]) -> None:
        """The run's owed alerts ((record, stage) -> text) as they are to be sent now."""
        with self.session() as session:
            _rewrite_alerts(session, run_id, texts)

    def record_enrollment(self, row_id: int, outcome: EnrollmentOutcome, tries: int = 1) -> None:
        """What the channel answered for one planned enrollment (its audit row); a failure
        that may pass is asked again by later runs until `tries` runs have asked."""
        with self.session() as session:
            row = session.get_one(EnrollmentRow, row_id)
            row.attempts += 1
            row.retry = outcome.retry and row.attempts < tries
            row.status, row.channel, row.reference = (
                outcome.status,
                outcome.channel,
                outcome.reference,
            )
            row.detail = outcome.detail
            if outcome.retry and not row.retry:
                row.detail += f"; not retried: tried in {row.attempts} runs"

    def planned_enrollments(self, run_id: int) -> list[EnrollmentRow]:
        """The run's enrollments the channel has not been asked about yet."""
        with self.session() as session:
            query = select(EnrollmentRow).where(
                EnrollmentRow.run_id == run_id, EnrollmentRow.status == "planned"
            )
            return list(session.scalars(query.order_by(EnrollmentRow.id)))

    def owed_enrollments(self, play: str) -> list[EnrollmentRow]:
        """The enrollments the play's ended runs still owe: planned but never answered (the
        run stopped), or failed for a reason that may pass (`retry`)."""
        with self.session() as session:
            ended = select(Run.id).where(
                Run.play == play, Run.dry_run.is_(False), Run.status != "running"
            )
            owed = or_(EnrollmentRow.status == "planned", EnrollmentRow.retry.is_(True))
            query = select(EnrollmentRow).where(owed, EnrollmentRow.run_id.in_(ended))
            return list(session.scalars(query.order_by(EnrollmentRow.id)))

    def forget_firings(self, run_id: int, record_ids: Iterable[str]) -> list[tuple[str, str]]:
        """Un-fire the stages a reverted run fired on these records, so they may fire again
        (and alert again: their deliveries are forgotten too); returns (record, stage)."""
        with self.session() as session:
            fired = list(
                session.scalars(
                    select(FiringRow).where(
                        FiringRow.run_id == run_id, FiringRow.record_id.in_(list(record_ids))
                    )
                )
            )
            for firing in fired:
                session.execute(
                    delete(DeliveryRow).where(
                        DeliveryRow.play == firing.play,
                        DeliveryRow.record_id == firing.record_id,
                        DeliveryRow.stage == firing.stage,
                    )
                )
                session.delete(firing)
            return [(firing.record_id, firing.stage) for firing in fired]

    # The alert ledger and the Slack user cache

    def delivered(self, play: str, record_ids: Iterable[str]) -> set[tuple[str, str, str]]:
        """(record, stage, destination) already confirmed for these records of the play."""
        with self.session() as session:
            rows = session.execute(
                select(DeliveryRow.record_id, DeliveryRow.stage, DeliveryRow.destination).where(
                    DeliveryRow.play == play, DeliveryRow.record_id.in_(list(record_ids))
                )
            )
            return {(r.record_id, r.stage, r.destination) for r in rows}

    def record_delivery(self, play: str, keys: Iterable[tuple[str, str]], destination: str) -> None:
        with self.session() as session:
            for record_id, stage in keys:
                session.add(
                    DeliveryRow(
                        play=play,
                        record_id=record_id,
                        stage=stage,
                        destination=destination,
                        delivered_at=now(),
                    )
                )

    def slack_user(self, email: str, max_age: timedelta) -> SlackUserRow | None:
        """The cached lookup of this email, if younger than max_age."""
        with self.session() as session:
            row = session.get(SlackUserRow, email)
            return row if row is not None and row.looked_up_at > now() - max_age else None

    def cache_slack_user(self, email: str, slack_user_id: str | None) -> None:
        with self.session() as session:
            session.merge(
                SlackUserRow(email=email, slack_user_id=slack_user_id, looked_up_at=now())
            )

    def plays_owing(self) -> set[str]:
        """Plays whose earlier runs may still owe something: unfinished, alerts not yet
        delivered, or writes never recorded."""
        with self.session() as session:
            written = select(Run.play).where(Run.dry_run.is_(False))
            unfinished = written.where(Run.status == "running")
            alerts = written.join(AlertRow).where(AlertRow.status.in_(("planned", "failed")))
            changes = written.join(ChangeRow).where(ChangeRow.status == "planned")
            creates = written.join(CreateRow).where(CreateRow.status == "planned")
            conversions = written.join(ConversionRow).where(ConversionRow.status == "planned")
            enrollments = written.join(EnrollmentRow).where(EnrollmentRow.status == "planned")
            merges = written.join(MergeRow).where(MergeRow.status == "planned")
            return set(
                session.scalars(
                    unfinished.union(alerts, changes, creates, conversions, enrollments, merges)
                )
            )

    def owed_alerts(self, play: str) -> list[AlertRow]:
        """The play's alerts still owed: every write their run planned for the record succeeded,
        and a digest listing records its run writes has at least one of them written.

        Alerts whose record was not written (failed, left alone) and digests none of whose
        listed writes succeeded are marked skipped on the way (their stage is not fired: the
        next run lists those records again); those whose writes are still unknown wait.
        """
        with self.session() as session:
            pending = list(
                session.scalars(
                    select(AlertRow)
                    .join(Run)
                    .where(
                        Run.play == play,
                        Run.dry_run.is_(False),
                        AlertRow.status.in_(("planned", "failed")),
                    )
                    .order_by(AlertRow.id)
                )
            )
            outcomes = self._write_outcomes(session, {a.run_id for a in pending})
            owed: list[AlertRow] = []
            for alert in pending:
                blocker = outcomes.get((alert.run_id, alert.record_id))
                if blocker is not None and blocker[0] not in _WRITTEN:
                    blocker = (blocker[0], f"the record was not written ({blocker[1]})")
                else:
                    blocker = _listed_unwritten(alert, outcomes)
                if blocker is None:
                    owed.append(alert)
                elif blocker[0] != "planned":
                    alert.status = "skipped"
                    alert.error = f"not sent: {blocker[1]}"
            return owed

    def unwritten(self, run_ids: Iterable[int]) -> set[tuple[int, str]]:
        """(run, record) of the writes those runs planned that did not succeed."""
        with self.session() as session:
            outcomes = self._write_outcomes(session, set(run_ids))
        return {key for key, (status, _) in outcomes.items() if status not in _WRITTEN}

    def _write_outcomes(
        self, session: Session, run_ids: set[int]
    ) -> dict[tuple[int, str], tuple[str, str]]:
        """(run, record) -> (status, why) of the writes those runs planned: the worst of a
        record's writes, a planned one (outcome unknown) first, then one that did not succeed."""
        found: dict[tuple[int, str], tuple[str, str]] = {}
        if not run_ids:
            return found
        writes = (
            (ChangeRow, ChangeRow.record_id),
            (CreateRow, CreateRow.parent_id),
            (MergeRow, MergeRow.master_id),
            (MergeRow, MergeRow.merged_id),
            (ConversionRow, ConversionRow.lead_id),
        )
        for model, record in writes:
            rows = session.execute(
                select(model.run_id, record, model.status, model.error).where(
                    model.run_id.in_(run_ids)
                )
            )
            for run_id, record_id, status, error in rows:
                if record_id is None:
                    continue
                key = (run_id, record_id)
                if key not in found or _worse(status, found[key][0]):
                    found[key] = (status, error or status)
        return found

    def skipped_alerts(self, run_id: int) -> dict[tuple[str, str], str]:
        """(record, stage) -> why, for the run's alerts held back (nothing they are about
        was written)."""
        with self.session() as session:
            rows = session.execute(
                select(AlertRow.record_id, AlertRow.stage, AlertRow.error).where(
                    AlertRow.run_id == run_id, AlertRow.status == "skipped"
                )
            )
            return {(record, stage): error or "skipped" for record, stage, error in rows}

    def settle_alerts(self, play: str, outcomes: Mapping[int, str | None]) -> None:
        """Each outbox row's delivery: None when every message carrying it was confirmed
        (it is sent, and its stage fired), else why not (it stays owed)."""
        with self.session() as session:
            alerts = {alert_id: session.get_one(AlertRow, alert_id) for alert_id in outcomes}
            writes = self._write_outcomes(session, {a.run_id for a in alerts.values()})
            unwritten = {key for key, (status, _) in writes.items() if status not in _WRITTEN}
            for alert_id, error in outcomes.items():
                alert = alerts[alert_id]
                if error is not None:
                    alert.status, alert.error = "failed", error
                    continue
                alert.status = "sent"
                if alert.error is not None:
                    alert.error = f"sent on a later try; it had failed: {alert.error}"
                self._fire(session, alert.run_id, play, fired_by(alert, unwritten))

    def _fire(
        self, session: Session, run_id: int, play: str, stages: Iterable[tuple[str, str]]
    ) -> None:
        """Mark each (record, stage) of the play fired unless it already is."""
        todo = set(stages)
        for chunk in _chunks(sorted(todo)):
            found = session.execute(
                select(FiringRow.record_id, FiringRow.stage).where(
                    FiringRow.play == play,
                    FiringRow.record_id.in_({record for record, _ in chunk}),
                    FiringRow.stage.in_({stage for _, stage in chunk}),
                )
            )
            todo -= {(row.record_id, row.stage) for row in found}
        at = now()
        session.add_all(
            FiringRow(play=play, record_id=record, stage=stage, run_id=run_id, fired_at=at)
            for record, stage in sorted(todo)
        )

    def record_firing(self, run_id: int, play: str, record_id: str, stage: str) -> None:
        with self.session() as session:
            session.add(
                FiringRow(
                    play=play, record_id=record_id, stage=stage, run_id=run_id, fired_at=now()
                )
            )

    # Writes an interrupted run never recorded

    def unsettled_writes(self, play: str) -> tuple[list[PlannedWrite], list[PlannedWrite]]:
        """(field changes, creates) still planned in the play's runs that stopped early."""
        with self.session() as session:
            ended = select(Run.id).where(
                Run.play == play, Run.dry_run.is_(False), Run.status != "running"
            )
            changes = session.execute(
                select(
                    ChangeRow.id,
                    ChangeRow.sobject,
                    ChangeRow.record_id,
                    ChangeRow.field,
                    ChangeRow.new,
                ).where(ChangeRow.run_id.in_(ended), ChangeRow.status == "planned")
            )
            creates = session.execute(
                select(CreateRow.id, CreateRow.sobject, CreateRow.key).where(
                    CreateRow.run_id.in_(ended), CreateRow.status == "planned"
                )
            )
            return (
                [PlannedWrite(*row) for row in changes],
                [PlannedWrite(*row, field="", new=None) for row in creates],
            )

    def unsettled_merges(self, play: str) -> list[PlannedMerge]:
        """Merges still planned in the play's runs that stopped early."""
        with self.session() as session:
            rows = session.execute(
                select(MergeRow.id, MergeRow.sobject, MergeRow.master_id, MergeRow.merged_id)
                .join(Run)
                .where(
                    Run.play == play,
                    Run.dry_run.is_(False),
                    Run.status != "running",
                    MergeRow.status == "planned",
                )
            )
            return [PlannedMerge(*row) for row in rows]

    def unsettled_conversions(self, play: str) -> dict[int, list[str]]:
        """Leads still planned for conversion in the play's runs that stopped early, by run."""
        with self.session() as session:
            rows = session.execute(
                select(ConversionRow.run_id, ConversionRow.lead_id)
                .join(Run)
                .where(
                    Run.play == play,
                    Run.dry_run.is_(False),
                    Run.status != "running",
                    ConversionRow.status == "planned",
                )
                .order_by(ConversionRow.id)
            )
            planned: dict[int, list[str]] = {}
            for run_id, lead_id in rows:
                planned.setdefault(run_id, []).append(lead_id)
            return planned

    def reconcile(
        self,
        changes: Mapping[int, bool],
        creates: Mapping[int, str | None],
        merges: Mapping[int, bool] | None = None,
    ) -> None:
        """What the org showed for unsettled writes: a change found there is applied, a
        create found by its key is created (its Id kept, so revert can delete it), a merge
        found done is merged; the rest never reached the org."""
        unwritten = "not written: the run stopped before this write reached the org"
        with self.session() as session:
            for model, outcomes, done in (
                (ChangeRow, changes, "applied"),
                (MergeRow, merges or {}, "merged"),
            ):
                for row_id, written in outcomes.items():
                    values: dict[str, Any] = {"status": done if written else "failed"}
                    values["error"] = None if written else unwritten
                    if model is ChangeRow:
                        values["reconciled"] = True
                    session.execute(update(model).where(model.id == row_id).values(values))
            for row_id, record_id in creates.items():
                session.execute(
                    update(CreateRow)
                    .where(CreateRow.id == row_id)
                    .values(
                        status="created" if record_id else "failed",
                        record_id=record_id,
                        error=None if record_id else unwritten,
                        reconciled=True,
                    )
                )

    def assigned_on(self, day: date) -> dict[str, dict[str, int]]:
        with self.session() as session:
            counts: dict[str, dict[str, int]] = {}
            rows = session.scalars(select(AssignmentCountRow).where(AssignmentCountRow.day == day))
            for row in rows:
                counts.setdefault(row.pool, {})[row.username] = row.count
            return counts

    def add_assignments(self, day: date, added: Mapping[str, Mapping[str, int]]) -> None:
        with self.session() as session:
            for pool, members in added.items():
                for username, count in members.items():
                    row = session.get(AssignmentCountRow, (pool, username, day))
                    if row is None:
                        session.add(
                            AssignmentCountRow(pool=pool, username=username, day=day, count=count)
                        )
                    else:
                        row.count += count

    def save_cursors(self, cursors: Mapping[str, int]) -> None:
        with self.session() as session:
            for pool, position in cursors.items():
                session.merge(CursorRow(pool=pool, position=position, updated_at=now()))

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

    # History

    def runs(self, play: str | None = None, limit: int = 20) -> list[Run]:
        with self.session() as session:
            query = select(Run).order_by(Run.id.desc()).limit(limit)
            if play:
                query = query.where(Run.play == play)
            return list(session.scalars(query))

    def reverted_by(self, run_id: int) -> int | None:
        """The run that reverted this one, if any."""
        with self.session() as session:
            return session.scalar(select(Run.id).where(Run.reverts_run_id == run_id))

    def decisions(self, run_id: int) -> list[Decision]:
        """Why the run selected and skipped each record, in the order it decided."""
        columns = [getattr(DecisionRow, name) for name in DECISION_COLUMNS[1:]]
        with self.session() as session:
            rows = session.execute(
                select(*columns).where(DecisionRow.run_id == run_id).order_by(DecisionRow.id)
            )
            return [Decision(**row._asdict()) for row in rows]

    def reports(self, run_id: int) -> dict[str, list[dict[str, Any]]]:
        """The tables the run's play reported (name -> rows), as its plan held them."""
        found: dict[str, list[dict[str, Any]]] = {}
        with self.session() as session:
            rows = session.execute(
                select(ReportRow.report, ReportRow.row)
                .where(ReportRow.run_id == run_id)
                .order_by(ReportRow.id)
            )
            for name, row in rows:
                found.setdefault(name, []).append(json.loads(row))
        return found

    def run(self, run_id: int) -> Run | None:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is not None:
                # Loaded now, for reading once the session is closed.
                _ = run.changes, run.alerts, run.creates, run.deletes, run.merges
                _ = run.conversions, run.enrollments
            return run
