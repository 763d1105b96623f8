"""Deciding a play a page of records at a time, each page's plan saved as it is decided.

A play that streams (`Play.streams`) names the query whose records its decide can take a
page at a time: decide on a page gives exactly that page's part of the plan. The run
reads that query page by page (its other queries whole), decides each page, saves the
page's decisions and field changes in the state store at once and drops the page, so a
run holds a page of records, not a million of them and their changes. What else the
pages plan (alerts, stages, records to create) is small and gathered for the apply, and
what a summary prints is counted on the way (`PlanTally`); the rows it shows are read
back from the store.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from revsched import org_memory, progress
from revsched.audit_names import audit_names
from revsched.bulk_spool import BulkSpool
from revsched.config import Settings
from revsched.decision_kinds import decision_kind
from revsched.errors import PlayError
from revsched.org import OrgGateway
from revsched.plan import Plan, PlanTotals
from revsched.planning import (
    config_hint,
    decide_context,
    explained_errors,
    plan_play,
    read_queries,
    with_index,
)
from revsched.play import DecideContext, Play
from revsched.state import StateStore
from revsched.writes import StoredWrites

# Records decided at a time: a REST page's worth.
PAGE = 2000
# Rows of each table a streamed plan's preview reads back (a summary shows five).
PREVIEW = 50


@dataclass
class PlanTally:
    """What a streamed plan amounts to, counted as its pages are decided: the summary a
    person reads and the run's counts, without the rows."""

    selected: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    # Field changes by "sObject.field".
    changes: Counter[str] = field(default_factory=Counter)
    # Records changed, and the fields they set, by sObject.
    records: Counter[str] = field(default_factory=Counter)
    fields: dict[str, dict[str, None]] = field(default_factory=dict)

    def add(self, part: Plan) -> None:
        for decision in part.decisions:
            kinds = self.selected if decision.outcome == "selected" else self.skipped
            kinds[decision_kind(decision)] += 1
        for (sobject, name), count in Counter((c.sobject, c.field) for c in part.changes).items():
            self.changes[f"{sobject}.{name}"] += count
            self.fields.setdefault(sobject, {})[name] = None
        self.records.update(
            sobject for sobject, _ in {(c.sobject, c.record_id) for c in part.changes}
        )


@dataclass(frozen=True)
class StreamedPlan:
    """A streaming play's plan as its run saved it (run `run_id`, still planning): `rest`
    holds what the pages planned besides their decisions and field changes, which are in
    the store and counted in `tally`."""

    run_id: int
    rest: Plan
    tally: PlanTally
    # The names of the records the plan's alerts are about, from the pages' decisions.
    alert_names: dict[str, str]
    # The Bulk CSVs written as the pages were decided (none for a dry run).
    spool: BulkSpool | None = None

    def writes(self, store: StateStore) -> dict[str, StoredWrites]:
        """Each object's records to write, read back from the store as they are sent (a
        Bulk job's from the CSV written as they were planned, when there is one)."""
        return {
            sobject: StoredWrites(
                store,
                self.run_id,
                sobject,
                count,
                self.tally.fields[sobject],
                self.spool.take(sobject) if self.spool else None,
            )
            for sobject, count in self.tally.records.items()
        }

    @property
    def plan(self) -> Plan:
        """The plan without its decisions and field changes, and their counts."""
        return self.rest.with_totals(self.totals())

    def totals(self) -> PlanTotals:
        tally = self.tally
        records = tally.records.total()
        return PlanTotals(self.run_id, tally.selected, tally.skipped, tally.changes, records)

    def preview(self, store: StateStore, rows: int = PREVIEW) -> Plan:
        """The plan as a person reads it first: its counts, and the first `rows` selected,
        skipped and changed, read back from the store."""
        selected = store.decisions(self.run_id, "selected", rows)
        skipped = store.decisions(self.run_id, "skipped", rows)
        changes = store.planned_changes(self.run_id, rows)
        return self.rest.with_totals(
            self.totals(), decisions=(*selected, *skipped), changes=tuple(changes)
        )

    def counts(self) -> dict[str, int]:
        """The plan's counts, as `plan_counts` gives a whole plan's."""
        plan = self.rest
        return {
            "selected": self.tally.selected.total(),
            "skipped": self.tally.skipped.total(),
            "changes": self.tally.changes.total(),
            "merges": len(plan.merges),
            "conversions": len(plan.conversions),
            "enrollments": len(plan.enrollments),
            "alerts": len(plan.alerts),
        }


