"""How plans, runs and history read in a terminal and as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence, Sized
from typing import Any

from rich.console import Console
from rich.table import Table

from revsched.plan import Plan
from revsched.runner import RunResult
from revsched.state import Run


def _value(value: Any) -> str:
    return (
        "(empty)" if value is None else json.dumps(value) if not isinstance(value, str) else value
    )


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}" if len(items) == 1 else f"{len(items)} {noun}s"


def print_plan(console: Console, plan: Plan) -> None:
    console.print(
        f"[bold]{plan.play}[/] as of {plan.as_of}: {len(plan.selected)} selected, "
        f"{len(plan.skipped)} skipped, {_count(plan.changes, 'field change')}, "
        f"{_count(plan.creates, 'record')} to create, {_count(plan.merges, 'merge')}, "
        + (f"{_count(plan.conversions, 'lead conversion')}, " if plan.conversions else "")
        + f"{_count(plan.alerts, 'alert')}"
    )
    if plan.confirmation:
        console.print(f"[bold yellow]Applying needs --confirm:[/] {plan.confirmation}")
    if plan.decisions:
        table = Table("", "record", "stage", "why", title="Decisions", title_justify="left")
        for d in sorted(plan.decisions, key=lambda d: (d.outcome != "selected", d.record_name)):
            mark = "[green]selected[/]" if d.outcome == "selected" else "[yellow]skipped[/]"
            table.add_row(mark, f"{d.record_name} ({d.record_id})", d.stage or "", d.reason)
        console.print(table)
    if plan.changes:
        table = Table(
            "record", "field", "old", "new", "why", title="Field changes", title_justify="left"
        )
        for c in plan.changes:
            table.add_row(
                f"{c.sobject} {c.record_name} ({c.record_id})",
                c.field,
                _value(c.old),
                _value(c.new),
                c.reason,
            )
        console.print(table)
    if plan.creates:
        table = Table(
            "object", "key", "fields", "why", title="Records to create", title_justify="left"
        )
        for create in plan.creates:
            fields = ", ".join(f"{name}={_value(v)}" for name, v in create.fields.items())
            table.add_row(create.sobject, create.key, fields, create.reason)
        console.print(table)
    if plan.deletes:
        table = Table("object", "record", "why", title="Records to delete", title_justify="left")
        for delete in plan.deletes:
            table.add_row(delete.sobject, delete.record_id, delete.reason)
        console.print(table)
    if plan.merges:
        table = Table(
            "master",
            "merges (deleted)",
            "master after (* changed)",
            "why",
            title="Merges (cannot be undone)",
            title_justify="left",
        )
        for merge in plan.merges:
            after = ", ".join(
                f"{'*' if value != merge.master_before.get(name) else ''}{name}={_value(value)}"
                for name, value in merge.master_after.items()
                if value is not None
            )
            table.add_row(
                f"{merge.sobject} {merge.master_name} ({merge.master_id})",
                "\n".join(f"{r.record_name} ({r.record_id})" for r in merge.merged),
                after,
                merge.reason,
            )
        console.print(table)
    if plan.conversions:
        table = Table(
            "lead",
            "onto account",
            "contact owner",
            "why",
            title="Lead conversions (cannot be undone)",
            title_justify="left",
        )
        for conversion in plan.conversions:
            table.add_row(
                f"{conversion.lead_name} ({conversion.lead_id})",
                f"{conversion.account_name} ({conversion.account_id})",
                conversion.owner_id,
                conversion.reason,
            )
        console.print(table)
    if plan.is_empty:
        console.print("Nothing to do.")


def print_run(console: Console, result: RunResult) -> None:
    if result.dry_run:
        for alert in result.alerts:
            to = ", ".join(f"{r.name} ({r.role})" for r in alert.recipients)
            console.rule(f"would alert {to}", align="left")
            console.print(alert.text, markup=False, highlight=False)
        console.print(f"Dry run {result.run_id}: nothing was written or sent.")
        return
    for run_id in result.interrupted:
        console.print(
            f"[yellow]Run {run_id} of {result.plan.play} did not finish[/] (killed or crashed); "
            "this run picked up where it stopped.",
            highlight=False,
        )
    if result.settled.reconciled or result.settled.alerts_sent:
        console.print(
            f"Finished for earlier runs: {result.settled.reconciled} writes found in the org"
            f" and marked applied, {result.settled.alerts_sent} owed alerts sent.",
            highlight=False,
        )
    for record_id, reason in result.stale.items():
        console.print(f"[yellow]left alone[/] {record_id}: {reason}", highlight=False)
    for record_id, error in result.failures.items():
        console.print(f"[red]failed[/] {record_id}: {error}", highlight=False)
    console.print(
        f"Run {result.run_id} {result.status}: {result.counts.get('applied', 0)} field changes "
        f"applied, {len(result.failures)} records failed, {len(result.stale)} left alone, "
        f"{result.counts.get('alerts_sent', 0)} alerts sent."
    )


def run_json(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "dry_run": result.dry_run,
        "status": result.status,
        "counts": result.counts,
        "failures": result.failures,
        "stale": dict(result.stale),
        "interrupted": list(result.interrupted),
        "plan": result.plan.model_dump(mode="json"),
        "alerts": [
            {
                "record_id": a.alert.record_id,
                "stage": a.alert.stage,
                "recipients": [r.model_dump() for r in a.recipients],
                "text": a.text,
            }
            for a in result.alerts
        ],
    }


def _mode(run: Run) -> str:
    if run.dry_run:
        return "dry run"
    return f"revert of {run.reverts_run_id}" if run.reverts_run_id else "apply"


def _run_summary(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "play": run.play,
        "dry_run": run.dry_run,
        "reverts_run_id": run.reverts_run_id,
        "as_of": run.as_of.isoformat(),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "counts": run.counts,
        "error": run.error,
    }


def history_json(runs: Sequence[Run]) -> list[dict[str, Any]]:
    return [_run_summary(run) for run in runs]


def print_history(console: Console, runs: Sequence[Run]) -> None:
    if not runs:
        console.print("No runs yet.")
        return
    table = Table(
        "run", "play", "as of", "started (UTC)", "mode", "status", "selected", "changes", "alerts"
    )
    for run in runs:
        table.add_row(
            str(run.id),
            run.play,
            run.as_of.isoformat(),
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            _mode(run),
            run.status,
            str(run.counts.get("selected", "")),
            str(run.counts.get("changes", "")),
            str(run.counts.get("alerts", "")),
        )
    console.print(table)


def show_json(run: Run) -> dict[str, Any]:
    return {
        **_run_summary(run),
        "changes": [
            {
                "sobject": c.sobject,
                "record_id": c.record_id,
                "record_name": c.record_name,
                "field": c.field,
                "old": json.loads(c.old),
                "new": json.loads(c.new),
                "reason": c.reason,
                "status": c.status,
                "error": c.error,
            }
            for c in run.changes
        ],
        "merges": [
            {
                "sobject": m.sobject,
                "master_id": m.master_id,
                "master_name": m.master_name,
                "merged_id": m.merged_id,
                "merged_name": m.merged_name,
                "merged_fields": json.loads(m.merged_fields),
                "master_before": json.loads(m.master_before),
                "master_after": json.loads(m.master_after),
                "reason": m.reason,
                "status": m.status,
                "error": m.error,
            }
            for m in run.merges
        ],
        "alerts": [
            {
                "record_id": a.record_id,
                "stage": a.stage,
                "recipients": json.loads(a.recipients),
                "status": a.status,
                "error": a.error,
                "text": a.text,
            }
            for a in run.alerts
        ],
    }


def print_show(console: Console, run: Run) -> None:
    mode = _mode(run)
    console.print(
        f"[bold]Run {run.id}[/]: {run.play} as of {run.as_of} ({mode}), {run.status}, "
        f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    if run.error:
        console.print(f"[red]error:[/] {run.error}", highlight=False)
    if run.changes:
        table = Table(
            "record", "field", "old", "new", "status", title="Changes", title_justify="left"
        )
        for c in run.changes:
            status = c.status if not c.error else f"{c.status}: {c.error}"
            table.add_row(
                f"{c.sobject} {c.record_name} ({c.record_id})",
                c.field,
                _value(json.loads(c.old)),
                _value(json.loads(c.new)),
                status,
            )
        console.print(table)
    else:
        console.print("No field changes.")
    for c in run.creates:
        outcome = c.status if not c.error else f"{c.status}: {c.error}"
        console.print(f"{c.sobject} {c.key} -> {c.record_id or '-'}: {outcome}", highlight=False)
    for d in run.deletes:
        outcome = d.status if not d.error else f"{d.status}: {d.error}"
        console.print(f"delete {d.sobject} {d.record_id}: {outcome}", highlight=False)
    for m in run.merges:
        outcome = m.status if not m.error else f"{m.status}: {m.error}"
        console.print(
            f"merge {m.sobject} {m.merged_name} ({m.merged_id}) into {m.master_name}"
            f" ({m.master_id}): {outcome}; its values were {m.merged_fields}",
            highlight=False,
            markup=False,
        )
    for alert in run.alerts:
        to = ", ".join(f"{r['name']} ({r['role']})" for r in json.loads(alert.recipients))
        status = alert.status if not alert.error else f"{alert.status}: {alert.error}"
        console.rule(f"alert to {to}: {status}", align="left")
        console.print(alert.text, markup=False, highlight=False)


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
