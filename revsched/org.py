"""The only place revsched talks to Salesforce: connecting, reading, writing.

Plays never see a client; the runner hands them records read here and gives
their plan back here to write. Salesforce's errors become one-line OrgErrors
that carry Salesforce's own error code.
"""

from __future__ import annotations

import functools
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import requests
from dateutil.parser import isoparse
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import JobState
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession
from simple_salesforce.format import format_soql
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from revsched import progress
from revsched.auth import salesforce_login
from revsched.bulk import (
    StateHook,
    abort,
    bulk_query,
    count_query,
    open_update,
    run_update,
    top_level_clauses,
)
from revsched.config import ApiSettings, Settings
from revsched.errors import ApiLimitError, ConfigError, OrgError
from revsched.logs import logger
from revsched.play import Record
from revsched.salesforce_soap import (
    MAX_REQUESTS_PER_CALL,
    LeadConvert,
    LeadConvertResult,
    MergeRequest,
    MergeResult,
    SoapFault,
    soap_convert_leads,
    soap_merge,
)

COLLECTION_LIMIT = 200  # records per sObject Collections call, Salesforce's maximum
# Longer than a run, shorter than the life of a scheduler's session.
DESCRIBE_MAX_AGE = timedelta(minutes=10)

# Standard objects a lookup points at, by their Ids' key prefix (the same in every org).
NAMED_KEY_PREFIXES = {
    "005": "User",
    "00G": "Group",
    "001": "Account",
    "003": "Contact",
    "00Q": "Lead",
    "006": "Opportunity",
}
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")

T = TypeVar("T")


def _one_line(message: str) -> str:
    """Salesforce's query errors quote the query with a caret under the fault; keep the verdict."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("ERROR at")), 0)
    return " ".join(lines[start:])


def _error_summary(content: Any) -> str:
    """Salesforce's error list as `CODE: message` (its bodies are lists of dicts)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        message = _one_line(str(first.get("message", "")))
        return f"{first.get('errorCode', 'ERROR')}: {message}"
    return _one_line(str(content))[:300]


# Query errors that mean a field or object name in config does not exist in the org.
CONFIG_ERROR_CODES = ("INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY")
# Per-record errors worth another try: another process holds the row.
RETRYABLE_RECORD_ERRORS = ("UNABLE_TO_LOCK_ROW",)


@contextmanager
def salesforce_errors(action: str, config_hint: str | None = None) -> Iterator[None]:
    try:
        yield
    except SalesforceError as error:
        summary = _error_summary(getattr(error, "content", str(error)))
        if summary.startswith("REQUEST_LIMIT_EXCEEDED"):
            raise ApiLimitError(
                f"Salesforce refused to {action}: {summary}; rerun when the allowance resets"
            ) from None
        if config_hint and summary.startswith(CONFIG_ERROR_CODES):
            raise ConfigError(
                f"Salesforce refused to {action} ({summary}): {config_hint}"
            ) from None
        raise OrgError(f"Salesforce refused to {action}: {summary}") from None
    except requests.RequestException as error:
        raise OrgError(f"could not reach Salesforce to {action}: {error}") from None


def _transient(error: BaseException) -> bool:
    """Faults worth another try: the server's (5xx) or the network's, not ours."""
    if isinstance(error, SalesforceError):
        return getattr(error, "status", 0) >= 500
    return isinstance(
        error,
        requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    )


def _record_errors(result: dict[str, Any]) -> str | None:
    if result.get("success"):
        return None
    errors = result.get("errors") or [{"statusCode": "UNKNOWN", "message": "no error given"}]
    return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)


