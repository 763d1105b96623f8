"""Writes an interrupted run planned and never recorded, read back and settled.

Apart from runs.py: only a run that stopped early needs this, and the reconcile
step (reconcile.py) is its one caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update

from revsched.state.database import (
    Database,
)
from revsched.state.models import (
    ChangeRow,
    ConversionRow,
    CreateRow,
    MergeRow,
    PlannedFiringRow,
    Run,
)

# Runs that ended before recording their fired stages; a finished run recorded its own.
_STOPPED = ("interrupted", "stopped", "failed")


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


class Recovery(Database):
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

    # Stages fired without an alert, saved before the writes they wait on

    def plan_firings(self, run_id: int, stages: Iterable[tuple[str, str]]) -> None:
        """The (record, stage) pairs the run fires without an alert once its record's
        writes land, saved before the first write so a kill does not lose them."""
        with self.session() as session:
            session.add_all(
                PlannedFiringRow(run_id=run_id, record_id=record_id, stage=stage)
                for record_id, stage in dict.fromkeys(stages)
            )

    def planned_firings(self, play: str) -> dict[int, list[tuple[str, str]]]:
        """The stages the play's runs that stopped early planned and never recorded, by run."""
        with self.session() as session:
            rows = session.execute(
                select(PlannedFiringRow.run_id, PlannedFiringRow.record_id, PlannedFiringRow.stage)
                .join(Run)
                .where(Run.play == play, Run.dry_run.is_(False), Run.status.in_(_STOPPED))
                .order_by(PlannedFiringRow.id)
            )
            planned: dict[int, list[tuple[str, str]]] = {}
            for run_id, record_id, stage in rows:
                planned.setdefault(run_id, []).append((record_id, stage))
            return planned

    def drop_planned_firings(self, play: str) -> None:
        """Forget the saved stages of the play's ended runs: settled, or recorded by the run
        itself when it finished."""
        with self.session() as session:
            ended = select(Run.id).where(Run.play == play, Run.status != "running")
            session.execute(delete(PlannedFiringRow).where(PlannedFiringRow.run_id.in_(ended)))
