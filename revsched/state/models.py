"""The state database's tables: one ORM model per table, and their shared metadata.

Alembic compares migrations against `Base.metadata`; the store (store.py) reads and
writes through these models.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}
    # Constraint names PostgreSQL would choose, fixed so migrations can name them on
    # every backend (SQLite's batch mode cannot alter an unnamed constraint).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "%(table_name)s_%(column_0_N_name)s_key",
            "fk": "%(table_name)s_%(column_0_name)s_fkey",
            "pk": "%(table_name)s_pkey",
        }
    )


def _run_rows(model: str) -> Any:
    """A run's rows of one kind, in the order they were written, deleted with the run."""
    return relationship(back_populates="run", order_by=f"{model}.id", cascade="all, delete-orphan")


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    play: Mapped[str] = mapped_column(String(100), index=True)
    dry_run: Mapped[bool]
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # running, succeeded, partial (some records failed), failed
    status: Mapped[str] = mapped_column(String(20))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # Set on a run that undid another run.
    reverts_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))

    changes: Mapped[list[ChangeRow]] = _run_rows("ChangeRow")
    alerts: Mapped[list[AlertRow]] = _run_rows("AlertRow")
    creates: Mapped[list[CreateRow]] = _run_rows("CreateRow")
    deletes: Mapped[list[DeleteRow]] = _run_rows("DeleteRow")
    merges: Mapped[list[MergeRow]] = _run_rows("MergeRow")
    conversions: Mapped[list[ConversionRow]] = _run_rows("ConversionRow")
    enrollments: Mapped[list[EnrollmentRow]] = _run_rows("EnrollmentRow")


class RunStep:
    """A row of a run's audit: one step the run planned, and its status once carried out.
    `on_run` names the run's list of these rows (`Run.changes`)."""

    on_run: ClassVar[str]

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # planned, then what carrying it out came to (each table lists its own)
    status: Mapped[str] = mapped_column(String(20))

    @declared_attr
    def run_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("runs.id"))

    @declared_attr
    def run(cls) -> Mapped[Run]:
        return relationship(back_populates=cls.on_run)


class AuditRow(RunStep):
    """A step that writes to the org or sends: why it failed, when it did."""

    error: Mapped[str | None] = mapped_column(Text)


class Reconciled:
    """A write whose run was interrupted mid-write can be read back from the org afterwards
    (a field holding the planned value, a record found by its key)."""

    reconciled: Mapped[bool] = mapped_column(default=False, server_default=false())


class ChangeRow(Reconciled, AuditRow, Base):
    """One field of one record: the before/after audit that `revert` works from."""

    __tablename__ = "changes"
    # Outcomes are saved by (run, record): an index on run_id alone makes each save scan
    # the run's rows (quadratic in a run's size on SQLite).
    __table_args__ = (Index("ix_changes_run_id_record_id", "run_id", "record_id"),)
    on_run = "changes"
    # status: planned (dry run or not yet written), applied, failed, stale (value moved;
    # left alone)

    sobject: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(18), index=True)
    record_name: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(255))
    # JSON-encoded so None, booleans and numbers survive.
    old: Mapped[str] = mapped_column(Text)
    new: Mapped[str] = mapped_column(Text)
    # The names of the old and new values when they are records' Ids (a lookup's users,
    # queues, accounts); None for other values, and in rows audited before names were kept.
    old_name: Mapped[str | None] = mapped_column(String(255))
    new_name: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)


class CreateRow(Reconciled, AuditRow, Base):
    """A record a run created (or found already there by its key), for audit and revert."""

    __tablename__ = "creates"
    __table_args__ = (Index("ix_creates_run_id_key", "run_id", "key"),)
    on_run = "creates"
    # status: planned, created, updated (the key existed: nothing duplicated), failed, stale,
    # skipped (its parent's write failed: planned again with it)

    sobject: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    fields: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(String(18))
    record_id: Mapped[str | None] = mapped_column(String(18))