def planned(
    play: Play[Any],
    settings: Settings,
    as_of: date,
    store: StateStore,
    org: OrgGateway,
    dry_run: bool,
) -> tuple[Plan, StreamedPlan | None]:
    """The play's plan, decided whole; for a play that streams, decided and saved in a new
    run a page at a time (nothing written to the org), and given as its first rows with
    its counts, beside the saved run."""
    if play.streams is None:
        return plan_play(play, settings, as_of, store, org), None
    saved = _streamed(play, decide_context(play, settings, as_of, store), store, org, dry_run)
    return saved.preview(store), saved


def _streamed(
    play: Play[Any], ctx: DecideContext[Any], store: StateStore, org: OrgGateway, dry_run: bool
) -> StreamedPlan:
    """Read and decide the play a page at a time, saving each page's plan in a new run; a
    run stopped on the way is marked so (it wrote nothing)."""
    assert play.streams is not None
    queries = play.queries(ctx)
    soql = queries.pop(play.streams, None)
    if soql is None:
        raise PlayError(f"play {play.name} streams {play.streams!r}, which it does not query")
    whole = read_queries(play, ctx, org, queries)
    ctx = with_index(play, ctx, store, org)
    # Every firing the org remembers for the play: which records the pages hold is not
    # known beforehand (above 300 records in scope a whole play's firings are read anyway).
    # Read in the first page's call (or the Bulk read's describe), not in one of its own.
    firings = org_memory.firings_query(org, play.name)
    pages = _pages(org.iter_query(soql, config_hint(play), firings))
    with explained_errors(play, ctx, org, soql):
        first = next(pages)
    ctx = replace(ctx, fired=ctx.fired | org_memory.recalled(firings))
    run_id = store.open_run(play.name, ctx.as_of, dry_run)
    tally, rest = PlanTally(), _Rest()
    spool = None if dry_run else BulkSpool(store, run_id, org.api.bulk_write_threshold)
    alert_names: dict[str, str] = {}
    looked_up: dict[str, str] = {}
    with (
        abandoned_on_error(store, run_id, spool),
        explained_errors(play, ctx, org, soql),
        progress.status(f"deciding {play.name}"),
    ):
        for page in itertools.chain([first], pages):
            part = play.decide({**whole, play.streams: page}, ctx)
            _check_part(play, part)
            names = audit_names(part, org, looked_up)
            rows = Plan(
                play=play.name, as_of=ctx.as_of, decisions=part.decisions, changes=part.changes
            )
            store.save_plan(run_id, rows, names=names)
            tally.add(part)
            if spool is not None:
                spool.add(part.changes, page, tally.records, tally.fields)
            alert_names |= {
                a.record_id: names[a.record_id] for a in part.alerts if a.record_id in names
            }
            rest.add(part)
    return StreamedPlan(run_id, rest.plan(play.name, ctx.as_of), tally, alert_names, spool)


def _pages(records: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The records PAGE at a time; one empty page when there are none (the play still
    decides, and stamps its plan)."""
    page = list(itertools.islice(records, PAGE))
    yield page
    while page := list(itertools.islice(records, PAGE)):
        yield page


def _check_part(play: Play[Any], part: Plan) -> None:
    """A page's plan may not hold what needs every record decided at once."""
    if part.conversions or part.cursors or part.assignments:
        raise PlayError(
            f"play {play.name} streams {play.streams!r} but a page's plan converts leads or"
            " assigns round robin, which need every record at once: drop `streams`"
        )


class _Rest:
    """What the pages planned besides decisions and field changes, each in page order."""

    PARTS = ("creates", "deletes", "merges", "enrollments", "alerts", "firings")

    def __init__(self) -> None:
        self.parts: dict[str, list[Any]] = {name: [] for name in self.PARTS}
        self.reports: dict[str, list[Any]] = {}
        self.watermark: datetime | None = None
        self.confirmation: str | None = None

    def add(self, part: Plan) -> None:
        for name, items in self.parts.items():
            items += getattr(part, name)
        for name, rows in part.reports.items():
            self.reports.setdefault(name, []).extend(rows)
        self.watermark = self.watermark or part.watermark
        self.confirmation = self.confirmation or part.confirmation

    def plan(self, play: str, as_of: date) -> Plan:
        return Plan(
            play=play,
            as_of=as_of,
            reports=self.reports,
            watermark=self.watermark,
            confirmation=self.confirmation,
            **{name: tuple(items) for name, items in self.parts.items()},
        )


@contextmanager
def abandoned_on_error(
    store: StateStore, run_id: int, spool: BulkSpool | None = None
) -> Iterator[None]:
    """A run still planning that stops (an error, a refused confirmation) ends as failed,
    its planned changes marked not written (none was) and its Bulk CSVs dropped."""
    try:
        yield
    except BaseException as error:
        if spool is not None:
            spool.close()
        store.abandon_plan(run_id, str(error) or type(error).__name__)
        raise