class OrgGateway:
    """Reads with SOQL and writes with sObject Collections, frugally and resiliently.

    Every call is retried on transient faults with exponential backoff and
    jitter, logs in again once when the session expires, and is refused when
    the org's daily API usage has reached our budget share.
    """

    def __init__(
        self,
        connect: Callable[[], Salesforce],
        api: ApiSettings | None = None,
        key_field: str = "Revsched_Key__c",
        org_memory: bool = True,
    ):
        self._connect = connect
        self.api = api or ApiSettings()
        # The External ID field that records revsched creates are upserted on.
        self.key_field = key_field
        # Whether firings are also kept in the org (revsched.org_memory).
        self.org_memory = org_memory
        # Each object's describe and when it was fetched (time.monotonic()).
        self._describes: dict[str, tuple[float, dict[str, Any]]] = {}
        self.sf = self._login()

    def _login(self) -> Salesforce:
        sf = self._connect()
        # On the session, not per call: simple-salesforce drops per-call headers on re-auth.
        sf.session.headers["Sforce-Query-Options"] = f"batchSize={self.api.query_batch_size}"
        return sf

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.api.max_attempts),
            wait=wait_random_exponential(
                multiplier=self.api.retry_base_seconds, max=self.api.retry_max_seconds
            ),
            reraise=True,
        )

    def check_budget(self) -> None:
        """Refuse to spend more once the org's usage reaches our share of its daily allowance."""
        usage = self.sf.api_usage.get("api-usage")
        if usage is None or not usage.total:
            return
        if usage.used / usage.total >= self.api.budget_share:
            raise ApiLimitError(
                f"the org has used {usage.used:,} of its {usage.total:,} daily API requests "
                f"({usage.used / usage.total:.0%}), past api.budget_share = "
                f"{self.api.budget_share:g}; stopping before using more"
            )

    def call(self, action: str, request: Callable[[Salesforce], T], hint: str | None = None) -> T:
        """One API call, with retries on transient faults and one re-login on expiry."""

        def once() -> T:
            try:
                return request(self.sf)
            except SalesforceExpiredSession:
                self.sf = self._login()
                return request(self.sf)

        self.check_budget()
        with salesforce_errors(action, hint):
            return self._retrying()(once)

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe (its fields and their types), fetched once for a run: every
        Bulk read of the object is typed with it. A scheduler's gateway lives for weeks, so
        a describe older than DESCRIBE_MAX_AGE is fetched again (an admin may change a
        field's type)."""
        fetched, described = self._describes.get(sobject, (-math.inf, {}))
        if time.monotonic() - fetched > DESCRIBE_MAX_AGE.total_seconds():
            described = self.call(f"describe {sobject}", lambda sf: getattr(sf, sobject).describe())
            self._describes[sobject] = (time.monotonic(), described)
        return described

    def iter_query(self, soql: str, config_hint: str | None = None) -> Iterator[Record]:
        """Stream a query's rows: by REST pages, each retried on its own, or for large
        results with one Bulk API 2.0 query job. The first page's totalSize tells which (no
        COUNT() call of its own); with bulk_read_threshold 0, Bulk reads every query it can."""
        clauses = top_level_clauses(soql)
        # The outer FROM names what is read (a subquery's FROM is only part of each row).
        sobject = clauses[1].split()[1] if clauses else "records"
        action = "run a query"
        bulkable = count_query(soql) is not None
        page = None
        if not bulkable or self.api.bulk_read_threshold:
            page = self.call(action, lambda sf: sf.query(soql), config_hint)
        if bulkable and (page is None or page["totalSize"] > self.api.bulk_read_threshold):
            total = page["totalSize"] if page else None
            with progress.task(f"reading {sobject} by Bulk API", total) as tracker:

                def call(action: str, request: Callable[[Salesforce], T]) -> T:
                    return self.call(action, request, config_hint)

                def on_state(state: str, processed: int | None) -> None:
                    # Once the job is done, the bar counts the rows read.
                    done = state == JobState.job_complete
                    tracker.state(state, 0 if done else processed, "read" if done else "processed")

                yield from bulk_query(
                    call,
                    soql,
                    self.api.bulk_page_size,
                    self.describe,
                    on_state=on_state,
                    on_read=tracker,
                )
            return
        assert page is not None
        with progress.task(f"reading {sobject}", page.get("totalSize")) as advance:
            while True:
                yield from (_plain(record) for record in page["records"])
                advance(len(page["records"]))
                if page["done"]:
                    return
                locator = page["nextRecordsUrl"]
                page = self.call(action, functools.partial(_next_page, locator=locator))

    def query(self, soql: str, config_hint: str | None = None) -> list[Record]:
        """All rows of a query; `config_hint` says what to fix if Salesforce refuses it."""
        return list(self.iter_query(soql, config_hint))

    def fetch(self, sobject: str, ids: Sequence[str], fields: Sequence[str]) -> list[Record]:
        """Records by Id (deleted ones are simply absent), 200 Ids per query."""
        records: list[Record] = []
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            soql = format_soql(
                f"SELECT Id, {', '.join(f for f in fields if f != 'Id')} FROM {sobject}"
                " WHERE Id IN {}",
                chunk,
            )
            records.extend(self.query(soql))
        return records

    def names(self, values: Iterable[Any]) -> dict[str, str]:
        """The Name of each record whose Id is among `values` (users, queues, accounts,
        contacts, leads, opportunities), for people reading a plan; one query per object
        and 200 Ids. Anything else, or a record not found, is left out."""
        by_object: dict[str, list[str]] = {}
        for value in dict.fromkeys(values):
            if isinstance(value, str) and RECORD_ID.match(value):
                sobject = NAMED_KEY_PREFIXES.get(value[:3])
                if sobject is not None:
                    by_object.setdefault(sobject, []).append(value)
        return {
            record["Id"]: record["Name"]
            for sobject, ids in by_object.items()
            for record in self.fetch(sobject, ids, ["Name"])
        }

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        """Write field values by Id; returns each record's error, None when it saved."""
        outcomes = self._save_collections("composite/sobjects", sobject, records)
        return {record["Id"]: _record_errors(outcomes[i]) for i, record in enumerate(records)}

    def open_bulk_update(self, sobject: str, records: Sequence[Record]) -> str:
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
        records: Sequence[Record],
        on_state: StateHook | None = None,
        job_id: str | None = None,
    ) -> dict[str, str | None]:
        """Write many records with one Bulk API 2.0 ingest job (`job_id`: the one
        `open_bulk_update` made for them, else a new one), each of its calls retried;
        records it could not lock are written again on their own, as on the REST path.
        `on_state` hears the job's states and processed counts."""
        job_id = job_id or open_update(self.call, sobject, records)
        outcomes = run_update(self.call, sobject, job_id, records, on_state=on_state)
        locked = {
            record_id
            for record_id, error in outcomes.items()
            if error is not None and error.startswith(RETRYABLE_RECORD_ERRORS)
        }
        if not locked:
            return outcomes
        return outcomes | self.update(sobject, [r for r in records if r["Id"] in locked])

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

    def _soap(self, action: str, call: Callable[[Salesforce], list[T]]) -> list[T]:
        """One SOAP call, logged in again once on an expired session.

        A refused call is not retried on server faults: a merge or conversion that did
        happen cannot be told from one that did not, and a repeat would fail on it.
        """
        self.check_budget()
        try:
            try:
                return call(self.sf)
            except SoapFault as fault:
                if fault.code != "INVALID_SESSION_ID":
                    raise _soap_error(fault, action) from None
                self.sf = self._login()
                try:
                    return call(self.sf)
                except SoapFault as again:
                    raise _soap_error(again, action) from None
        except requests.RequestException as error:
            raise OrgError(f"could not reach Salesforce to {action}: {error}") from None

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


