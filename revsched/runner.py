"""Query -> decide -> plan -> apply: the one place that does a play's I/O.

The runner reads what the play declares, hands the records to its pure decide
function, saves the plan with the alerts it will owe (the outbox), and (unless
it is a dry run) writes the changes, records each record's outcome, and only
then delivers the owed alerts and marks the stages fired, so a failed write
never leaves an alert or a stage behind it. A run killed on the way leaves its
outbox: the next run of the play reads its unrecorded writes back from the org
and delivers what it still owes before planning anything.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from revsched import org_memory, progress, record_index
from revsched.alerts import AlertRenderer, Notifier, RenderedAlert
from revsched.audit_names import audit_names
from revsched.collector import fewer_collections
from revsched.config import Settings
from revsched.config_fields import ConfigNaming, Describes, unknown_field
from revsched.enroll import EnrollmentChannel, SalesforceFieldChannel, planned_enrollment
from revsched.errors import (
    ApiLimitError,
    ConfigError,
    ConfirmationError,
    LockedError,
    OrgError,
    RevschedError,
)
from revsched.logs import logger
from revsched.org import COLLECTION_LIMIT, OrgGateway
from revsched.plan import Alert, Merge, Plan, Recipient, RecordCreate
from revsched.play import DecideContext, Play
from revsched.reconcile import reconcile_writes
from revsched.replay import moved_records, revert_plan, stale_records
from revsched.salesforce_soap import LeadConvert, MergeRequest, MergeResult
from revsched.state import AlertRow, EnrollmentOutcome, OutboxEntry, StateStore, fired_by
from revsched.writes import RecordChanges, RecordWrites

T = TypeVar("T")

# Renewed every third of this while a run holds it; a killed run's lease lapses after it.
LEASE_TTL = timedelta(minutes=5)

# Called with the plan before anything is written.
PlanHook = Callable[[Plan], None]


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


def plan_play(
    play: Play[Any], settings: Settings, as_of: date, store: StateStore, org: OrgGateway
) -> Plan:
    """Read what the play declares and let it decide; nothing is written."""
    now = datetime.now(settings.zone)
    ctx = DecideContext(
        as_of=as_of,
        config=play.configure(settings),
        play=play.name,
        pools=settings.pools,
        fired=store.fired(play.name),
        cursors=store.cursors(),
        assigned_today=store.assigned_on(as_of),
        # An --as-of run happens at this time of day on that date.
        now=datetime.combine(as_of, now.time(), tzinfo=settings.zone),
        watermark=store.watermark(play.name),
        retries=store.retries(play.name),
    )
    hint = f"check the field names and values in [plays.{play.name}]"
    records = {}
    for name, soql in play.queries(ctx).items():
        try:
            records[name] = org.query(soql, hint)
        except (ConfigError, OrgError) as error:
            raise _explained(error, soql, play.name, ctx.config, org) from None
    if play.index is not None:
        index = play.index(ctx.config)
        # Dry runs refresh it too: one process at a time (a second waits for the next cycle).
        with play_lease(store, index.name):
            record_index.refresh(index, store, org, ctx.moment)
        ctx = replace(ctx, lookup=record_index.lookup(index, store))
    if play.follow_ups is not None:
        more = play.follow_ups(records, ctx).items()
        records |= {name: org.query(soql, hint) for name, soql in more}
    # What fired on another machine (or before the state store was lost) counts too.
    remembered = org_memory.recall(org, play.name, org_memory.records_in_scope(records))
    ctx = replace(ctx, fired=ctx.fired | remembered)
    with progress.status(f"deciding {play.name}"):
        return play.decide(records, ctx)


def _explained(
    error: RevschedError, soql: str, play: str, config: Any, org: OrgGateway
) -> RevschedError:
    """A query refused for a field the org does not know, as the config key to fix and the
    nearest field (one line, a config error); any other refusal as it was."""
    explained = unknown_field(str(error), ConfigNaming.of(play, config), Describes(org), soql)
    return error if explained is None else ConfigError(explained)


def _outbox(plan: Plan, rendered: tuple[RenderedAlert, ...]) -> list[OutboxEntry]:
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
        )
        for alert in rendered
    ]


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
) -> Settled:
    """Finish what earlier runs of the play left (call it holding the play's lease): mark
    the unfinished ones interrupted, read their unrecorded writes back from the org, ask
    `enroller` again about their unanswered enrollments (without one, they wait for the
    play's own run), and deliver the alerts they still owe."""
    interrupted = tuple(run.id for run in store.interrupt_unfinished(play))
    reconciled = reconcile_writes(play, store, org)
    enrollments = settle_enrollments(play, store, enroller) if enroller else 0
    delivered = deliver_owed(play, store, notifier)
    _remember(org, store, play, [], delivered, date.today(), "settled")
    sent = sum(1 for _, error in delivered if error is None)
    return Settled(interrupted, reconciled, sent, enrollments)


def settle_enrollments(play: str, store: StateStore, enroller: EnrollmentChannel) -> int:
    """Ask the channel again about the enrollments a stopped run never saved an answer for,
    and those that failed for a reason that may pass. The channel looks before it enrolls:
    someone it did enroll is `already`, never twice."""
    rows = store.owed_enrollments(play)
    enrollments = [planned_enrollment(row) for row in rows]
    if enrollments:
        enroller.prepare(enrollments)
    for row, enrollment in zip(rows, enrollments, strict=True):
        store.record_enrollment(row.id, enroller.enroll(enrollment), enroller.tries)
    return len(rows)


def _remember(
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
    play: str, store: StateStore, org: OrgGateway, notifier_of: Callable[[str], Notifier]
) -> dict[str, Settled]:
    """Before a run of `play`: finish what interrupted runs of the other plays left (their
    unrecorded writes, the alerts they owe), so a play that is never run again still
    delivers. A play whose lease is held is left to the run holding it."""
    settled: dict[str, Settled] = {}
    for other in sorted(store.plays_owing() - {play}):
        try:
            with play_lease(store, other):
                settled[other] = settle(other, store, org, notifier_of(other))
        except LockedError:
            continue
        except RevschedError as error:
            # Its own next run settles it; this play's run goes ahead.
            logger.warning("%s: its interrupted runs wait for its next run: %s", other, error)
    return settled


@fewer_collections()
def run_play(
    play: Play[Any],
    settings: Settings,
    *,
    as_of: date,
    dry_run: bool,
    store: StateStore,
    org: OrgGateway,
    renderer: AlertRenderer,
    notifier: Notifier,
    on_plan: PlanHook | None = None,
    confirmed: bool = False,
    enroller: EnrollmentChannel | None = None,
) -> RunResult:
    """Plan the play and, unless a dry run, apply it; `on_plan` sees the plan before any write
    (to show it, or to ask for confirmation by raising). People are enrolled through
    `enroller` (default: the salesforce-field channel); a dry run enrolls nobody."""
    if dry_run:
        plan = plan_play(play, settings, as_of, store, org)
        rendered = _render(plan, renderer)
        if on_plan is not None:
            on_plan(plan)
        return _record_dry_run(plan, rendered, store, org)
    enroller = enroller or SalesforceFieldChannel(org)
    with play_lease(store, play.name):
        settled = settle(play.name, store, org, notifier, enroller)
        plan = plan_play(play, settings, as_of, store, org)
        rendered = _render(plan, renderer)
        if on_plan is not None:
            on_plan(plan)
        check_confirmed(plan, confirmed)
        return apply_plan(
            plan, rendered, store, org, notifier, settled, renderer=renderer, enroller=enroller
        )


def check_confirmed(plan: Plan, confirmed: bool) -> None:
    """Stop, before anything is written, a plan the play wants confirmed and nobody did."""
    if plan.confirmation and not confirmed:
        raise ConfirmationError(plan.play, plan.confirmation)


def _render(plan: Plan, renderer: AlertRenderer) -> tuple[RenderedAlert, ...]:
    """Render every alert before anything is written: a template error stops the run."""
    with progress.status(f"rendering {len(plan.alerts):,} alerts"):
        return tuple(renderer.render(alert) for alert in plan.alerts)


@contextmanager
def play_lease(store: StateStore, play: str) -> Iterator[None]:
    """Hold the play's lease for the run, so no other process or server runs it meanwhile.

    The lease is short and renewed in the background: a killed run's lease lapses
    within LEASE_TTL instead of blocking the next scheduled run for hours.
    """
    name = f"play:{play}"
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    current = store.acquire_lease(name, holder, LEASE_TTL)
    if current is not None:
        raise LockedError(
            f"another run of {play} holds the lock ({current.holder}, until "
            f"{current.expires_at:%Y-%m-%d %H:%M:%S} UTC); try again when it has finished"
        )
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE_TTL.total_seconds() / 3):
            store.acquire_lease(name, holder, LEASE_TTL)

    renewer = threading.Thread(target=renew, name=f"lease {name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        store.release_lease(name, holder)


def _counts(plan: Plan) -> dict[str, int]:
    return {
        "selected": len(plan.selected),
        "skipped": len(plan.skipped),
        "changes": len(plan.changes),
        "merges": len(plan.merges),
        "conversions": len(plan.conversions),
        "enrollments": len(plan.enrollments),
        "alerts": len(plan.alerts),
    }


def _record_dry_run(
    plan: Plan, rendered: tuple[RenderedAlert, ...], store: StateStore, org: OrgGateway
) -> RunResult:
    run_id = store.start_run(
        plan, dry_run=True, alerts=_outbox(plan, rendered), names=audit_names(plan, org)
    )
    counts = _counts(plan)
    store.finish_run(run_id, "dry-run", counts)
    return RunResult(run_id, plan, rendered, True, "dry-run", counts, {})


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
) -> RunResult:
    """Save the plan and its outbox, write it, then alert and mark fired only the records
    that saved.

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
    with _bulk_jobs_uploaded(plan, org, held_back) as uploaded:
        run_id = store.start_run(
            plan,
            dry_run=False,
            reverts=reverts,
            alerts=_outbox(plan, rendered),
            stale=held_back,
            names=audit_names(plan, org),
        )
        # Saved first: a run killed mid-write still moves the rotation on.
        store.save_cursors(plan.cursors)
        store.add_assignments(plan.as_of, plan.assignments)
        try:
            contacts, failures = _write_conversions(plan, run_id, store, org, held_back, renderer)
            if contacts:
                plan = plan.redirected(contacts)
                if renderer is not None:
                    rendered = _render(plan, renderer)
            writes = uploaded.result() if uploaded else None
            failures |= _write_changes(plan, run_id, store, org, held_back | failures, writes)
            # A record created for a parent whose own write failed waits with it for the next run.
            failures |= _write_creates(plan, run_id, store, org, skip=held_back | failures)
            failures |= _write_deletes(plan, run_id, store, org)
            failures |= _write_merges(plan, run_id, store, org, held_back, failures)
            enrolled = _write_enrollments(plan, run_id, store, enroller, held_back | failures)
            if renderer is not None:
                rendered = _told_enrollments(plan, run_id, store, rendered, enrolled, renderer)
        except (ApiLimitError, OrgError) as error:
            status = "stopped" if isinstance(error, ApiLimitError) else "failed"
            store.finish_run(run_id, status, _counts(plan), str(error))
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
    unrecorded = _remember(
        org, store, plan.play, fired, delivered, plan.as_of, f"{socket.gethostname()}:{run_id}"
    )
    counts = _counts(plan) | {
        "failed_records": len(failures),
        "stale_records": len(held_back),
        "alerts_sent": len(sent),
        "earlier_alerts_sent": settled.alerts_sent
        + sum(1 for row, error in delivered if row.run_id != run_id and error is None),
        "reconciled": settled.reconciled,
        "applied": sum(1 for c in plan.changes if c.record_id not in not_written),
        "created": sum(1 for c in plan.creates if (c.parent_id or c.key) not in not_written),
        "merged": sum(1 for m in plan.merges for i in _merged_ids(m) if i not in not_written),
        "converted": sum(1 for c in plan.conversions if c.lead_id not in not_written),
        "firings_not_in_org": unrecorded,
        "enrolled": _count(enrolled, "enrolled"),
        "already_enrolled": _count(enrolled, "already"),
        "enrollments_skipped": _count(enrolled, "skipped"),
        "enrollments_failed": _count(enrolled, "failed"),
        "earlier_enrollments": settled.enrollments,
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


def _write_conversions(
    plan: Plan,
    run_id: int,
    store: StateStore,
    org: OrgGateway,
    skip: Mapping[str, str],
    renderer: AlertRenderer | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Convert the planned leads; returns (lead Id -> contact Id, lead Id -> error).

    The outbox then owes each converted lead's alerts for its contact, rendered with
    `renderer` to name the contact (without one, as they were planned)."""
    todo = [c for c in plan.conversions if c.lead_id not in skip]
    contacts: dict[str, str] = {}
    failures: dict[str, str] = {}
    for wave in _chunks(todo):
        requests = [
            LeadConvert(c.lead_id, c.converted_status, account_id=c.account_id, owner_id=c.owner_id)
            for c in wave
        ]
        outcomes: dict[str, tuple[str | None, str | None]] = {}
        converted: dict[str, str] = {}
        for conversion, result in zip(wave, org.convert_leads(requests), strict=True):
            if result.success and result.contact_id:
                converted[conversion.lead_id] = result.contact_id
                outcomes[conversion.lead_id] = (result.contact_id, None)
            else:
                errors = "; ".join(f"{e.status_code}: {e.message}" for e in result.errors)
                failures[conversion.lead_id] = errors or "convertLead failed without an error"
                outcomes[conversion.lead_id] = (None, failures[conversion.lead_id])
        texts = {}
        if renderer is not None and converted:
            readdressed = plan.redirected(converted).alerts
            for before, after in zip(plan.alerts, readdressed, strict=True):
                if before.record_id in converted:
                    texts[(after.record_id, after.stage)] = renderer.render(after).text
        store.record_conversions(run_id, outcomes, texts)
        contacts |= converted
    return contacts, failures


@dataclass(frozen=True)
class _Uploaded:
    """The records each object's changes write, and the objects' Bulk update jobs already
    holding theirs (created and uploaded, not closed), by object."""

    payloads: dict[str, RecordWrites]
    jobs: dict[str, str]


@contextmanager
def _bulk_jobs_uploaded(
    plan: Plan, org: OrgGateway, skip: Mapping[str, str]
) -> Iterator[Future[_Uploaded] | None]:
    """While the plan is saved, create the update job of each object written by Bulk and
    upload its records, in the background. A job is closed, and so runs, only by
    `_write_changes`, once the plan is saved; one still open when the run stops is aborted.
    Not when leads are converted first: what they planned then goes to their contacts."""
    if plan.conversions or len(plan.changes) <= org.api.bulk_write_threshold:
        yield None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revsched-upload") as pool:
        uploading = pool.submit(_upload, plan, org, skip)
        try:
            yield uploading
        finally:
            if uploading.exception() is None:
                _abort(org, uploading.result().jobs)


def _upload(plan: Plan, org: OrgGateway, skip: Mapping[str, str]) -> _Uploaded:
    payloads = _payloads(plan, skip)
    jobs: dict[str, str] = {}
    try:
        for sobject, records in payloads.items():
            if len(records) > org.api.bulk_write_threshold:
                jobs[sobject] = org.open_bulk_update(sobject, records)
    except BaseException:
        _abort(org, jobs)
        raise
    return _Uploaded(payloads, jobs)


def _abort(org: OrgGateway, jobs: Mapping[str, str]) -> None:
    """Drop jobs never closed; one that cannot be reached expires unprocessed."""
    for sobject, job_id in jobs.items():
        try:
            org.abort_bulk_job(sobject, job_id)
        except RevschedError as error:
            logger.warning("Bulk API 2.0 job %s left open, never run: %s", job_id, error)


def _write_changes(
    plan: Plan,
    run_id: int,
    store: StateStore,
    org: OrgGateway,
    skip: Mapping[str, str],
    uploaded: _Uploaded | None = None,
) -> dict[str, str]:
    """Write every changed record, one call per 200 or by Bulk (with the job `uploaded`
    holds for the object, if any); returns the failed records' errors."""
    failures: dict[str, str] = {}

    def save(outcomes: dict[str, str | None]) -> None:
        store.record_batch(run_id, outcomes)
        failures.update((rid, error) for rid, error in outcomes.items() if error is not None)

    payloads, jobs = (uploaded.payloads, uploaded.jobs) if uploaded else (_payloads(plan, skip), {})
    for sobject, records in payloads.items():
        with progress.task(f"writing {sobject}", len(records)) as tracker:
            # Many records: one Bulk API 2.0 job, the bar following its states and processed
            # count; otherwise collection calls, several in flight, counted as they land.
            if len(records) > org.api.bulk_write_threshold:
                job_id = jobs.pop(sobject, None)
                save(org.bulk_update(sobject, records, on_state=tracker.state, job_id=job_id))
                continue
            calls = (functools.partial(org.update, sobject, c) for c in _chunks(records))
            for batch in _pipelined(calls, org.api.max_in_flight):
                outcomes = {rid: error for call in batch for rid, error in call.items()}
                save(outcomes)
                tracker(len(outcomes))
    return failures


def _payloads(plan: Plan, skip: Mapping[str, str]) -> dict[str, RecordWrites]:
    """Per sObject, one write per record whatever its fields, in the order of the plan's
    changes: each record's changes grouped in one pass, its write built when it is sent."""
    by_object: dict[str, dict[str, RecordChanges]] = defaultdict(dict)
    for change in plan.changes:
        if change.record_id in skip:
            continue
        records = by_object[change.sobject]
        held = records.setdefault(change.record_id, change)
        if held is change:
            continue
        if isinstance(held, list):
            held.append(change)
        else:
            records[change.record_id] = [held, change]
    return {sobject: RecordWrites(list(records.values())) for sobject, records in by_object.items()}


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """One sObject Collections call's worth at a time."""
    for start in range(0, len(items), COLLECTION_LIMIT):
        yield items[start : start + COLLECTION_LIMIT]


def _pipelined(calls: Iterable[Callable[[], T]], in_flight: int) -> Iterator[list[T]]:
    """Make the calls `in_flight` at a time, continuously, and yield their results in call
    order, each time all those that have landed: the caller saves each batch of outcomes
    while the next calls are under way, and what it saved is always a prefix of the calls.

    As many calls again are queued behind those in flight, so a slow save never leaves the
    connection idle; when a call fails, or the caller stops, the queued ones are not made.
    """
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="revsched-write")
    pending: deque[Future[T]] = deque()
    try:
        for call in calls:
            pending.append(pool.submit(call))
            if len(pending) >= 2 * in_flight:
                yield _landed(pending)
        while pending:
            yield _landed(pending)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _landed(pending: deque[Future[T]]) -> list[T]:
    """The oldest call's result (waiting for it), and the results of those after it that
    have landed meanwhile, in order, up to a failed one (raised when its turn comes)."""
    results = [pending.popleft().result()]
    while pending and pending[0].done() and pending[0].exception() is None:
        results.append(pending.popleft().result())
    return results


