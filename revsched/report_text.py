"""How runs, history and message previews read in a terminal: tables fitted to its width,
the first rows of each (JSON and CSV, every row, are `report.py`; the plays,
`plays_text.py`)."""

from __future__ import annotations

import io
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from revsched.row_limits import SHOW_LIMIT
from revsched.summary import named_value, print_rows, titled, value_text

if TYPE_CHECKING:
    from revsched.state import Run


def _mode(run: Run) -> str:
    if run.dry_run:
        return "dry run"
    return f"revert of {run.reverts_run_id}" if run.reverts_run_id else "apply"


def _status(run: Run) -> str:
    return f"{_mode(run)}: {run.status}" if run.reverts_run_id else run.status


def _applied(run: Run, key: str) -> str:
    """A count of what the run did (not what it planned); blank for a dry run."""
    return "" if run.dry_run else f"{run.counts.get(key, 0):,}"


def print_history(console: Console, runs: Sequence[Run]) -> None:
    """One row a run: what it selected, and what it wrote, failed and sent. A terminal
    too narrow for every column (80 columns, a long play name, six-figure counts) goes
    without the start time rather than crop the counts at its edge."""
    if not runs:
        console.print("No runs yet.")
        return
    table = _history_table(runs, started=True)
    if not _fits(table, console.width):
        table = _history_table(runs, started=False)
    console.print(table)


def _fits(table: Table, width: int) -> bool:
    """Whether the table's lines fit `width` columns: rich crops a line it cannot narrow."""
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table, crop=False)
    return all(Text(line).cell_len <= width for line in out.getvalue().splitlines())


def _history_table(runs: Sequence[Run], started: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=0)
    table.add_column("run", justify="right", no_wrap=True)
    table.add_column("play", no_wrap=True)
    table.add_column("as of", no_wrap=True)
    if started:
        table.add_column("started", no_wrap=True)
    table.add_column("status", no_wrap=True)
    counts = [
        (
            f"{run.counts.get('selected', 0):,}",
            _applied(run, "applied"),
            _applied(run, "failed_records"),
            _applied(run, "alerts_sent"),
        )
        for run in runs
    ]
    for n, name in enumerate(("selected", "written", "failed", "alerts sent")):
        # A header may wrap ("alerts / sent") or be cut ("sele…"), numbers never.
        widest = max(len(row[n]) for row in counts)
        table.add_column(name, justify="right", min_width=widest)
    for run, row in zip(runs, counts, strict=True):
        when = [run.started_at.strftime("%m-%d %H:%MZ")] if started else []
        table.add_row(str(run.id), run.play, run.as_of.isoformat(), *when, _status(run), *row)
    return table


def _more(console: Console, total: int, limit: int | None, what: str) -> None:
    if limit is not None and total > limit:
        console.print(f"[dim]... and {total - limit:,} more {what}[/]", highlight=False)


