"""The slice of the SOAP partner API revsched needs: login() (what simple-salesforce sends
for username + password + security token), merge() and convertLead() (REST has neither).

Documents relied on (SOAP API Developer Guide): "login()" and "LoginResult" (sessionId,
serverUrl, userId, ...; a failed login is a LoginFault INVALID_LOGIN); "merge()",
"MergeRequest" (masterRecord: an sObject whose Id names the master and whose other fields
overwrite it; recordToMergeIds: one or two Ids), "MergeResult" (id, success,
mergedRecordIds, updatedRelatedIds, errors): Lead, Contact and Account only; up to 200
requests per call, each its own transaction; up to 3 records per request including the
master; the merged records are deleted (queryAll sees them, with MasterRecordId set) and
their related records re-parented to the master; "Error" (statusCode, message, fields);
"API Faults" (soapenv:Fault with faultcode sf:CODE and an sf:exceptionCode detail; HTTP 500).
"convertLead()", "LeadConvert" (leadId and convertedStatus required; accountId, contactId
of that account, ownerId, doNotCreateOpportunity), "LeadConvertResult" (accountId,
contactId, leadId, opportunityId, success, errors): up to 200 per call; a converted lead
cannot be referenced again (CANNOT_UPDATE_CONVERTED_LEAD). This org converts without an
opportunity only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request

from revsched.localorg import ids, schema
from revsched.localorg.gate import CallGate
from revsched.localorg.http import Raw
from revsched.localorg.merge_convert import convert_lead, merge
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.sessions import ORG_ID, Sessions
from revsched.localorg.storage import Storage

MERGEABLE = ("Lead", "Contact", "Account")
MAX_MERGE_REQUESTS = 200
MAX_MERGE_IDS = 2
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns="urn:partner.soap.sforce.com" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com" '
    f'xmlns:xsi="{XSI}"><soapenv:Body>{{body}}</soapenv:Body></soapenv:Envelope>'
)


class FaultReply(Exception):
    """The soapenv:Fault the local org answers a refused call with: `code` is the
    exceptionCode, `kind` the fault's type (e.g. INVALID_SESSION_ID in UnexpectedErrorFault)."""

    def __init__(self, code: str, message: str, kind: str = "UnexpectedErrorFault") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def fault_xml(fault: FaultReply) -> bytes:
    body = (
        f"<soapenv:Fault><faultcode>sf:{fault.code}</faultcode>"
        f"<faultstring>{escape(fault.code)}: {escape(fault.message)}</faultstring>"
        f'<detail><sf:{fault.kind} xsi:type="sf:{fault.kind}">'
        f"<sf:exceptionCode>{fault.code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(fault.message)}</sf:exceptionMessage>"
        f"</sf:{fault.kind}></detail></soapenv:Fault>"
    )
    return _ENVELOPE.format(body=body).encode()


