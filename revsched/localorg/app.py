"""The REST API of the local org as a WSGI application: routing, authentication, API
usage accounting and Salesforce's JSON shapes for results and errors."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from revsched.localorg import describe, ids, schema
from revsched.localorg.bulk_jobs import Bulk2
from revsched.localorg.composite import run_composite
from revsched.localorg.faults import FaultProfile
from revsched.localorg.gate import CallGate
from revsched.localorg.http import Raw, Result, json_body, method_not_allowed, only, record_body
from revsched.localorg.query import QueryEngine, batch_size
from revsched.localorg.replication import get_deleted, get_updated
from revsched.localorg.salesforce_errors import RollBack, SalesforceError, not_found
from revsched.localorg.sessions import OAuthError, Sessions
from revsched.localorg.soap import SoapApi
from revsched.localorg.storage import MultipleMatches, Storage, external_id_field

_log = logging.getLogger(__name__)
MAX_COLLECTION = 200
# sObject Collections retrieve (POST form) reads up to 2,000 records.
MAX_RETRIEVE = 2000
# Salesforce caps a request's URI plus headers at 16,384 bytes (414 / 431 beyond it), which
# is what bounds how many Ids fit in a query's IN list.
MAX_REQUEST_LINE = 16_384
_VERSION = re.compile(r"v\d+\.\d+")
_ROLLED_BACK = SalesforceError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


def _item_id(item: Any) -> str | None:
    """The record Id a collection item names (its Id field, or the Id itself for delete)."""
    if isinstance(item, str):
        return ids.normalize(item)
    if isinstance(item, dict):
        value = next((v for k, v in item.items() if k.lower() == "id"), None)
        return ids.normalize(value) if isinstance(value, str) else None
    return None


def _invalid_session() -> SalesforceError:
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def _dropped(
    response: Response, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterator[bytes]:
    """Send the headers and half the body, then drop the connection: over HTTP the socket
    is shut down; in-process, WSGIAdapter sees the `drop` signal and raises as requests
    would."""
    body = response.get_data()
    signals = environ.get("localorg.signals")
    if isinstance(signals, dict):
        signals["drop"] = True
    start_response(response.status, list(response.headers.items()))
    yield body[: len(body) // 2]
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class RestApi:
    """WSGI callable for the org's resources: /services/data/vXX.X/... (REST, Bulk API 2.0),
    /services/Soap/u/XX.X (login, merge) and /services/oauth2/token. Every request holds
    the storage lock; latency faults are slept outside it."""

    def __init__(
        self,
        storage: Storage,
        daily_api_limit: int,
        *,
        sessions: Sessions | None = None,
        faults: FaultProfile | None = None,
    ) -> None:
        self.storage = storage
        self.queries = QueryEngine(storage)
        self.sessions = sessions or Sessions(None, strict=False)
        self.gate = CallGate(storage, daily_api_limit, faults)
        self.bulk = Bulk2(storage, self.queries, self.gate)
        self.soap = SoapApi(storage, self.sessions, self.gate)
        self._prefetched: dict[str, dict[str, object]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        self.gate.delay()
        drop = False
        with self.storage.lock:
            try:
                status, body, drop = self._dispatch(request)
            except SalesforceError as exc:
                status, body = exc.status, exc.body()
            except OAuthError as exc:
                status, body = exc.status, exc.body
            except Exception as exc:
                # A bug in the local org, reported as Salesforce reports its own failures.
                _log.exception("local org request failed: %s %s", request.method, request.path)
                status, body = 500, SalesforceError(500, "UNKNOWN_EXCEPTION", str(exc)).body()
            usage = self.gate.usage_header()
        if isinstance(body, Raw):
            response = Response(body.body, status=body.status, content_type=body.content_type)
            response.headers.update(body.headers)
        else:
            response = Response(
                b"" if body is None else json.dumps(body).encode(),
                status=status,
                content_type="application/json;charset=UTF-8",
            )
            if body is None:
                del response.headers["Content-Type"]
        response.headers["Sforce-Limit-Info"] = usage
        if drop:
            return _dropped(response, environ, start_response)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> tuple[int, Any, bool]:
        """(status, body, drop the connection mid-response?)"""
        self._check_size(request)
        parts = [p for p in request.path.split("/") if p]
        if parts == ["services", "oauth2", "token"]:
            status, token_body = self.sessions.token(
                request, request.host_url.rstrip("/"), self.storage.running_user_id
            )
            return status, token_body, False
        if parts[:3] == ["services", "Soap", "u"] and len(parts) in (4, 5):
            return self.soap.handle(request, parts[3])
        if parts == ["services", "data"]:
            # The versions list needs no session: clients read it before they log in.
            return (*only(request, "GET", lambda: (200, describe.api_versions())), False)
        if parts[:2] != ["services", "data"] or len(parts) < 3 or not _VERSION.fullmatch(parts[2]):
            raise not_found()
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not self.sessions.accepts(token):
            raise _invalid_session()
        drop = self.gate.admit(token.strip())
        status, body = self._handle(request, parts)
        return status, body, drop

    def _handle(self, request: Request, parts: list[str]) -> Result:
        api = f"/services/data/{parts[2]}"
        rest = parts[3:]
        head = rest[0] if rest else ""
        if not rest:
            return only(request, "GET", lambda: (200, describe.resources(api)))
        if head == "limits" and len(rest) == 1:
            return only(request, "GET", lambda: (200, self._limits()))
        if head in ("query", "queryAll") and len(rest) <= 2:
            return only(request, "GET", lambda: self._query(request, f"{api}/{head}", rest))
        if head == "sobjects":
            return self._sobjects(request, api, rest[1:])
        if rest == ["composite"]:
            return only(request, "POST", lambda: run_composite(request, self.storage, self._handle))
        if rest == ["composite", "sobjects"]:
            return self._collection(request)
        if rest[:2] == ["composite", "sobjects"] and len(rest) == 3:
            return self._collection_retrieve(request, api, rest[2])
        if rest[:2] == ["composite", "sobjects"] and len(rest) == 4:
            return only(request, "PATCH", lambda: self._collection_upsert(request, rest))
        if head == "jobs":
            return self.bulk.handle(request, api, rest[1:])
        raise not_found()

    @staticmethod
    def _check_size(request: Request) -> None:
        environ = request.environ
        uri = quote(environ.get("PATH_INFO", "")) + "?" + environ.get("QUERY_STRING", "")
        headers = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if len(uri) > MAX_REQUEST_LINE:
            raise SalesforceError(414, "URI_TOO_LONG", "URI Too Long")
        if len(uri) + headers > MAX_REQUEST_LINE:
            raise SalesforceError(
                431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "Request Header Fields Too Large"
            )

    # -- limits and query ---------------------------------------------------------------

    def _limits(self) -> dict[str, dict[str, int]]:
        """limits/: REST API Developer Guide, "Limits" (each entry {"Max", "Remaining"}).
        DailyApiRequests counts every API call; the bulk entries count Bulk API 2.0 ingest
        batches (one per 10,000 records uploaded) and query jobs."""

        def limit(maximum: int, used: int = 0) -> dict[str, int]:
            return {"Max": maximum, "Remaining": max(0, maximum - used)}

        usage = self.storage.usage_today()
        return {
            "DailyApiRequests": limit(self.gate.daily_api_limit, self.storage.calls_today()),
            "DailyBulkApiBatches": limit(15000, usage.get("bulk_batches", 0)),
            "DailyBulkV2QueryFileStorageMB": limit(976562, usage.get("bulk_query_mb", 0)),
            "DailyBulkV2QueryJobs": limit(10000, usage.get("bulk_query_jobs", 0)),
            "DataStorageMB": limit(1024),
            "FileStorageMB": limit(1024),
            "SingleEmail": limit(5000),
        }

    def _query(self, request: Request, base: str, rest: list[str]) -> Result:
        batch = batch_size(request.headers.get("Sforce-Query-Options"))
        if len(rest) == 2:
            return 200, self.queries.more(rest[1], batch=batch, base=base)
        soql = request.args.get("q")
        if not soql:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        include_deleted = rest[0] == "queryAll"
        return 200, self.queries.query(
            soql, include_deleted=include_deleted, batch=batch, base=base
        )

    # -- sobjects ------------------------------------------------------------------------

    def _sobjects(self, request: Request, api: str, rest: list[str]) -> Result:
        if not rest:
            return only(
                request,
                "GET",
                lambda: (200, describe.describe_global(api, self.storage.schema, MAX_COLLECTION)),
            )
        sobj = self.storage.schema.sobject(rest[0])
        if sobj is None or len(rest) > 3:
            raise not_found()
        if len(rest) == 3:
            if request.method in ("GET", "HEAD"):
                return 200, self._by_external_id(api, sobj, rest)
            return only(request, "PATCH", lambda: self._upsert(request, api, sobj, rest))
        if len(rest) == 1:
            if request.method == "POST":
                record_id = self.storage.create(sobj.name, record_body(request))
                return 201, {"id": record_id, "success": True, "errors": []}
            if request.method not in ("GET", "HEAD"):
                raise method_not_allowed(request.method, ["GET", "POST"])
            return 200, describe.sobject_info(api, sobj)
        if rest[1] == "describe":
            return only(
                request, "GET", lambda: (200, describe.describe(api, sobj, self.storage.schema))
            )
        if rest[1] in ("updated", "deleted"):
            changes = get_updated if rest[1] == "updated" else get_deleted
            start, end = request.args.get("start"), request.args.get("end")
            return only(request, "GET", lambda: (200, changes(self.storage, sobj, start, end)))
        record_id = rest[1]
        if request.method in ("GET", "HEAD"):
            return 200, self.storage.retrieve(sobj.name, record_id, api)
        if request.method == "PATCH":
            self.storage.update(sobj.name, record_id, record_body(request))
            return 204, None
        if request.method == "DELETE":
            row = self.storage.row(sobj, record_id)
            self.storage.delete(sobj, str(row["Id"]))
            return 204, None
        raise method_not_allowed(request.method, ["GET", "PATCH", "DELETE"])

    def _upsert(self, request: Request, api: str, sobj: schema.SObject, rest: list[str]) -> Result:
        """PATCH sobjects/{type}/{externalIdField}/{value}. REST API Developer Guide, "Upsert
        Records Using sObject Rows by External ID": 201 with {id, success, errors, created:
        true} when created, 200 with created false when one record matched, 300 with the
        matching records' URLs when several did (nothing written)."""
        body = record_body(request)
        try:
            record_id, created = self.storage.upsert(sobj.name, rest[1], rest[2], body)
        except MultipleMatches as exc:
            return 300, [f"{api}/sobjects/{sobj.name}/{i}" for i in exc.record_ids]
        return (201 if created else 200), {
            "id": record_id,
            "success": True,
            "errors": [],
            "created": created,
        }

    def _by_external_id(self, api: str, sobj: schema.SObject, rest: list[str]) -> Any:
        """GET sobjects/{type}/{externalIdField}/{value}: the record, or 300 with the URLs
        of every match, or 404."""
        matches = self.storage.match_external_id(sobj, rest[1], rest[2])
        if not matches:
            raise not_found()
        if len(matches) > 1:
            raise SalesforceError(300, "MULTIPLE_CHOICES", "Multiple records matched")
        return self.storage.retrieve(sobj.name, matches[0], api)

    # -- sObject Collections ----------------------------------------------------------------

    def _collection(self, request: Request) -> Result:
        if request.method == "DELETE":
            record_ids = [i for i in request.args.get("ids", "").split(",") if i]
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            return self._apply(record_ids, all_or_none, self._collection_delete)
        if request.method == "POST":
            return self._run_collection(request, self._collection_create)
        if request.method == "PATCH":
            return self._run_collection(request, self._collection_update, prefetch=True)
        raise method_not_allowed(request.method, ["POST", "PATCH", "DELETE"])

    def _run_collection(
        self,
        request: Request,
        action: Callable[[dict[str, Any]], dict[str, object]],
        *,
        prefetch: bool = False,
    ) -> Result:
        body = json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "The request body must have a 'records' list"
            )
        if prefetch and len(records) <= MAX_COLLECTION:
            # One query for the rows an update collection names, instead of one per record.
            self._prefetched = self.storage.rows_by_id(
                [r for r in (_item_id(record) for record in records) if r]
            )
        try:
            return self._apply(records, bool(body.get("allOrNone", False)), action)
        finally:
            self._prefetched = {}

    def _apply(
        self, items: list[Any], all_or_none: bool, action: Callable[[Any], dict[str, object]]
    ) -> Result:
        """Per-item results in request order; with allOrNone, one failure rolls back all."""
        if len(items) > MAX_COLLECTION:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records into "
                "this call",
            )
        results: list[dict[str, object]] = []
        try:
            with self.storage.transaction():
                for item in items:
                    try:
                        if self.gate.faults is not None:
                            self.gate.check_record(_item_id(item))
                        results.append(action(item))
                    except SalesforceError as exc:
                        results.append({"success": False, "errors": [exc.save_error()]})
                if all_or_none and not all(r["success"] for r in results):
                    raise RollBack
        except RollBack:
            results = [
                r if not r["success"] else {"success": False, "errors": [_ROLLED_BACK.save_error()]}
                for r in results
            ]
        return 200, results

    def _collection_retrieve(self, request: Request, api: str, name: str) -> Result:
        """GET composite/sobjects/{type}?ids=&fields= (or POST with {"ids", "fields"}): REST
        API Developer Guide, "Get Records Using sObject Collections": one record or null
        per Id, in order; up to 2,000 Ids in the POST form."""
        sobj = self.storage.schema.sobject(name)
        if sobj is None:
            raise not_found()
        if request.method in ("GET", "HEAD"):
            record_ids = [i for i in request.args.get("ids", "").split(",") if i]
            fields = [f for f in request.args.get("fields", "").split(",") if f]
        elif request.method == "POST":
            body = json_body(request)
            body = body if isinstance(body, dict) else {}
            record_ids, fields = body.get("ids"), body.get("fields")
        else:
            raise method_not_allowed(request.method, ["GET", "POST"])
        lists = (record_ids, fields)
        if not all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in lists):
            raise SalesforceError(
                400, "INVALID_FIELD", "Both ids and fields are required: lists of names"
            )
        if len(record_ids) > MAX_RETRIEVE:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_RETRIEVE} records into "
                "this call",
            )
        return 200, self.queries.retrieve(sobj, record_ids, fields, api)

    def _collection_upsert(self, request: Request, rest: list[str]) -> Result:
        """PATCH composite/sobjects/{type}/{externalIdField}: upsert up to 200 records."""
        sobj = self.storage.schema.sobject(rest[2])
        if sobj is None:
            raise not_found()
        key_field = rest[3]
        field_def = external_id_field(sobj, key_field)
        body = json_body(request)
        records = body.get("records") if isinstance(body, dict) else None

        def key_of(record: Any) -> object:
            if not isinstance(record, dict):
                return None
            return next((v for k, v in record.items() if k.lower() == key_field.lower()), None)

        # The same external ID twice in one request: each of those records fails (as the
        # DUPLICATE_EXTERNAL_ID StatusCode of the SOAP/REST APIs; wording as Salesforce's
        # "Duplicate external id specified"). Text keys compare case-insensitively.
        keys = [str(key_of(r)).lower() for r in records or [] if key_of(r) is not None]
        repeated = {k for k in keys if keys.count(k) > 1}

        def upsert(record: dict[str, Any]) -> dict[str, object]:
            self._record_type(record)
            key = key_of(record)
            if key is None:
                raise SalesforceError(
                    400,
                    "MISSING_ARGUMENT",
                    f"{key_field} not specified",
                )
            if str(key).lower() in repeated:
                raise SalesforceError(
                    400,
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {key}",
                    [field_def.name],
                )
            try:
                record_id, created = self.storage.upsert(sobj.name, key_field, key, record)
            except MultipleMatches as exc:
                # Several records already hold the value: DUPLICATE_EXTERNAL_ID "<label>: more
                # than one record found for external id field: [ids]".
                raise SalesforceError(
                    400,
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field_def.name}: more than one record found for external id field: "
                    f"[{', '.join(exc.record_ids)}]",
                    [field_def.name],
                ) from None
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return self._run_collection(request, upsert)

    def _record_type(self, record: dict[str, Any]) -> schema.SObject:
        attributes = record.pop("attributes", None)
        name = attributes.get("type") if isinstance(attributes, dict) else None
        sobj = self.storage.schema.sobject(name) if isinstance(name, str) else None
        if sobj is None:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{name}' is not supported.", []
            )
        return sobj

    def _collection_create(self, record: dict[str, Any]) -> dict[str, object]:
        sobj = self._record_type(record)
        if any(k.lower() == "id" for k in record):
            raise SalesforceError(
                400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
            )
        return {"id": self.storage.create(sobj.name, record), "success": True, "errors": []}

    def _collection_update(self, record: dict[str, Any]) -> dict[str, object]:
        sobj = self._record_type(record)
        key = next((k for k in record if k.lower() == "id"), None)
        if key is None or not record[key]:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
        given = str(record.pop(key))
        # A prefetched row is used once: a record named twice is fetched again, current.
        located = self._prefetched.pop(ids.normalize(given) or "", None)
        if located is None or located["IsDeleted"] or not given.startswith(sobj.key_prefix):
            located = self.storage.locate_row(given, sobj)
        record_id = str(located["Id"])
        self.storage.update(sobj.name, record_id, record, located)
        return {"id": record_id, "success": True, "errors": []}

    def _collection_delete(self, record_id: str) -> dict[str, object]:
        canonical = self.storage.locate(record_id, None)
        owner = self.storage.schema.key_prefix_owner(canonical)
        assert owner is not None
        self.storage.delete(owner, canonical)
        return {"id": canonical, "success": True, "errors": []}
