"""Writing the org: sObject Collections updates, upserts and deletes (locked rows tried
again), Bulk API 2.0 update jobs, and SOAP merges and lead conversions.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from revsched.bulk import StateHook, abort, open_update, run_update
from revsched.org_calls import COLLECTION_LIMIT, OrgSession
from revsched.play import Record
from revsched.salesforce_soap import (
    MAX_REQUESTS_PER_CALL,
    LeadConvert,
    LeadConvertResult,
    MergeRequest,
    MergeResult,
    soap_convert_leads,
    soap_merge,
)

# Per-record errors worth another try: another process holds the row.
RETRYABLE_RECORD_ERRORS = ("UNABLE_TO_LOCK_ROW",)


def _record_errors(result: dict[str, Any]) -> str | None:
    if result.get("success"):
        return None
    errors = result.get("errors") or [{"statusCode": "UNKNOWN", "message": "no error given"}]
    return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)


class OrgWrites(OrgSession):
    """The gateway's writes."""

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        """Write field values by Id; returns each record's error, None when it saved."""
        outcomes = self._save_collections("composite/sobjects", sobject, records)
        return {record["Id"]: _record_errors(outcomes[i]) for i, record in enumerate(records)}

    def open_bulk_update(self, sobject: str, records: Iterable[Record]) -> str:
        """Create a Bulk API 2.0 update job and upload the records; returns the job's Id.
        Nothing is written until `bulk_update(..., job_id=)` closes it or
        `abort_bulk_job` drops it: the runner uploads while it saves the plan."""
        return open_update(self.call, sobject, records)

    def abort_bulk_job(self, sobject: str, job_id: str) -> None:
        """Drop an update job that was never closed; none of its records is written."""
        abort(self.call, sobject, job_id)

    def bulk_update(
        self,
        sobject: str,
        records: Collection[Record],
        on_state: StateHook | None = None,
        job_id: str | None = None,
    ) -> BulkOutcomes:
        """Write many records with one Bulk API 2.0 ingest job (`job_id`: the one
        `open_bulk_update` made for them, else a new one), each of its calls retried;
        records it could not lock are written again on their own, as on the REST path.
        `on_state` hears the job's states and processed counts."""
        job_id = job_id or open_update(self.call, sobject, records)
        failures = run_update(self.call, sobject, job_id, len(records), on_state=on_state)
        locked = {
            record_id
            for record_id, error in failures.items()
            if error.startswith(RETRYABLE_RECORD_ERRORS)
        }
        if locked:
            again = self.update(sobject, [r for r in records if r["Id"] in locked])
            failures = {rid: error for rid, error in (failures | again).items() if error}
        return BulkOutcomes(records, failures)

    def upsert(
        self, sobject: str, key_field: str, records: Sequence[Record]
    ) -> dict[str, tuple[str | None, bool, str | None]]:
        """Create or update records by an External ID field, so a retry never duplicates.

        Returns, by key: (record Id, whether it was created, error or None).
        """
        path = f"composite/sobjects/{sobject}/{key_field}"
        outcomes = self._save_collections(path, sobject, records)
        return {
            record[key_field]: (
                outcomes[i].get("id"),
                bool(outcomes[i].get("created")),
                _record_errors(outcomes[i]),
            )
            for i, record in enumerate(records)
        }

    def delete(self, ids: Sequence[str]) -> dict[str, str | None]:
        """Delete records by Id, 200 a call; an already deleted record counts as deleted."""
        outcomes: dict[str, str | None] = {}
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            results = self.call(
                f"delete {len(chunk)} records",
                lambda sf, chunk=chunk: sf.restful(
                    "composite/sobjects",
                    method="DELETE",
                    params={"ids": ",".join(chunk), "allOrNone": "false"},
                ),
            )
            for record_id, result in zip(chunk, results, strict=True):
                error = _record_errors(result)
                gone = error is not None and error.startswith("ENTITY_IS_DELETED")
                outcomes[record_id] = None if gone else error
        return outcomes

    def merge(self, sobject: str, merges: Sequence[MergeRequest]) -> list[MergeResult]:
        """Merge with the SOAP API, 200 requests a call; one result per request, in order."""
        results: list[MergeResult] = []
        for start in range(0, len(merges), MAX_REQUESTS_PER_CALL):
            chunk = list(merges[start : start + MAX_REQUESTS_PER_CALL])
            results += self._soap(
                f"merge {sobject} records", lambda sf, c=chunk: soap_merge(sf, sobject, c)
            )
        return results

    def convert_leads(self, converts: Sequence[LeadConvert]) -> list[LeadConvertResult]:
        """Convert leads with the SOAP API, 200 a call; one result per lead, in order."""
        results: list[LeadConvertResult] = []
        for start in range(0, len(converts), MAX_REQUESTS_PER_CALL):
            chunk = list(converts[start : start + MAX_REQUESTS_PER_CALL])
            results += self._soap("convert leads", lambda sf, c=chunk: soap_convert_leads(sf, c))
        return results

    def _save_collections(
        self, path: str, sobject: str, records: Sequence[Record]
    ) -> dict[int, dict[str, Any]]:
        """PATCH records 200 a call, several calls in flight; locked rows are tried again.

        Returns each record's result by its index in `records`.
        """
        results: dict[int, dict[str, Any]] = {}
        pending = list(range(len(records)))
        for attempt in range(self.api.max_attempts):
            if attempt:
                time.sleep(
                    min(
                        self.api.retry_max_seconds,
                        self.api.retry_base_seconds * 2**attempt * random.random(),
                    )
                )
            chunks = [
                pending[i : i + COLLECTION_LIMIT] for i in range(0, len(pending), COLLECTION_LIMIT)
            ]

            def patch(chunk: list[int]) -> list[dict[str, Any]]:
                return self._patch(path, sobject, [records[i] for i in chunk])

            if len(chunks) == 1:
                # The runner's calls are one chunk each, already in flight together.
                answers: Iterable[list[dict[str, Any]]] = [patch(chunks[0])]
            else:
                with ThreadPoolExecutor(max_workers=self.api.max_in_flight) as pool:
                    answers = list(pool.map(patch, chunks))
            for chunk, answer in zip(chunks, answers, strict=True):
                results.update(zip(chunk, answer, strict=True))
            pending = [i for i in pending if _locked(results[i])]
            if not pending:
                break
        return results

    def _patch(self, path: str, sobject: str, chunk: Sequence[Record]) -> list[dict[str, Any]]:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
        }
        return self.call(
            f"save {len(chunk)} {sobject} records",
            lambda sf: sf.restful(path, method="PATCH", json=body),
        )


class BulkOutcomes(Mapping[str, str | None]):
    """Each record's error, None when it saved, kept as the errors alone: a job of a
    million records does not become a million entries (the records are iterated again
    when every outcome is asked for)."""

    def __init__(self, records: Collection[Record], failures: dict[str, str]) -> None:
        self.records, self.failures = records, failures

    def __getitem__(self, record_id: str) -> str | None:
        if record_id in self.failures:
            return self.failures[record_id]
        if any(record["Id"] == record_id for record in self.records):
            return None
        raise KeyError(record_id)

    def __iter__(self) -> Iterator[str]:
        return (str(record["Id"]) for record in self.records)

    def __len__(self) -> int:
        return len(self.records)


def _locked(result: dict[str, Any]) -> bool:
    return not result.get("success") and any(
        e.get("statusCode") in RETRYABLE_RECORD_ERRORS for e in result.get("errors") or []
    )
