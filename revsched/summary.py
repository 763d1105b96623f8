"""A plan and a run's result as a person reads them: counts first, then the first rows.

A plan can hold a hundred thousand rows; the terminal shows what it amounts to
(selected and skipped by reason, field changes by field, alerts by recipient)
and the first `limit` rows of each table, so printing costs what is shown, not
what was planned. Every row is in the files (`--report-dir`, `revsched show
RUN --format csv|json`).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

# Re-exported: reports and plays' tests count decisions as the summary does.
from revsched.decision_kinds import decision_kind as decision_kind
from revsched.decision_kinds import reason_kind as reason_kind
from revsched.row_limits import DEFAULT_LIMIT, MIN_ROWS

if TYPE_CHECKING:
    from revsched.plan import (
        Alert,
        Enrollment,
        LeadConversion,
        Merge,
        Plan,
        PlanTotals,
        RecordCreate,
        RecordDelete,
    )
    from revsched.runner import RunResult

T = TypeVar("T")

# Groups listed per count (reasons, recipients); the rest are summed into one line.
TOP_GROUPS = 5


def value_text(value: Any) -> str:
    """A field value as a person reads it: text as is, nothing as (empty), else JSON."""
    if value is None:
        return "(empty)"
    return value if isinstance(value, str) else json.dumps(value)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _counts_table(groups: Counter[str]) -> Table:
    """Counts per group, largest first; beyond TOP_GROUPS the rest sum into one row."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=False)
    table.add_column(justify="right", no_wrap=True)
    top = groups.most_common(TOP_GROUPS)
    for name, count in top:
        table.add_row(f"  {escape(name)}", f"{count:,}")
    rest = groups.total() - sum(count for _, count in top)
    if rest:
        others = len(groups) - len(top)
        table.add_row(f"  ({plural(others, 'other')})", f"{rest:,}")
    return table


def _first(items: Iterable[T], limit: int | None) -> list[T]:
    return list(items if limit is None else itertools.islice(items, limit))


def plan_totals(plan: Plan) -> PlanTotals:
    """How many decisions and field changes the plan holds, by kind and field: counted from
    its rows, or given beside the first of them (a streamed plan)."""
    if plan.totals is not None:
        return plan.totals
    from revsched.plan import PlanTotals

    return PlanTotals(
        run_id=None,
        selected=Counter(decision_kind(d) for d in plan.selected),
        skipped=Counter(decision_kind(d) for d in plan.skipped),
        changes=Counter(f"{c.sobject}.{c.field}" for c in plan.changes),
        records=len({c.record_id for c in plan.changes}),
    )


def _total(groups: Mapping[str, int]) -> int:
    return sum(groups.values())


def plan_headline(plan: Plan, totals: PlanTotals | None = None) -> str:
    totals = totals or plan_totals(plan)
    changes, records = _total(totals.changes), totals.records
    parts = [
        f"{_total(totals.selected):,} selected",
        f"{_total(totals.skipped):,} skipped",
        f"{plural(changes, 'field change')} on {plural(records, 'record')}",
        f"{plural(len(plan.creates), 'record')} to create",
    ]
    if plan.deletes:
        parts.append(f"{plural(len(plan.deletes), 'record')} to delete")
    parts.append(plural(len(plan.merges), "merge"))
    if plan.conversions:
        parts.append(plural(len(plan.conversions), "lead conversion"))
    if plan.enrollments:
        parts.append(plural(len(plan.enrollments), "sequence enrollment"))
    parts.append(plural(len(plan.alerts), "alert"))
    return f"{plan.play} as of {plan.as_of}: " + ", ".join(parts)


def print_summary(console: Console, plan: Plan) -> None:
    """What the plan amounts to, in counts: readable in ten seconds whatever its size."""
    totals = plan_totals(plan)
    console.print(f"[bold]{escape(plan_headline(plan, totals))}[/]")
    sections: list[tuple[str, Counter[str]]] = [
        (f"Selected ({_total(totals.selected):,}), by stage", Counter(totals.selected)),
        (f"Skipped ({_total(totals.skipped):,}), by reason", Counter(totals.skipped)),
        (f"Field changes ({_total(totals.changes):,}), by field", Counter(totals.changes)),
        (
            f"Records to create ({len(plan.creates):,})",
            Counter(c.sobject for c in plan.creates),
        ),
        (
            f"Records to delete ({len(plan.deletes):,})",
            Counter(d.sobject for d in plan.deletes),
        ),
        (
            f"Merges ({len(plan.merges):,}), records merged away",
            Counter(m.sobject for m in plan.merges for _ in m.merged),
        ),
        (
            f"Lead conversions ({len(plan.conversions):,}), by account",
            Counter(c.account_name for c in plan.conversions),
        ),
        (
            f"Sequence enrollments ({len(plan.enrollments):,}), by sequence",
            Counter(e.sequence for e in plan.enrollments),
        ),
        (
            f"Alerts ({len(plan.alerts):,}), by recipient",
            Counter(f"{r.name} ({r.role})" for a in plan.alerts for r in a.recipients),
        ),
    ]
    for title, groups in sections:
        if groups:
            console.print(title)
            console.print(_counts_table(groups))


