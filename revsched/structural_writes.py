"""Writes that make or remove records rather than set fields: lead conversions, creates
(upserts on revsched's key) and merges, each with the rules for what waits when a
record it depends on was not written.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Mapping

from revsched import progress
from revsched.alerts import AlertRenderer
from revsched.org import OrgGateway
from revsched.plan import Merge, Plan, RecordCreate
from revsched.salesforce_soap import LeadConvert, MergeRequest, MergeResult
from revsched.state import StateStore
from revsched.write_waves import collection_chunks, pipelined


def write_conversions(
    plan: Plan,
    run_id: int,
    store: StateStore,
    org: OrgGateway,
    skip: Mapping[str, str],
    renderer: AlertRenderer | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Convert the planned leads; returns (lead Id -> contact Id, lead Id -> error).

    The outbox then owes each converted lead's alerts for its contact, rendered with
    `renderer` to name the contact (without one, as they were planned)."""
    todo = [c for c in plan.conversions if c.lead_id not in skip]
    contacts: dict[str, str] = {}
    failures: dict[str, str] = {}
    for wave in collection_chunks(todo):
        requests = [
            LeadConvert(c.lead_id, c.converted_status, account_id=c.account_id, owner_id=c.owner_id)
            for c in wave
        ]
        outcomes: dict[str, tuple[str | None, str | None]] = {}
        converted: dict[str, str] = {}
        for conversion, result in zip(wave, org.convert_leads(requests), strict=True):
            if result.success and result.contact_id:
                converted[conversion.lead_id] = result.contact_id
                outcomes[conversion.lead_id] = (result.contact_id, None)
            else:
                errors = "; ".join(f"{e.status_code}: {e.message}" for e in result.errors)
                failures[conversion.lead_id] = errors or "convertLead failed without an error"
                outcomes[conversion.lead_id] = (None, failures[conversion.lead_id])
        texts = {}
        if renderer is not None and converted:
            readdressed = plan.redirected(converted).alerts
            for before, after in zip(plan.alerts, readdressed, strict=True):
                if before.record_id in converted:
                    texts[(after.record_id, after.stage)] = renderer.render(after).text
        store.record_conversions(run_id, outcomes, texts)
        contacts |= converted
    return contacts, failures


def write_creates(
    plan: Plan, run_id: int, store: StateStore, org: OrgGateway, skip: Mapping[str, str]
) -> dict[str, str]:
    """Upsert every planned record on its key; returns errors by the record each was for.

    A record created for a parent in `skip` (Id -> why its write did not happen) waits
    with it. One whose parent was left alone is audited stale already; one whose parent's
    write failed is audited skipped here, saying why, so its run's alerts do not wait for
    it, and the next run plans it again with its parent (read again by Id)."""
    by_object: dict[str, list[RecordCreate]] = defaultdict(list)
    waiting: dict[str, str] = {}
    for create in plan.creates:
        parent = create.parent_id
        if parent in skip:
            waiting[create.key] = f"not created: the write of {parent} failed ({skip[parent]})"
        else:
            by_object[create.sobject].append(create)
    if waiting:
        store.skip_creates(run_id, waiting)
    failures: dict[str, str] = {}
    for sobject, creates in by_object.items():
        parents = {c.key: c.parent_id or c.key for c in creates}
        calls = (
            functools.partial(
                org.upsert,
                sobject,
                org.key_field,
                [{org.key_field: c.key, **c.fields} for c in chunk],
            )
            for chunk in collection_chunks(creates)
        )
        for batch in pipelined(calls, org.api.max_in_flight):
            outcomes = {key: outcome for call in batch for key, outcome in call.items()}
            store.record_creates(run_id, outcomes)
            for key, (_, _, error) in outcomes.items():
                if error is not None:
                    failures[parents[key]] = error
    return failures


def merged_ids(merge: Merge) -> list[str]:
    return [r.record_id for r in merge.merged]


def _merge_rounds(merges: tuple[Merge, ...]) -> list[list[Merge]]:
    """Each master's merges one after another: round n holds every master's n-th merge."""
    rounds: list[list[Merge]] = []
    seen: Counter[str] = Counter()
    for merge in merges:
        turn = seen[merge.master_id]
        seen[merge.master_id] += 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append(merge)
    return rounds


def write_merges(
    plan: Plan,
    run_id: int,
    store: StateStore,
    org: OrgGateway,
    held_back: Mapping[str, str],
    failed: Mapping[str, str],
) -> dict[str, str]:
    """Merge after the masters' field changes are written, 200 requests a call, in rounds.

    Merges touching a record that was held back (audited as stale) or failed to write,
    and the later merges into a master whose earlier merge failed, wait for the next
    run; returns the errors by the Id of each record not merged.
    """
    failures: dict[str, str] = {}
    failed_masters: dict[str, str] = {}
    for merges in _merge_rounds(plan.merges):
        by_object: dict[str, list[Merge]] = defaultdict(list)
        outcomes: dict[str, str | None] = {}
        for merge in merges:
            ids = (merge.master_id, *merged_ids(merge))
            if any(i in held_back for i in ids):
                continue
            blocker = next((failed[i] for i in ids if i in failed), None)
            blocker = blocker or failed_masters.get(merge.master_id)
            if blocker is not None:
                outcomes |= dict.fromkeys(merged_ids(merge), f"not merged: {blocker}")
                continue
            by_object[merge.sobject].append(merge)
        for sobject, todo in by_object.items():
            requests = [MergeRequest(m.master_id, merged_ids(m)) for m in todo]
            with progress.status(f"merging {len(requests):,} {sobject} requests"):
                results = org.merge(sobject, requests)
            for merge, result in zip(todo, results, strict=True):
                error = None if result.success else _merge_failure(result)
                outcomes |= dict.fromkeys(merged_ids(merge), error)
                if error is not None:
                    failed_masters[merge.master_id] = error
        store.record_merges(run_id, outcomes)
        failures |= {i: error for i, error in outcomes.items() if error is not None}
    return failures


def _merge_failure(result: MergeResult) -> str:
    errors = "; ".join(f"{e.status_code}: {e.message}" for e in result.errors)
    return errors or "merge failed without an error"
