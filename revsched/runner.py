"""Query -> decide -> plan -> apply: the one place that does a play's I/O.

The runner reads what the play declares, hands the records to its pure decide
function, saves the plan, and (unless it is a dry run) writes the changes,
records each record's outcome, and only then sends the alerts and marks the
stages fired, so a failed write never leaves an alert or a stage behind it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from revsched import progress
from revsched.alerts import AlertRenderer, Notifier, RenderedAlert
from revsched.config import Settings
from revsched.errors import ApiLimitError, ConfigError, ConfirmationError, LockedError, OrgError
from revsched.org import COLLECTION_LIMIT, OrgGateway
from revsched.plan import Merge, Plan, RecordCreate
from revsched.play import DecideContext, Play
from revsched.replay import moved_records, revert_plan, stale_records
from revsched.salesforce_soap import LeadConvert, MergeRequest, MergeResult
from revsched.state import StateStore

T = TypeVar("T")

# Renewed every third of this while a run holds it; a killed run's lease lapses after it.
LEASE_TTL = timedelta(minutes=5)


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
    # Earlier runs of the play that never finished; this run converged over them.
    interrupted: tuple[int, ...] = ()
    # Record Id -> why it was left alone (its values moved since the plan was made).
    stale: Mapping[str, str] = field(default_factory=dict)


def plan_play(
    play: Play[Any], settings: Settings, as_of: date, store: StateStore, org: OrgGateway
) -> Plan:
    """Read what the play declares and let it decide; nothing is written."""
    now = datetime.now(settings.zone)
    ctx = DecideContext(
        as_of=as_of,
        config=play.configure(settings),
        pools=settings.pools,
        fired=store.fired(play.name),
        cursors=store.cursors(),
        assigned_today=store.assigned_on(as_of),
        # An --as-of run happens at this time of day on that date.
        now=datetime.combine(as_of, now.time(), tzinfo=settings.zone),
    )
    hint = f"check the field names and values in [plays.{play.name}]"
    records = {name: org.query(soql, hint) for name, soql in play.queries(ctx).items()}
    return play.decide(records, ctx)


def _recipients_json(alert: RenderedAlert) -> str:
    return json.dumps([r.model_dump() for r in alert.recipients])


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
    confirmed: bool = False,
) -> RunResult:
    if dry_run:
        plan = plan_play(play, settings, as_of, store, org)
        return _record_dry_run(plan, _render(plan, renderer), store)
    with play_lease(store, play.name):
        interrupted = tuple(run.id for run in store.interrupt_unfinished(play.name))
        plan = plan_play(play, settings, as_of, store, org)
        check_confirmed(plan, confirmed)
        rendered = _render(plan, renderer)
        return apply_plan(plan, rendered, store, org, notifier, interrupted, renderer=renderer)


def check_confirmed(plan: Plan, confirmed: bool) -> None:
    """Stop, before anything is written, a plan the play wants confirmed and nobody did."""
    if plan.confirmation and not confirmed:
        raise ConfirmationError(
            f"{plan.play}: {plan.confirmation}; nothing was written. Review it with"
            f" `revsched run {plan.play} --dry-run`, then apply it with --confirm"
        )


def _render(plan: Plan, renderer: AlertRenderer) -> tuple[RenderedAlert, ...]:
    """Render every alert before anything is written: a template error stops the run."""
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
        "alerts": len(plan.alerts),
    }


def _record_dry_run(
    plan: Plan, rendered: tuple[RenderedAlert, ...], store: StateStore
) -> RunResult:
    run_id = store.start_run(plan, dry_run=True)
    for alert in rendered:
        store.record_alert(
            run_id,
            alert.alert.record_id,
            alert.alert.stage,
            _recipients_json(alert),
            alert.text,
            "planned",
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
    interrupted: tuple[int, ...] = (),
    held_back: Mapping[str, str] | None = None,
    reverts: int | None = None,
    renderer: AlertRenderer | None = None,
) -> RunResult:
    """Save the plan, write it, then alert and mark fired only the records that saved.

    `held_back` maps records not to touch (their values moved since the plan was
    made) to why; they are audited as stale, neither written nor alerted. Leads are
    converted first; what the plan holds for each then goes to its contact, and its
    alerts are rendered again (with `renderer`) to name the contact.
    """
    held_back = dict(held_back or {})
    run_id = store.start_run(plan, dry_run=False, reverts=reverts)
    store.mark_stale(run_id, held_back)
    # Saved first: a run killed mid-write still moves the rotation on.
    store.save_cursors(plan.cursors)
    store.add_assignments(plan.as_of, plan.assignments)
    try:
        contacts, failures = _write_conversions(plan, run_id, store, org, skip=held_back)
        if contacts:
            plan = plan.redirected(contacts)
            if renderer is not None:
                rendered = _render(plan, renderer)
        skip = held_back | failures
        failures |= _write_changes(plan, run_id, store, org, skip=skip)
        failures |= _write_creates(plan, run_id, store, org, skip=skip)
        failures |= _write_deletes(plan, run_id, store, org)
        failures |= _write_merges(plan, run_id, store, org, held_back, failures)
    except (ApiLimitError, OrgError) as error:
        status = "stopped" if isinstance(error, ApiLimitError) else "failed"
        store.finish_run(run_id, status, _counts(plan), str(error))
        raise type(error)(
            f"{error} (run {run_id} {status}; `revsched show {run_id}` lists what was "
            "written; a rerun finishes the rest)"
        ) from None
    sent = _send_alerts(rendered, failures | held_back, run_id, store, notifier)
    alerted = {(a.alert.record_id, a.alert.stage) for a in rendered}
    for firing in plan.firings:
        key = (firing.record_id, firing.stage)
        written = firing.record_id not in failures and firing.record_id not in held_back
        if written and (key not in alerted or key in sent):
            store.record_firing(run_id, plan.play, firing.record_id, firing.stage)
    not_written = failures | held_back
    counts = _counts(plan) | {
        "failed_records": len(failures),
        "stale_records": len(held_back),
        "alerts_sent": len(sent),
        "applied": sum(1 for c in plan.changes if c.record_id not in not_written),
        "created": sum(1 for c in plan.creates if (c.parent_id or c.key) not in not_written),
        "merged": sum(1 for m in plan.merges for i in _merged_ids(m) if i not in not_written),
        "converted": sum(1 for c in plan.conversions if c.lead_id not in not_written),
    }
    expected_alerts = sum(1 for a in rendered if a.alert.record_id not in held_back)
    status = "succeeded" if not failures and len(sent) == expected_alerts else "partial"
    store.finish_run(run_id, status, counts)
    return RunResult(
        run_id, plan, rendered, False, status, counts, failures, interrupted, held_back
    )


def _write_conversions(
    plan: Plan, run_id: int, store: StateStore, org: OrgGateway, skip: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Convert the planned leads; returns (lead Id -> contact Id, lead Id -> error)."""
    todo = [c for c in plan.conversions if c.lead_id not in skip]
    contacts: dict[str, str] = {}
    failures: dict[str, str] = {}
    for wave in _waves(todo, org):
        requests = [
            LeadConvert(c.lead_id, c.converted_status, account_id=c.account_id, owner_id=c.owner_id)
            for c in wave
        ]
        outcomes: dict[str, tuple[str | None, str | None]] = {}
        for conversion, result in zip(wave, org.convert_leads(requests), strict=True):
            if result.success and result.contact_id:
                contacts[conversion.lead_id] = result.contact_id
                outcomes[conversion.lead_id] = (result.contact_id, None)
            else:
                errors = "; ".join(f"{e.status_code}: {e.message}" for e in result.errors)
                failures[conversion.lead_id] = errors or "convertLead failed without an error"
                outcomes[conversion.lead_id] = (None, failures[conversion.lead_id])
        store.record_conversions(run_id, outcomes)
    return contacts, failures


