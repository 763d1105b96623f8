"""Plans applied later, and runs undone.

A reviewed plan (`run --dry-run --out plan.json`) is applied only where the org
still holds the values it was made from; a revert writes back the old values
only where the org still holds what the run wrote. Either way, records whose
values moved since are left alone and reported, never overwritten blindly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from revsched.config import describe_validation_error, read_user_file
from revsched.errors import ConfigError
from revsched.org import OrgGateway, same_value
from revsched.plan import Decision, FieldChange, Plan, RecordDelete
from revsched.private import write_private
from revsched.state import Run
from revsched.state.models import ChangeRow

PLAN_FORMAT = 1


class PlanFile(BaseModel):
    """A plan saved for review (`run --dry-run --out FILE`): read and written by pydantic
    straight between the plan and JSON, with no tree of dicts beside a large plan (a 300k
    change plan's took 550 MB and 6 s to write)."""

    format: Literal[1] = PLAN_FORMAT
    plan: Plan


def save_plan(plan: Plan, path: Path) -> None:
    write_private(path, PlanFile(plan=plan).model_dump_json(indent=2), "\n")


def load_plan(path: Path) -> Plan:
    text = read_user_file(path, "plan file")
    try:
        return PlanFile.model_validate_json(text).plan
    except ValidationError:
        pass  # read again below, to say what is wrong in one line
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error})") from None
    if (
        not isinstance(document, dict)
        or document.get("format") != PLAN_FORMAT
        or not isinstance(document.get("plan"), dict)
    ):
        raise ConfigError(
            f"{path}: not a revsched plan (expected format {PLAN_FORMAT}); "
            "write one with `revsched run PLAY --dry-run --out FILE`"
        )
    try:
        return Plan.model_validate(document["plan"])
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, "plan", path)) from None


def _current_values(org: OrgGateway, changes: Iterable[FieldChange]) -> dict[tuple[str, str], Any]:
    """The org's value now of every (record, field) the changes touch; absent if deleted."""
    fields: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, set[str]] = defaultdict(set)
    for change in changes:
        fields[change.sobject].add(change.field)
        ids[change.sobject].add(change.record_id)
    values: dict[tuple[str, str], Any] = {}
    for sobject, record_ids in ids.items():
        for record in org.fetch(sobject, sorted(record_ids), sorted(fields[sobject])):
            for name in fields[sobject]:
                values[record["Id"], name] = record[name]
    return values


def moved_records(
    plan: Plan, org: OrgGateway, expected: Sequence[FieldChange] | None = None
) -> dict[str, str]:
    """Records with a field that no longer holds the plan's old value, with why.

    `expected`: the values to check (default: the old values of the plan's changes).
    """
    expected = plan.changes if expected is None else expected
    current = _current_values(org, expected)
    moved: dict[str, str] = {}
    for change in expected:
        key = (change.record_id, change.field)
        if key not in current:
            moved.setdefault(change.record_id, "the record no longer exists")
        elif not same_value(current[key], change.old):
            moved.setdefault(
                change.record_id,
                f"{change.field} is now {current[key]!r}, the plan expected {change.old!r}",
            )
    return moved


def _merge_expectations(plan: Plan) -> list[FieldChange]:
    """Every value a merge was planned on (the master's and each merged record's), as
    changes that keep it, so a record edited since the plan is not merged blindly."""
    return [
        FieldChange(
            sobject=merge.sobject,
            record_id=record_id,
            record_name=name,
            field=field,
            old=value,
            new=value,
            reason=merge.reason,
        )
        for merge in plan.merges
        for record_id, name, values in (
            (merge.master_id, merge.master_name, merge.master_before),
            *((r.record_id, r.record_name, r.fields) for r in merge.merged),
        )
        for field, value in values.items()
        if field != "Id"
    ]


def stale_records(plan: Plan, org: OrgGateway, fired: frozenset[tuple[str, str]]) -> dict[str, str]:
    """Records of a saved plan that must not be applied now (changed, merged or deleted
    since), with why."""
    stale = moved_records(plan, org, [*plan.changes, *_merge_expectations(plan)])
    for firing in plan.firings:
        if (firing.record_id, firing.stage) in fired:
            stale.setdefault(firing.record_id, f"{firing.stage} already fired since the plan")
    return stale


def audited_change(row: ChangeRow) -> FieldChange:
    """A field change as the run's audit holds it."""
    return FieldChange(
        sobject=row.sobject,
        record_id=row.record_id,
        record_name=row.record_name,
        field=row.field,
        old=json.loads(row.old),
        new=json.loads(row.new),
        reason=row.reason,
    )


def revert_plan(run: Run) -> Plan:
    """The plan that writes back the old values of every field the run changed, and
    deletes the records it created (not those its upserts found already there).

    Its old values are what the run wrote, so `moved_records` finds the records
    edited again since, whose revert would lose someone's work.
    """
    changes = tuple(
        replace(change, old=change.new, new=change.old, reason=f"revert of run {run.id}")
        for change in (audited_change(row) for row in run.changes if row.status == "applied")
    )
    deletes = tuple(
        RecordDelete(
            sobject=row.sobject, record_id=row.record_id, reason=f"created by run {run.id}"
        )
        for row in run.creates
        if row.status == "created" and row.record_id
    )
    records = {(c.sobject, c.record_id): c.record_name for c in changes}
    decisions = tuple(
        Decision.of(sobject, {"Id": rid, "Name": name}, "selected", f"changed by run {run.id}")
        for (sobject, rid), name in records.items()
    )
    return Plan(
        play=run.play, as_of=run.as_of, decisions=decisions, changes=changes, deletes=deletes
    )
