"""One run of a play at a time: leases, claimed occurrences, and marking runs that
never finished. Apart from the rest: these use the database's clock, shared by servers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revsched.state.database import (
    Database,
)
from revsched.state.models import (
    LeaseRow,
    OccurrenceRow,
    Run,
)
from revsched.state.planned import mark_unplanned


class Leases(Database):
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
        """Mark runs that never finished (killed, crashed) as interrupted; hold the lease.
        One stopped while it was still planning (a streamed plan) wrote nothing: its planned
        changes are marked not written at once, without asking the org. Dry runs are left
        alone: they hold no lease, so one may be planning in another process right now."""
        with self.session() as session:
            runs = list(
                session.scalars(
                    select(Run).where(
                        Run.play == play,
                        Run.status.in_(("running", "planning")),
                        Run.dry_run.is_(False),
                    )
                )
            )
            for run in runs:
                if run.status == "planning":
                    mark_unplanned(session, run.id)
                run.status = "interrupted"
                run.error = "the run stopped before it finished; a later run converged"
            return runs