def print_show(console: Console, run: Run, limit: int | None = SHOW_LIMIT) -> None:
    """The run's audit for people: the first `limit` rows of each table (None: all), every
    row being in `--format csv|json`; printing costs the rows shown, not the run's size."""
    mode = _mode(run)
    console.print(
        f"[bold]Run {run.id}[/]: {run.play} as of {run.as_of} ({mode}), {run.status}, "
        f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    if run.error:
        console.print(f"[red]error:[/] {run.error}", highlight=False)
    if run.changes:
        statuses = Counter(c.status for c in run.changes)
        counted = ", ".join(f"{count:,} {status}" for status, count in statuses.most_common())
        title = titled("Changes", len(run.changes), limit)
        console.print(f"[bold]{title}[/]: {counted}", highlight=False)
        rows: list[tuple[str, str]] = []
        record = None
        for c in itertools.islice(run.changes, limit):
            if c.record_id != record:
                record = c.record_id
                rows.append((f"  {c.sobject}", f"{escape(c.record_name)} [dim]{c.record_id}[/]"))
            status = c.status if not c.error else f"{c.status}: {c.error}"
            old = named_value(json.loads(c.old), c.old_name)
            new = named_value(json.loads(c.new), c.new_name)
            rows.append((f"    {c.field}", f"{old} -> {new}: {escape(status)}"))
        print_rows(console, rows, None)
    else:
        console.print("No field changes.")
    for c in itertools.islice(run.creates, limit):
        outcome = c.status if not c.error else f"{c.status}: {c.error}"
        console.print(f"{c.sobject} {c.key} -> {c.record_id or '-'}: {outcome}", highlight=False)
    _more(console, len(run.creates), limit, "records created")
    for d in itertools.islice(run.deletes, limit):
        outcome = d.status if not d.error else f"{d.status}: {d.error}"
        console.print(f"delete {d.sobject} {d.record_id}: {outcome}", highlight=False)
    _more(console, len(run.deletes), limit, "records deleted")
    if run.merges:
        print_merges(console, run, limit)
    if run.conversions:
        print_conversions(console, run, limit)
    for e in itertools.islice(run.enrollments, limit):
        outcome = f"{e.status} ({e.channel}): {e.detail}" if e.channel else e.status
        console.print(
            f"enroll {escape(e.record_name)} {e.record_id} in {escape(e.sequence)}:"
            f" {escape(outcome)}",
            highlight=False,
        )
    _more(console, len(run.enrollments), limit, "enrollments")
    for alert in itertools.islice(run.alerts, limit):
        to = ", ".join(f"{r['name']} ({r['role']})" for r in json.loads(alert.recipients))
        status = alert.status if not alert.error else f"{alert.status}: {alert.error}"
        console.rule(f"alert to {to}: {status}", align="left")
        console.print(alert.text, markup=False, highlight=False, soft_wrap=True)
    _more(console, len(run.alerts), limit, "alerts")
    tables = (
        run.changes,
        run.creates,
        run.deletes,
        run.merges,
        run.conversions,
        run.enrollments,
        run.alerts,
    )
    if limit is not None and any(len(rows) > limit for rows in tables):
        console.print(
            f"[dim]--all prints every row; revsched show {run.id} --format csv|json"
            " exports them all[/]"
        )


def print_previews(console: Console, previews: list[dict[str, Any]]) -> None:
    """`revsched render`: each message's text, then the Block Kit of its Slack messages."""
    if not previews:
        console.print("No alerts to send.")
    for item in previews:
        to = ", ".join(f"{r['name']} ({r['role']})" for r in item["to"]) or "nobody"
        about = ", ".join(f"{a['record_id']} {a['stage']}" for a in item["alerts"])
        console.rule(f"to {to}: {about}", align="left")
        console.print(item["text"], markup=False, highlight=False)
        for number, message in enumerate(item["slack_messages"], 1):
            console.print(f"\nBlock Kit, message {number}:", markup=False)
            # soft_wrap: long JSON lines stay whole, so the output can be copied as JSON.
            console.print(
                json.dumps(message, indent=2), markup=False, highlight=False, soft_wrap=True
            )


# A Salesforce Id's length (18 characters).
ID_WIDTH = 18


def print_merges(console: Console, run: Run, limit: int | None = None) -> None:
    """Each merged record beside its master, with the values it held (a merge cannot be
    undone: this is what is left of the record); the first `limit` (None: all)."""
    table = Table(
        title=titled("Merged records (cannot be undone)", len(run.merges), limit),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    preview = limit is not None
    rows = []
    for m in itertools.islice(run.merges, limit):
        status = m.status if not m.error else f"{m.status}: {m.error}"
        held = json.loads(m.merged_fields)
        values = ("; " if preview else "\n").join(
            f"{name}: {value_text(v)}" for name, v in held.items() if v is not None and name != "Id"
        )
        rows.append((m.merged_name, m.merged_id, m.master_name, m.master_id, status, values))
    # A record's name wraps above its Id, never cut: its column is at least an Id wide.
    merged = max((len(row[0]) for row in rows), default=0)
    master = max((len(row[2]) for row in rows), default=0)
    status_width = max((len(row[4]) for row in rows), default=0)
    table.add_column("merged record", min_width=ID_WIDTH)
    table.add_column("into master", min_width=ID_WIDTH)
    table.add_column("status")
    # A preview holds a row to its records' lines, the values on one line cut with …
    # where the names leave room; every value, one a line, is in --all and in csv/json.
    shown = max(merged, ID_WIDTH) + max(master, ID_WIDTH) + status_width + 14  # + borders
    room = max(console.width - shown, 20) if preview else None
    table.add_column("values it held", no_wrap=preview, overflow="ellipsis", max_width=room)
    for merged_name, merged_id, master_name, master_id, status, values in rows:
        table.add_row(
            f"{escape(merged_name)}\n{merged_id}",
            f"{escape(master_name)}\n{master_id}",
            escape(status),
            escape(values),
        )
    console.print(table, highlight=False)


def print_conversions(console: Console, run: Run, limit: int | None = None) -> None:
    """Each lead converted: onto which account, the contact it became (cannot be undone);
    the first `limit` (None: all)."""
    title = titled("Lead conversions (cannot be undone)", len(run.conversions), limit)
    console.print(title, style="bold")
    rows: list[tuple[str, str]] = []
    for c in itertools.islice(run.conversions, limit):
        status = c.status if not c.error else f"{c.status}: {c.error}"
        contact = f", now contact {c.contact_id}" if c.contact_id else ""
        rows.append(
            (
                "  Lead",
                f"{escape(c.lead_name)} [dim]{c.lead_id}[/] onto {escape(c.account_name)}"
                f" [dim]{c.account_id}[/]{contact}: {escape(status)}",
            )
        )
    print_rows(console, rows, None)
