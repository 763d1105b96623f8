"""What a play will do over the coming days, before the fact.

Nothing is written, and the org is read as little as can be: a play's queries depend
on the date only, so a query the same every day is read once, and one whose date bounds
move is read once over all the days and narrowed to each day in memory
(`revsched.reports.windows`); only a query that cannot be widened safely is read on
each day it changes, and so is a follow-up query (the accounts of the day's leads,
found through the play's lookup index as a run finds them). Then the play decides day
after day as if each day had been applied: the stages it fired (and those its delivered
alerts cover) stay fired, round-robin cursors move on, the field values it changed hold
the new values, the records it created appear under their parents, the records it
merged are gone, and a play that polls reads from the watermark the day before saved
(route-leads: only what changed since, not its catch-up window again). So day N of a
forecast is what `revsched run PLAY --as-of` on day N would plan, had the days before it
been applied. A play whose decide reads no date
(`Play.reads_the_date`) is decided again only on a day its records changed: the plan of
the same records is the same any day.

A play that runs several times a day is forecast as one run a day; `approximation`
says so, and the forecast's outputs show it.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from revsched import org_memory, record_index
from revsched.config import Settings
from revsched.errors import ConfigError
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.play import DecideContext, Play, Record
from revsched.record_index import Lookup
from revsched.reports.windows import DayReader
from revsched.runner import play_lease
from revsched.state import StateStore
from revsched.summary import decision_kind

COUNTS = ("selected", "changed", "created", "merged", "alerts")


@dataclass(frozen=True)
class Day:
    """One forecast day: how many records are selected, changed, created, merged and
    alerted, the selected ones by stage, and round-robin assignments by assignee."""

    day: date
    selected: int
    changed: int
    created: int
    merged: int
    alerts: int
    by_stage: dict[str, int] = field(default_factory=dict)
    by_assignee: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> Day:
        assignees: Counter[str] = Counter()
        for members in plan.assignments.values():
            assignees.update(members)
        return cls(
            day=plan.as_of,
            selected=len(plan.selected),
            changed=len(plan.changes_by_record()),
            created=len(plan.creates),
            merged=sum(len(m.merged) for m in plan.merges),
            alerts=len(plan.alerts),
            by_stage=_stages(plan),
            by_assignee=dict(sorted(assignees.items())),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            **{k: getattr(self, k) for k in COUNTS},
            "by_stage": self.by_stage,
            "by_assignee": self.by_assignee,
        }


# More distinct stages than this (a play's own, one per record) are counted with their
# numbers elided: "cluster N: master".
MAX_STAGES = 10


def _stages(plan: Plan) -> dict[str, int]:
    """Selected by stage as the dry run's summary counts them: "overage", not one
    "overage 2026-11-23" a day; blank for a play without stages."""
    stages = Counter(decision_kind(d) if d.stage else "" for d in plan.selected)
    if len(stages) > MAX_STAGES:
        stages = Counter(re.sub(r"\d+", "N", stage) for stage in stages.elements())
    return dict(sorted(stages.items()))


class Snapshot:
    """The org, read for a forecast: it counts the queries read."""

    def __init__(self, org: OrgGateway):
        self.org = org
        self.reads = 0

    def query(self, soql: str, hint: str) -> list[Record]:
        self.reads += 1
        return self.org.query(soql, hint)


@dataclass
class _Applied:
    """What the forecast days so far did, carried into the next day's decision."""

    fired: set[tuple[str, str]]
    cursors: dict[str, int]
    key_field: str
    # Where the next day's run reads from, as a run saves it (a play that polls).
    watermark: datetime | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    # Parent Id -> (child relationship, the record created under it)
    created: dict[str, list[tuple[str, Record]]] = field(default_factory=dict)

    def apply(self, plan: Plan) -> None:
        self.fired |= {(f.record_id, f.stage) for f in plan.firings}
        # What an alert covers fires when it is delivered: every alert is, in a forecast.
        self.fired |= {(f.record_id, f.stage) for a in plan.alerts for f in a.covers}
        self.cursors.update(plan.cursors)
        self.watermark = plan.watermark or self.watermark
        for change in plan.changes:
            self.values.setdefault(change.record_id, {})[change.field] = change.new
        for create in plan.creates:
            if create.parent_id:
                # A field the play reads but the create does not set reads as null.
                row = defaultdict(lambda: None, {**create.fields, self.key_field: create.key})
                child = (_relationship(create.sobject), row)
                self.created.setdefault(create.parent_id, []).append(child)
        self.gone |= {r.record_id for m in plan.merges for r in m.merged}
        self.gone |= {d.record_id for d in plan.deletes}
        self.gone |= {c.lead_id for c in plan.conversions}

    def seen(self, soql: str, rows: Iterable[Record]) -> list[Record]:
        """Rows as the query would return them now: with the values changed and the
        records created under them (Tasks of an opportunity), without the records merged,
        and without those changed in a field the query filters on.

        The last is an approximation: a play filters on what it changes so that the change
        takes the record out of its scope (a lead handed to a queue, a status moved on)."""
        filtered = _filtered_fields(soql)
        seen: list[Record] = []
        for row in rows:
            record_id = row.get("Id")
            if record_id in self.gone:
                continue
            changed = self.values.get(record_id, {})
            if filtered.intersection(changed):
                continue
            row = {**row, **changed} if changed else row
            for relationship, child in self.created.get(record_id, ()):
                if relationship in row:  # the query reads the parent's children of that kind
                    before = row[relationship]["records"] if row[relationship] else []
                    row = {**row, relationship: {"done": True, "records": [*before, child]}}
            seen.append(row)
        return seen