def titled(title: str, total: int, limit: int | None) -> str:
    """A table's title and its size, saying when only its first rows are shown."""
    if limit is not None and total > limit:
        return f"{title} (first {limit:,} of {total:,})"
    return f"{title} ({total:,})"


def print_rows(console: Console, rows: list[tuple[str, str]], limit: int | None) -> None:
    """Rows of (label, text): the text wraps under its own column when every row is asked
    for, or is cut at the line's end in a preview (one line a row); labels are never cut."""
    grid = Table.grid(padding=(0, 1))
    width = max((Text.from_markup(label).cell_len for label, _ in rows), default=0)
    grid.add_column(no_wrap=True, min_width=width)
    # The text's room said outright: rich cannot shrink a min_width column, so a cut row
    # would otherwise be cropped at the line's end with no sign it was cut (the … shows it).
    room = max(console.width - width - 1, 1)
    grid.add_column(
        no_wrap=limit is not None, overflow="ellipsis" if limit else "fold", max_width=room
    )
    for label, text in rows:
        grid.add_row(label, text)
    console.print(grid, highlight=False)


def _decisions(console: Console, plan: Plan, limit: int | None, total: int) -> None:
    # Selected first, read lazily: a preview costs its rows, not a sort of every decision.
    decisions = itertools.chain(
        (d for d in plan.decisions if d.outcome == "selected"),
        (d for d in plan.decisions if d.outcome != "selected"),
    )
    console.print(titled("Decisions", total, limit), style="bold")
    rows: list[tuple[str, str]] = []
    for d in _first(decisions, limit):
        mark = "[green]selected[/]" if d.outcome == "selected" else "[yellow]skipped[/] "
        stage = f" [dim]{escape(d.stage)}[/]" if d.stage else ""
        rows.append(
            (f"  {mark}", f"{_record(d.record_name, d.record_id)}{stage}: {escape(d.reason)}")
        )
    print_rows(console, rows, limit)


def named_value(value: Any, name: str | None) -> str:
    """A value as markup, with the record's name before it when it is a named record's Id."""
    text = escape(value_text(value))
    return f"{escape(name)} [dim]{text}[/]" if name else text


def _named(value: Any, names: Mapping[str, str]) -> str:
    return named_value(value, names.get(value) if isinstance(value, str) else None)


def shown_values(plan: Plan, limit: int | None) -> list[Any]:
    """The old and new values of the field changes a summary shows (to name the Ids)."""
    return [value for c in _first(plan.changes, limit) for value in (c.old, c.new)]


def _changes(
    console: Console, plan: Plan, limit: int | None, names: Mapping[str, str], total: int
) -> None:
    """Each record once, then its fields old -> new and why."""
    console.print(titled("Field changes", total, limit), style="bold")
    rows: list[tuple[str, str]] = []
    record = None
    for c in _first(plan.changes, limit):
        if c.record_id != record:
            record = c.record_id
            rows.append((f"  {c.sobject}", _record(c.record_name, c.record_id)))
        rows.append(
            (
                f"    {c.field}",
                f"{_named(c.old, names)} -> {_named(c.new, names)} [dim]({escape(c.reason)})[/]",
            )
        )
    print_rows(console, rows, limit)


def _table(
    console: Console,
    title: str,
    items: Sequence[T],
    limit: int | None,
    row: Callable[[T], tuple[str, str]],
) -> None:
    """One of the plan's tables: its title and size, then a row of each item shown."""
    console.print(titled(title, len(items), limit), style="bold")
    print_rows(console, [row(item) for item in _first(items, limit)], limit)


def _create_row(create: RecordCreate) -> tuple[str, str]:
    fields = ", ".join(f"{name}={value_text(v)}" for name, v in create.fields.items())
    return (
        f"  {create.sobject}",
        f"{escape(create.key)}: {escape(fields)} [dim]({escape(create.reason)})[/]",
    )


def _delete_row(delete: RecordDelete) -> tuple[str, str]:
    return (f"  {delete.sobject}", f"{delete.record_id}: {escape(delete.reason)}")


