"""Bulk API 2.0 for large reads and writes: a handful of calls whatever the size.

Bulk results are CSV, so values come back as text; they are typed again from
the org's describe (booleans, numbers, empty = null) and relationship columns
(`Owner.Name`) nested again, so a play sees the same records as from REST.
Writing, Bulk CSV sets a field to null with `#N/A` (an empty cell means
"leave it alone").

Each step of a job (create, upload, close, each poll, each result page) is its
own call through the gateway, so each is retried on a 5xx, a dropped
connection or an expired session like any REST call, and a page whose
response was lost is read again by the same locator.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from typing import IO, Any, Protocol, TypeVar

from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import MAX_INGEST_JOB_FILE_SIZE, JobState, Operation, ResultsType
from simple_salesforce.util import call_salesforce

from revsched.bulk_csv import written_csv
from revsched.errors import OrgError
from revsched.play import Record
from revsched.writes import StoredWrites, fields_written

T = TypeVar("T")


class Call(Protocol):
    """The gateway's way of making one API call: retried, re-logged-in, budgeted."""

    def __call__(self, action: str, request: Callable[[Salesforce], T]) -> T: ...


# Told each state a job goes through (Open, UploadComplete, InProgress, JobComplete) and
# how many records it has processed, when Salesforce says.
StateHook = Callable[[str, int | None], None]


def _ignored(state: str, processed: int | None) -> None:
    """No one is watching the job's states."""


# Longest wait between two polls of a job.
MAX_POLL_SECONDS = 10.0
NUMBER_TYPES = {"double", "currency", "percent"}
INTEGER_TYPES = {"int", "long"}


def top_level_clauses(soql: str) -> tuple[str, str] | None:
    """(select list, the rest from FROM on), split at the FROM outside any parentheses."""
    depth, quoted, escaped = 0, False, False
    upper = soql.upper()
    for index, char in enumerate(soql):
        if quoted:
            quoted = escaped or char != "'"
            escaped = not escaped and char == "\\"
        elif char == "'":
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and upper.startswith(" FROM ", index):
            return soql[len("SELECT ") : index].strip(), soql[index + 1 :]
    return None


# Clauses Bulk API 2.0 refuses in a query ("Understanding Bulk API 2.0 Query": GROUP BY,
# OFFSET, TYPEOF), which COUNT() cannot take either.
_NOT_BULKABLE = re.compile(r"\b(GROUP\s+BY|OFFSET|TYPEOF)\b", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:\\.|[^'\\])*'")


def count_query(soql: str) -> str | None:
    """The COUNT() form of a query, or None when Bulk cannot read it: subqueries,
    aggregate functions, GROUP BY, OFFSET or TYPEOF."""
    parts = top_level_clauses(soql)
    if parts is None or "(" in parts[0] or not soql.upper().startswith("SELECT "):
        return None
    rest = parts[1]
    if _NOT_BULKABLE.search(_QUOTED.sub("''", soql)):
        return None
    order = rest.upper().find(" ORDER BY ")
    return f"SELECT COUNT() {rest[:order] if order >= 0 else rest}"


def _sobject(soql: str) -> str:
    parts = top_level_clauses(soql)
    assert parts is not None
    return parts[1].split()[1]


class FieldTypes:
    """Field types by relationship path, from the org's describes (`describe`: the
    gateway's, which fetches each object's once)."""

    def __init__(self, describe: Callable[[str], dict[str, Any]]):
        self._describe = describe

    def type_of(self, sobject: str, path: str) -> str:
        *parents, name = path.split(".")
        for relationship in parents:
            field = next(
                f
                for f in self._describe(sobject)["fields"]
                if (f.get("relationshipName") or "").lower() == relationship.lower()
            )
            sobject = field["referenceTo"][0]
        field = next(
            f for f in self._describe(sobject)["fields"] if f["name"].lower() == name.lower()
        )
        return str(field["type"])


def _boolean(text: str) -> bool | None:
    return text.lower() == "true" if text else None


def _number(text: str) -> float | None:
    return float(text) if text else None


def _integer(text: str) -> int | None:
    return int(float(text)) if text else None


def _text(text: str) -> str | None:
    return text or None


def _reader(field_type: str) -> Callable[[str], Any]:
    """How a CSV cell of a field of this type is read (empty is null)."""
    if field_type == "boolean":
        return _boolean
    if field_type in NUMBER_TYPES:
        return _number
    if field_type in INTEGER_TYPES:
        return _integer
    return _text


def _nest(row: Mapping[str, Any]) -> Record:
    """Relationship columns back into nested records, as REST returns them."""
    record: Record = {}
    for column, value in row.items():
        *parents, name = column.split(".")
        target = record
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
    return record


def read_csv_pages(pages: Iterator[str], sobject: str, types: FieldTypes) -> Iterator[Record]:
    """Typed, nested records from the CSV pages of a Bulk query. A large read's CPU is in
    this loop: each column's reader is chosen once per page, only the typed columns are
    read cell by cell, an empty text cell (null) is found by one scan of its row, and rows
    without relationship columns are built flat."""
    for page in pages:
        rows = csv.reader(io.StringIO(page))
        columns = next(rows, None)
        if not columns:
            continue
        readers = [_reader(types.type_of(sobject, column)) for column in columns]
        typed = [(i, read) for i, read in enumerate(readers) if read is not _text]
        nested = any("." in column for column in columns)
        for row in rows:
            for i, read in typed:
                row[i] = read(row[i])
            if "" in row:
                row = [None if value == "" else value for value in row]
            record = dict(zip(columns, row, strict=True))
            yield _nest(record) if nested else record


def _jobs(sf: Salesforce, sobject: str) -> Any:
    """simple-salesforce's Bulk 2.0 client for the object on the session of this call, so
    each step can go through the gateway on its own (its whole-job helpers cannot)."""
    return getattr(sf.bulk2, sobject)._client


def _wait_for(
    call: Call,
    sobject: str,
    job_id: str,
    is_query: bool,
    wait: float,
    on_state: StateHook,
    total: int | None = None,
) -> dict[str, Any]:
    """Poll the job until it ends; its info once complete, else OrgError via the gateway.
    An ingest job (`total` records) is first polled `wait` seconds after its upload, then
    each wait lasts until it should be done at the rate it processed records since the
    poll before (the org's load changes it): few polls (each is an API call), and little
    time lost between its end and a poll. The first rate also counts the time the job
    took to start (queued, its data parsed), so it is too slow: the poll after it comes
    halfway to the end it gives, and measures the rate alone."""
    delay, polled, before = wait, time.monotonic(), 0
    if total:
        time.sleep(wait)
    while True:
        info = call(
            f"check Bulk API 2.0 job {job_id}",
            lambda sf: _jobs(sf, sobject).get_job(job_id, is_query),
        )
        on_state(info["state"], info.get("numberRecordsProcessed"))
        if info["state"] == JobState.job_complete:
            return info
        if info["state"] in (JobState.failed, JobState.aborted):
            message = info.get("errorMessage") or info["state"]
            raise OrgError(f"Salesforce ended Bulk API 2.0 job {job_id}: {message}")
        processed, now = info.get("numberRecordsProcessed") or 0, time.monotonic()
        if total and before < processed < total:
            rate = (processed - before) / max(now - polled, 1e-3)
            remaining = (total - processed) / rate
            delay = max(remaining if before else remaining / 2, wait / 4)
        polled, before = now, processed
        time.sleep(min(delay, MAX_POLL_SECONDS))
        delay = min(delay * 2, MAX_POLL_SECONDS)


def bulk_query(
    call: Call,
    soql: str,
    page_size: int,
    describe: Callable[[str], dict[str, Any]],
    wait: float = 1.0,
    on_state: StateHook | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[Record]:
    """Rows of one query job, page by page; a page is re-read by its locator when lost.
    The object is described while the job runs, and each page is fetched while the one
    before it is read: the read waits on the network no longer than the script that
    knows its types beforehand. `describe` is the gateway's (it fetches each object's
    once); `on_state` hears each state the job goes through, `on_read` how many rows
    each page gave once they are read."""
    on_state = on_state or _ignored
    sobject = _sobject(soql)
    types = FieldTypes(describe)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revsched-bulk-read") as pool:
        described = pool.submit(describe, sobject)
        job = call(
            "start a Bulk API 2.0 query",
            lambda sf: _jobs(sf, sobject).create_job(Operation.query, soql),
        )
        on_state(job["state"], None)
        _wait_for(call, sobject, job["id"], True, wait, on_state)
        described.result()

        def page_at(locator: str) -> dict[str, Any]:
            return call(
                "read a Bulk API 2.0 query page",
                lambda sf: _jobs(sf, sobject).get_query_results(job["id"], locator, page_size),
            )

        fetching: Future[dict[str, Any]] | None = pool.submit(page_at, "")
        while fetching is not None:
            page = fetching.result()
            fetching = pool.submit(page_at, page["locator"]) if page["locator"] else None
            yield from read_csv_pages(iter([page["records"]]), sobject, types)
            if on_read is not None:
                on_read(page["number_of_records"])


def _upload(sobject: str, job_id: str, data: IO[bytes]) -> Callable[[Salesforce], None]:
    """PUT the job's data from its file, streamed (simple-salesforce's upload_job_data takes
    the text and copies it twice); from its start again on a retry."""

    def upload(sf: Salesforce) -> None:
        jobs = _jobs(sf, sobject)
        data.seek(0)
        url = jobs._construct_request_url(job_id, False) + "/batches"
        headers = jobs._get_headers(jobs.CSV_CONTENT_TYPE, jobs.JSON_CONTENT_TYPE)
        answer = call_salesforce(url, "PUT", jobs.session, headers, data=data)
        if answer.status_code != HTTPStatus.CREATED:
            raise OrgError(f"Bulk API 2.0 refused job {job_id}'s data: {answer.text[:200]}")

    return upload


def open_update(call: Call, sobject: str, records: Iterable[Record]) -> str:
    """Create an update job and upload its data (a streamed plan's CSV, written as it was
    planned, else the records' written now); returns its Id. Nothing is written until
    `run_update` closes it: an open job is only data waiting (`abort` drops it)."""
    spooled = records.take_csv() if isinstance(records, StoredWrites) else None
    update = spooled or written_csv(records, fields_written(records))
    with update.data() as data:
        size = os.fstat(data.fileno()).st_size
        if size > MAX_INGEST_JOB_FILE_SIZE:
            raise OrgError(
                f"a Bulk API 2.0 update of {sobject} would upload {size:,} bytes, over the"
                f" {MAX_INGEST_JOB_FILE_SIZE:,} a job takes: narrow the play's query"
            )
        job_id = str(
            call(
                f"start a Bulk API 2.0 update of {sobject}",
                lambda sf: _jobs(sf, sobject).create_job(Operation.update),
            )["id"]
        )
        call(f"upload Bulk API 2.0 job {job_id}", _upload(sobject, job_id, data))
    return job_id


def run_update(
    call: Call,
    sobject: str,
    job_id: str,
    total: int,
    wait: float = 1.0,
    on_state: StateHook | None = None,
) -> dict[str, str]:
    """Close an uploaded update job of `total` records, so it runs, and wait for it; returns
    the error of each record that did not save (the others did). `on_state` hears each
    state the job goes through, with its processed count."""
    on_state = on_state or _ignored
    on_state(JobState.open.value, 0)
    call(f"close Bulk API 2.0 job {job_id}", _closing(sobject, job_id))
    on_state(JobState.upload_complete.value, 0)
    info = _wait_for(call, sobject, job_id, False, wait, on_state, total=total)
    failures: dict[str, str] = {}
    if not info["numberRecordsFailed"] and info["numberRecordsProcessed"] == total:
        return failures
    unprocessed = "UNPROCESSED: the job ended before this record was processed"
    # "unprocessedrecords" as documented; simple-salesforce's ResultsType has another case.
    for kind, column, error in (
        (ResultsType.failed.value, "sf__Error", None),
        ("unprocessedrecords", None, unprocessed),
    ):
        text = call(
            f"read Bulk API 2.0 job {job_id} results",
            lambda sf, kind=kind: _jobs(sf, sobject).get_ingest_results(job_id, kind),
        )
        for row in csv.DictReader(io.StringIO(text)):
            failures[row["Id"]] = row[column] if column else error
    return failures


def abort(call: Call, sobject: str, job_id: str) -> None:
    """Drop a job that was never closed: its data is never written."""
    call(
        f"abort Bulk API 2.0 job {job_id}",
        lambda sf: _jobs(sf, sobject).abort_job(job_id, False),
    )


def _closing(sobject: str, job_id: str) -> Callable[[Salesforce], None]:
    """Mark the upload complete. Only a retry (its first try's response lost, or the
    session expired) looks at the job first, to find it already closed."""
    tries = itertools.count()

    def close(sf: Salesforce) -> None:
        jobs = _jobs(sf, sobject)
        if next(tries) and jobs.get_job(job_id, False)["state"] != JobState.open:
            return
        jobs.close_job(job_id)

    return close