def _relationship(sobject: str) -> str:
    """The standard child relationship of an object's records: Tasks, Opportunities."""
    return f"{sobject[:-1]}ies" if sobject.endswith("y") else f"{sobject}s"


def _filtered_fields(soql: str) -> set[str]:
    """The names after a query's first WHERE: a superset of the fields it filters on."""
    parts = re.split(r"\bWHERE\b", soql, maxsplit=1, flags=re.IGNORECASE)
    return set(re.findall(r"[A-Za-z_]\w*", parts[1])) if len(parts) > 1 else set()


def forecast(
    play: Play[Any],
    settings: Settings,
    start: date,
    days: int,
    store: StateStore,
    snapshot: Snapshot,
    now: datetime | None = None,
) -> Iterator[Plan]:
    """The play's plan for each of `days` days from `start`, one after another (a plan of
    a large org is large: none is kept)."""
    config = play.configure(settings, to_run=True)
    clock = (now or datetime.now(settings.zone)).time()
    hint = f"check the field names and values in [plays.{play.name}]"
    dates = [start + timedelta(days=n) for n in range(days)]
    lookup = _lookup(play, config, store, snapshot.org, now or datetime.now(settings.zone))
    contexts = [
        DecideContext(
            as_of=day,
            config=config,
            pools=settings.pools,
            assigned_today=store.assigned_on(day),
            now=datetime.combine(day, clock, tzinfo=settings.zone),
            play=play.name,
            lookup=lookup,
            watermark=store.watermark(play.name),
        )
        for day in dates
    ]
    queries = [play.queries(ctx) for ctx in contexts]
    reader = DayReader(queries, lambda soql: snapshot.query(soql, hint))
    applied = _Applied(
        fired=set(store.fired(play.name)),
        cursors=store.cursors(),
        key_field=settings.org.key_field,
        watermark=store.watermark(play.name),
    )
    recalled: set[str] = set()
    # Rows looked through for the Ids in scope (most come back every day), by identity;
    # held, so that no other row takes an identity on.
    scoped: dict[int, Record] = {}
    last: tuple[Any, Plan] | None = None
    for number, ctx in enumerate(contexts):
        # A play that polls reads from where the day before began (its watermark).
        ctx = replace(ctx, watermark=applied.watermark)
        day_queries = play.queries(ctx) if number else queries[0]
        records = reader.day(number, day_queries)
        seen = {name: applied.seen(soql, records[name]) for name, soql in day_queries.items()}
        if play.follow_ups is not None:  # what the day's records lead to (their accounts)
            for name, soql in play.follow_ups(seen, ctx).items():
                records[name] = reader.read(name, soql)
                seen[name] = applied.seen(soql, records[name])
        new = {name: [r for r in rows if id(r) not in scoped] for name, rows in records.items()}
        scoped.update((id(row), row) for rows in new.values() for row in rows)
        # What fired on another machine counts too: the org's memory of the new records.
        in_scope = org_memory.records_in_scope(new) - recalled
        applied.fired |= org_memory.recall(snapshot.org, play.name, in_scope)
        recalled |= in_scope
        ctx = replace(ctx, fired=frozenset(applied.fired), cursors=dict(applied.cursors))
        inputs = (seen, ctx.fired, ctx.cursors)
        if not play.reads_the_date and last is not None and last[0] == inputs:
            plan = last[1].model_copy(update={"as_of": ctx.as_of})  # what deciding gives
        else:
            plan = play.decide(seen, ctx)
        last = (inputs, plan)
        applied.apply(plan)
        yield plan


