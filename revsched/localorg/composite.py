"""POST composite: subrequests run in order through the REST handler, later ones
referring to earlier results, with allOrNone rolling all of them back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from revsched.localorg.http import Result, json_body
from revsched.localorg.salesforce_errors import RollBack, SalesforceError, not_found
from revsched.localorg.storage import Storage

# Runs one subrequest as the REST API would: (request, path parts) -> (status, body).
Handler = Callable[[Request, list[str]], Result]
# Composite: at most 25 subrequests; referenceIds are alphanumeric (+ underscore).
MAX_COMPOSITE = 25
_REFERENCE_ID = re.compile(r"[A-Za-z0-9_]+")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def _lookup(outputs: dict[str, Any], ref: str, path: str) -> Any:
    """The value @{ref.path} names in an earlier subrequest's result body."""
    if ref not in outputs:
        raise KeyError(f"{ref}{path}")
    value = outputs[ref]
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            raise KeyError(f"{ref}{path}") from None
    return value


def _resolve(value: Any, outputs: dict[str, Any]) -> Any:
    """Substitute @{referenceId.field} references in a subrequest's url or body. A string
    that is exactly one reference takes the referenced value's JSON type."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(outputs, whole.group(1), whole.group(2))
        return _REFERENCE.sub(lambda m: str(_lookup(outputs, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    return value


def run_composite(request: Request, storage: Storage, handle: Handler) -> Result:
    """POST composite: up to 25 subrequests in order, later ones referring to earlier
    results as @{referenceId.field}. REST API Developer Guide, "Composite", "Composite
    Request Body" / "Composite Response Body" and "allOrNone Parameters in Composite and
    Collections Requests": the top-level answer is always 200 with one result per
    subrequest (body, httpHeaders, httpStatusCode, referenceId); with allOrNone a failure
    rolls everything back and every other subrequest answers 400 PROCESSING_HALTED; a
    subrequest whose reference cannot be resolved is not run (400 PROCESSING_HALTED)."""
    body = json_body(request)
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "The request body must have a 'compositeRequest' list"
        )
    if len(subrequests) > MAX_COMPOSITE:
        raise SalesforceError(
            400,
            "LIMIT_EXCEEDED",
            f"Limit exceeded, maximum {MAX_COMPOSITE} subrequests allowed",
        )
    seen: set[str] = set()
    for sub in subrequests:
        ref = sub.get("referenceId") if isinstance(sub, dict) else None
        if not isinstance(ref, str) or not ref or not isinstance(sub.get("url"), str):
            raise SalesforceError(
                400, "INVALID_INPUT", "Each subrequest needs a url, a method and a referenceId"
            )
        if not _REFERENCE_ID.fullmatch(ref) or ref in seen:
            raise SalesforceError(400, "INVALID_INPUT", f"Duplicate or invalid referenceId: {ref}")
        seen.add(ref)
    all_or_none = bool(body.get("allOrNone", False))
    results: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    try:
        with storage.transaction():
            for sub in subrequests:
                result = _subrequest(request, sub, outputs, all_or_none, handle)
                results.append(result)
                if result["httpStatusCode"] < 300:
                    outputs[sub["referenceId"]] = result["body"]
                elif all_or_none:
                    raise RollBack
    except RollBack:
        halted = [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}]
        failed = len(results) - 1
        results = [
            r if i == failed else {**r, "body": halted, "httpHeaders": {}, "httpStatusCode": 400}
            for i, r in enumerate(results)
        ]
        results += [
            {
                "body": halted,
                "httpHeaders": {},
                "httpStatusCode": 400,
                "referenceId": sub["referenceId"],
            }
            for sub in subrequests[len(results) :]
        ]
    return 200, {"compositeResponse": results}


def _subrequest(
    parent: Request,
    sub: dict[str, Any],
    outputs: dict[str, Any],
    all_or_none: bool,
    handle: Handler,
) -> dict[str, Any]:
    ref = sub["referenceId"]
    try:
        url = _resolve(sub["url"], outputs)
        body = _resolve(sub.get("body"), outputs)
        if all_or_none and isinstance(body, dict) and "/composite/sobjects" in url:
            # "allOrNone Parameters in Composite and Collections Requests": the outer
            # true overrides each sObject Collections subrequest's own flag.
            body = {**body, "allOrNone": True}
    except KeyError as missing:
        return {
            "body": [
                {
                    "errorCode": "PROCESSING_HALTED",
                    "message": f"Invalid reference specified. No value for {missing.args[0]} "
                    f"found in {ref}.",
                }
            ],
            "httpHeaders": {},
            "httpStatusCode": 400,
            "referenceId": ref,
        }
    split = urlsplit(url)
    sub_parts = [p for p in unquote(split.path).split("/") if p]
    # "Composite Subrequest": httpHeaders, any header the resource takes (Sforce-Query-Options
    # on a query); the session is the composite call's.
    own = sub.get("httpHeaders")
    sent = {str(k): str(v) for k, v in own.items()} if isinstance(own, dict) else {}
    environ = EnvironBuilder(
        path=split.path,
        query_string=split.query,
        method=str(sub.get("method", "GET")).upper(),
        headers={**sent, "Authorization": parent.headers.get("Authorization", "")},
        data=b"" if body is None else json.dumps(body).encode(),
        content_type="application/json",
    ).get_environ()
    headers: dict[str, str] = {}
    try:
        if sub_parts[:2] != ["services", "data"] or len(sub_parts) < 3:
            raise not_found()
        if sub_parts[3:] == ["composite"]:
            raise SalesforceError(400, "INVALID_INPUT", "composite cannot be nested")
        status, result = handle(Request(environ), sub_parts)
        if status == 201 and isinstance(result, dict) and "id" in result:
            headers["Location"] = f"/{'/'.join(sub_parts)}/{result['id']}"
    except SalesforceError as exc:
        status, result = exc.status, exc.body()
    return {
        "body": result,
        "httpHeaders": headers,
        "httpStatusCode": status,
        "referenceId": ref,
    }
