"""Query -> decide -> plan -> apply: the one place that does a play's I/O.

The runner reads what the play declares, hands the records to its pure decide
function, saves the plan with the alerts it will owe (the outbox), and (unless
it is a dry run) writes the changes, records each record's outcome, and only
then delivers the owed alerts and marks the stages fired, so a failed write
never leaves an alert or a stage behind it. A run killed on the way leaves its
outbox: the next run of the play reads its unrecorded writes back from the org
and delivers what it still owes before planning anything.

The phases live apart: `planning` (query and decide), `settlement` (what earlier
runs left), `apply` (the writes in order, then alerts and firings), with the
waves, Bulk jobs and structural writes below it; here are the entry points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from revsched import org_memory
from revsched.alerts import AlertRenderer, Notifier, RenderedAlert
from revsched.apply import RunResult, apply_plan, plan_counts, render_alerts
from revsched.audit_names import audit_names
from revsched.collector import fewer_collections
from revsched.config import Settings
from revsched.enroll import EnrollmentChannel, SalesforceFieldChannel
from revsched.errors import ConfigError, ConfirmationError
from revsched.lease import play_lease
from revsched.logs import logger
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.planning import plan_play
from revsched.play import Play
from revsched.replay import moved_records, revert_plan, stale_records
from revsched.settlement import Settled, outbox_entries, settle, settle_other_plays
from revsched.state import StateStore
from revsched.streaming import StreamedPlan, abandoned_on_error, planned

# The names callers import from the runner, wherever they are defined.
__all__ = [
    "PlanHook",
    "RunResult",
    "apply_plan",
    "apply_saved_plan",
    "plan_play",
    "play_lease",
    "revert_run",
    "run_play",
    "settle_other_plays",
]

# Called with the plan before anything is written.
PlanHook = Callable[[Plan], None]


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
        plan, saved = planned(play, settings, as_of, store, org, dry_run=True)
        with _abandoned_unless_done(store, saved):
            rendered = render_alerts(plan, renderer)
            if on_plan is not None:
                on_plan(plan)
            return _record_dry_run(plan, rendered, store, org, saved)
    with _settled(play.name, store, org, notifier, enroller, renderer) as (settled, enroller):
        plan, saved = planned(play, settings, as_of, store, org, dry_run=False)
        with _abandoned_unless_done(store, saved):
            rendered = render_alerts(plan, renderer)
            if on_plan is not None:
                on_plan(plan)
            check_confirmed(plan, confirmed)
        return apply_plan(
            plan if saved is None else saved.plan,
            rendered,
            store,
            org,
            notifier,
            settled,
            renderer=renderer,
            enroller=enroller,
            saved=saved,
        )


@contextmanager
def _abandoned_unless_done(store: StateStore, saved: StreamedPlan | None) -> Iterator[None]:
    """A streamed plan's run stopped before its writes (a template error, a plan not
    confirmed) ends failed: nothing was written."""
    if saved is None:
        yield
        return
    with abandoned_on_error(store, saved.run_id, saved.spool):
        yield


def check_confirmed(plan: Plan, confirmed: bool) -> None:
    """Stop, before anything is written, a plan the play wants confirmed and nobody did."""
    if plan.confirmation and not confirmed:
        raise ConfirmationError(plan.play, plan.confirmation)


def _record_dry_run(
    plan: Plan,
    rendered: tuple[RenderedAlert, ...],
    store: StateStore,
    org: OrgGateway,
    saved: StreamedPlan | None = None,
) -> RunResult:
    alerts = outbox_entries(plan, rendered)
    if saved is None:
        run_id = store.start_run(plan, dry_run=True, alerts=alerts, names=audit_names(plan, org))
        counts = plan_counts(plan)
    else:
        run_id, plan = saved.run_id, saved.plan
        store.save_plan(run_id, saved.rest, alerts, saved.alert_names)
        counts = saved.counts()
    store.finish_run(run_id, "dry-run", counts)
    return RunResult(run_id, plan, rendered, True, "dry-run", counts, {})


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
    rendered = render_alerts(plan, renderer)
    with _settled(plan.play, store, org, notifier, enroller, renderer) as (settled, enroller):
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


@contextmanager
def _settled(
    play: str,
    store: StateStore,
    org: OrgGateway,
    notifier: Notifier,
    enroller: EnrollmentChannel | None,
    renderer: AlertRenderer,
) -> Iterator[tuple[Settled, EnrollmentChannel]]:
    """Hold the play's lease and finish what its earlier runs left, before a plan is
    applied; yields what was settled and the enrollment channel (default: the
    salesforce-field channel)."""
    enroller = enroller or SalesforceFieldChannel(org)
    with play_lease(store, play):
        yield settle(play, store, org, notifier, enroller, renderer), enroller
