"""REST writes: sobjects resources and sObject Collections, with Salesforce's results."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


def write_error(call) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as err:
        call()
    assert err.value.status == 400
    return err.value.content[0]


def count(sf, soql: str) -> int:
    return sf.query(soql)["totalSize"]


def test_create_get_update_delete(sf, org):
    created = sf.Account.create({"Name": "Acme", "NumberOfEmployees": 10})
    assert created["success"] is True and created["errors"] == []
    record_id = created["id"]
    assert len(record_id) == 18 and record_id.startswith("001")
    record = sf.Account.get(record_id)
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{record_id}",
    }
    assert record["Name"] == "Acme"
    assert record["NumberOfEmployees"] == 10
    assert record["IsDeleted"] is False
    assert record["OwnerId"] == org.running_user_id
    assert record["CreatedDate"].endswith("+0000")
    assert sf.Account.update(record_id, {"Name": "Acme 2", "Industry": "Retail"}) == 204
    assert sf.Account.get(record_id)["Name"] == "Acme 2"
    assert sf.Account.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(record_id)


def test_last_modified_moves_on_update(sf, org):
    record_id = org.insert("Account", [{"Name": "Old", "CreatedDate": "2020-01-01T00:00:00Z"}])[0]
    before = sf.Account.get(record_id)
    assert before["CreatedDate"] == before["LastModifiedDate"] == "2020-01-01T00:00:00.000+0000"
    sf.Account.update(record_id, {"Name": "New"})
    after = sf.Account.get(record_id)
    assert after["CreatedDate"] == "2020-01-01T00:00:00.000+0000"
    assert after["LastModifiedDate"].startswith("2026-11-23T")
    assert after["SystemModstamp"] == after["LastModifiedDate"]


def test_write_errors(sf, users):
    error = write_error(lambda: sf.Account.create({"Name": "A", "Bogus__c": 1}))
    assert error["errorCode"] == "INVALID_FIELD"
    error = write_error(
        lambda: sf.Opportunity.create(
            {"Name": "O", "StageName": "Proposal", "CloseDate": "2026-01-01", "IsWon": True}
        )
    )
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error["fields"] == ["IsWon"]
    error = write_error(lambda: sf.Contact.create({"FirstName": "No"}))
    assert error == {
        "message": "Required fields are missing: [LastName]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["LastName"],
    }
    error = write_error(lambda: sf.Contact.create({"LastName": "X", "AccountId": "nope"}))
    assert error["errorCode"] == "MALFORMED_ID"
    assert error["fields"] == ["AccountId"]
    error = write_error(
        lambda: sf.Contact.create({"LastName": "X", "AccountId": "001000000000001AAA"})
    )
    assert error["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    error = write_error(lambda: sf.Contact.create({"LastName": "X", "AccountId": users[0]}))
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    error = write_error(lambda: sf.Account.create({"Name": "A", "NumberOfEmployees": "many"}))
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert count(sf, "SELECT COUNT() FROM Contact") == 0


def test_unique_external_id_is_enforced(sf):
    body = {
        "Name": "O",
        "StageName": "Proposal",
        "CloseDate": "2026-01-01",
        "Revsched_Key__c": "k1",
    }
    sf.Opportunity.create(body)
    assert write_error(lambda: sf.Opportunity.create(body))["errorCode"] == "DUPLICATE_VALUE"


def collection(sf, method: str, records: list[dict], all_or_none: bool = False):
    return sf.restful(
        "composite/sobjects", method=method, json={"allOrNone": all_or_none, "records": records}
    )


def test_composite_create_results_in_request_order(sf):
    results = collection(
        sf,
        "POST",
        [
            {"attributes": {"type": "Account"}, "Name": "One"},
            {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
            {"attributes": {"type": "Contact"}, "LastName": "Two"},
        ],
    )
    assert results[0]["success"] is True and results[0]["id"].startswith("001")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    assert results[2]["success"] is True and results[2]["id"].startswith("003")
    assert count(sf, "SELECT COUNT() FROM Account") == 1
    assert count(sf, "SELECT COUNT() FROM Contact") == 1


def test_composite_all_or_none_rolls_everything_back(sf, org):
    existing = org.insert("Account", [{"Name": "Keep"}])[0]
    results = collection(
        sf,
        "POST",
        [
            {"attributes": {"type": "Account"}, "Name": "New"},
            {"attributes": {"type": "Account"}},
        ],
        all_or_none=True,
    )
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert count(sf, "SELECT COUNT() FROM Account") == 1
    results = collection(
        sf,
        "PATCH",
        [
            {"attributes": {"type": "Account"}, "Id": existing, "Name": "Changed"},
            {"attributes": {"type": "Account"}, "Id": existing, "IsDeleted": True},
        ],
        all_or_none=True,
    )
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert sf.Account.get(existing)["Name"] == "Keep"


def test_composite_update_and_delete(sf, org):
    a, b = org.insert("Account", [{"Name": "A"}, {"Name": "B"}])
    results = collection(
        sf,
        "PATCH",
        [
            {"attributes": {"type": "Account"}, "Id": a, "Industry": "Retail"},
            {"attributes": {"type": "Account"}, "Name": "no id"},
            {"attributes": {"type": "Contact"}, "Id": b, "LastName": "x"},
        ],
    )
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert results[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert sf.Account.get(a)["Industry"] == "Retail"
    results = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{a},{b},bad", "allOrNone": "false"}
    )
    assert [r["success"] for r in results] == [True, True, False]
    assert results[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert count(sf, "SELECT COUNT() FROM Account") == 0


def test_composite_refuses_more_than_200_records(sf):
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(201)]
    error = write_error(lambda: collection(sf, "POST", records))
    assert error["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert count(sf, "SELECT COUNT() FROM Account") == 0
    assert len(collection(sf, "POST", records[:200])) == 200


def test_upsert_by_external_id(sf):
    body = {"Name": "O", "StageName": "Proposal", "CloseDate": "2026-01-01"}
    created = sf.Opportunity.upsert("Revsched_Key__c/k-1", body)
    assert created == 201
    assert sf.Opportunity.upsert("Revsched_Key__c/k-1", {"StageName": "Closed Won"}) == 200
    records = sf.query("SELECT Revsched_Key__c, IsWon FROM Opportunity")["records"]
    assert [(r["Revsched_Key__c"], r["IsWon"]) for r in records] == [("k-1", True)]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Opportunity.upsert("Name/x", body)


def test_collection_upsert_reports_created(sf):
    def record(key: str, stage: str) -> dict:
        return {
            "attributes": {"type": "Task"},
            "Revsched_Key__c": key,
            "Subject": key,
            "Status": stage,
        }

    first = sf.restful(
        "composite/sobjects/Task/Revsched_Key__c",
        method="PATCH",
        json={"records": [record("a", "Not Started")]},
    )
    assert [(r["success"], r["created"]) for r in first] == [(True, True)]
    second = sf.restful(
        "composite/sobjects/Task/Revsched_Key__c",
        method="PATCH",
        json={"allOrNone": False, "records": [record("a", "Completed"), record("b", "Completed")]},
    )
    assert [(r["success"], r["created"]) for r in second] == [(True, False), (True, True)]
    assert second[0]["id"] == first[0]["id"]
    assert count(sf, "SELECT COUNT() FROM Task WHERE IsClosed = true") == 2


def test_describe_reflects_the_schema(sf):
    describe = sf.Opportunity.describe()
    assert describe["name"] == "Opportunity" and describe["keyPrefix"] == "006"
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["IsWon"]["updateable"] is False
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["Revsched_Key__c"]["externalId"] is True
    stages = [v["value"] for v in fields["StageName"]["picklistValues"]]
    assert stages[0] == "Prospecting" and stages[-1] == "Closed Lost"
    children = {c["relationshipName"] for c in describe["childRelationships"]}
    assert children == {"OpportunityContactRoles", "OpportunityLineItems", "Tasks", "Events"}
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Account", "Lead", "Task", "Group"} <= names
