"""Apply a saved plan: write it in order (conversions, changes, creates, deletes, merges,
enrollments), then deliver the owed alerts and record the firings of what saved.

The one sequence every run, reviewed plan and revert goes through; the runner only
decides what to plan and what to hold back.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from revsched import progress
from revsched.alerts import AlertRenderer, Notifier, RenderedAlert
from revsched.audit_names import audit_names
from revsched.bulk_upload import bulk_jobs_uploaded
from revsched.enroll import EnrollmentChannel, SalesforceFieldChannel
from revsched.errors import ApiLimitError, OrgError
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.settlement import (
    Settled,
    deliver_owed,
    outbox_entries,
    remember_fired,
    silent_firings,
)
from revsched.state import EnrollmentOutcome, StateStore
from revsched.structural_writes import merged_ids, write_conversions, write_creates, write_merges
from revsched.write_waves import Payloads, write_changes, write_deletes, writes_by_object
from revsched.written_digests import tell_written

if TYPE_CHECKING:
    from revsched.streaming import StreamedPlan


@dataclass(frozen=True)
class RunResult:
    run_id: int
    plan: Plan
    alerts: tuple[RenderedAlert, ...]
    dry_run: bool
    status: str
    counts: dict[str, int]
    # Record Id -> error, for the records whose write failed.
    failures: dict[str, str]
    # Record Id -> why it was left alone (its values moved since the plan was made).
    stale: Mapping[str, str] = field(default_factory=dict)
    # What this run finished for earlier ones first.
    settled: Settled = field(default_factory=lambda: Settled())
    # (record, stage) -> why, for the run's alerts not sent because nothing they are
    # about was written (a digest whose listed writes all failed goes out with a later run).
    alerts_held: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @property
    def interrupted(self) -> tuple[int, ...]:
        """Earlier runs of the play that never finished; this run converged over them."""
        return self.settled.interrupted

    def whole(self, store: StateStore) -> RunResult:
        """This result with its plan whole, for what lists every row (JSON, plan and report
        files): a streamed plan's decisions and field changes read back from the store."""
        return replace(self, plan=whole_plan(self.plan, store))


def whole_plan(plan: Plan, store: StateStore) -> Plan:
    """The plan with every row: one holding only its first rows (a streamed plan) read
    back whole from its run in the store."""
    totals = plan.totals
    if totals is None or totals.run_id is None:
        return plan
    decisions = tuple(store.decisions(totals.run_id))
    changes = tuple(store.planned_changes(totals.run_id))
    return plan.with_totals(None, decisions=decisions, changes=changes)


def plan_counts(plan: Plan) -> dict[str, int]:
    return {
        "selected": len(plan.selected),
        "skipped": len(plan.skipped),
        "changes": len(plan.changes),
        "merges": len(plan.merges),
        "conversions": len(plan.conversions),
        "enrollments": len(plan.enrollments),
        "alerts": len(plan.alerts),
    }


def render_alerts(plan: Plan, renderer: AlertRenderer) -> tuple[RenderedAlert, ...]:
    """Render every alert before anything is written: a template error stops the run."""
    with progress.status(f"rendering {len(plan.alerts):,} alerts"):
        return tuple(renderer.render(alert) for alert in plan.alerts)