def _write_creates(
    plan: Plan, run_id: int, store: StateStore, org: OrgGateway, skip: Mapping[str, str]
) -> dict[str, str]:
    """Upsert every planned record on its key; returns errors by the record each was for."""
    by_object: dict[str, list[RecordCreate]] = defaultdict(list)
    for create in plan.creates:
        if create.parent_id not in skip:
            by_object[create.sobject].append(create)
    failures: dict[str, str] = {}
    for sobject, creates in by_object.items():
        parents = {c.key: c.parent_id or c.key for c in creates}
        calls = (
            functools.partial(
                org.upsert,
                sobject,
                org.key_field,
                [{org.key_field: c.key, **c.fields} for c in chunk],
            )
            for chunk in _chunks(creates)
        )
        for batch in _pipelined(calls, org.api.max_in_flight):
            outcomes = {key: outcome for call in batch for key, outcome in call.items()}
            store.record_creates(run_id, outcomes)
            for key, (_, _, error) in outcomes.items():
                if error is not None:
                    failures[parents[key]] = error
    return failures


def _write_deletes(plan: Plan, run_id: int, store: StateStore, org: OrgGateway) -> dict[str, str]:
    failures: dict[str, str] = {}
    ids = [d.record_id for d in plan.deletes]
    calls = (functools.partial(org.delete, chunk) for chunk in _chunks(ids))
    for batch in _pipelined(calls, org.api.max_in_flight):
        outcomes = {rid: error for call in batch for rid, error in call.items()}
        store.record_deletes(run_id, outcomes)
        failures |= {rid: error for rid, error in outcomes.items() if error is not None}
    return failures


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


