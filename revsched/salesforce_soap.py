"""SOAP API calls simple-salesforce lacks, made with its session: merge().

Works against real Salesforce and the local org alike. Per the SOAP API Developer Guide
("merge()", "MergeRequest", "MergeResult"): Lead, Contact and Account only; a request
merges up to 2 records into a master; up to 200 requests per call, each its own
transaction (so one failing request does not undo the others); no external IDs. Fields
set in `fields` overwrite the master's values; the merged records are deleted and their
related records re-parented to the master.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:  # the plays read this module's limits without loading the client
    from simple_salesforce import Salesforce

MAX_REQUESTS_PER_CALL = 200
MAX_MERGED_PER_REQUEST = 2
_PARTNER = "urn:partner.soap.sforce.com"
_SOBJECT = "urn:sobject.partner.soap.sforce.com"


class SoapFault(Exception):
    """A whole call refused (soapenv:Fault): `code` is Salesforce's exceptionCode, e.g.
    INVALID_SESSION_ID (log in again) or REQUEST_LIMIT_EXCEEDED."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class MergeRequest:
    master_id: str
    merge_ids: Sequence[str]
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class MergeError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergeResult:
    id: str
    success: bool
    merged_record_ids: tuple[str, ...] = ()
    updated_related_ids: tuple[str, ...] = ()
    errors: tuple[MergeError, ...] = ()


def soap_url(sf: Salesforce) -> str:
    return f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}"


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def merge_envelope(session_id: str, sobject: str, requests: Sequence[MergeRequest]) -> str:
    """The partner-WSDL merge envelope for up to 200 requests."""
    parts = []
    for request in requests:
        if not 1 <= len(request.merge_ids) <= MAX_MERGED_PER_REQUEST:
            raise ValueError("a merge request names 1 or 2 records to merge into the master")
        nulls = [name for name, v in request.fields.items() if v is None]
        values = {name: v for name, v in request.fields.items() if v is not None}
        master = (
            f"<urn:masterRecord><urn1:type>{escape(sobject)}</urn1:type>"
            + "".join(f"<urn1:fieldsToNull>{escape(n)}</urn1:fieldsToNull>" for n in nulls)
            + f"<urn1:Id>{escape(request.master_id)}</urn1:Id>"
            + "".join(f"<{n}>{_value(v)}</{n}>" for n, v in values.items())
            + "</urn:masterRecord>"
        )
        merged = "".join(
            f"<urn:recordToMergeIds>{escape(i)}</urn:recordToMergeIds>" for i in request.merge_ids
        )
        parts.append(f"<urn:request>{master}{merged}</urn:request>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:urn="{_PARTNER}" xmlns:urn1="{_SOBJECT}">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{escape(session_id)}"
        "</urn:sessionId></urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:merge>{''.join(parts)}</urn:merge></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _texts(element: ET.Element, name: str) -> tuple[str, ...]:
    return tuple((c.text or "") for c in element if _local(c.tag) == name)


def parse_merge_response(status: int, content: bytes) -> list[MergeResult]:
    root = ET.fromstring(content)
    body = next(c for c in root if _local(c.tag) == "Body")
    fault = next((c for c in body if _local(c.tag) == "Fault"), None)
    if fault is not None:
        code = next((e.text or "" for e in fault.iter() if _local(e.tag) == "exceptionCode"), "")
        text = next((e.text or "" for e in fault if _local(e.tag) == "faultstring"), "")
        if not code:
            faultcode = next((e.text or "" for e in fault if _local(e.tag) == "faultcode"), "")
            code = faultcode.rpartition(":")[2]
        raise SoapFault(code, text, status)
    response = next(c for c in body if _local(c.tag) == "mergeResponse")
    results = []
    for result in (c for c in response if _local(c.tag) == "result"):
        errors = tuple(
            MergeError(
                status_code=_texts(e, "statusCode")[0] if _texts(e, "statusCode") else "",
                message=_texts(e, "message")[0] if _texts(e, "message") else "",
                fields=_texts(e, "fields"),
            )
            for e in result
            if _local(e.tag) == "errors"
        )
        results.append(
            MergeResult(
                id=(_texts(result, "id") or ("",))[0],
                success=(_texts(result, "success") or ("false",))[0] == "true",
                merged_record_ids=_texts(result, "mergedRecordIds"),
                updated_related_ids=_texts(result, "updatedRelatedIds"),
                errors=errors,
            )
        )
    return results


def soap_merge(sf: Salesforce, sobject: str, requests: Sequence[MergeRequest]) -> list[MergeResult]:
    """Merge with simple-salesforce's session: one result per request, in order. More than
    200 requests are sent as several calls. Raises SoapFault when a call is refused."""
    results: list[MergeResult] = []
    for start in range(0, len(requests), MAX_REQUESTS_PER_CALL):
        chunk = requests[start : start + MAX_REQUESTS_PER_CALL]
        response = sf.session.post(
            soap_url(sf),
            data=merge_envelope(sf.session_id, sobject, chunk).encode(),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "merge"},
        )
        results += parse_merge_response(response.status_code, response.content)
    return results