def _merge_row(merge: Merge) -> tuple[str, str]:
    merged = ", ".join(_record(r.record_name, r.record_id) for r in merge.merged)
    changed = ", ".join(
        f"{name}={value_text(value)}"
        for name, value in merge.master_after.items()
        if value != merge.master_before.get(name)
    )
    filled = f"; master gets {escape(changed)}" if changed else ""
    return (
        f"  {merge.sobject}",
        f"{merged} into {_record(merge.master_name, merge.master_id)}{filled}"
        f" [dim]({escape(merge.reason)})[/]",
    )


def _conversion_row(conversion: LeadConversion) -> tuple[str, str]:
    lead = _record(conversion.lead_name, conversion.lead_id)
    account = _record(conversion.account_name, conversion.account_id)
    return ("  Lead", f"{lead} onto {account} [dim]({escape(conversion.reason)})[/]")


def _enrollment_row(item: Enrollment) -> tuple[str, str]:
    person = _record(item.person.name, item.person.record_id)
    sender = escape(f"{item.sender.name} ({item.sender.email or 'no email'})")
    return (f"  {escape(item.sequence)}", f"{person} from {sender} [dim]({escape(item.reason)})[/]")


def _alert_row(names: Mapping[str, str], alert: Alert) -> tuple[str, str]:
    to = ", ".join(f"{r.name} ({r.role})" for r in alert.recipients) or "nobody"
    name = names.get(alert.record_id)
    record = _record(name, alert.record_id) if name else alert.record_id
    return (f"  {escape(to)}", f"{record} {escape(alert.stage)}: {escape(alert.reason)}")


def print_tables(console: Console, plan: Plan, limit: int | None, names: Mapping[str, str]) -> None:
    """The first `limit` rows of each of the plan's tables (None: every row); `names`
    puts a record's name beside its Id in lookup fields' old and new values."""
    totals = plan_totals(plan)
    decisions = _total(totals.selected) + _total(totals.skipped)
    changes = _total(totals.changes)
    if plan.decisions:
        _decisions(console, plan, limit, decisions)
    if plan.changes:
        _changes(console, plan, limit, names, changes)
    for title, items, row in [
        ("Records to create", plan.creates, _create_row),
        ("Records to delete", plan.deletes, _delete_row),
        ("Merges (cannot be undone)", plan.merges, _merge_row),
        ("Lead conversions (cannot be undone)", plan.conversions, _conversion_row),
        ("Sequence enrollments", plan.enrollments, _enrollment_row),
    ]:
        if items:
            _table(console, title, items, limit, row)
    if plan.alerts:
        names = {d.record_id: d.record_name for d in plan.decisions}
        _table(console, "Alerts", plan.alerts, limit, functools.partial(_alert_row, names))
    tables = (
        plan.creates,
        plan.deletes,
        plan.merges,
        plan.conversions,
        plan.enrollments,
        plan.alerts,
    )
    sizes = (decisions, changes, *(len(rows) for rows in tables))
    if limit is not None and any(size > limit for size in sizes):
        console.print(
            "[dim]--all prints every row; revsched show RUN --format csv|json exports them all[/]"
        )


def _record(name: str, record_id: str) -> str:
    return f"{escape(name)} [dim]{record_id}[/]"


def _print_head(console: Console, plan: Plan) -> None:
    print_summary(console, plan)
    if plan.confirmation:
        console.print(f"[bold yellow]Applying needs --confirm:[/] {escape(plan.confirmation)}")


def print_plan(
    console: Console,
    plan: Plan,
    limit: int | None = DEFAULT_LIMIT,
    names: Mapping[str, str] | None = None,
) -> None:
    """Summary, then the first rows; `limit=None` prints every row."""
    _print_head(console, plan)
    print_tables(console, plan, limit, names or {})
    if plan.is_empty:
        console.print("Nothing to do.")


def _lines(width: int, draw: Callable[[Console], None]) -> int:
    """How many lines `draw` prints at `width` columns."""
    out = io.StringIO()
    draw(Console(file=out, width=width, force_terminal=False, color_system=None))
    return out.getvalue().count("\n")


def fitted_limit(plan: Plan, names: Mapping[str, str], width: int, lines: int) -> int:
    """The most rows per table, from DEFAULT_LIMIT down to MIN_ROWS, with which the plan's
    summary and first rows take at most `lines` lines at `width` columns: a plan with many
    tables shows fewer rows of each rather than scrolling its summary away."""
    head = _lines(width, lambda console: _print_head(console, plan))
    for rows in range(DEFAULT_LIMIT, MIN_ROWS, -1):
        draw = functools.partial(print_tables, plan=plan, limit=rows, names=names)
        tables = _lines(width, draw)
        if head + tables <= lines:
            return rows
    return MIN_ROWS


