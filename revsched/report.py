"""How runs and history read as JSON and CSV: every row, for files and other programs
(the terminal's view, which shows the first rows, is `report_text.py`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from revsched.summary import value_text

if TYPE_CHECKING:  # `revsched plays` prints its table without loading the runner
    from revsched.runner import RunResult
    from revsched.state import Run


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
                "old_name": c.old_name,
                "new": json.loads(c.new),
                "new_name": c.new_name,
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
        "creates": [
            {
                "sobject": c.sobject,
                "key": c.key,
                "fields": json.loads(c.fields),
                "record_id": c.record_id,
                "parent_id": c.parent_id,
                "reason": c.reason,
                "status": c.status,
                "error": c.error,
            }
            for c in run.creates
        ],
        "deletes": [
            {
                "sobject": d.sobject,
                "record_id": d.record_id,
                "reason": d.reason,
                "status": d.status,
                "error": d.error,
            }
            for d in run.deletes
        ],
        "conversions": [
            {
                "lead_id": c.lead_id,
                "lead_name": c.lead_name,
                "account_id": c.account_id,
                "account_name": c.account_name,
                "owner_id": c.owner_id,
                "converted_status": c.converted_status,
                "contact_id": c.contact_id,
                "reason": c.reason,
                "status": c.status,
                "error": c.error,
            }
            for c in run.conversions
        ],
        "enrollments": [
            {
                "sobject": e.sobject,
                "record_id": e.record_id,
                "record_name": e.record_name,
                "email": e.email,
                "sequence": e.sequence,
                "sender": json.loads(e.sender),
                "reason": e.reason,
                "status": e.status,
                "channel": e.channel,
                "detail": e.detail,
                "reference": e.reference,
            }
            for e in run.enrollments
        ],
        "alerts": [
            {
                "record_id": a.record_id,
                "record_name": a.record_name,
                "stage": a.stage,
                "recipients": json.loads(a.recipients),
                "status": a.status,
                "error": a.error,
                "text": a.text,
            }
            for a in run.alerts
        ],
    }


CSV_COLUMNS = (
    "kind",
    "sobject",
    "record_id",
    "record_name",
    "field",
    "old",
    "old_name",
    "new",
    "new_name",
    "status",
    "error",
    "reason",
)


def _csv_value(value: Any) -> str:
    """A field value in a CSV cell: nothing is an empty cell, not the text's "(empty)"."""
    return "" if value is None else value_text(value)


def show_csv(run: Run) -> str:
    """Every row a run audited (changes, creates, deletes, merges, conversions, enrollments,
    alerts) as one CSV table."""
    rows: list[dict[str, Any]] = []
    for c in run.changes:
        old, new = json.loads(c.old), json.loads(c.new)
        rows.append(
            {
                "kind": "change",
                "sobject": c.sobject,
                "record_id": c.record_id,
                "record_name": c.record_name,
                "field": c.field,
                "old": _csv_value(old),
                "old_name": c.old_name,
                "new": _csv_value(new),
                "new_name": c.new_name,
                "status": c.status,
                "error": c.error,
                "reason": c.reason,
            }
        )
    for create in run.creates:
        rows.append(
            {
                "kind": "create",
                "sobject": create.sobject,
                "record_id": create.record_id,
                "field": "key",
                "new": create.key,
                "status": create.status,
                "error": create.error,
            }
        )
    for d in run.deletes:
        rows.append(
            {
                "kind": "delete",
                "sobject": d.sobject,
                "record_id": d.record_id,
                "status": d.status,
                "error": d.error,
            }
        )
    for m in run.merges:
        rows.append(
            {
                "kind": "merge",
                "sobject": m.sobject,
                "record_id": m.merged_id,
                "record_name": m.merged_name,
                "field": "master",
                "new": m.master_id,
                "status": m.status,
                "error": m.error,
                "reason": m.reason,
            }
        )
    for conversion in run.conversions:
        rows.append(
            {
                "kind": "conversion",
                "sobject": "Lead",
                "record_id": conversion.lead_id,
                "record_name": conversion.lead_name,
                "field": "AccountId",
                "new": conversion.account_id,
                "new_name": conversion.account_name,
                "status": conversion.status,
                "error": conversion.error,
                "reason": conversion.reason,
            }
        )
    for e in run.enrollments:
        rows.append(
            {
                "kind": "enrollment",
                "sobject": e.sobject,
                "record_id": e.record_id,
                "record_name": e.record_name,
                "field": "sequence",
                "new": e.sequence,
                "status": e.status,
                "error": e.detail,
                "reason": e.reason,
            }
        )
    for a in run.alerts:
        to = ", ".join(r["name"] for r in json.loads(a.recipients))
        rows.append(
            {
                "kind": "alert",
                "record_id": a.record_id,
                "record_name": a.record_name,
                "field": a.stage,
                "new": to,
                "status": a.status,
                "error": a.error,
                "reason": a.text,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
