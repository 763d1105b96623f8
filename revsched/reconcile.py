"""Reading back the writes a killed run never recorded, so the audit matches the org.

A run killed during a write call (or stopped by an error after Salesforce had
committed it) leaves its changes `planned`. Before the next run of the play,
each is read back: a field that holds the planned value was written (the audit
row becomes applied, marked reconciled, so `revert` and `history` are true), a
record to create that exists under its key was created, a record merged away shows
its master (queryAll). A lead to convert is read
first: one the org shows converted is recorded with its contact, so what the run
planned for the lead is audited (and owed) against the contact, as the run would have.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from simple_salesforce import format_soql

from revsched.org import OrgGateway, same_value
from revsched.org_calls import COLLECTION_LIMIT
from revsched.state import PlannedWrite, StateStore

NOT_CONVERTED = "not converted: the run stopped before this conversion reached the org"


def reconcile_writes(play: str, store: StateStore, org: OrgGateway) -> int:
    """Settle the play's unrecorded writes against the org; returns how many were written."""
    converted = _conversions_found(play, store, org) + _merges_found(play, store, org)
    changes, creates = store.unsettled_writes(play)
    if not changes and not creates:
        return converted
    written = _changes_written(changes, org)
    created = _creates_found(creates, org)
    store.reconcile(written, created)
    return converted + sum(written.values()) + sum(1 for rid in created.values() if rid)


def _merges_found(play: str, store: StateStore, org: OrgGateway) -> int:
    """Record the unrecorded merges as the org shows them: a record merged away is deleted
    with its master as MasterRecordId (read with queryAll); returns how many were made."""
    planned = store.unsettled_merges(play)
    if not planned:
        return 0
    held: dict[str, dict[str, Any]] = {}
    for sobject in {m.sobject for m in planned}:
        ids = list(dict.fromkeys(m.merged_id for m in planned if m.sobject == sobject))
        for start in range(0, len(ids), COLLECTION_LIMIT):
            soql = format_soql(
                f"SELECT Id, IsDeleted, MasterRecordId FROM {sobject} WHERE Id IN {{}}",
                ids[start : start + COLLECTION_LIMIT],
            )
            rows = org.call(
                "read merged records back",
                lambda sf, soql=soql: sf.query_all(soql, include_deleted=True),
            )["records"]
            held |= {row["Id"]: row for row in rows}
    merged = {
        m.row_id: bool(held.get(m.merged_id, {}).get("IsDeleted"))
        and held[m.merged_id].get("MasterRecordId") == m.master_id
        for m in planned
    }
    store.reconcile({}, {}, merged)
    return sum(merged.values())


def _conversions_found(play: str, store: StateStore, org: OrgGateway) -> int:
    """Record the unrecorded conversions as the org shows them; returns how many were made."""
    planned = store.unsettled_conversions(play)
    if not planned:
        return 0
    ids = list(dict.fromkeys(lead for leads in planned.values() for lead in leads))
    held = {r["Id"]: r for r in org.fetch("Lead", ids, ["IsConverted", "ConvertedContactId"])}
    converted = 0
    for run_id, leads in planned.items():
        outcomes: dict[str, tuple[str | None, str | None]] = {}
        for lead_id in leads:
            contact_id = (held.get(lead_id) or {}).get("ConvertedContactId")
            if contact_id:
                outcomes[lead_id] = (contact_id, None)
                converted += 1
            else:
                outcomes[lead_id] = (None, NOT_CONVERTED)
        store.record_conversions(run_id, outcomes, {})
    return converted


def _changes_written(changes: list[PlannedWrite], org: OrgGateway) -> dict[int, bool]:
    by_object: dict[str, list[PlannedWrite]] = defaultdict(list)
    for change in changes:
        by_object[change.sobject].append(change)
    written: dict[int, bool] = {}
    for sobject, planned in by_object.items():
        ids = list(dict.fromkeys(c.record for c in planned))
        fields = sorted({c.field for c in planned})
        held = {r["Id"]: r for r in org.fetch(sobject, ids, fields)}
        for change in planned:
            record = held.get(change.record)
            new = json.loads(change.new or "null")
            written[change.row_id] = record is not None and same_value(
                record.get(change.field), new
            )
    return written


def _creates_found(creates: list[PlannedWrite], org: OrgGateway) -> dict[int, str | None]:
    by_object: dict[str, list[PlannedWrite]] = defaultdict(list)
    for create in creates:
        by_object[create.sobject].append(create)
    found: dict[int, str | None] = {}
    key_field = org.key_field
    for sobject, planned in by_object.items():
        keys = list(dict.fromkeys(c.record for c in planned))
        ids: dict[str, str] = {}
        for start in range(0, len(keys), COLLECTION_LIMIT):
            soql = format_soql(
                f"SELECT Id, {key_field} FROM {sobject} WHERE {key_field} IN {{}}",
                keys[start : start + COLLECTION_LIMIT],
            )
            ids |= {r[key_field]: r["Id"] for r in org.query(soql)}
        found |= {c.row_id: ids.get(c.record) for c in planned}
    return found
