"""What a play carries from run to run: cursors, daily assignment counts, watermarks,
retries, record indexes and owed enrollments. Apart from runs.py: these outlive any
one run and are read by the plays' decide step.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import delete, or_, select

from revsched.plan import Retry
from revsched.state.database import (
    Database,
    chunks,
    insert,
    now,
)
from revsched.state.models import (
    AssignmentCountRow,
    CursorRow,
    EnrollmentRow,
    FiringRow,
    IndexRow,
    RetryRow,
    Run,
    WatermarkRow,
)

# What a retried enrollment's row in the retrying run keeps of the earlier run's row.
_ENROLLMENT_COPIED = ("status", "key", "sobject", "record_id", "record_name", "email")
_ENROLLMENT_COPIED += ("sequence", "sender", "field", "reason", "channel", "reference", "attempts")


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


class Carryover(Database):
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

    def save_cursors(self, cursors: Mapping[str, int]) -> None:
        with self.session() as session:
            for pool, position in cursors.items():
                session.merge(CursorRow(pool=pool, position=position, updated_at=now()))

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
        for chunk in chunks(entries, 10_000):
            with self.session() as session:
                if not rebuild:
                    ids = [record_id for record_id, _ in chunk]
                    for part in chunks(ids, 500):
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
                insert(session, IndexRow, rows)
            count += len(chunk)
        return count

    def index_lookup(self, index: str, keys: Collection[str]) -> dict[str, set[str]]:
        """Key -> the Ids indexed under it (keys with none are left out)."""
        found: dict[str, set[str]] = {}
        with self.session() as session:
            for part in chunks(sorted(keys), 500):
                rows = session.execute(
                    select(IndexRow.key, IndexRow.record_id).where(
                        IndexRow.index_name == index, IndexRow.key.in_(part)
                    )
                )
                for key, record_id in rows:
                    found.setdefault(key, set()).add(record_id)
        return found

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

    def record_retried_enrollments(self, run_id: int, row_ids: Collection[int]) -> None:
        """The earlier runs' enrollments this run asked again (as answered), copied into its
        own audit so that it tells them too; the earlier run's row stays the one retried."""
        with self.session() as session:
            rows = session.scalars(select(EnrollmentRow).where(EnrollmentRow.id.in_(row_ids)))
            session.add_all(
                EnrollmentRow(
                    **{column: getattr(row, column) for column in _ENROLLMENT_COPIED},
                    run_id=run_id,
                    detail=f"asked again for run {row.run_id}: {row.detail}",
                    retry=False,
                )
                for row in rows.all()
            )

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