class DeleteRow(AuditRow, Base):
    """A record a run deleted (a revert removing what its run created)."""

    __tablename__ = "deletes"
    __table_args__ = (Index("ix_deletes_run_id_record_id", "run_id", "record_id"),)
    on_run = "deletes"
    # status: planned, deleted, failed

    sobject: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(Text)


class MergeRow(AuditRow, Base):
    """One record a run merged into a master. Salesforce cannot undo a merge, so this row
    keeps the merged record's full values and the master's before and after."""

    __tablename__ = "merges"
    __table_args__ = (Index("ix_merges_run_id", "run_id"),)
    on_run = "merges"
    # status: planned, merged, failed, stale (left alone)

    sobject: Mapped[str] = mapped_column(String(100))
    master_id: Mapped[str] = mapped_column(String(18), index=True)
    master_name: Mapped[str] = mapped_column(String(255))
    merged_id: Mapped[str] = mapped_column(String(18), index=True)
    merged_name: Mapped[str] = mapped_column(String(255))
    # JSON objects of field values.
    merged_fields: Mapped[str] = mapped_column(Text)
    master_before: Mapped[str] = mapped_column(Text)
    master_after: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class ConversionRow(AuditRow, Base):
    """A lead a run converted onto an account. Salesforce cannot undo a conversion, so
    revert leaves it; the row names the contact the lead became."""

    __tablename__ = "lead_conversions"
    __table_args__ = (Index("ix_lead_conversions_run_id", "run_id"),)
    on_run = "conversions"
    # status: planned, converted, failed, stale (left alone)

    lead_id: Mapped[str] = mapped_column(String(18), index=True)
    lead_name: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str] = mapped_column(String(18))
    account_name: Mapped[str] = mapped_column(String(255))
    owner_id: Mapped[str] = mapped_column(String(18))
    converted_status: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[str | None] = mapped_column(String(18))


class EnrollmentRow(RunStep, Base):
    """A sequence enrollment a run planned, and what the channel answered.

    Saved planned before the channel is asked and settled after it answers: a run
    killed in between leaves it planned, and the play's next run asks the channel again,
    which looks for the person's sequence state before creating one (never twice)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_run_id_key", "run_id", "key"),
        Index("ix_enrollments_retry", "retry"),
    )
    on_run = "enrollments"
    # status: planned, enrolled, already, skipped, failed
    # The channel that answered, and its one-line account (a sequence state Id, why not).
    # A failure that may pass (`retry`) is asked again by the play's next runs, until it
    # is answered or has been asked in `[enrollment] tries` runs (`attempts`).

    key: Mapped[str] = mapped_column(String(400))
    sobject: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(18), index=True)
    record_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    sequence: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(Text)  # JSON of the plan's Recipient
    field: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    retry: Mapped[bool] = mapped_column(default=False, server_default=false())


class AlertRow(AuditRow, Base):
    """The outbox: an alert a run owes, saved with its plan before the first write.

    It is owed once every write the run planned for its record succeeded; whoever
    delivers it (this run, or the next run of the play after a kill) marks it sent.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_run_id", "run_id"),)
    on_run = "alerts"
    # status: planned (owed once its record is written), sent, failed (retried by the next
    # run), skipped (the record was not written: nothing owed)
    # Delivering it marks (play, record, stage) fired.

    record_id: Mapped[str] = mapped_column(String(18))
    # The name of the record it is about; None in rows kept before names were.
    record_name: Mapped[str | None] = mapped_column(String(255))
    stage: Mapped[str] = mapped_column(String(100))
    recipients: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    fires: Mapped[bool] = mapped_column(default=False, server_default=false())
    # JSON [[record, stage], ...]: what a digest lists, marked fired with its delivery.
    covers: Mapped[str | None] = mapped_column(Text)
    # JSON of a digest's Alert (template, context) until it is told as its run's writes
    # came out (revsched.written_digests), by the run or the settle after a kill; None
    # once told, and for other alerts. An untold digest is not owed yet.
    source: Mapped[str | None] = mapped_column(Text)


