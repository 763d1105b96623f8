"""The REST API of the local org as a WSGI application: routing, authentication, API
usage accounting and Salesforce's JSON shapes for results and errors."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from revsched.localorg import schema
from revsched.localorg.errors import SalesforceError, not_found
from revsched.localorg.query import QueryEngine, batch_size
from revsched.localorg.storage import Storage

_log = logging.getLogger(__name__)
MAX_COLLECTION = 200
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

Result = tuple[int, Any]


class _RollBack(Exception):
    """Unwinds an allOrNone collection request so its transaction rolls back."""


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


def _record_body(request: Request) -> dict[str, Any]:
    """A single record's fields from a JSON object body (its `attributes` dropped)."""
    body = _json_body(request)
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    body.pop("attributes", None)
    return body


def _method_not_allowed(method: str, allowed: Iterable[str]) -> SalesforceError:
    allowed_text = ",".join(["HEAD", *allowed] if "GET" in allowed else allowed)
    return SalesforceError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed_text}"
    )


class RestApi:
    """WSGI callable for /services/data/vXX.X/...; every request holds the storage lock."""

    def __init__(self, storage: Storage, daily_api_limit: int) -> None:
        self.storage = storage
        self.queries = QueryEngine(storage)
        self.daily_api_limit = daily_api_limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.storage.lock:
            try:
                status, body = self._handle(request)
            except SalesforceError as exc:
                status, body = exc.status, exc.body()
            except Exception as exc:
                # A bug in the local org, reported as Salesforce reports its own failures.
                _log.exception("local org request failed: %s %s", request.method, request.path)
                status, body = 500, SalesforceError(500, "UNKNOWN_EXCEPTION", str(exc)).body()
            used = self.storage.calls_today()
        response = Response(
            b"" if body is None else json.dumps(body).encode(),
            status=status,
            content_type="application/json;charset=UTF-8",
        )
        if body is None:
            del response.headers["Content-Type"]
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{self.daily_api_limit}"
        return response(environ, start_response)

    def _handle(self, request: Request) -> Result:
        self._check_size(request)
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["services", "data"] or len(parts) < 3 or not _VERSION.fullmatch(parts[2]):
            raise not_found()
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        used = self.storage.count_call()
        if used > self.daily_api_limit:
            raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        api = f"/services/data/{parts[2]}"
        rest = parts[3:]
        head = rest[0] if rest else ""
        if head == "limits" and len(rest) == 1:
            return self._only(request, "GET", lambda: self._limits(used))
        if head in ("query", "queryAll") and len(rest) <= 2:
            return self._only(request, "GET", lambda: self._query(request, f"{api}/{head}", rest))
        if head == "sobjects":
            return self._sobjects(request, api, rest[1:])
        if rest == ["composite", "sobjects"]:
            return self._collection(request)
        if rest[:2] == ["composite", "sobjects"] and len(rest) == 4:
            return self._only(request, "PATCH", lambda: self._collection_upsert(request, rest))
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

    @staticmethod
    def _only(request: Request, method: str, handler: Callable[[], Result]) -> Result:
        if request.method not in (method, "HEAD"):
            raise _method_not_allowed(request.method, [method])
        return handler()

    # -- limits and query ---------------------------------------------------------------

    def _limits(self, used: int) -> Result:
        def limit(maximum: int, remaining: int | None = None) -> dict[str, int]:
            return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

        return 200, {
            "DailyApiRequests": limit(self.daily_api_limit, max(0, self.daily_api_limit - used)),
            "DailyBulkApiBatches": limit(15000),
            "DailyBulkV2QueryFileStorageMB": limit(976562),
            "DailyBulkV2QueryJobs": limit(10000),
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
            return self._only(request, "GET", lambda: (200, self._describe_global(api)))
        sobj = schema.sobject(rest[0])
        if sobj is None or len(rest) > 3:
            raise not_found()
        if len(rest) == 3:
            return self._only(request, "PATCH", lambda: self._upsert(request, sobj, rest))
        if len(rest) == 1:
            if request.method == "POST":
                record_id = self.storage.create(sobj.name, _record_body(request))
                return 201, {"id": record_id, "success": True, "errors": []}
            if request.method not in ("GET", "HEAD"):
                raise _method_not_allowed(request.method, ["GET", "POST"])
            return 200, self._sobject_info(api, sobj)
        if rest[1] == "describe":
            return self._only(request, "GET", lambda: (200, self._describe(api, sobj)))
        record_id = rest[1]
        if request.method in ("GET", "HEAD"):
            return 200, self.storage.retrieve(sobj.name, record_id, api)
        if request.method == "PATCH":
            self.storage.update(sobj.name, record_id, _record_body(request))
            return 204, None
        if request.method == "DELETE":
            row = self.storage.row(sobj, record_id)
            self.storage.delete(sobj, str(row["Id"]))
            return 204, None
        raise _method_not_allowed(request.method, ["GET", "PATCH", "DELETE"])

    def _upsert(self, request: Request, sobj: schema.SObject, rest: list[str]) -> Result:
        """PATCH sobjects/{type}/{externalIdField}/{value}: 201 when created, else 200."""
        body = _record_body(request)
        record_id, created = self.storage.upsert(sobj.name, rest[1], rest[2], body)
        return (201 if created else 200), {
            "id": record_id,
            "success": True,
            "errors": [],
            "created": created,
        }

    def _sobject_info(self, api: str, sobj: schema.SObject) -> dict[str, object]:
        return {"objectDescribe": self._summary(api, sobj), "recentItems": []}

    @staticmethod
    def _summary(api: str, sobj: schema.SObject) -> dict[str, object]:
        base = f"{api}/sobjects/{sobj.name}"
        return {
            "name": sobj.name,
            "label": sobj.label or sobj.name,
            "keyPrefix": sobj.key_prefix,
            "custom": False,
            "queryable": True,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    def _describe_global(self, api: str) -> dict[str, object]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION,
            "sobjects": [self._summary(api, s) for s in schema.SOBJECTS.values()],
        }

    def _describe(self, api: str, sobj: schema.SObject) -> dict[str, object]:
        fields = [
            {
                "name": f.name,
                "type": f.type,
                "length": f.length or 0,
                "referenceTo": list(f.reference_to),
                "relationshipName": f.relationship_name,
                "nillable": f.nillable,
                "createable": f.writable,
                "updateable": f.writable,
                "externalId": f.external_id,
                "unique": f.unique,
                "picklistValues": [
                    {"active": True, "defaultValue": v == f.default, "label": v, "value": v}
                    for v in f.picklist_values
                ],
            }
            for f in sobj.fields.values()
        ]
        children = [
            {
                "childSObject": r.child_sobject,
                "field": r.field,
                "relationshipName": r.relationship_name,
            }
            for r in schema.CHILD_RELATIONSHIPS.get(sobj.name, ())
        ]
        return {**self._summary(api, sobj), "fields": fields, "childRelationships": children}

    # -- sObject Collections ----------------------------------------------------------------

    def _collection(self, request: Request) -> Result:
        if request.method == "DELETE":
            record_ids = [i for i in request.args.get("ids", "").split(",") if i]
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            return self._apply(record_ids, all_or_none, self._collection_delete)
        if request.method == "POST":
            return self._run_collection(request, self._collection_create)
        if request.method == "PATCH":
            return self._run_collection(request, self._collection_update)
        raise _method_not_allowed(request.method, ["POST", "PATCH", "DELETE"])

    def _run_collection(
        self, request: Request, action: Callable[[dict[str, Any]], dict[str, object]]
    ) -> Result:
        body = _json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "The request body must have a 'records' list"
            )
        return self._apply(records, bool(body.get("allOrNone", False)), action)

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
                        results.append(action(item))
                    except SalesforceError as exc:
                        results.append({"success": False, "errors": [exc.save_error()]})
                if all_or_none and not all(r["success"] for r in results):
                    raise _RollBack
        except _RollBack:
            results = [
                r if not r["success"] else {"success": False, "errors": [_ROLLED_BACK.save_error()]}
                for r in results
            ]
        return 200, results

    def _collection_upsert(self, request: Request, rest: list[str]) -> Result:
        """PATCH composite/sobjects/{type}/{externalIdField}: upsert up to 200 records."""
        sobj = schema.sobject(rest[2])
        if sobj is None:
            raise not_found()
        key_field = rest[3]

        def upsert(record: dict[str, Any]) -> dict[str, object]:
            self._record_type(record)
            key = next((v for k, v in record.items() if k.lower() == key_field.lower()), None)
            if key is None:
                raise SalesforceError(
                    400,
                    "MISSING_ARGUMENT",
                    f"{key_field} not specified",
                )
            record_id, created = self.storage.upsert(sobj.name, key_field, key, record)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return self._run_collection(request, upsert)

    def _record_type(self, record: dict[str, Any]) -> schema.SObject:
        attributes = record.pop("attributes", None)
        name = attributes.get("type") if isinstance(attributes, dict) else None
        sobj = schema.sobject(name) if isinstance(name, str) else None
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
        record_id = self.storage.locate(str(record.pop(key)), sobj)
        self.storage.update(sobj.name, record_id, record)
        return {"id": record_id, "success": True, "errors": []}

    def _collection_delete(self, record_id: str) -> dict[str, object]:
        canonical = self.storage.locate(record_id, None)
        owner = schema.key_prefix_owner(canonical)
        assert owner is not None
        self.storage.delete(owner, canonical)
        return {"id": canonical, "success": True, "errors": []}
