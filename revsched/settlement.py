"""Settling earlier runs: their unrecorded writes, unanswered enrollments and the
alerts their outbox still owes, and the firings recorded in the org.

Apart from the apply path because every run settles before it plans, and a run of
one play settles the interrupted runs of the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from revsched import org_memory
from revsched.alerts import AlertRenderer, Notifier, RenderedAlert
from revsched.enroll import EnrollmentChannel, planned_enrollment
from revsched.errors import LockedError, RevschedError
from revsched.lease import play_lease
from revsched.logs import logger
from revsched.org import OrgGateway
from revsched.plan import Alert, Plan, Recipient
from revsched.reconcile import reconcile_writes
from revsched.state import AlertRow, EnrollmentOutcome, OutboxEntry, StateStore, fired_by
from revsched.written_digests import tell_written

if TYPE_CHECKING:
    from revsched.notify import AlertDelivery


@dataclass(frozen=True)
class Settled:
    """What a run finished for the earlier runs of its play before planning its own."""

    # Runs that never finished (killed, crashed), now marked interrupted.
    interrupted: tuple[int, ...] = ()
    # Their writes found in the org that the audit had not recorded.
    reconciled: int = 0
    # Alerts they owed, delivered now.
    alerts_sent: int = 0
    # Enrollments they asked for and never heard back on, asked again.
    enrollments: int = 0
    # Their audit rows, as answered now: the run that asked again audits them too.
    retried: tuple[int, ...] = ()
    # Of those, how many failed again.
    enrollments_failed: int = 0


def outbox_entries(plan: Plan, rendered: tuple[RenderedAlert, ...]) -> list[OutboxEntry]:
    firings = {(f.record_id, f.stage) for f in plan.firings}
    return [
        OutboxEntry(
            *alert.key,
            json.dumps([r.model_dump() for r in alert.recipients]),
            alert.text,
            alert.key in firings,
            json.dumps([[f.record_id, f.stage] for f in alert.alert.covers])
            if alert.alert.covers
            else None,
            alert.alert.model_dump_json() if alert.alert.covers else None,
        )
        for alert in rendered
    ]


def silent_firings(plan: Plan, rendered: tuple[RenderedAlert, ...]) -> list[tuple[str, str]]:
    """The plan's stages that fire without an alert (an alerted one fires with its delivery):
    saved before the first write, so `fire_landed` fires them after a kill."""
    alerted = {alert.key for alert in rendered}
    return [(f.record_id, f.stage) for f in plan.firings if (f.record_id, f.stage) not in alerted]


def _from_outbox(row: AlertRow) -> RenderedAlert:
    """An owed alert as the notifier takes it: its recipients and its rendered text."""
    alert = Alert(
        template="",
        record_id=row.record_id,
        stage=row.stage,
        recipients=tuple(Recipient.model_validate(r) for r in json.loads(row.recipients)),
        context={},
        reason=f"owed by run {row.run_id}",
    )
    return RenderedAlert(alert, row.text)


def deliver_owed(
    play: str, store: StateStore, notifier: Notifier
) -> list[tuple[AlertRow, str | None]]:
    """Drain the play's outbox: every alert owed (its record written), once per key.

    Returns each outbox row delivered and its error (None when sent).
    """
    owed = store.owed_alerts(play)
    first: dict[tuple[str, str], RenderedAlert] = {}
    for row in owed:
        first.setdefault((row.record_id, row.stage), _from_outbox(row))
    outcomes = notifier.deliver(list(first.values())) if first else {}
    results = [(row, outcomes[(row.record_id, row.stage)]) for row in owed]
    store.settle_alerts(play, {row.id: error for row, error in results})
    return results


def settle(
    play: str,
    store: StateStore,
    org: OrgGateway,
    notifier: Notifier,
    enroller: EnrollmentChannel | None = None,
    renderer: AlertRenderer | None = None,
) -> Settled:
    """Finish what earlier runs of the play left (call it holding the play's lease): mark
    the unfinished ones interrupted, read their unrecorded writes back from the org, fire
    the stages they planned for the records written (state store and org), ask
    `enroller` again about their unanswered enrollments, tell their digests as their
    writes came out (with `renderer`), and deliver the alerts they still owe. Without an
    enroller or a renderer, what needs it waits for the play's own run."""
    interrupted = tuple(run.id for run in store.interrupt_unfinished(play))
    reconciled = reconcile_writes(play, store, org)
    fired = fire_landed(play, store)
    retried = settle_enrollments(play, store, enroller) if enroller else {}
    if renderer is not None:
        tell_written(play, store, renderer)
    delivered = deliver_owed(play, store, notifier)
    remember_fired(org, store, play, fired, delivered, date.today(), "settled")
    sent = sum(1 for _, error in delivered if error is None)
    failed = sum(1 for outcome in retried.values() if outcome.status == "failed")
    return Settled(interrupted, reconciled, sent, len(retried), tuple(retried), failed)


def fire_landed(play: str, store: StateStore) -> list[tuple[str, str]]:
    """Fire the stages (no alert) the play's stopped runs planned for records whose writes
    landed (the audit, reconciled, says which), as the run would have had it finished;
    returns those newly fired. The rest wait for the play's next run to decide again."""
    planned = store.planned_firings(play)
    unwritten = store.unwritten(planned) if planned else set()
    fired = [
        pair
        for run_id, stages in planned.items()
        for pair in store.fire(
            run_id, play, [(r, s) for r, s in stages if (run_id, r) not in unwritten]
        )
    ]
    store.drop_planned_firings(play)
    return fired


def settle_enrollments(
    play: str, store: StateStore, enroller: EnrollmentChannel
) -> dict[int, EnrollmentOutcome]:
    """Ask the channel again about the enrollments a stopped run never saved an answer for,
    and those that failed for a reason that may pass; returns the answers by audit row. The
    channel looks before it enrolls: someone it did enroll is `already`, never twice."""
    rows = store.owed_enrollments(play)
    enrollments = [planned_enrollment(row) for row in rows]
    if enrollments:
        enroller.prepare(enrollments)
    answers: dict[int, EnrollmentOutcome] = {}
    for row, enrollment in zip(rows, enrollments, strict=True):
        answers[row.id] = enroller.enroll(enrollment)
        store.record_enrollment(row.id, answers[row.id], enroller.tries)
    return answers


def remember_fired(
    org: OrgGateway,
    store: StateStore,
    play: str,
    fired: list[tuple[str, str]],
    delivered: list[tuple[AlertRow, str | None]],
    as_of: date,
    run: str,
) -> int:
    """Record in the org the stages that fired: `fired` (no alert), those whose alert was
    just delivered and what those alerts list; returns how many could not be recorded
    (logged, the run is partial)."""
    sent = [row for row, error in delivered if error is None]
    unwritten = store.unwritten({row.run_id for row in sent}) if sent else set()
    fired = fired + [pair for row in sent for pair in fired_by(row, unwritten)]
    errors = org_memory.remember(org, play, fired, as_of, run)
    for key, error in errors.items():
        logger.warning("firing %s not recorded in the org: %s", key, error)
    return len(errors)


def settle_other_plays(
    play: str, store: StateStore, org: OrgGateway, delivery_of: Callable[[str], AlertDelivery]
) -> dict[str, Settled]:
    """Before a run of `play`: finish what interrupted runs of the other plays left (their
    unrecorded writes, the alerts they owe, told and sent through each play's
    `delivery_of`), so a play that is never run again still delivers. A play whose lease
    is held is left to the run holding it."""
    settled: dict[str, Settled] = {}
    for other in sorted(store.plays_owing() - {play}):
        try:
            with play_lease(store, other):
                delivery = delivery_of(other)
                settled[other] = settle(
                    other, store, org, delivery.notifier, renderer=delivery.renderer
                )
        except LockedError:
            continue
        except RevschedError as error:
            # Its own next run settles it; this play's run goes ahead.
            logger.warning("%s: its interrupted runs wait for its next run: %s", other, error)
    return settled
