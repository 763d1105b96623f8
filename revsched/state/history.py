"""Past runs read back: the run list, one run with its audit, decisions and reported
tables, and what reverted it.

Apart from runs.py, which writes a run's audit: `show`, `replay` and the dashboard
only read it, after the run.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from revsched.plan import Decision
from revsched.state.database import Database
from revsched.state.models import DecisionRow, ReportRow, Run
from revsched.state.runs import DECISION_COLUMNS


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

    def decisions(
        self, run_id: int, outcome: str | None = None, limit: int | None = None
    ) -> list[Decision]:
        """Why the run selected and skipped each record, in the order it decided (only the
        first `limit` with this `outcome`, if given)."""
        columns = [getattr(DecisionRow, name) for name in DECISION_COLUMNS[1:]]
        query = select(*columns).where(DecisionRow.run_id == run_id)
        if outcome is not None:
            query = query.where(DecisionRow.outcome == outcome)
        with self.session() as session:
            rows = session.execute(query.order_by(DecisionRow.id).limit(limit))
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
