"""The alert outbox, fired stages and the delivery ledger: what alerts are owed, sent,
held back, and which stages they fire. Apart from runs.py: delivery reads and settles
these rows after (and across) the runs that planned them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from revsched.state.database import (
    Database,
    chunks,
    now,
)
from revsched.state.models import (
    AlertRow,
    ChangeRow,
    ConversionRow,
    CreateRow,
    DeliveryRow,
    EnrollmentRow,
    FiringRow,
    MergeRow,
    Run,
    SlackUserRow,
)


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
    # JSON of a digest's Alert, to tell it as its run's writes came out (None: no digest).
    source: str | None = None


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


def readdress_digests(session: Session, run_id: int, contacts: Mapping[str, str]) -> None:
    """The run's digests listing converted leads (lead Id -> contact Id) list their
    contacts instead, as Plan.redirected has it: delivering one fires the contact's stage,
    which the next run reads and checks."""
    digests = session.scalars(
        select(AlertRow).where(AlertRow.run_id == run_id, AlertRow.covers.is_not(None))
    )
    for digest in digests:
        listed = json.loads(digest.covers or "[]")
        readdressed = [[contacts.get(record, record), stage] for record, stage in listed]
        if readdressed != listed:
            digest.covers = json.dumps(readdressed)


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


class Outbox(Database):
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
                if alert.source is not None:
                    continue  # a digest waits until it is told (written_digests)
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

    def untold_digests(self, play: str, run_id: int | None = None) -> list[AlertRow]:
        """The play's digests not yet told as their run's writes came out: run `run_id`'s,
        or (None) those of its runs that ended (a run killed before telling them)."""
        query = select(AlertRow).join(Run).where(Run.play == play, AlertRow.source.is_not(None))
        if run_id is None:
            query = query.where(Run.dry_run.is_(False), Run.status != "running")
        else:
            query = query.where(AlertRow.run_id == run_id)
        with self.session() as session:
            return list(session.scalars(query.order_by(AlertRow.id)))

    def tell(self, texts: Mapping[int, str | None]) -> None:
        """Each digest (outbox row Id) told: its text as it is to be sent (None: as it was
        rendered); owed from now on."""
        with self.session() as session:
            for alert_id, text in texts.items():
                values = {"source": None} if text is None else {"source": None, "text": text}
                session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(values))

    def written(self, run_id: int) -> set[str]:
        """The records every write of the run succeeded for (of those it writes)."""
        with self.session() as session:
            outcomes = self._write_outcomes(session, {run_id})
        return {record for (_, record), (status, _) in outcomes.items() if status in _WRITTEN}

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

    def fire(
        self, run_id: int, play: str, stages: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """Mark each (record, stage) of the play fired by the run unless it already is;
        returns those newly fired."""
        with self.session() as session:
            return self._fire(session, run_id, play, stages)

    def _fire(
        self, session: Session, run_id: int, play: str, stages: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """Mark each (record, stage) of the play fired unless it already is; returns those
        newly fired."""
        todo = set(stages)
        for chunk in chunks(sorted(todo)):
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
        return sorted(todo)

    def record_firing(self, run_id: int, play: str, record_id: str, stage: str) -> None:
        with self.session() as session:
            session.add(
                FiringRow(
                    play=play, record_id=record_id, stage=stage, run_id=run_id, fired_at=now()
                )
            )
