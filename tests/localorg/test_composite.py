"""composite (compositeRequest with references) and upsert by external ID edge cases."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

API = "/services/data/v62.0"


def composite(sf, subrequests: list[dict], all_or_none: bool = False) -> list[dict]:
    body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
    return sf.restful("composite", method="POST", json=body)["compositeResponse"]


def create(ref: str, sobject: str, body: dict) -> dict:
    return {"method": "POST", "url": f"{API}/sobjects/{sobject}", "referenceId": ref, "body": body}


def test_create_then_link_with_references(sf):
    results = composite(
        sf,
        [
            create("acct", "Account", {"Name": "Acme"}),
            create("ct", "Contact", {"LastName": "Lee", "AccountId": "@{acct.id}"}),
            {"method": "GET", "url": f"{API}/sobjects/Contact/@{{ct.id}}", "referenceId": "read"},
        ],
    )
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200]
    account_id = results[0]["body"]["id"]
    assert results[0]["referenceId"] == "acct"
    assert results[0]["httpHeaders"] == {"Location": f"{API}/sobjects/Account/{account_id}"}
    assert results[0]["body"] == {"id": account_id, "success": True, "errors": []}
    assert results[2]["body"]["AccountId"] == account_id


def test_failure_without_all_or_none_skips_only_dependents(sf):
    results = composite(
        sf,
        [
            create("bad", "Contact", {"FirstName": "No last name"}),
            create("dep", "Task", {"Subject": "x", "WhoId": "@{bad.id}"}),
            create("ok", "Account", {"Name": "Independent"}),
        ],
    )
    assert results[0]["httpStatusCode"] == 400
    assert results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["httpStatusCode"] == 400
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert results[2]["httpStatusCode"] == 201
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1


def test_all_or_none_rolls_back_and_halts_the_rest(sf):
    results = composite(
        sf,
        [
            create("acct", "Account", {"Name": "Rolled back"}),
            create("bad", "Contact", {"FirstName": "x"}),
            create("later", "Account", {"Name": "Never run"}),
        ],
        all_or_none=True,
    )
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[0]["body"] == [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back since another operation in the same "
            "transaction failed.",
        }
    ]
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_composite_request_validation(sf):
    with pytest.raises(SalesforceMalformedRequest):
        composite(sf, [{"method": "GET", "url": f"{API}/limits"}])  # no referenceId
    many = [{"method": "GET", "url": f"{API}/limits", "referenceId": f"r{i}"} for i in range(26)]
    with pytest.raises(SalesforceMalformedRequest) as err:
        composite(sf, many)
    assert err.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"


def test_composite_counts_as_one_call(sf, org):
    composite(sf, [create(f"a{i}", "Account", {"Name": f"A{i}"}) for i in range(5)])
    assert org.api_usage()[0] == 1


def test_query_and_describe_subrequests_answer_as_their_resources_do(sf, org):
    """What a run carries together: a query (its page size in the subrequest's own
    Sforce-Query-Options, continued by query-more like any page) and an sObject Describe,
    each with the body the resource alone gives, and one call for both."""
    org.insert("Account", [{"Name": f"Account {n}"} for n in range(250)])
    soql = "SELECT Id, Name FROM Account ORDER BY Name"
    page_of_200 = {"Sforce-Query-Options": "batchSize=200"}
    query = {"method": "GET", "url": f"{API}/query/?{urlencode({'q': soql})}", "referenceId": "a"}
    describe = {"method": "GET", "url": f"{API}/sobjects/Account/describe", "referenceId": "d"}

    first, described = composite(sf, [{**query, "httpHeaders": page_of_200}, describe])

    assert org.api_usage()[0] == 1
    assert [first["httpStatusCode"], described["httpStatusCode"]] == [200, 200]
    page = first["body"]
    assert (page["totalSize"], len(page["records"]), page["done"]) == (250, 200, False)
    rest = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert len(rest["records"]) == 50 and rest["done"]
    assert described["body"] == sf.Account.describe()


def test_a_refused_query_subrequest_answers_its_error_and_the_others_run(sf):
    missing = "SELECT Id FROM Revsched_Missing__c"
    results = composite(
        sf,
        [
            {
                "method": "GET",
                "url": f"{API}/query/?{urlencode({'q': missing})}",
                "referenceId": "m",
            },
            {"method": "GET", "url": f"{API}/sobjects/Account/describe", "referenceId": "d"},
        ],
    )
    assert [r["httpStatusCode"] for r in results] == [400, 200]
    [error] = results[0]["body"]
    assert error["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Revsched_Missing__c' is not supported" in error["message"]


def upsert_tasks(sf, records: list[dict]) -> list[dict]:
    return sf.restful(
        "composite/sobjects/Task/Revsched_Key__c",
        method="PATCH",
        json={"allOrNone": False, "records": records},
    )


def test_collection_upsert_duplicate_key_in_request_fails_those_records(sf):
    results = upsert_tasks(
        sf,
        [
            {"attributes": {"type": "Task"}, "Revsched_Key__c": "k1", "Subject": "a"},
            {"attributes": {"type": "Task"}, "Revsched_Key__c": "K1", "Subject": "b"},
            {"attributes": {"type": "Task"}, "Revsched_Key__c": "k2", "Subject": "c"},
        ],
    )
    assert [r["success"] for r in results] == [False, False, True]
    assert results[0]["errors"] == [
        {
            "statusCode": "DUPLICATE_EXTERNAL_ID",
            "message": "Duplicate external id specified: k1",
            "fields": ["Revsched_Key__c"],
        }
    ]
    assert results[2]["created"] is True


def test_collection_upsert_unknown_key_field_is_not_found(sf):
    with pytest.raises(Exception) as err:
        sf.restful(
            "composite/sobjects/Task/Subject",
            method="PATCH",
            json={"records": [{"attributes": {"type": "Task"}, "Subject": "x"}]},
        )
    assert err.value.status == 404


def test_single_upsert_bodies_and_get_by_external_id(sf):
    body = {"Name": "O", "StageName": "Proposal", "CloseDate": "2026-01-01"}
    url = sf.base_url + "sobjects/Opportunity/Revsched_Key__c/k-9"
    created = sf.session.patch(url, json=body, headers=sf.headers)
    assert created.status_code == 201
    record_id = created.json()["id"]
    assert created.json() == {"id": record_id, "success": True, "errors": [], "created": True}
    updated = sf.session.patch(url, json={"Amount": 5.0}, headers=sf.headers)
    assert updated.status_code == 200
    assert updated.json() == {"id": record_id, "success": True, "errors": [], "created": False}
    assert sf.Opportunity.get_by_custom_id("Revsched_Key__c", "k-9")["Amount"] == 5.0


def test_update_collection_naming_a_record_twice_applies_both_in_order(sf, org):
    account = org.insert("Account", [{"Name": "A"}])[0]
    deleted = org.insert("Account", [{"Name": "Gone"}])[0]
    sf.Account.delete(deleted)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Id": account, "Industry": "Retail"},
                {"attributes": {"type": "Account"}, "Id": account, "Name": "B"},
                {"attributes": {"type": "Account"}, "Id": deleted, "Name": "C"},
            ]
        },
    )
    assert [r["success"] for r in results] == [True, True, False]
    assert results[2]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    record = sf.Account.get(account)
    assert (record["Name"], record["Industry"]) == ("B", "Retail")


def test_outer_all_or_none_applies_to_collection_subrequests(sf):
    results = composite(
        sf,
        [
            {
                "method": "POST",
                "url": f"{API}/composite/sobjects",
                "referenceId": "accounts",
                "body": {
                    "allOrNone": False,
                    "records": [
                        {"attributes": {"type": "Account"}, "Name": "ok"},
                        {"attributes": {"type": "Account"}},
                    ],
                },
            }
        ],
        all_or_none=True,
    )
    body = results[0]["body"]
    assert [r["success"] for r in body] == [False, False]
    assert body[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