def _write_changes(
    plan: Plan, run_id: int, store: StateStore, org: OrgGateway, skip: Mapping[str, str]
) -> dict[str, str]:
    """Write every changed record, one call per 200; returns the failed records' errors."""
    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (sobject, record_id), changes in plan.changes_by_record().items():
        if record_id in skip:
            continue
        by_object[sobject].append({"Id": record_id, **{c.field: c.new for c in changes}})
    failures: dict[str, str] = {}
    for sobject, records in by_object.items():
        # Many records: one Bulk API 2.0 job; otherwise waves of collection calls.
        bulk = len(records) > org.api.bulk_write_threshold
        write = org.bulk_update if bulk else org.update
        with progress.task(f"writing {sobject}", len(records)) as advance:
            for batch in [records] if bulk else _waves(records, org):
                outcomes = write(sobject, batch)
                store.record_batch(run_id, outcomes)
                failures |= {rid: error for rid, error in outcomes.items() if error is not None}
                advance(len(batch))
    return failures


def _waves(items: list[T], org: OrgGateway) -> Iterator[list[T]]:
    """One wave of parallel calls at a time, so each wave's outcome is saved as it lands."""
    size = COLLECTION_LIMIT * org.api.max_in_flight
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        for wave in _waves(creates, org):
            records = [{org.key_field: c.key, **c.fields} for c in wave]
            outcomes = org.upsert(sobject, org.key_field, records)
            store.record_creates(run_id, outcomes)
            for create in wave:
                error = outcomes[create.key][2]
                if error is not None:
                    failures[create.parent_id or create.key] = error
    return failures