def print_alerts(console: Console, result: RunResult) -> None:
    """A dry run's alerts in full, as they would read."""
    for alert in result.alerts:
        to = ", ".join(f"{r.name} ({r.role})" for r in alert.recipients)
        console.rule(f"would alert {escape(to)}", align="left")
        console.print(alert.text, markup=False, highlight=False, soft_wrap=True)
    if result.alerts:
        console.rule(style="dim")


def _listed(
    console: Console,
    items: Sequence[tuple[str, str]],
    label: str,
    limit: int | None,
    describe: Callable[[str], str],
) -> None:
    for record_id, why in _first(items, limit):
        line = f"{label} {escape(describe(record_id))}: {escape(why)}"
        console.print(line, highlight=False, soft_wrap=True)
    if limit is not None and len(items) > limit:
        console.print(f"[dim]... and {len(items) - limit:,} more; `revsched show` lists them[/]")


def print_result(
    console: Console,
    result: RunResult,
    limit: int | None = DEFAULT_LIMIT,
    quiet: bool = False,
    alerts_printed: bool = False,
    names: Mapping[str, str] | None = None,
) -> None:
    """How a run ended: what was written, what failed and why, what was left alone;
    `quiet` leaves out what was left alone. `alerts_printed`: the alerts went to the
    terminal (no channel is configured), so the line says they were printed, not sent.
    `names`: of the records listed, besides those the plan's rows name (a streamed plan
    holds none)."""
    listed = result.failures.keys() | result.stale.keys()
    names = {
        item.record_id: item.record_name
        for items in (result.plan.decisions, result.plan.changes)
        for item in items
        if item.record_id in listed
    } | dict(names or {})

    def describe(record_id: str) -> str:
        name = names.get(record_id)
        return f"{name} ({record_id})" if name else record_id

    for run_id in result.interrupted:
        console.print(
            f"[yellow]Run {run_id} of {escape(result.plan.play)} did not finish[/] "
            "(killed or crashed); this run picked up where it stopped.",
            highlight=False,
        )
    settled = result.settled
    if settled.reconciled or settled.alerts_sent or settled.enrollments:
        failed = settled.enrollments_failed
        again = f" ({failed} failed again)" if failed else ""
        asked = (
            f", {settled.enrollments} unanswered enrollments asked again{again}"
            if settled.enrollments
            else ""
        )
        console.print(
            f"Finished for earlier runs: {settled.reconciled} writes found in the org"
            f" and marked applied{asked}, {settled.alerts_sent} owed alerts sent.",
            highlight=False,
        )
    if not quiet:
        _listed(console, list(result.stale.items()), "[yellow]left alone[/]", limit, describe)
    _listed(console, list(result.failures.items()), "[red]failed[/]", limit, describe)
    # One line however narrow the terminal or cron's 80 columns: it is what grep finds.
    console.print(result_line(result, alerts_printed), highlight=False, soft_wrap=True)


def result_line(result: RunResult, alerts_printed: bool = False) -> str:
    """One line for cron mail and the journal: the run, its status and what it did."""
    if result.dry_run:
        confirmation = result.plan.confirmation
        needs = f"; applying needs --confirm: {confirmation}" if confirmation else ""
        return f"Dry run {result.run_id}: nothing was written or sent{needs}."
    counts = result.counts
    alerts = plural(counts.get("alerts_sent", 0), "alert")
    alerts = (
        f"{alerts} printed above (no alert channel is configured)"
        if alerts_printed and counts.get("alerts_sent")
        else f"{alerts} sent"
    )
    parts = [
        f"{plural(counts.get('applied', 0), 'field change')} written",
        f"{plural(counts.get('created', 0), 'record')} created",
        f"{plural(counts.get('merged', 0), 'record')} merged",
    ]
    if result.plan.conversions:
        parts.append(f"{plural(counts.get('converted', 0), 'lead')} converted")
    parts += [
        f"{plural(len(result.failures), 'record')} failed",
        f"{len(result.stale):,} left alone as stale",
    ]
    if result.plan.enrollments:
        parts.append(
            f"{counts.get('enrolled', 0):,} enrolled in sequences"
            f" ({counts.get('already_enrolled', 0):,} already,"
            f" {counts.get('enrollments_failed', 0):,} failed)"
        )
    parts.append(alerts)
    return f"Run {result.run_id} of {result.plan.play} {result.status}: {', '.join(parts)}."