def apply_plan(
    plan: Plan,
    rendered: tuple[RenderedAlert, ...],
    store: StateStore,
    org: OrgGateway,
    notifier: Notifier,
    settled: Settled | None = None,
    held_back: Mapping[str, str] | None = None,
    reverts: int | None = None,
    renderer: AlertRenderer | None = None,
    enroller: EnrollmentChannel | None = None,
    saved: StreamedPlan | None = None,
) -> RunResult:
    """Save the plan and its outbox, write it, then alert and mark fired only the records
    that saved. A streamed plan (`saved`, whose `plan` it is) is in the store already but
    for what its pages planned besides decisions and field changes, saved here with the
    outbox.

    `held_back` maps records not to touch (their values moved since the plan was
    made) to why; they are audited as stale, neither written nor alerted. Leads are
    converted first; what the plan holds for each then goes to its contact, and its
    alerts are rendered again (with `renderer`) to name the contact. People are enrolled
    (through `enroller`, default the salesforce-field channel) once their records are
    written; the channel is prepared first, so a refused token stops the run before any
    write.
    """
    held_back = dict(held_back or {})
    settled = settled or Settled()
    enroller = enroller or SalesforceFieldChannel(org)
    if plan.enrollments:
        enroller.prepare(plan.enrollments)
    planned = saved.counts() if saved else plan_counts(plan)

    def payloads(skip: Mapping[str, str]) -> Payloads:
        # Read when sent: `plan` is the one redirected to contacts, if leads were converted.
        return saved.writes(store) if saved else writes_by_object(plan, skip)

    # Not uploaded beforehand when leads are converted first: their changes go to contacts.
    upload = 0 if plan.conversions else planned["changes"]
    with bulk_jobs_uploaded(lambda: payloads(held_back), upload, org) as uploaded:
        run_id = _saved_run(plan, rendered, store, org, held_back, reverts, saved)
        store.record_retried_enrollments(run_id, settled.retried)
        store.plan_firings(run_id, silent_firings(plan, rendered))
        # Saved first: a run killed mid-write still moves the rotation on.
        store.save_cursors(plan.cursors)
        store.add_assignments(plan.as_of, plan.assignments)
        try:
            contacts, failures = write_conversions(plan, run_id, store, org, held_back, renderer)
            if contacts:
                plan = plan.redirected(contacts)
                if renderer is not None:
                    rendered = render_alerts(plan, renderer)
            if uploaded:
                writes, jobs = uploaded.result().payloads, uploaded.result().jobs
            else:
                writes, jobs = payloads(held_back | failures), {}
            failures |= write_changes(writes, run_id, store, org, jobs)
            # A record created for a parent whose own write failed waits with it for the next run.
            failures |= write_creates(plan, run_id, store, org, skip=held_back | failures)
            failures |= write_deletes(plan, run_id, store, org)
            failures |= write_merges(plan, run_id, store, org, held_back, failures)
            enrolled = _write_enrollments(plan, run_id, store, enroller, held_back | failures)
            if renderer is not None:
                rendered = _told_enrollments(plan, run_id, store, rendered, enrolled, renderer)
                told = tell_written(plan.play, store, renderer, run_id)
                rendered = tuple(RenderedAlert(r.alert, told.get(r.key, r.text)) for r in rendered)
        except (ApiLimitError, OrgError) as error:
            status = "stopped" if isinstance(error, ApiLimitError) else "failed"
            store.finish_run(run_id, status, planned, str(error))
            raise type(error)(
                f"{error} (run {run_id} {status}; `revsched show {run_id}` lists what was "
                "written; a rerun finishes the rest)"
            ) from None
    delivered = deliver_owed(plan.play, store, notifier)
    mine = [(row, error) for row, error in delivered if row.run_id == run_id]
    sent = {(row.record_id, row.stage) for row, error in mine if error is None}
    alerted = {alert.key for alert in rendered}
    not_written = failures | held_back
    fired: list[tuple[str, str]] = []
    for firing in plan.firings:
        # An alerted stage fires when its alert is delivered.
        if firing.record_id not in not_written and (firing.record_id, firing.stage) not in alerted:
            store.record_firing(run_id, plan.play, firing.record_id, firing.stage)
            fired.append((firing.record_id, firing.stage))
    unrecorded = remember_fired(
        org, store, plan.play, fired, delivered, plan.as_of, f"{socket.gethostname()}:{run_id}"
    )
    applied = (
        store.count_changes(run_id, "applied")
        if saved
        else sum(1 for c in plan.changes if c.record_id not in not_written)
    )
    counts = planned | {
        "failed_records": len(failures),
        "stale_records": len(held_back),
        "alerts_sent": len(sent),
        "earlier_alerts_sent": settled.alerts_sent
        + sum(1 for row, error in delivered if row.run_id != run_id and error is None),
        "reconciled": settled.reconciled,
        "applied": applied,
        "created": sum(1 for c in plan.creates if (c.parent_id or c.key) not in not_written),
        "merged": sum(1 for m in plan.merges for i in merged_ids(m) if i not in not_written),
        "converted": sum(1 for c in plan.conversions if c.lead_id not in not_written),
        "firings_not_in_org": unrecorded,
        "enrolled": _count(enrolled, "enrolled"),
        "already_enrolled": _count(enrolled, "already"),
        "enrollments_skipped": _count(enrolled, "skipped"),
        "enrollments_failed": _count(enrolled, "failed"),
        "earlier_enrollments": settled.enrollments,
        "earlier_enrollments_failed": settled.enrollments_failed,
    }
    alerts_held = store.skipped_alerts(run_id)
    counts["alerts_held_back"] = len(alerts_held)
    alerts_failed = any(error is not None for _, error in mine)
    enrollments_failed = _count(enrolled, "failed")
    clean = not failures and not alerts_failed and not unrecorded and not enrollments_failed
    status = "succeeded" if clean else "partial"
    if plan.watermark is not None and not unrecorded:
        # Never ahead of the clock: an --as-of run in the future must not skip changes.
        # Past the records whose writes failed too: the play reads those again by Id.
        store.save_watermark(plan.play, min(plan.watermark, datetime.now(UTC)))
        store.replace_retries(plan.play, not_written)
    store.finish_run(run_id, status, counts)
    return RunResult(
        run_id,
        plan,
        rendered,
        False,
        status,
        counts,
        failures,
        held_back,
        settled,
        alerts_held,
    )


def _saved_run(
    plan: Plan,
    rendered: tuple[RenderedAlert, ...],
    store: StateStore,
    org: OrgGateway,
    held_back: Mapping[str, str],
    reverts: int | None,
    saved: StreamedPlan | None,
) -> int:
    """The run, with its whole plan and outbox saved before anything is written."""
    alerts = outbox_entries(plan, rendered)
    if saved is None:
        names = audit_names(plan, org)
        return store.start_run(plan, False, reverts, alerts, held_back, names)
    store.save_plan(saved.run_id, saved.rest, alerts, saved.alert_names)
    store.start_writing(saved.run_id)
    return saved.run_id


def _write_enrollments(
    plan: Plan,
    run_id: int,
    store: StateStore,
    enroller: EnrollmentChannel,
    not_written: Mapping[str, str],
) -> dict[str, EnrollmentOutcome]:
    """Enroll the planned people whose records were written, one at a time, each answer
    saved before the next call: a crash leaves at most one unanswered, asked again by the
    play's next run. Returns each person's answer, by record Id."""
    outcomes: dict[str, EnrollmentOutcome] = {}
    if not plan.enrollments:
        return outcomes
    rows = store.planned_enrollments(run_id)
    with progress.task("enrolling", len(rows)) as advance:
        for enrollment, row in zip(plan.enrollments, rows, strict=True):
            blocker = not_written.get(enrollment.person.record_id)
            if blocker is None:
                outcome = enroller.enroll(enrollment)
            else:
                why = f"not enrolled: the record was not written ({blocker})"
                outcome = EnrollmentOutcome("skipped", enroller.name, why)
            store.record_enrollment(row.id, outcome, enroller.tries)
            outcomes[enrollment.person.record_id] = outcome
            advance(1)
    return outcomes


def _count(outcomes: Mapping[str, EnrollmentOutcome], status: str) -> int:
    return sum(1 for outcome in outcomes.values() if outcome.status == status)


def _told_enrollments(
    plan: Plan,
    run_id: int,
    store: StateStore,
    rendered: tuple[RenderedAlert, ...],
    outcomes: Mapping[str, EnrollmentOutcome],
    renderer: AlertRenderer,
) -> tuple[RenderedAlert, ...]:
    """The alerts about people the channel did not enroll (skipped, failed), rendered again
    with its answer in their context (`enrollment`): nobody is told a person was added to
    a sequence they were not. The outbox owes the new texts."""
    texts = {}
    for alert in plan.alerts:
        outcome = outcomes.get(alert.record_id)
        if outcome is not None and outcome.status not in ("enrolled", "already"):
            told = alert.model_copy(
                update={"context": {**alert.context, "enrollment": outcome._asdict()}}
            )
            texts[(alert.record_id, alert.stage)] = renderer.render(told).text
    if not texts:
        return rendered
    store.rewrite_alerts(run_id, texts)
    return tuple(RenderedAlert(r.alert, texts.get(r.key, r.text)) for r in rendered)