def _merged_ids(merge: Merge) -> list[str]:
    return [r.record_id for r in merge.merged]


def _merge_rounds(merges: tuple[Merge, ...]) -> list[list[Merge]]:
    """Each master's merges one after another: round n holds every master's n-th merge."""
    rounds: list[list[Merge]] = []
    seen: Counter[str] = Counter()
    for merge in merges:
        turn = seen[merge.master_id]
        seen[merge.master_id] += 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append(merge)
    return rounds


def _write_merges(
    plan: Plan,
    run_id: int,
    store: StateStore,
    org: OrgGateway,
    held_back: Mapping[str, str],
    failed: Mapping[str, str],
) -> dict[str, str]:
    """Merge after the masters' field changes are written, 200 requests a call, in rounds.

    Merges touching a record that was held back (audited as stale) or failed to write,
    and the later merges into a master whose earlier merge failed, wait for the next
    run; returns the errors by the Id of each record not merged.
    """
    failures: dict[str, str] = {}
    failed_masters: dict[str, str] = {}
    for merges in _merge_rounds(plan.merges):
        by_object: dict[str, list[Merge]] = defaultdict(list)
        outcomes: dict[str, str | None] = {}
        for merge in merges:
            ids = (merge.master_id, *_merged_ids(merge))
            if any(i in held_back for i in ids):
                continue
            blocker = next((failed[i] for i in ids if i in failed), None)
            blocker = blocker or failed_masters.get(merge.master_id)
            if blocker is not None:
                outcomes |= dict.fromkeys(_merged_ids(merge), f"not merged: {blocker}")
                continue
            by_object[merge.sobject].append(merge)
        for sobject, todo in by_object.items():
            requests = [MergeRequest(m.master_id, _merged_ids(m)) for m in todo]
            with progress.status(f"merging {len(requests):,} {sobject} requests"):
                results = org.merge(sobject, requests)
            for merge, result in zip(todo, results, strict=True):
                error = None if result.success else _merge_failure(result)
                outcomes |= dict.fromkeys(_merged_ids(merge), error)
                if error is not None:
                    failed_masters[merge.master_id] = error
        store.record_merges(run_id, outcomes)
        failures |= {i: error for i, error in outcomes.items() if error is not None}
    return failures


