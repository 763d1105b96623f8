"""Field updates and deletes in waves: one sObject Collections call per 200 records,
several in flight, each wave's outcomes saved while the next calls are under way.

The waves are shared by every kind of write (updates, deletes, creates), so they
live apart from what decides the order of those writes.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from revsched import progress
from revsched.org import OrgGateway
from revsched.org_calls import COLLECTION_LIMIT
from revsched.org_writes import BulkOutcomes
from revsched.plan import Plan
from revsched.state import StateStore
from revsched.writes import RecordChanges, RecordWrites, StoredWrites

T = TypeVar("T")


# The records each object's changes write, by object: built from a plan's changes as they
# are sent, or read back from the store (a streamed plan).
Payloads = Mapping[str, RecordWrites | StoredWrites]


@dataclass(frozen=True)
class Uploaded:
    """The records each object's changes write, and the objects' Bulk update jobs already
    holding theirs (created and uploaded, not closed), by object."""

    payloads: Payloads
    jobs: dict[str, str]


def write_changes(
    payloads: Payloads,
    run_id: int,
    store: StateStore,
    org: OrgGateway,
    jobs: dict[str, str] | None = None,
) -> dict[str, str]:
    """Write every changed record, one call per 200 or by Bulk (with the job `jobs` holds
    for the object, if any: created and uploaded); returns the failed records' errors."""
    failures: dict[str, str] = {}
    jobs = jobs or {}

    def save(outcomes: dict[str, str | None]) -> None:
        store.record_batch(run_id, outcomes)
        failures.update((rid, error) for rid, error in outcomes.items() if error is not None)

    for sobject, records in payloads.items():
        with progress.task(f"writing {sobject}", len(records)) as tracker:
            # Many records: one Bulk API 2.0 job, the bar following its states and processed
            # count; otherwise collection calls, several in flight, counted as they land.
            if len(records) > org.api.bulk_write_threshold:
                job_id = jobs.pop(sobject, None)
                outcomes = org.bulk_update(sobject, records, on_state=tracker.state, job_id=job_id)
                if not isinstance(outcomes, BulkOutcomes):
                    save(outcomes)
                    continue
                # All the object's planned changes were in the job: saved as "all but these".
                store.record_bulk_job(run_id, sobject, outcomes.failures)
                failures.update(outcomes.failures)
                continue
            calls = (functools.partial(org.update, sobject, c) for c in collection_chunks(records))
            for batch in pipelined(calls, org.api.max_in_flight):
                outcomes = {rid: error for call in batch for rid, error in call.items()}
                save(outcomes)
                tracker(len(outcomes))
    return failures


def writes_by_object(plan: Plan, skip: Mapping[str, str]) -> dict[str, RecordWrites]:
    """Per sObject, one write per record whatever its fields, in the order of the plan's
    changes: each record's changes grouped in one pass, its write built when it is sent."""
    by_object: dict[str, dict[str, RecordChanges]] = defaultdict(dict)
    for change in plan.changes:
        if change.record_id in skip:
            continue
        records = by_object[change.sobject]
        held = records.setdefault(change.record_id, change)
        if held is change:
            continue
        if isinstance(held, list):
            held.append(change)
        else:
            records[change.record_id] = [held, change]
    return {sobject: RecordWrites(list(records.values())) for sobject, records in by_object.items()}


def collection_chunks(items: Iterable[T]) -> Iterator[list[T]]:
    """One sObject Collections call's worth at a time, taken as the calls are made."""
    items = iter(items)
    while chunk := list(itertools.islice(items, COLLECTION_LIMIT)):
        yield chunk


def pipelined(calls: Iterable[Callable[[], T]], in_flight: int) -> Iterator[list[T]]:
    """Make the calls `in_flight` at a time, continuously, and yield their results in call
    order, each time all those that have landed: the caller saves each batch of outcomes
    while the next calls are under way, and what it saved is always a prefix of the calls.

    As many calls again are queued behind those in flight, so a slow save never leaves the
    connection idle; when a call fails, or the caller stops, the queued ones are not made.
    """
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="revsched-write")
    pending: deque[Future[T]] = deque()
    try:
        for call in calls:
            pending.append(pool.submit(call))
            if len(pending) >= 2 * in_flight:
                yield _landed(pending)
        while pending:
            yield _landed(pending)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _landed(pending: deque[Future[T]]) -> list[T]:
    """The oldest call's result (waiting for it), and the results of those after it that
    have landed meanwhile, in order, up to a failed one (raised when its turn comes)."""
    results = [pending.popleft().result()]
    while pending and pending[0].done() and pending[0].exception() is None:
        results.append(pending.popleft().result())
    return results


def write_deletes(plan: Plan, run_id: int, store: StateStore, org: OrgGateway) -> dict[str, str]:
    failures: dict[str, str] = {}
    ids = [d.record_id for d in plan.deletes]
    calls = (functools.partial(org.delete, chunk) for chunk in collection_chunks(ids))
    for batch in pipelined(calls, org.api.max_in_flight):
        outcomes = {rid: error for call in batch for rid, error in call.items()}
        store.record_deletes(run_id, outcomes)
        failures |= {rid: error for rid, error in outcomes.items() if error is not None}
    return failures
