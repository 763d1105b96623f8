"""Conformance: per supported resource and SOQL construct, the request, what Salesforce
documents for it (status, shape, error code) and an assertion that the local org answers
the same. Unsupported constructs and resources must give Salesforce's error for them
(MALFORMED_QUERY, NOT_FOUND, METHOD_NOT_ALLOWED), never a wrong answer.

Each case names its document: REST = REST API Developer Guide, BULK = Bulk API 2.0 and
Bulk API Developer Guide, SOQL = SOQL and SOSL Reference, SOAP = SOAP API Developer Guide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

V = "/services/data/v62.0"


@dataclass(frozen=True)
class Case:
    id: str
    doc: str
    method: str
    path: str
    body: Any = None
    status: int = 200
    error: str | None = None  # errorCode of a JSON error list
    keys: frozenset[str] = field(default_factory=frozenset)  # keys the JSON body must have


def keys(*names: str) -> frozenset[str]:
    return frozenset(names)


CASES = [
    # -- resources ------------------------------------------------------------------------
    Case(
        "limits",
        "REST: Limits",
        "GET",
        f"{V}/limits/",
        keys=keys(
            "DailyApiRequests",
            "DailyBulkApiBatches",
            "DailyBulkV2QueryJobs",
            "DailyBulkV2QueryFileStorageMB",
        ),
    ),
    Case(
        "describe-global",
        "REST: Describe Global",
        "GET",
        f"{V}/sobjects/",
        keys=keys("encoding", "maxBatchSize", "sobjects"),
    ),
    Case(
        "sobject-basic-info",
        "REST: sObject Basic Information",
        "GET",
        f"{V}/sobjects/Account/",
        keys=keys("objectDescribe", "recentItems"),
    ),
    Case(
        "sobject-describe",
        "REST: sObject Describe",
        "GET",
        f"{V}/sobjects/Account/describe/",
        keys=keys("name", "fields", "childRelationships", "keyPrefix", "urls"),
    ),
    Case(
        "create",
        "REST: sObject Basic Information (POST)",
        "POST",
        f"{V}/sobjects/Account/",
        {"Name": "A"},
        201,
        keys=keys("id", "success", "errors"),
    ),
    Case(
        "create-missing-required",
        "REST: Status Codes and Error Responses",
        "POST",
        f"{V}/sobjects/Account/",
        {"Industry": "Retail"},
        400,
        "REQUIRED_FIELD_MISSING",
    ),
    Case(
        "create-unknown-field",
        "REST: Status Codes and Error Responses",
        "POST",
        f"{V}/sobjects/Account/",
        {"Name": "A", "Nope__c": 1},
        400,
        "INVALID_FIELD",
    ),
    Case(
        "record-not-found",
        "REST: sObject Rows (404)",
        "GET",
        f"{V}/sobjects/Account/001000000000000AAA",
        status=404,
        error="NOT_FOUND",
    ),
    Case(
        "unknown-sobject",
        "REST: sObject Rows (404)",
        "GET",
        f"{V}/sobjects/Nope__c/",
        status=404,
        error="NOT_FOUND",
    ),
    Case(
        "unknown-resource",
        "REST: Status Codes (404)",
        "GET",
        f"{V}/tooling/query",
        status=404,
        error="NOT_FOUND",
    ),
    Case(
        "wrong-method-query",
        "REST: Status Codes (405)",
        "POST",
        f"{V}/query/",
        {},
        405,
        "METHOD_NOT_ALLOWED",
    ),
    Case(
        "wrong-method-limits",
        "REST: Status Codes (405)",
        "DELETE",
        f"{V}/limits/",
        status=405,
        error="METHOD_NOT_ALLOWED",
    ),
    Case(
        "upsert-create",
        "REST: Upsert Records Using sObject Rows by External ID",
        "PATCH",
        f"{V}/sobjects/Task/Revsched_Key__c/c1",
        {"Subject": "s"},
        201,
        keys=keys("id", "success", "errors", "created"),
    ),
    Case(
        "upsert-not-external-id",
        "REST: Upsert ... by External ID (404)",
        "PATCH",
        f"{V}/sobjects/Task/Subject/x",
        {"Subject": "s"},
        404,
        "NOT_FOUND",
    ),
    Case(
        "collection-create",
        "REST: sObject Collections Create",
        "POST",
        f"{V}/composite/sobjects",
        {"records": [{"attributes": {"type": "Account"}, "Name": "A"}]},
    ),
    Case(
        "collection-over-200",
        "REST: sObject Collections (200 records)",
        "POST",
        f"{V}/composite/sobjects",
        {"records": [{"attributes": {"type": "Account"}, "Name": "A"}] * 201},
        400,
        "EXCEEDED_ID_LIMIT",
    ),
    Case(
        "composite",
        "REST: Composite",
        "POST",
        f"{V}/composite",
        {"compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": "l"}]},
        keys=keys("compositeResponse"),
    ),
    Case(
        "composite-wrong-method",
        "REST: Composite (POST only)",
        "GET",
        f"{V}/composite",
        status=405,
        error="METHOD_NOT_ALLOWED",
    ),
    Case(
        "bulk-create-ingest",
        "BULK: Create a Job",
        "POST",
        f"{V}/jobs/ingest",
        {"object": "Account", "operation": "insert"},
        keys=keys("id", "state", "object", "operation", "contentUrl", "apiVersion"),
    ),
    Case(
        "bulk-create-query",
        "BULK: Create a Query Job",
        "POST",
        f"{V}/jobs/query",
        {"operation": "query", "query": "SELECT Id FROM Account"},
        keys=keys("id", "state", "operation", "object"),
    ),
    Case(
        "bulk-unknown-job",
        "BULK: Get Job Info (404)",
        "GET",
        f"{V}/jobs/ingest/750000000000000AAA",
        status=404,
        error="NOT_FOUND",
    ),
    Case(
        "composite-tree-unsupported",
        "REST: sObject Tree (not supported locally)",
        "POST",
        f"{V}/composite/tree/Account",
        {"records": []},
        404,
        "NOT_FOUND",
    ),
    Case(
        "collection-get-without-type",
        "REST: sObject Collections (GET needs an object type)",
        "GET",
        f"{V}/composite/sobjects",
        status=405,
        error="METHOD_NOT_ALLOWED",
    ),
    Case(
        "collection-retrieve",
        "REST: Get Records Using sObject Collections",
        "GET",
        f"{V}/composite/sobjects/Account?ids=001000000000001AAA&fields=Id,Name",
    ),
    Case(
        "collection-retrieve-post",
        "REST: Get Records With a Request Body Using sObject Collections",
        "POST",
        f"{V}/composite/sobjects/Account",
        {"ids": ["001000000000001AAA"], "fields": ["Name"]},
    ),
    Case(
        "collection-retrieve-bad-field",
        "REST: Get Records Using sObject Collections (invalid field: 400)",
        "GET",
        f"{V}/composite/sobjects/Account?ids=001000000000001AAA&fields=Nope",
        status=400,
        error="INVALID_FIELD",
    ),
    Case("versions", "REST: Versions", "GET", "/services/data/"),
    Case("resources", "REST: Resources by Version", "GET", f"{V}/", keys=keys("sobjects", "query")),
    Case(
        "get-updated",
        "REST: sObject Get Updated",
        "GET",
        f"{V}/sobjects/Account/updated/?start=2026-11-22T00:00:00Z&end=2026-11-23T00:00:00Z",
        keys=keys("ids", "latestDateCovered"),
    ),
    Case(
        "get-deleted",
        "REST: sObject Get Deleted",
        "GET",
        f"{V}/sobjects/Account/deleted/?start=2026-11-22T00:00:00Z&end=2026-11-23T00:00:00Z",
        keys=keys("deletedRecords", "earliestDateAvailable", "latestDateCovered"),
    ),
    Case(
        "get-updated-bad-span",
        "SOAP: Data Replication (INVALID_REPLICATION_DATE)",
        "GET",
        f"{V}/sobjects/Account/updated/?start=2026-11-23T00:00:00Z&end=2026-11-22T00:00:00Z",
        status=400,
        error="INVALID_REPLICATION_DATE",
    ),
    Case(
        "bad-version",
        "REST: Versions (404)",
        "GET",
        "/services/data/62.0/limits/",
        status=404,
        error="NOT_FOUND",
    ),
    # -- SOQL: supported constructs -------------------------------------------------------
    *[
        Case(
            f"soql-{name}",
            f"SOQL: {doc}",
            "GET",
            f"{V}/query/?q={soql}",
            keys=keys("totalSize", "done", "records"),
        )
        for name, doc, soql in [
            ("fields", "SELECT", "SELECT Id, Name FROM Account"),
            (
                "where-and-or",
                "Condition Expression",
                "SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND Industry != null",
            ),
            ("like", "Comparison Operators", "SELECT Id FROM Account WHERE Name LIKE 'A%'"),
            ("in", "Comparison Operators", "SELECT Id FROM Account WHERE Industry IN ('Retail')"),
            (
                "semi-join",
                "Semi-Joins",
                "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
            ),
            (
                "date-literal",
                "Date Formats and Date Literals",
                "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30",
            ),
            ("parent", "Relationship Queries", "SELECT Owner.Name FROM Account"),
            ("polymorphic", "Relationship Queries", "SELECT What.Name FROM Task"),
            (
                "child",
                "Relationship Queries",
                "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
            ),
            (
                "order-limit-offset",
                "ORDER BY, LIMIT, OFFSET",
                "SELECT Id FROM Account ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 1",
            ),
            ("count", "COUNT()", "SELECT COUNT() FROM Account"),
            (
                "group-by-having",
                "GROUP BY, HAVING, Aggregate Functions",
                "SELECT Industry, COUNT(Id) n FROM Account GROUP BY Industry HAVING COUNT(Id) > 0",
            ),
            (
                "aggregate",
                "Aggregate Functions",
                "SELECT MAX(NumberOfEmployees) m, SUM(NumberOfEmployees) s FROM Account",
            ),
            (
                "date-function",
                "Date Functions",
                "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) >= 2000",
            ),
            (
                "date-function-group-by",
                "Date Functions",
                "SELECT FISCAL_QUARTER(CreatedDate), COUNT(Id) FROM Account "
                "GROUP BY FISCAL_QUARTER(CreatedDate)",
            ),
            ("fields", "FIELDS()", "SELECT FIELDS(STANDARD) FROM Account"),
            ("fields-all", "FIELDS()", "SELECT FIELDS(ALL) FROM Account LIMIT 200"),
            ("this-week", "Date Literals", "SELECT Id FROM Account WHERE CreatedDate = THIS_WEEK"),
            (
                "quarters",
                "Date Literals",
                "SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_QUARTERS:2",
            ),
            ("for-update", "FOR UPDATE", "SELECT Id FROM Account LIMIT 1 FOR UPDATE"),
            ("for-view", "FOR VIEW", "SELECT Id FROM Account FOR VIEW"),
            ("security", "WITH SECURITY_ENFORCED", "SELECT Id FROM Account WITH SECURITY_ENFORCED"),
            ("scope", "USING SCOPE", "SELECT Id FROM Account USING SCOPE mine"),
            (
                "typeof",
                "TYPEOF",
                "SELECT TYPEOF What WHEN Account THEN Phone ELSE Name END FROM Task",
            ),
            ("owner-type", "Polymorphic Fields", "SELECT Owner.Type FROM Lead"),
            ("to-label", "toLabel()", "SELECT toLabel(StageName) FROM Opportunity"),
            (
                "to-label-alias",
                "toLabel()",
                "SELECT StageName, toLabel(StageName) stage FROM Opportunity",
            ),
            (
                "convert-currency",
                "convertCurrency()",
                "SELECT Id, convertCurrency(Amount) converted FROM Opportunity",
            ),
            (
                "format",
                "FORMAT()",
                "SELECT Amount, FORMAT(Amount) Amt, FORMAT(CloseDate) FROM Opportunity",
            ),
            ("format-aggregate", "FORMAT()", "SELECT FORMAT(MIN(CloseDate)) d FROM Opportunity"),
            (
                "fields-custom",
                "FIELDS()",
                "SELECT Name, FIELDS(CUSTOM) FROM Account LIMIT 200",
            ),
            (
                "date-function-select",
                "Date Functions",
                "SELECT CALENDAR_MONTH(CloseDate) m, COUNT(Id) FROM Opportunity "
                "GROUP BY CALENDAR_MONTH(CloseDate)",
            ),
            ("for-reference", "FOR REFERENCE", "SELECT Id FROM Account FOR REFERENCE"),
        ]
    ],
    # -- SOQL: unsupported constructs give Salesforce's error ---------------------------
    *[
        Case(
            f"soql-unsupported-{name}",
            "SOQL: (not supported locally)",
            "GET",
            f"{V}/query/?q={soql}",
            status=400,
            error="MALFORMED_QUERY",
        )
        for name, soql in [
            ("typeof-not-polymorphic", "SELECT TYPEOF Owner WHEN User THEN Name END FROM Account"),
            ("rollup", "SELECT Industry, COUNT(Id) FROM Account GROUP BY ROLLUP(Industry)"),
            (
                "mixed-and-or",
                "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            ),
            ("unknown-function", "SELECT UPPER(Name) FROM Account"),
            ("fields-all-no-limit", "SELECT FIELDS(ALL) FROM Account"),
            ("fields-custom-over-200", "SELECT FIELDS(CUSTOM) FROM Account LIMIT 201"),
            ("fields-duplicate", "SELECT Id, FIELDS(ALL) FROM Account LIMIT 200"),
            ("cube", "SELECT Industry, COUNT(Id) FROM Account GROUP BY CUBE(Industry)"),
            (
                "convert-currency-where",
                "SELECT Id FROM Opportunity WHERE convertCurrency(Amount) > 1",
            ),
            ("to-label-order-by", "SELECT Id FROM Opportunity ORDER BY toLabel(StageName)"),
            ("scope-team", "SELECT Id FROM Account USING SCOPE team"),
            ("aggregate-limit-no-group", "SELECT MAX(NumberOfEmployees) FROM Account LIMIT 1"),
        ]
    ],
    Case(
        "soql-unknown-field",
        "SOQL: (INVALID_FIELD)",
        "GET",
        f"{V}/query/?q=SELECT Nope FROM Account",
        status=400,
        error="INVALID_FIELD",
    ),
    Case(
        "soql-unknown-object",
        "SOQL: (INVALID_TYPE)",
        "GET",
        f"{V}/query/?q=SELECT Id FROM Nope__c",
        status=400,
        error="INVALID_TYPE",
    ),
    Case(
        "soql-offset-over-2000",
        "SOQL: OFFSET (max 2,000)",
        "GET",
        f"{V}/query/?q=SELECT Id FROM Account OFFSET 2001",
        status=400,
        error="NUMBER_OUTSIDE_VALID_RANGE",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(sf, case: Case):
    response = sf.session.request(
        case.method,
        f"https://{sf.sf_instance}{case.path}",
        json=case.body,
        headers={"Authorization": f"Bearer {sf.session_id}"},
    )
    assert response.status_code == case.status, response.text[:300]
    assert "Sforce-Limit-Info" in response.headers
    body = response.json() if response.content else None
    if case.error:
        assert isinstance(body, list) and body[0]["errorCode"] == case.error
        assert isinstance(body[0]["message"], str)
    if case.keys:
        assert case.keys <= set(body)


def test_collection_results_are_save_results_in_order(sf):
    body = {
        "records": [
            {"attributes": {"type": "Account"}, "Name": "ok"},
            {"attributes": {"type": "Account"}},
        ]
    }
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert set(results[0]) == {"id", "success", "errors"}
    assert set(results[1]) == {"success", "errors"}
    assert set(results[1]["errors"][0]) == {"statusCode", "message", "fields"}


def test_every_error_is_a_json_list_with_message_and_error_code(sf):
    for case in CASES:
        if case.error is None:
            continue
        response = sf.session.request(
            case.method,
            f"https://{sf.sf_instance}{case.path}",
            json=case.body,
            headers={"Authorization": f"Bearer {sf.session_id}"},
        )
        assert all({"message", "errorCode"} <= set(e) for e in response.json()), case.id


def test_unsupported_soap_call_is_a_fault_and_unsupported_grant_is_refused(sf):
    envelope = (
        '<?xml version="1.0"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:undelete/>'
        "</soapenv:Body></soapenv:Envelope>"
    )
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/62.0",
        data=envelope,
        headers={"Content-Type": "text/xml", "SOAPAction": "undelete"},
    )
    assert response.status_code == 500
    assert b"<faultcode>sf:INVALID_OPERATION</faultcode>" in response.content
    token = sf.session.post(
        f"https://{sf.sf_instance}/services/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert token.status_code == 400
    assert token.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }
