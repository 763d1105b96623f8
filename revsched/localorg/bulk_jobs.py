"""Bulk API 2.0: ingest jobs (insert, update, upsert, delete) and query jobs, as
simple-salesforce's `sf.bulk2.<Object>` drives them.

Documents relied on (Bulk API 2.0 and Bulk API Developer Guide): "Create a Job", "Upload
Job Data" (PUT CSV to jobs/ingest/{id}/batches, 201), "Upload Complete" (PATCH state
UploadComplete), "Get Job Info", "Get Job Successful Record Results" (sf__Id, sf__Created,
then the uploaded columns), "Get Job Failed Record Results" (sf__Id, sf__Error, then the
uploaded columns), "Get Job Unprocessed Record Results", "Abort a Job", "Delete a Job",
"Job States", "Create a Query Job", "Get Results for a Query Job" (maxRecords, locator;
Sforce-Locator is "null" on the last page; Sforce-NumberOfRecords), "Valid Date Format in
Records" and "Prepare CSV Files" (empty field = not set; #N/A sets null).

An ingest job is processed in the background once its upload completes, as Salesforce
does: UploadComplete, then InProgress (numberRecordsProcessed counting up), then
JobComplete; a poll meanwhile sees where it is, and the org serves other requests between
its slices of rows.

Local simplifications: a query job is run when it is created, so the first poll already
sees JobComplete; jobs live in memory and are forgotten when the org closes; only CSV
with COMMA/LF... delimiters that the job declares are read (all six delimiters and both
line endings are accepted).
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from revsched.localorg import ids, schema
from revsched.localorg.gate import CallGate
from revsched.localorg.http import Raw, json_body, method_not_allowed
from revsched.localorg.query import QueryEngine
from revsched.localorg.salesforce_errors import SalesforceError, not_found
from revsched.localorg.soql_compiler import compile_soql
from revsched.localorg.storage import Storage

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
RECORDS_PER_BATCH = 10_000  # how Salesforce counts ingest data against DailyBulkApiBatches
DEFAULT_MAX_RECORDS = 50_000
# Rows an ingest job writes per hold of the org's lock (and per transaction).
ROWS_PER_SLICE = 2_000
_CSV = "text/csv; charset=UTF-8"


@dataclass
class Job:
    id: str
    kind: str  # "ingest" or "query"
    info: dict[str, Any]
    data: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    success: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    # Rows an ingest job has been through; those after it are unprocessed when it is aborted.
    processed: int = 0
    # query jobs
    compiled: Any = None
    rowids: list[int] = field(default_factory=list)
    include_deleted: bool = False


def _bad_request(message: str, code: str = "INVALIDJOB") -> SalesforceError:
    return SalesforceError(400, code, message)


class Bulk2:
    """The jobs/ resources: ingest and query jobs against the org's storage, each record
    through the call gate's record faults."""

    def __init__(self, storage: Storage, queries: QueryEngine, gate: CallGate) -> None:
        self.storage = storage
        self.queries = queries
        self.gate = gate
        self.jobs: dict[str, Job] = {}
        self._numbers = itertools.count(1)
        self._workers: list[threading.Thread] = []

    def wait(self) -> None:
        """Let the ingest jobs under way finish (before the org closes its database)."""
        for worker in list(self._workers):
            worker.join()

    def handle(self, request: Request, base: str, rest: list[str]) -> tuple[int, Any]:
        if not rest or rest[0] not in ("ingest", "query"):
            raise not_found()
        kind = rest[0]
        if len(rest) == 1:
            if request.method == "POST":
                return 200, self._create(request, kind, base)
            if request.method in ("GET", "HEAD"):
                jobs = [j.info for j in self.jobs.values() if j.kind == kind]
                return 200, {"done": True, "records": jobs, "nextRecordsUrl": None}
            raise method_not_allowed(request.method, ["GET", "POST"])
        job = self.jobs.get(rest[1])
        if job is None or job.kind != kind:
            raise SalesforceError(404, "NOT_FOUND", "Job not found")
        if len(rest) == 2:
            if request.method in ("GET", "HEAD"):
                return 200, job.info
            if request.method == "PATCH":
                return 200, self._set_state(job, request)
            if request.method == "DELETE":
                if job.info["state"] in ("Open", "UploadComplete", "InProgress"):
                    raise _bad_request(
                        f"Job {job.id} cannot be deleted in state {job.info['state']}",
                        "INVALIDJOBSTATE",
                    )
                del self.jobs[job.id]
                return 204, None
            raise method_not_allowed(request.method, ["GET", "PATCH", "DELETE"])
        resource = rest[2]
        if kind == "ingest" and resource == "batches" and len(rest) == 3:
            if request.method != "PUT":
                raise method_not_allowed(request.method, ["PUT"])
            if job.info["state"] != "Open":
                raise _bad_request(
                    f"Job {job.id} is in state {job.info['state']}: data can only be uploaded "
                    "to an Open job",
                    "INVALIDJOBSTATE",
                )
            job.data.append(request.get_data(as_text=True))
            return 201, None
        if request.method not in ("GET", "HEAD"):
            raise method_not_allowed(request.method, ["GET"])
        if kind == "query" and resource == "results" and len(rest) == 3:
            return 200, self._query_results(job, request, base)
        if kind == "ingest" and len(rest) == 3:
            if resource == "successfulResults":
                rows = [["sf__Id", "sf__Created", *job.header], *job.success]
            elif resource == "failedResults":
                rows = [["sf__Id", "sf__Error", *job.header], *job.failed]
            elif resource == "unprocessedrecords":
                unprocessed = job.rows[job.processed :] if job.info["state"] == "Aborted" else []
                rows = [job.header, *unprocessed] if job.header else []
            else:
                raise not_found()
            return 200, Raw(200, _to_csv(rows, job.info), _CSV)
        raise not_found()

    # -- jobs -------------------------------------------------------------------------

    def _new_job(self, kind: str, info: dict[str, Any]) -> Job:
        job_id = ids.make_id("750", next(self._numbers))
        now = self.storage.now()
        job = Job(
            job_id,
            kind,
            {
                "id": job_id,
                **info,
                "createdById": self.storage.running_user_id,
                "createdDate": now,
                "systemModstamp": now,
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": 62.0,
                "jobType": "V2Ingest" if kind == "ingest" else "V2Query",
                "numberRecordsProcessed": 0,
                "numberRecordsFailed": 0,
                "retries": 0,
                "totalProcessingTime": 0,
            },
        )
        self.jobs[job_id] = job
        return job

    def _create(self, request: Request, kind: str, base: str) -> dict[str, Any]:
        body = json_body(request)
        if not isinstance(body, dict):
            raise _bad_request("The request body must be a JSON object", "JSON_PARSER_ERROR")
        delimiter = str(body.get("columnDelimiter", "COMMA"))
        line_ending = str(body.get("lineEnding", "LF"))
        if delimiter not in DELIMITERS or line_ending not in ("LF", "CRLF"):
            raise _bad_request("Invalid columnDelimiter or lineEnding")
        common = {"columnDelimiter": delimiter, "lineEnding": line_ending}
        if kind == "query":
            return self._create_query(body, common)
        operation = body.get("operation")
        sobj = self.storage.schema.sobject(str(body.get("object", "")))
        if operation not in INGEST_OPERATIONS:
            raise _bad_request(f"Invalid operation: {operation}")
        if sobj is None:
            raise _bad_request(f"Unknown object: {body.get('object')}", "INVALIDENTITY")
        info: dict[str, Any] = {"operation": operation, "object": sobj.name}
        if operation == "upsert":
            key = sobj.field(str(body.get("externalIdFieldName") or ""))
            if key is None or not (key.external_id or key.name == "Id"):
                raise _bad_request(
                    f"Invalid externalIdFieldName: {body.get('externalIdFieldName')}",
                    "INVALIDJOB",
                )
            info["externalIdFieldName"] = key.name
        job = self._new_job("ingest", {**info, "state": "Open", **common})
        job.info["contentUrl"] = f"{base.lstrip('/')}/jobs/ingest/{job.id}/batches"
        return job.info

    def _set_state(self, job: Job, request: Request) -> dict[str, Any]:
        body = json_body(request)
        state = body.get("state") if isinstance(body, dict) else None
        current = job.info["state"]
        if state == "Aborted" and current in ("Open", "UploadComplete", "InProgress"):
            job.info["state"] = "Aborted"
            return job.info
        if state == "UploadComplete" and job.kind == "ingest" and current == "Open":
            job.info["state"] = "UploadComplete"
            worker = threading.Thread(
                target=self._run, args=(job,), name=f"bulk job {job.id}", daemon=True
            )
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
            worker.start()  # it waits for this request to release the org's lock
            return dict(job.info)
        raise _bad_request(
            f"Cannot change the state of job {job.id} from {current} to {state}",
            "INVALIDJOBSTATE",
        )

    # -- ingest -----------------------------------------------------------------------

    def _run(self, job: Job) -> None:
        """Process an uploaded job in the background, as a Salesforce job runs."""
        try:
            self._process(job)
        except Exception as exc:  # a bug in the local org: the job fails, as Salesforce's do
            logging.getLogger(__name__).exception("bulk job %s failed", job.id)
            with self.storage.lock:
                job.info.update(state="Failed", errorMessage=f"InternalServerError : {exc}")

    def _process(self, job: Job) -> None:
        info = job.info
        storage = self.storage
        with storage.lock:
            if info["state"] != "UploadComplete":
                return  # aborted before it started
            info["state"] = "InProgress"
        delimiter = DELIMITERS[info["columnDelimiter"]]
        rows: list[list[str]] = []
        header: list[str] = []
        for chunk in job.data:
            reader = csv.reader(io.StringIO(chunk, newline=""), delimiter=delimiter)
            chunk_header = next(reader, [])
            if header and chunk_header != header:
                info["state"] = "Failed"
                info["errorMessage"] = "InvalidBatch : all uploads must have the same header"
                return
            header = chunk_header
            rows += [r for r in reader if r]
        job.header, job.rows = header, rows
        sobj = self.storage.schema.sobjects[info["object"]]
        operation = info["operation"]
        columns = []
        for name in header:
            found = sobj.field(name)
            if found is None:
                info["state"] = "Failed"
                info["errorMessage"] = f"InvalidBatch : Field name not found : {name}"
                return
            columns.append(found)
        if operation in ("delete", "hardDelete") and [c.name for c in columns] != ["Id"]:
            info["state"] = "Failed"
            info["errorMessage"] = "InvalidBatch : The 'delete' batch must contain only ids"
            return
        with storage.lock:
            storage.count_usage("bulk_batches", max(1, -(-len(rows) // RECORDS_PER_BATCH)))
        while job.processed < len(rows):
            with storage.lock:
                if info["state"] != "InProgress":
                    return  # aborted: the rest is unprocessed
                done = rows[job.processed : job.processed + ROWS_PER_SLICE]
                with storage.transaction():
                    for row in done:
                        self._ingest(job, sobj, columns, row)
                job.processed += len(done)
                info["numberRecordsProcessed"] = job.processed
                info["numberRecordsFailed"] = len(job.failed)
        with storage.lock:
            info["state"] = "JobComplete"
            info["systemModstamp"] = storage.now()

    def _ingest(
        self, job: Job, sobj: schema.SObject, columns: list[schema.Field], row: list[str]
    ) -> None:
        """One row of an ingest job, its outcome added to the job's results."""
        storage = self.storage
        operation = job.info["operation"]
        values: dict[str, object] = {}
        for column, text in zip(columns, row, strict=False):
            if text == "":
                continue  # an empty field leaves the value alone; #N/A clears it
            values[column.name] = None if text == "#N/A" else _typed(column, text)
        record_id = str(values.get("Id") or "")
        try:
            self.gate.check_record(ids.normalize(record_id) if record_id else None)
            created = "false"
            if operation == "insert":
                record_id = storage.create(sobj.name, values)
                created = "true"
            elif operation == "update":
                if not record_id:
                    raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified")
                located = storage.locate_row(record_id, sobj)
                record_id = str(located["Id"])
                values.pop("Id", None)
                storage.update(sobj.name, record_id, values, located)
            elif operation == "upsert":
                key_field = job.info["externalIdFieldName"]
                key = values.pop(key_field, None)
                if key is None:
                    raise SalesforceError(400, "MISSING_ARGUMENT", f"{key_field} not specified")
                record_id, was_created = storage.upsert(sobj.name, key_field, key, values)
                created = "true" if was_created else "false"
            else:
                record_id = storage.locate(record_id, sobj)
                storage.delete(sobj, record_id)
            job.success.append([record_id, created, *row])
        except SalesforceError as exc:
            fields = ",".join(exc.fields)
            error = f"{exc.code}:{exc.message}:{fields} --"
            job.failed.append([ids.normalize(record_id) or "", error, *row])

    # -- query ------------------------------------------------------------------------

    def _create_query(self, body: dict[str, Any], common: dict[str, str]) -> dict[str, Any]:
        operation = body.get("operation", "query")
        soql = body.get("query")
        if operation not in ("query", "queryAll") or not isinstance(soql, str):
            raise _bad_request("A query job needs an operation (query/queryAll) and a query")
        storage = self.storage
        compiled = compile_soql(soql, storage.schema, storage.today(), storage.fiscal_year)
        if (
            compiled.count
            or compiled.aggregate
            or any(o.subquery is not None for o in compiled.outputs)
        ):
            # "Bulk API 2.0 Query" considerations: no COUNT(), aggregate functions, GROUP BY
            # or parent-to-child subqueries.
            raise SalesforceError(
                400,
                "API_ERROR",
                "Bulk API 2.0 query does not support COUNT(), aggregate functions, GROUP BY "
                "or parent-to-child subqueries",
            )
        include_deleted = operation == "queryAll"
        window = (
            f"LIMIT {-1 if compiled.limit is None else compiled.limit} OFFSET {compiled.offset}"
        )
        rowids = [
            r[0]
            for r in storage.conn.execute(
                f"SELECT {compiled.root}.rowid FROM {compiled.from_sql()} "
                f"WHERE {compiled.where_sql(include_deleted)} "
                f"ORDER BY {compiled.order_sql()} {window}",
                compiled.params,
            )
        ]
        storage.count_usage("bulk_query_jobs")
        job = self._new_job(
            "query", {"operation": operation, "object": compiled.sobject.name, "query": soql}
        )
        job.compiled, job.rowids, job.include_deleted = compiled, rowids, include_deleted
        job.info.update(common, state="JobComplete", numberRecordsProcessed=len(rowids))
        reply = dict(job.info, state="UploadComplete")
        return reply

    def _query_results(self, job: Job, request: Request, base: str) -> Any:
        try:
            max_records = int(request.args.get("maxRecords", DEFAULT_MAX_RECORDS))
            start = int(request.args.get("locator") or 0)
        except ValueError:
            raise _bad_request("Invalid locator or maxRecords", "INVALIDLOCATOR") from None
        if max_records < 1 or start < 0 or start > len(job.rowids):
            raise _bad_request("Invalid locator or maxRecords", "INVALIDLOCATOR")
        page = job.rowids[start : start + max_records]
        records = self.queries.records(job.compiled, page, job.include_deleted, f"{base}/query")
        header = _columns(job.compiled.outputs)
        rows = [header] + [[_csv_value(_flat(r, path)) for path in header] for r in records]
        end = start + len(page)
        headers = {
            "Sforce-Locator": str(end) if end < len(job.rowids) else "null",
            "Sforce-NumberOfRecords": str(len(page)),
        }
        size_mb = max(1, len(rows) * 100 // 1_000_000)
        self.storage.count_usage("bulk_query_mb", size_mb if start == 0 else 0)
        return Raw(200, _to_csv(rows, job.info), _CSV, headers)


def _typed(column: schema.Field, text: str) -> object:
    if column.type == schema.BOOLEAN:
        return text.strip().lower() in ("true", "1", "yes")
    if column.type == schema.INT:
        try:
            return int(text)
        except ValueError:
            return text
    if column.type in (schema.DOUBLE, schema.CURRENCY, schema.PERCENT):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _columns(outputs: list[Any], prefix: str = "") -> list[str]:
    names: list[str] = []
    for out in outputs:
        if out.type_name:
            names += _columns(out.children, f"{prefix}{out.key}.")
        else:
            names.append(prefix + out.key)
    return names


def _flat(record: dict[str, Any], path: str) -> object:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def _to_csv(rows: list[list[str]], info: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=DELIMITERS.get(info.get("columnDelimiter", "COMMA"), ","),
        lineterminator="\r\n" if info.get("lineEnding") == "CRLF" else "\n",
        quoting=csv.QUOTE_MINIMAL,
    )
    writer.writerows(rows)
    return out.getvalue().encode()