class DecisionRow(Base):
    """Why a run selected or skipped a record: what its report's decision tables show
    after the fact (the dashboard's latest run)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    sobject: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(18))
    record_name: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))  # selected or skipped
    reason: Mapped[str] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(255))
    # What summaries count it under (Decision.kind)
    kind: Mapped[str | None] = mapped_column(String(255))


class ReportRow(Base):
    """One row of a table the play put on its plan (at-risk renewals, the dedupe review
    queue), as JSON: the run's report rebuilt later shows it as the run did."""

    __tablename__ = "report_rows"
    __table_args__ = (Index("ix_report_rows_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    report: Mapped[str] = mapped_column(String(100))
    row: Mapped[str] = mapped_column(Text)


class FiringRow(Base):
    """A (play, record, stage) that has fired: never fired again."""

    __tablename__ = "firings"
    __table_args__ = (UniqueConstraint("play", "record_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    play: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(18))
    stage: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    fired_at: Mapped[datetime]


class PlannedFiringRow(Base):
    """A stage a run will fire without an alert once its record's writes land, saved before
    the first write: a run that stops early leaves these for the next settle to fire (the
    writes that landed) or drop, so a kill loses no fired stage."""

    __tablename__ = "planned_firings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    record_id: Mapped[str] = mapped_column(String(18))
    stage: Mapped[str] = mapped_column(String(100))


class DeliveryRow(Base):
    """One message confirmed by the channel for an alert at one destination.

    The ledger that makes delivery exactly once: a run that stops half-way
    leaves these for what was confirmed, and the next run sends only the rest.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("play", "record_id", "stage", "destination"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    play: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[str] = mapped_column(String(18))
    stage: Mapped[str] = mapped_column(String(100))
    # "slack:dm:U123", "slack:channel:#win-back", "email:ava@acme.com", "webhook"
    destination: Mapped[str] = mapped_column(String(400))
    delivered_at: Mapped[datetime]


class SlackUserRow(Base):
    """A Salesforce email's Slack user (None: nobody in Slack has it), as looked up when."""

    __tablename__ = "slack_users"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    looked_up_at: Mapped[datetime]


class CursorRow(Base):
    __tablename__ = "cursors"

    pool: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int]
    updated_at: Mapped[datetime]


class WatermarkRow(Base):
    """How far a play that reads incrementally has read the org: the moment its last fully
    applied run began reading (the next run reads what changed since, minus an overlap)."""

    __tablename__ = "watermarks"

    play: Mapped[str] = mapped_column(String(100), primary_key=True)
    moment: Mapped[datetime]
    updated_at: Mapped[datetime]


class OAuthTokenRow(Base):
    """An OAuth client's current token pair (Outreach's rotates at each refresh), sealed with
    a key only the servers hold: every server on the store uses and refreshes the same one."""

    __tablename__ = "oauth_tokens"

    client: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The pair, encrypted (outreach_auth.py): readers of the audit cannot use it.
    sealed: Mapped[str] = mapped_column(Text)
    # A digest of the refresh token the pair started from: a new one configured re-seeds.
    seed: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class RetryRow(Base):
    """A record whose write failed in a watermarked play's run: the watermark moves past it,
    so the play's next runs read it again by Id, `attempts` runs in all so far."""

    __tablename__ = "retries"

    play: Mapped[str] = mapped_column(String(100), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    attempts: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class IndexRow(Base):
    """One key a record is found by in a play's lookup index (see revsched.record_index)."""

    __tablename__ = "record_index"
    __table_args__ = (Index("ix_record_index_record", "index_name", "record_id"),)

    index_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(18), primary_key=True)


class AssignmentCountRow(Base):
    """How many assignments each pool member got on a day, for daily caps."""

    __tablename__ = "assignment_counts"

    pool: Mapped[str] = mapped_column(String(100), primary_key=True)
    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int]


class LeaseRow(Base):
    """Who may run a play right now, across processes and machines, and until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class OccurrenceRow(Base):
    """A scheduled occurrence of a play, claimed by the one process that runs it."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("play", "period_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    play: Mapped[str] = mapped_column(String(100))
    # The period the occurrence covers: 2026-11-23, 2026-W48, 2026-11, 2026-11-23T10:15.
    period_key: Mapped[str] = mapped_column(String(40))
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime]