def _write_deletes(plan: Plan, run_id: int, store: StateStore, org: OrgGateway) -> dict[str, str]:
    failures: dict[str, str] = {}
    for wave in _waves(list(plan.deletes), org):
        outcomes = org.delete([d.record_id for d in wave])
        store.record_deletes(run_id, outcomes)
        failures |= {rid: error for rid, error in outcomes.items() if error is not None}
    return failures


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
            for merge, result in zip(todo, org.merge(sobject, requests), strict=True):
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


def _send_alerts(
    rendered: tuple[RenderedAlert, ...],
    not_written: Mapping[str, str],
    run_id: int,
    store: StateStore,
    notifier: Notifier,
) -> set[tuple[str, str]]:
    """Send the alerts of records that were written; returns the (record, stage) pairs sent.

    The notifier gets them all at once, so it can combine them (a digest per
    recipient) and confirm each alert only once every message carrying it landed.
    """
    outcomes = notifier.deliver([a for a in rendered if a.alert.record_id not in not_written])
    sent: set[tuple[str, str]] = set()
    for alert in rendered:
        record_id, stage = alert.key
        recipients = _recipients_json(alert)
        if record_id in not_written:
            store.record_alert(
                run_id,
                record_id,
                stage,
                recipients,
                alert.text,
                "skipped",
                f"not sent: the record was not written ({not_written[record_id]})",
            )
        elif (error := outcomes[alert.key]) is not None:
            # Not marked fired: the next run sends it again.
            store.record_alert(run_id, record_id, stage, recipients, alert.text, "failed", error)
        else:
            store.record_alert(run_id, record_id, stage, recipients, alert.text, "sent")
            sent.add(alert.key)
    return sent


def apply_saved_plan(
    plan: Plan,
    *,
    store: StateStore,
    org: OrgGateway,
    renderer: AlertRenderer,
    notifier: Notifier,
    confirmed: bool = False,
) -> RunResult:
    """Apply a reviewed plan, leaving alone the records whose values moved since."""
    check_confirmed(plan, confirmed)
    rendered = _render(plan, renderer)
    with play_lease(store, plan.play):
        stale = stale_records(plan, org, store.fired(plan.play))
        return apply_plan(plan, rendered, store, org, notifier, held_back=stale, renderer=renderer)


def revert_run(run_id: int, *, store: StateStore, org: OrgGateway, notifier: Notifier) -> RunResult:
    """Write back the old values of a run's changes where nobody has changed them since."""
    run = store.run(run_id)
    if run is None:
        raise ConfigError(f"no run {run_id}; `revsched history` lists the runs")
    if run.dry_run:
        raise ConfigError(f"run {run_id} was a dry run: it changed nothing to revert")
    reverted_by = store.reverted_by(run_id)
    if reverted_by is not None:
        raise ConfigError(f"run {run_id} was already reverted by run {reverted_by}")
    plan = revert_plan(run)
    with play_lease(store, run.play):
        conflicts = moved_records(plan, org)
        result = apply_plan(plan, (), store, org, notifier, held_back=conflicts, reverts=run_id)
    reverted = {c.record_id for c in plan.changes} - set(conflicts) - set(result.failures)
    store.forget_firings(run_id, reverted)
    return result
