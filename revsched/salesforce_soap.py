"""SOAP API calls simple-salesforce lacks, made with its session: merge(), convertLead().

Works against real Salesforce and the local org alike. Per the SOAP API Developer Guide
("convertLead()", "LeadConvert", "LeadConvertResult"): up to 200 LeadConverts a call, each
naming the lead, its converted status and (optionally) the existing account and contact it
joins, the owner of what is created, and doNotCreateOpportunity; each result gives the
accountId, contactId, leadId and opportunityId, or errors (an already converted lead:
CANNOT_UPDATE_CONVERTED_LEAD). ("merge()", "MergeRequest", "MergeResult"): Lead, Contact
and Account only; a request
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


@dataclass(frozen=True)
class LeadConvert:
    """One lead to convert onto an existing account (no opportunity unless asked)."""

    lead_id: str
    converted_status: str
    account_id: str | None = None
    contact_id: str | None = None
    owner_id: str | None = None
    create_opportunity: bool = False


@dataclass(frozen=True)
class LeadConvertResult:
    lead_id: str
    success: bool
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: tuple[MergeError, ...] = ()


def soap_url(sf: Salesforce) -> str:
    return f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}"


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _envelope(session_id: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:urn="{_PARTNER}" xmlns:urn1="{_SOBJECT}">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{escape(session_id)}"
        "</urn:sessionId></urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def convert_envelope(session_id: str, converts: Sequence[LeadConvert]) -> str:
    """The partner-WSDL convertLead envelope for up to 200 LeadConverts."""
    parts = []
    for convert in converts:
        optional = {
            "accountId": convert.account_id,
            "contactId": convert.contact_id,
            "ownerId": convert.owner_id,
        }
        parts.append(
            "<urn:leadConverts>"
            + "".join(f"<urn:{n}>{escape(v)}</urn:{n}>" for n, v in optional.items() if v)
            + f"<urn:convertedStatus>{escape(convert.converted_status)}</urn:convertedStatus>"
            + "<urn:doNotCreateOpportunity>"
            + _value(not convert.create_opportunity)
            + "</urn:doNotCreateOpportunity>"
            + f"<urn:leadId>{escape(convert.lead_id)}</urn:leadId>"
            + "<urn:overwriteLeadSource>false</urn:overwriteLeadSource>"
            + "<urn:sendNotificationEmail>false</urn:sendNotificationEmail>"
            + "</urn:leadConverts>"
        )
    return _envelope(session_id, f"<urn:convertLead>{''.join(parts)}</urn:convertLead>")


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
    return _envelope(session_id, f"<urn:merge>{''.join(parts)}</urn:merge>")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _texts(element: ET.Element, name: str) -> tuple[str, ...]:
    return tuple((c.text or "") for c in element if _local(c.tag) == name)


def _results(status: int, content: bytes, response_name: str) -> list[ET.Element]:
    """The result elements of a call's response; raises SoapFault when it was refused."""
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
    response = next(c for c in body if _local(c.tag) == response_name)
    return [c for c in response if _local(c.tag) == "result"]


def _first(element: ET.Element, name: str) -> str | None:
    """The first child's text; None when absent or nil (an empty element)."""
    return next(iter(_texts(element, name)), None) or None


def _errors(result: ET.Element) -> tuple[MergeError, ...]:
    return tuple(
        MergeError(
            status_code=_first(e, "statusCode") or "",
            message=_first(e, "message") or "",
            fields=_texts(e, "fields"),
        )
        for e in result
        if _local(e.tag) == "errors"
    )


def parse_merge_response(status: int, content: bytes) -> list[MergeResult]:
    return [
        MergeResult(
            id=_first(result, "id") or "",
            success=_first(result, "success") == "true",
            merged_record_ids=_texts(result, "mergedRecordIds"),
            updated_related_ids=_texts(result, "updatedRelatedIds"),
            errors=_errors(result),
        )
        for result in _results(status, content, "mergeResponse")
    ]


def parse_convert_response(status: int, content: bytes) -> list[LeadConvertResult]:
    return [
        LeadConvertResult(
            lead_id=_first(result, "leadId") or "",
            success=_first(result, "success") == "true",
            account_id=_first(result, "accountId"),
            contact_id=_first(result, "contactId"),
            opportunity_id=_first(result, "opportunityId"),
            errors=_errors(result),
        )
        for result in _results(status, content, "convertLeadResponse")
    ]


def soap_merge(sf: Salesforce, sobject: str, requests: Sequence[MergeRequest]) -> list[MergeResult]:
    """Merge with simple-salesforce's session: one result per request, in order. More than
    200 requests are sent as several calls. Raises SoapFault when a call is refused."""
    results: list[MergeResult] = []
    for start in range(0, len(requests), MAX_REQUESTS_PER_CALL):
        envelope = merge_envelope(
            sf.session_id, sobject, requests[start : start + MAX_REQUESTS_PER_CALL]
        )
        status, content = _post(sf, "merge", envelope)
        results += parse_merge_response(status, content)
    return results


def soap_convert_leads(sf: Salesforce, converts: Sequence[LeadConvert]) -> list[LeadConvertResult]:
    """convertLead() with simple-salesforce's session: one result per LeadConvert, in order,
    200 a call. Raises SoapFault when a call is refused."""
    results: list[LeadConvertResult] = []
    for start in range(0, len(converts), MAX_REQUESTS_PER_CALL):
        envelope = convert_envelope(sf.session_id, converts[start : start + MAX_REQUESTS_PER_CALL])
        status, content = _post(sf, "convertLead", envelope)
        results += parse_convert_response(status, content)
    return results


def _post(sf: Salesforce, action: str, envelope: str) -> tuple[int, bytes]:
    response = sf.session.post(
        soap_url(sf),
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action},
    )
    return response.status_code, response.content
