"""HTTP helpers the local org's WSGI handlers share (REST, Bulk API 2.0, SOAP): request
bodies, method checks and responses that are not JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from revsched.localorg.salesforce_errors import SalesforceError

# (HTTP status, JSON body or Raw)
Result = tuple[int, Any]


@dataclass
class Raw:
    """A response that is not a JSON body (CSV, XML), with any extra headers."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def json_body(request: Request) -> Any:
    """The request's JSON body (None when empty); a parse error as Salesforce reports it."""
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


def record_body(request: Request) -> dict[str, Any]:
    """A single record's fields from a JSON object body (its `attributes` dropped)."""
    body = json_body(request)
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    body.pop("attributes", None)
    return body


def method_not_allowed(method: str, allowed: Iterable[str]) -> SalesforceError:
    allowed_text = ",".join(["HEAD", *allowed] if "GET" in allowed else allowed)
    return SalesforceError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed_text}"
    )


def only(request: Request, method: str, handler: Callable[[], Result]) -> Result:
    """Run `handler` for `method` (and HEAD); any other method gets 405."""
    if request.method not in (method, "HEAD"):
        raise method_not_allowed(request.method, [method])
    return handler()