def _merge_failure(result: MergeResult) -> str:
    errors = "; ".join(f"{e.status_code}: {e.message}" for e in result.errors)
    return errors or "merge failed without an error"


@fewer_collections()
def apply_saved_plan(
    plan: Plan,
    *,
    store: StateStore,
    org: OrgGateway,
    renderer: AlertRenderer,
    notifier: Notifier,
    on_plan: PlanHook | None = None,
    confirmed: bool = False,
    enroller: EnrollmentChannel | None = None,
) -> RunResult:
    """Apply a reviewed plan, leaving alone the records whose values moved since."""
    check_confirmed(plan, confirmed)
    rendered = _render(plan, renderer)
    enroller = enroller or SalesforceFieldChannel(org)
    with play_lease(store, plan.play):
        settled = settle(plan.play, store, org, notifier, enroller)
        in_plan = {f.record_id for f in plan.firings}
        fired = store.fired(plan.play) | org_memory.recall(org, plan.play, in_plan)
        stale = stale_records(plan, org, fired)
        if on_plan is not None:
            on_plan(plan)
        return apply_plan(
            plan,
            rendered,
            store,
            org,
            notifier,
            settled,
            held_back=stale,
            renderer=renderer,
            enroller=enroller,
        )


@fewer_collections()
def revert_run(
    run_id: int,
    *,
    store: StateStore,
    org: OrgGateway,
    notifier: Notifier,
    dry_run: bool = False,
    on_plan: PlanHook | None = None,
) -> RunResult:
    """Write back the old values of a run's changes where nobody has changed them since;
    a dry run plans the revert and writes nothing."""
    run = store.run(run_id)
    if run is None:
        raise ConfigError(f"no run {run_id}; `revsched history` lists the runs")
    if run.dry_run:
        raise ConfigError(f"run {run_id} was a dry run: it changed nothing to revert")
    reverted_by = store.reverted_by(run_id)
    if reverted_by is not None:
        raise ConfigError(f"run {run_id} was already reverted by run {reverted_by}")
    if dry_run:
        plan = revert_plan(run)
        if on_plan is not None:
            on_plan(plan)
        return _record_dry_run(plan, (), store, org)
    with play_lease(store, run.play):
        # Writes the run made but never recorded (it was killed) are undone too.
        settled = settle(run.play, store, org, notifier)
        plan = revert_plan(store.run(run_id) or run)
        conflicts = moved_records(plan, org)
        if on_plan is not None:
            on_plan(plan)
        result = apply_plan(
            plan, (), store, org, notifier, settled, held_back=conflicts, reverts=run_id
        )
    reverted = {c.record_id for c in plan.changes} - set(conflicts) - set(result.failures)
    unforgotten = org_memory.forget(org, run.play, store.forget_firings(run_id, reverted))
    for key, error in unforgotten.items():
        logger.warning("firing %s not deleted from the org, so it stays fired: %s", key, error)
    if not unforgotten:
        return result
    counts = result.counts | {"firings_not_forgotten": len(unforgotten)}
    store.finish_run(result.run_id, "partial", counts)
    return replace(result, status="partial", counts=counts)