class SoapApi:
    """/services/Soap/u/XX.X: login, and merge and convertLead through the call gate."""

    def __init__(self, storage: Storage, sessions: Sessions, gate: CallGate) -> None:
        self.storage = storage
        self.sessions = sessions
        self.gate = gate

    def handle(self, request: Request, version: str) -> tuple[int, Any, bool]:
        drop = False
        try:
            if request.method != "POST":
                raise FaultReply("INVALID_OPERATION", "SOAP calls are HTTP POSTs")
            try:
                envelope = ET.fromstring(request.get_data())
            except ET.ParseError as exc:
                raise FaultReply("INVALID_XML", f"Unable to parse the request: {exc}") from None
            body = _child(envelope, "Body")
            call = body[0] if body is not None and len(body) else None
            if call is None:
                raise FaultReply("INVALID_OPERATION", "No operation in the SOAP body")
            operation = _local(call.tag)
            if operation == "login":
                xml = self._login(call, request, version)
            elif operation in ("merge", "convertLead"):
                header = _child(envelope, "Header")
                session = _child(header, "SessionHeader") if header is not None else None
                token = _text(_child(session, "sessionId") if session is not None else None)
                if not self.sessions.accepts(token):
                    raise FaultReply(
                        "INVALID_SESSION_ID",
                        "Invalid Session ID found in SessionHeader: Illegal Session",
                    )
                try:
                    drop = self.gate.admit(token)
                except SalesforceError as exc:
                    if exc.status in (500, 503):
                        return exc.status, Raw(exc.status, fault_xml(_fault(exc)), _XML), False
                    raise _fault(exc) from None
                xml = self._merge(call) if operation == "merge" else self._convert_leads(call)
            else:
                raise FaultReply("INVALID_OPERATION", f"Operation not supported: {operation}")
        except FaultReply as fault:
            return 500, Raw(500, fault_xml(fault), _XML), False
        return 200, Raw(200, _ENVELOPE.format(body=xml).encode(), _XML), drop

    # -- login ------------------------------------------------------------------------

    def _login(self, call: ET.Element, request: Request, version: str) -> str:
        username = _text(_child(call, "username"))
        password = _text(_child(call, "password"))
        if not self.sessions.check_password(username, password):
            raise FaultReply(
                "INVALID_LOGIN",
                "Invalid username, password, security token; or user locked out.",
                "LoginFault",
            )
        token = self.sessions.issue()
        host = request.host_url.rstrip("/")
        user_id = self.storage.running_user_id
        return (
            "<loginResponse><result>"
            f"<metadataServerUrl>{host}/services/Soap/m/{version}/{ORG_ID[:15]}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired>"
            "<sandbox>false</sandbox>"
            f"<serverUrl>{host}/services/Soap/u/{version}/{ORG_ID[:15]}</serverUrl>"
            f"<sessionId>{escape(token)}</sessionId><userId>{user_id}</userId>"
            f"<userInfo><organizationId>{ORG_ID}</organizationId>"
            f"<userId>{user_id}</userId><userName>{escape(username)}</userName></userInfo>"
            "</result></loginResponse>"
        )

    # -- merge ------------------------------------------------------------------------

    def _merge(self, call: ET.Element) -> str:
        requests = _children(call, "request")
        if len(requests) > MAX_MERGE_REQUESTS:
            raise FaultReply(
                "LIMIT_EXCEEDED",
                f"Cannot merge more than {MAX_MERGE_REQUESTS} requests in one call",
            )
        results = [self._merge_one(r) for r in requests]
        return "<mergeResponse>" + "".join(results) + "</mergeResponse>"

    def _merge_one(self, request: ET.Element) -> str:
        master = _child(request, "masterRecord")
        merge_ids = [_text(e) for e in _children(request, "recordToMergeIds")]
        master_id = _text(_child(master, "Id")) if master is not None else ""
        try:
            if master is None or not master_id:
                raise SalesforceError(400, "MISSING_ARGUMENT", "masterRecord Id not specified")
            sobj = _master_type(master, master_id, self.storage.schema)
            if not merge_ids:
                raise SalesforceError(
                    400, "MISSING_ARGUMENT", "recordToMergeIds not specified", ["recordToMergeIds"]
                )
            if len(merge_ids) > MAX_MERGE_IDS:
                raise SalesforceError(
                    400,
                    "LIMIT_EXCEEDED",
                    f"A merge request can name at most {MAX_MERGE_IDS} records to merge",
                    ["recordToMergeIds"],
                )
            values = _field_values(sobj, master)
            self.gate.check_record(self.storage.locate(master_id, sobj))
            master_canonical, merged, updated = merge(
                self.storage, sobj, master_id, merge_ids, values
            )
        except SalesforceError as exc:
            return (
                f"<result>{_errors(exc)}<id>{escape(master_id)}</id>"
                "<success>false</success></result>"
            )
        return (
            f"<result><id>{master_canonical}</id>"
            + "".join(f"<mergedRecordIds>{i}</mergedRecordIds>" for i in merged)
            + "<success>true</success>"
            + "".join(f"<updatedRelatedIds>{i}</updatedRelatedIds>" for i in updated)
            + "</result>"
        )

    # -- convertLead ------------------------------------------------------------------

    def _convert_leads(self, call: ET.Element) -> str:
        converts = _children(call, "leadConverts")
        if len(converts) > MAX_MERGE_REQUESTS:
            raise FaultReply(
                "LIMIT_EXCEEDED", f"Cannot convert more than {MAX_MERGE_REQUESTS} leads in one call"
            )
        results = "".join(self._convert_one(c) for c in converts)
        return f"<convertLeadResponse>{results}</convertLeadResponse>"

    def _convert_one(self, convert: ET.Element) -> str:
        lead_id = _text(_child(convert, "leadId"))
        try:
            for name in ("leadId", "convertedStatus"):
                if not _text(_child(convert, name)):
                    raise SalesforceError(
                        400,
                        "REQUIRED_FIELD_MISSING",
                        f"Required fields are missing: [{name}]",
                        [name],
                    )
            if _text(_child(convert, "doNotCreateOpportunity")).lower() != "true":
                raise SalesforceError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "this local org converts leads without an opportunity only:"
                    " set doNotCreateOpportunity",
                    ["doNotCreateOpportunity"],
                )
            self.gate.check_record(
                self.storage.locate(lead_id, self.storage.schema.sobjects["Lead"])
            )
            account, contact = convert_lead(
                self.storage,
                lead_id,
                _text(_child(convert, "convertedStatus")),
                _text(_child(convert, "accountId")) or None,
                _text(_child(convert, "contactId")) or None,
                _text(_child(convert, "ownerId")) or None,
            )
        except SalesforceError as exc:
            return (
                f"<result>{_errors(exc)}<leadId>{escape(lead_id)}</leadId>"
                "<success>false</success></result>"
            )
        return (
            f"<result><accountId>{account}</accountId><contactId>{contact}</contactId>"
            f"<leadId>{ids.normalize(lead_id)}</leadId>"
            f'<opportunityId xsi:nil="true"/><success>true</success></result>'
        )


