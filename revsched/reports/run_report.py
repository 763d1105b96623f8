"""A run's report, built generically from its plan: what was selected and why, the
changes record by record, what was created, merged and alerted, with totals and charts;
and, for the tables a play puts on its plan, the summaries their readers need
(`revsched.reports.play_tables`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from itertools import islice
from typing import Any

from revsched.plan import Decision, Plan, Scalar
from revsched.reports import charts, play_tables
from revsched.reports.charts import Chart
from revsched.reports.model import Header, RecordLink, Report, Row, Table, label
from revsched.summary import decision_kind, value_text

# A field whose new values are at most this many distinct ones is charted per value
# (accounts per campaign, per new owner): more is a list, not a picture.
MAX_CHARTED_VALUES = 15

RECORD = {"record": RecordLink("record_id")}
# Ids named per report: 10 calls per object at most (200 a call); the rest show as Ids.
MAX_NAMED = 2_000
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def _named(value: Scalar, names: Mapping[str, str]) -> str:
    return names.get(value, value_text(value)) if isinstance(value, str) else value_text(value)


def _cell(value: Scalar, names: Mapping[str, str]) -> Scalar:
    """A table cell: no value is an empty cell (blank on the page, empty in the CSV)."""
    return None if value is None else _named(value, names)


def _by_kind(decisions: tuple[Decision, ...]) -> dict[str, list[Decision]]:
    """Decisions grouped by their kind (as summaries count them), the largest group
    first (decide's order within a group)."""
    groups: dict[str, list[Decision]] = {}
    for decision in decisions:
        groups.setdefault(decision_kind(decision), []).append(decision)
    return dict(sorted(groups.items(), key=lambda group: -len(group[1])))


def _reasons(plan: Plan) -> Table:
    """How many records each kind of reason selected and skipped: the page's first answer
    to "why", before the rows."""
    rows: list[Row] = [
        {"outcome": outcome, "reason": kind, "records": len(group)}
        for outcome, decisions in (("selected", plan.selected), ("skipped", plan.skipped))
        for kind, group in _by_kind(decisions).items()
    ]
    return Table("reasons", "Selected and skipped, by reason", rows)


def _decisions(name: str, title: str, decisions: tuple[Decision, ...]) -> Table:
    """The records, grouped as `_reasons` counts them, each with its reason in full."""
    rows: list[Row] = [
        {
            "sobject": d.sobject,
            "record_id": d.record_id,
            "record": d.record_name,
            "stage": d.stage,
            "reason": d.reason,
        }
        for group in _by_kind(decisions).values()
        for d in group
    ]
    return Table(name, title, rows, links=RECORD)


def _changed(plan: Plan, names: Mapping[str, str]) -> Table:
    """One row a record: each field it changes, with the new value (names for Ids) and
    the old one beside it."""
    fields = list(dict.fromkeys(c.field for c in plan.changes))
    rows: list[Row] = []
    for (sobject, record_id), changes in plan.changes_by_record().items():
        row: Row = {"sobject": sobject, "record_id": record_id, "record": changes[0].record_name}
        for change in changes:
            row[change.field] = _cell(change.new, names)
            row[f"{change.field} was"] = _cell(change.old, names)
        row["why"] = "; ".join(dict.fromkeys(c.reason for c in changes))
        rows.append(row)
    columns = ["sobject", "record_id", "record"]
    columns += [column for f in fields for column in (f, f"{f} was")]
    return Table("changes", "Changes, record by record", rows, [*columns, "why"], RECORD)


def _creates(plan: Plan, names: Mapping[str, str]) -> Table:
    rows: list[Row] = [
        {
            "sobject": c.sobject,
            "key": c.key,
            "for_id": c.parent_id,
            "for": names.get(c.parent_id, c.parent_id) if c.parent_id else None,
            "fields": "; ".join(f"{k}: {_named(v, names)}" for k, v in c.fields.items()),
            "reason": c.reason,
        }
        for c in plan.creates
    ]
    return Table("creates", "Records to create", rows, links={"for": RecordLink("for_id")})


def _merges(plan: Plan) -> Table:
    rows: list[Row] = [
        {
            "sobject": m.sobject,
            "master_id": m.master_id,
            "master": m.master_name,
            "merged_id": r.record_id,
            "merged": r.record_name,
            "reason": m.reason,
        }
        for m in plan.merges
        for r in m.merged
    ]
    links = {"master": RecordLink("master_id"), "merged": RecordLink("merged_id")}
    return Table("merges", "Merges (cannot be undone)", rows, links=links)


def _conversions(plan: Plan, names: Mapping[str, str]) -> Table:
    rows: list[Row] = [
        {
            "lead_id": c.lead_id,
            "lead": c.lead_name,
            "account_id": c.account_id,
            "account": c.account_name,
            "owner": names.get(c.owner_id, c.owner_id),
            "reason": c.reason,
        }
        for c in plan.conversions
    ]
    links = {"lead": RecordLink("lead_id", "Lead"), "account": RecordLink("account_id", "Account")}
    return Table("conversions", "Leads converted", rows, links=links)


def _alerts(plan: Plan) -> Table:
    rows: list[Row] = [
        {
            "record_id": a.record_id,
            "stage": a.stage,
            "to": ", ".join(f"{r.name} ({r.role})" for r in a.recipients) or "nobody",
            "reason": a.reason,
        }
        for a in plan.alerts
    ]
    return Table("alerts", "Alerts", rows, links={"record_id": RecordLink("record_id")})


def totals(plan: Plan, counts: Mapping[str, int] | None, applied: bool) -> list[tuple[str, Scalar]]:
    """What the plan holds, and what an applied run did with it (its `counts`)."""
    figures: list[tuple[str, Scalar]] = [
        # A run read back from the audit has no decisions, only the count.
        ("selected", (counts or {}).get("selected", len(plan.selected))),
        ("skipped", len(plan.skipped)),
        ("records changed", len(plan.changes_by_record())),
        ("field changes", len(plan.changes)),
        ("records to create", len(plan.creates)),
        ("merges", sum(len(m.merged) for m in plan.merges)),
        ("leads converted", len(plan.conversions)),
        ("alerts", len(plan.alerts)),
    ]
    figures = [(name, value) for name, value in figures if value or name == "selected"]
    if counts is not None and applied:
        figures += [
            ("written", counts.get("applied", 0)),
            ("failed", counts.get("failed_records", 0)),
            ("alerts sent", counts.get("alerts_sent", 0)),
        ]
    return figures


def _chartable(groups: Counter[str]) -> bool:
    """Groups worth a chart: a few (not one per record or cluster), some with several."""
    return 1 < len(groups) <= MAX_CHARTED_VALUES and max(groups.values()) > 1


def _plan_charts(plan: Plan, names: Mapping[str, str]) -> list[Chart]:
    """Charts where they beat the tables: per stage, per new value of a field, per
    round-robin member and per alert recipient."""
    drawn: list[Chart] = []
    stages = Counter(decision_kind(d) for d in plan.selected)
    if _chartable(stages):
        drawn.append(charts.bars("Selected by stage", {"records": stages}))
    per_field: dict[str, Counter[str]] = {}
    for change in plan.changes:
        per_field.setdefault(change.field, Counter())[_named(change.new, names)] += 1
    for field, values in per_field.items():
        if _chartable(values):
            drawn.append(charts.bars(f"Records by new {label(field)}", {"records": values}))
    members: Counter[str] = Counter()
    for pool in plan.assignments.values():
        members.update(pool)
    if members:
        drawn.append(charts.bars("Assignments per round-robin member", {"assigned": members}))
    recipients = Counter(r.name for a in plan.alerts for r in a.recipients)
    if recipients:
        drawn.append(charts.bars("Alerts per recipient", {"alerts": recipients}))
    skipped = Counter(decision_kind(d) for d in plan.skipped)
    if _chartable(skipped):
        drawn.append(charts.bars("Skipped by reason", {"records": skipped}))
    return drawn


def run_header(play: str, as_of: date, run_id: int, dry_run: bool, status: str, org: str) -> Header:
    """The header of a run's report: its play, run, as-of date, mode and org."""
    return Header(
        title=f"{play}, {as_of.isoformat()}",
        play=play,
        as_of=as_of.isoformat(),
        mode="dry run" if dry_run else f"applied: {status}",
        org=org,
        run_id=run_id,
    )


def plan_report(
    plan: Plan,
    header: Header,
    instance_url: str,
    names: Mapping[str, str] | None = None,
    counts: Mapping[str, int] | None = None,
    applied: bool = False,
) -> Report:
    """The report of a plan: the play's own tables (with their summaries) first, then
    what every plan holds. `names` names the Ids among the changed values; `counts` are
    the run's (what it wrote, when `applied`)."""
    names = names or {}
    own: list[Table] = []
    drawn: list[Chart] = []
    figures = totals(plan, counts, applied)
    for name, rows in plan.reports.items():
        extra = play_tables.for_report(name, rows)
        own += [extra.table, *extra.tables]
        drawn += extra.charts
        figures += extra.totals
    generic = [
        _reasons(plan),
        _decisions("selected", "Selected", plan.selected),
        _changed(plan, names),
        _creates(plan, names),
        _merges(plan),
        _conversions(plan, names),
        _alerts(plan),
        _decisions("skipped", "Skipped (near misses)", plan.skipped),
    ]
    return Report(
        header=header,
        instance_url=instance_url,
        names=names,
        totals=figures,
        charts=[*drawn, *_plan_charts(plan, names)],
        tables=[*own, *(table for table in generic if table.rows)],
    )


def named_values(plan: Plan) -> list[Any]:
    """The values a report names (changed values, parents of created records, Ids in the
    play's tables): at most MAX_NAMED distinct ones, a few calls to name them."""
    values: list[Any] = [v for c in plan.changes for v in (c.old, c.new)]
    values += [c.parent_id for c in plan.creates]
    values += [v for c in plan.creates for v in c.fields.values()]
    values += [v for rows in plan.reports.values() for row in rows for v in row.values()]
    ids = (v for v in dict.fromkeys(values) if isinstance(v, str) and RECORD_ID.match(v))
    return list(islice(ids, MAX_NAMED))
