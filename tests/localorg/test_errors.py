"""Every error comes back as Salesforce's JSON list, with its status and errorCode."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)


def error_of(call) -> tuple[int, dict]:
    with pytest.raises(
        (SalesforceMalformedRequest, SalesforceResourceNotFound, SalesforceGeneralError)
    ) as err:
        call()
    content = err.value.content
    assert isinstance(content, list) and len(content) == 1
    return err.value.status, content[0]


@pytest.mark.parametrize(
    ("soql", "row", "column"),
    [
        ("SELECT Name, COUNT(Id) FROM Account GROUP BY Industry", 1, 8),
        ("SELECT MAX(NumberOfEmployees) FROM Account LIMIT 1", 1, 50),
        ("SELECT Name FROM Account FOR DELETE", 1, 30),
        ("SELECT TYPEOF Owner WHEN User THEN Name FROM Lead", 1, 41),
        ("SELECT Name FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", 1, 58),
        ("SELECT Name FROM Account WHERE CreatedDate = THIS_DECADE", 1, 46),
        ("SELECT Name, COUNT() FROM Account", 1, 14),
        ("SELECT Name FROM Account WHERE", 1, 31),
        # Outside the local org's subset: refused where they start, never ignored.
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY ROLLUP(Industry)", 1, 50),
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY CUBE(Industry)", 1, 50),
        ("SELECT Industry, GROUPING(Industry) FROM Account GROUP BY Industry", 1, 18),
        ("SELECT Id FROM Account WHERE Id IN :ids", 1, 36),
        ("SELECT Id FROM Account WITH DATA CATEGORY Geography__c AT usa__c", 1, 29),
        ("SELECT Id FROM Account ORDER BY DISTANCE(Loc__c, GEOLOCATION(1,2), 'mi')", 1, 41),
        ("SELECT Id FROM Account UPDATE TRACKING", 1, 24),
        ('SELECT Id FROM Account WHERE Name = "a"', 1, 37),
        ("SELECT Id\nFROM Account\nWHERE Name = 'a' ORDER", 3, 23),
        ("SELECT Id FROM Account ORDER BY toLabel(Industry)", 1, 33),
        ("SELECT Id FROM Account WHERE convertCurrency(AnnualRevenue) > 5", 1, 30),
        ("SELECT Id FROM Account WHERE FORMAT(CreatedDate) = '1/1/2026'", 1, 30),
    ],
)
def test_unsupported_or_invalid_soql_is_malformed_query_at_its_position(sf, soql, row, column):
    status, error = error_of(lambda: sf.query(soql))
    assert status == 400
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert f"ERROR at Row:{row}:Column:{column}\n" in error["message"]
    # The query line and a caret under the position, as Salesforce prints them.
    line = soql.splitlines()[row - 1]
    assert f"\n{line}\n{' ' * (column - 1)}^\n" in error["message"]


def test_unknown_field_uses_salesforce_wording(sf):
    status, error = error_of(lambda: sf.query("SELECT Id, Foo FROM Account"))
    assert (status, error["errorCode"]) == (400, "INVALID_FIELD")
    assert error["message"] == (
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Owner.Foo FROM Account",
        "SELECT Foo__r.Name FROM Account",
        "SELECT Name FROM Account WHERE Bogus = 1",
        "SELECT Name FROM Account ORDER BY Bogus",
        "SELECT Name FROM Account WHERE Name = 5",
        "SELECT Name FROM Account WHERE CreatedDate = 2026-01-01",
    ],
)
def test_invalid_fields_and_values(sf, soql):
    status, error = error_of(lambda: sf.query(soql))
    assert (status, error["errorCode"]) == (400, "INVALID_FIELD")


def test_unknown_object_is_invalid_type(sf):
    status, error = error_of(lambda: sf.query("SELECT Id FROM Widget__c"))
    assert (status, error["errorCode"]) == (400, "INVALID_TYPE")
    assert "sObject type 'Widget__c' is not supported." in error["message"]
    status, error = error_of(lambda: sf.query("SELECT (SELECT Id FROM Bogus) FROM Account"))
    assert error["errorCode"] == "INVALID_TYPE"


def test_offset_above_2000_is_out_of_range(sf):
    status, error = error_of(lambda: sf.query("SELECT Id FROM Account OFFSET 2001"))
    assert status == 400
    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


def test_missing_record_and_unknown_object_are_not_found(sf):
    status, error = error_of(lambda: sf.Account.get("001000000000000AAA"))
    assert (status, error["errorCode"]) == (404, "NOT_FOUND")
    status, error = error_of(lambda: sf.restful("sobjects/Widget__c/001000000000000AAA"))
    assert (status, error["errorCode"]) == (404, "NOT_FOUND")
    status, error = error_of(lambda: sf.restful("no/such/resource"))
    assert (status, error["errorCode"]) == (404, "NOT_FOUND")


def test_wrong_method_is_405_with_a_json_list(sf):
    response = sf.session.put(
        sf.base_url + "query/", headers={"Authorization": "Bearer x"}, data=b"{}"
    )
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


@pytest.mark.parametrize("auth", [None, "", "Bearer ", "Basic abc"])
def test_missing_token_is_401_invalid_session_id_as_a_list(sf, auth):
    headers = {} if auth is None else {"Authorization": auth}
    response = sf.session.get(sf.base_url + "limits/", headers=headers)
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert "Sforce-Limit-Info" in response.headers


def test_uri_longer_than_salesforce_allows_is_414(sf, org):
    ids = org.insert("Account", [{"Name": f"A{i}"} for i in range(800)])
    in_list = ", ".join(f"'{i}'" for i in ids)
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query(f"SELECT Id FROM Account WHERE Id IN ({in_list})")
    assert err.value.status == 414
    in_list = ", ".join(f"'{i}'" for i in ids[:300])
    assert sf.query(f"SELECT Id FROM Account WHERE Id IN ({in_list})")["totalSize"] == 300