_XML = "text/xml; charset=utf-8"


def _errors(exc: SalesforceError) -> str:
    """A per-record failure as the Error elements of a result."""
    fields = "".join("<fields>" + escape(f) + "</fields>" for f in exc.fields)
    return (
        f"<errors>{fields}<message>{escape(exc.message)}</message>"
        f"<statusCode>{exc.code}</statusCode></errors>"
    )


def _fault(exc: SalesforceError) -> FaultReply:
    return FaultReply(exc.code, exc.message)


def _master_type(master: ET.Element, master_id: str, org_schema: schema.Schema) -> schema.SObject:
    name = _text(_child(master, "type"))
    if not name:
        name = (master.get(f"{{{XSI}}}type") or "").rpartition(":")[2]
    if not name:
        owner = org_schema.key_prefix_owner(master_id)
        name = owner.name if owner else ""
    sobj = org_schema.sobject(name) if name else None
    if sobj is None or sobj.name not in MERGEABLE:
        raise SalesforceError(
            400, "INVALID_TYPE", f"merge() supports Lead, Contact and Account, not {name!r}"
        )
    return sobj


def _field_values(sobj: schema.SObject, master: ET.Element) -> dict[str, object]:
    """The masterRecord's field elements (other than type/Id) as API values; fieldsToNull
    clears fields."""
    values: dict[str, object] = {}
    for element in master:
        name = _local(element.tag)
        if name in ("type", "Id"):
            continue
        if name == "fieldsToNull":
            values[_text(element)] = None
            continue
        field = sobj.field(name)
        text = element.text or ""
        if field is None:
            values[name] = text
        elif element.get(f"{{{XSI}}}nil") == "true":
            values[field.name] = None
        elif field.type == schema.BOOLEAN:
            values[field.name] = text.strip().lower() == "true"
        elif field.type == schema.INT:
            values[field.name] = int(text)
        elif field.type in (schema.DOUBLE, schema.CURRENCY, schema.PERCENT):
            values[field.name] = float(text)
        else:
            values[field.name] = text
    return values