def _soap_error(fault: SoapFault, action: str) -> OrgError:
    message = f"Salesforce refused to {action}: {fault.code}: {fault.message}"
    if fault.code == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitError(f"{message}; rerun when the allowance resets")
    return OrgError(message)


def same_value(held: Any, written: Any) -> bool:
    """Whether a value read from the org is the one written: numbers compared as numbers,
    dateTimes as instants to the millisecond (Salesforce reads back as
    2026-11-23T00:04:07.931+0000 what was written as 2026-11-23T00:04:07.931Z)."""
    if isinstance(held, int | float) and isinstance(written, int | float):
        return float(held) == float(written)
    if isinstance(held, str) and isinstance(written, str) and held != written:
        instant = _instant(held)
        return instant is not None and instant == _instant(written)
    return bool(held == written)


def _instant(text: str) -> datetime | None:
    """A dateTime value to the millisecond, or None when the text is no dateTime."""
    if "T" not in text:
        return None
    try:
        moment = isoparse(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _plain(value: Any) -> Any:
    """A REST record without the `attributes` plays never read, at any depth (parents,
    subqueries). In place: the page was just decoded and nothing else holds it, and a copy
    of every record cost CPU and memory on large runs."""
    if isinstance(value, dict):
        value.pop("attributes", None)
        for item in value.values():
            if isinstance(item, dict | list):
                _plain(item)
    elif isinstance(value, list):
        for item in value:
            _plain(item)
    return value


def _next_page(sf: Salesforce, locator: str) -> dict[str, Any]:
    return sf.query_more(locator, identifier_is_url=True)


def _locked(result: dict[str, Any]) -> bool:
    return not result.get("success") and any(
        e.get("statusCode") in RETRYABLE_RECORD_ERRORS for e in result.get("errors") or []
    )


def connect_org(settings: Settings, today: date) -> OrgGateway:
    """The configured org; with none configured, the embedded demo org (built on first use)."""
    org = settings.org
    if org.kind == "local":
        # Here only: a run on a real org loads none of the local org, and a run on a served
        # one only its client's transport (not the server, its parser and storage).
        if org.url:
            from revsched.localorg import connect

            url = org.url
            return OrgGateway(
                lambda: connect(url), settings.api, org.key_field, settings.state.org_memory
            )
        from revsched.localorg import LocalOrg
        from revsched.localorg.demo import build_demo_org

        path = org.local_path()
        if not path.exists():
            logger.info(
                "building the demo org (%d accounts dated around %s) at %s: first use",
                org.demo_accounts,
                today,
                path,
            )
            build_demo_org(path, accounts=org.demo_accounts, seed=org.demo_seed, today=today)
        local = LocalOrg(path)
        return OrgGateway(local.salesforce, settings.api, org.key_field, settings.state.org_memory)
    return OrgGateway(salesforce_login(org), settings.api, org.key_field, settings.state.org_memory)


def describe_org(settings: Settings, instance_url: str) -> str:
    """Which org a run talks to, for its header: demo, local file or server, or Salesforce."""
    org = settings.org
    if org.kind == "local":
        if org.url:
            return f"local org server {org.url}"
        return f"{'local org' if org.path else 'demo org'} {org.local_path()}"
    # Sandboxes log in at test.salesforce.com, or at a My Domain under .sandbox.
    sandbox = org.domain == "test" or ".sandbox." in f"{instance_url}.{org.domain}."
    return f"Salesforce {instance_url} ({'sandbox' if sandbox else 'production'})"
