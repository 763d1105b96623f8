"""Past runs read back: the run list, one run with its audit, and what reverted it.

Apart from runs.py, which writes a run's audit: `show`, `replay` and the dashboard
only read it, after the run.
"""

from __future__ import annotations

from sqlalchemy import select

from revsched.state.database import Database
from revsched.state.models import Run


class RunHistory(Database):
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

    def run(self, run_id: int) -> Run | None:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is not None:
                # Loaded now, for reading once the session is closed.
                _ = run.changes, run.alerts, run.creates, run.deletes, run.merges
                _ = run.conversions, run.enrollments
            return run