def approximation(play: Play[Any], settings: Settings, start: date) -> str | None:
    """What a forecast of the play leaves out, said plainly: a play that runs several
    times a day is forecast as one run a day (the later runs of a day act only on records
    that change in between, which a forecast of today's records cannot know)."""
    schedule = play.configure(settings, to_run=True).schedule
    zone = settings.zone
    first = schedule.next_fire(datetime.combine(start, time(), tzinfo=zone), zone)
    second = schedule.next_fire(first + timedelta(seconds=1), zone) if first else None
    if second is None or second.date() != first.date():
        return None
    return (
        f"{play.name} runs several times a day ({schedule}); the forecast counts one run a"
        " day, as if the day's later runs found nothing new"
    )


def _lookup(
    play: Play[Any], config: Any, store: StateStore, org: OrgGateway, now: datetime
) -> Lookup | None:
    """The play's lookup index brought up to date, as a run does first (route-leads'
    accounts by domain): its follow-ups find the records to read in it."""
    index = play.record_index(config)
    if index is None:
        return None
    with play_lease(store, index.name):
        record_index.refresh(index, store, org, now)
    return record_index.lookup(index, store)


def _value(text: str) -> Any:
    """A --set value as TOML reads it (10, true, "x", [1, 2]), else as plain text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def with_changes(
    settings: Settings, play: str, assignments: Sequence[str]
) -> tuple[Settings, dict[str, Any]]:
    """Settings with each `plays.PLAY.KEY=VALUE` set (KEY may go deeper: a.b); returns
    them and the changes as given, for the side-by-side forecast. A value the play's
    config refuses is blamed on --set, not on the config file."""
    plays: dict[str, dict[str, Any]] = {name: dict(s) for name, s in settings.plays.items()}
    changes: dict[str, Any] = {}
    for item in assignments:
        key, equals, text = item.partition("=")
        parts = key.strip().split(".")
        if not equals or len(parts) < 3 or parts[0] != "plays" or not all(parts):
            raise ConfigError(f"--set {item!r}: expected plays.PLAY.KEY=VALUE")
        if parts[1] != play:
            raise ConfigError(
                f"--set {item!r}: the forecast is of {play}; set plays.{play}.KEY=VALUE"
            )
        section: dict[str, Any] = plays.setdefault(parts[1], {})
        for part in parts[2:-1]:
            section = section.setdefault(part, {})
        section[parts[-1]] = changes[key.strip()] = _value(text.strip())
    # Where a bad value came from, as for a REVSCHED__ variable: "--set: plays.x.y = ...".
    environment = {**settings.environment, **dict.fromkeys(changes, "--set")}
    return settings.model_copy(update={"plays": plays, "environment": environment}), changes


def totals(days: Sequence[Day]) -> dict[str, int]:
    return {name: sum(getattr(d, name) for d in days) for name in COUNTS}


def by_assignee(days: Sequence[Day]) -> Mapping[str, int]:
    total: Counter[str] = Counter()
    for day in days:
        total.update(day.by_assignee)
    return dict(total.most_common())
