"""Aggregate SOQL (SOQL and SOSL Reference, "Aggregate Functions", "GROUP BY", "HAVING",
"Using Aliases with GROUP BY"): AggregateResult records with the documented keys and
value types, through simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

AGGREGATE = {"type": "AggregateResult"}


@pytest.fixture
def accounts(org, users):
    ann, bo = users
    return org.insert(
        "Account",
        [
            {"Name": "Acme", "OwnerId": ann, "Industry": "Software", "NumberOfEmployees": 50},
            {"Name": "Beta", "OwnerId": bo, "Industry": "Retail", "NumberOfEmployees": 5},
            {"Name": "Gamma", "OwnerId": ann, "Industry": "software", "NumberOfEmployees": 500},
            {"Name": "Delta", "OwnerId": bo, "Churn_Date__c": "2026-10-05"},
        ],
    )


def records(sf, soql: str) -> list[dict]:
    result = sf.query(soql)
    assert result["done"] is True
    assert result["totalSize"] == len(result["records"])
    return result["records"]


def error(sf, soql: str) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    return err.value.content[0]


def test_group_by_with_alias_counts_each_group(sf, accounts):
    rows = records(
        sf, "SELECT Industry, COUNT(Id) n FROM Account GROUP BY Industry ORDER BY Industry"
    )
    # Groups compare case-insensitively, as Salesforce's text does; nulls sort first.
    assert rows == [
        {"attributes": AGGREGATE, "Industry": None, "n": 1},
        {"attributes": AGGREGATE, "Industry": "Retail", "n": 1},
        {"attributes": AGGREGATE, "Industry": "Software", "n": 2},
    ]


def test_aggregates_without_group_by_give_one_row_with_expr_names(sf, accounts):
    rows = records(
        sf,
        "SELECT MAX(NumberOfEmployees) m, SUM(NumberOfEmployees) s, AVG(NumberOfEmployees), "
        "MIN(NumberOfEmployees), COUNT(Industry), COUNT_DISTINCT(Industry), COUNT(Id) "
        "FROM Account",
    )
    # Unaliased expressions are expr0, expr1, ... in order; aliased ones take no number.
    assert rows == [
        {
            "attributes": AGGREGATE,
            "m": 500,
            "s": 555,
            "expr0": 185.0,
            "expr1": 5,
            "expr2": 3,
            "expr3": 2,
            "expr4": 4,
        }
    ]
    assert isinstance(rows[0]["expr0"], float)


def test_aggregates_over_no_rows_give_a_count_of_zero_and_nulls(sf, accounts):
    rows = records(
        sf, "SELECT COUNT(Id) c, MAX(Churn_Date__c) d FROM Account WHERE Name = 'nobody'"
    )
    assert rows == [{"attributes": AGGREGATE, "c": 0, "d": None}]


def test_min_max_keep_the_field_type(sf, accounts):
    rows = records(sf, "SELECT MIN(Name) lo, MAX(Churn_Date__c) d FROM Account")
    assert rows == [{"attributes": AGGREGATE, "lo": "Acme", "d": "2026-10-05"}]


def test_having_filters_groups(sf, accounts):
    rows = records(
        sf,
        "SELECT Industry, COUNT(Id) FROM Account WHERE Industry != null "
        "GROUP BY Industry HAVING COUNT(Id) > 1",
    )
    assert rows == [{"attributes": AGGREGATE, "Industry": "Software", "expr0": 2}]
    rows = records(
        sf,
        "SELECT Industry FROM Account GROUP BY Industry HAVING Industry = 'Retail'",
    )
    assert rows == [{"attributes": AGGREGATE, "Industry": "Retail"}]


def test_group_by_parent_field_is_keyed_by_the_field_name(sf, accounts, users):
    rows = records(
        sf,
        "SELECT Owner.LastName, SUM(NumberOfEmployees) total FROM Account "
        "GROUP BY Owner.LastName ORDER BY SUM(NumberOfEmployees) DESC",
    )
    assert rows == [
        {"attributes": AGGREGATE, "LastName": "Lee", "total": 550},
        {"attributes": AGGREGATE, "LastName": "Bo", "total": 5},
    ]


def test_group_by_limit_and_offset_apply_to_groups(sf, accounts):
    rows = records(
        sf, "SELECT OwnerId, COUNT(Id) FROM Account GROUP BY OwnerId ORDER BY OwnerId LIMIT 1"
    )
    assert len(rows) == 1 and rows[0]["expr0"] == 2


def test_count_only_with_group_by_counts_groups(sf, accounts):
    result = sf.query("SELECT COUNT() FROM Account GROUP BY Industry")
    assert result == {"totalSize": 3, "done": True, "records": []}


def test_query_all_aggregates_deleted_rows_too(sf, accounts):
    sf.Account.delete(accounts[0])
    assert records(sf, "SELECT COUNT(Id) FROM Account")[0]["expr0"] == 3
    result = sf.query_all("SELECT COUNT(Id) FROM Account", include_deleted=True)
    assert result["records"][0]["expr0"] == 4


def test_more_than_2000_groups_is_an_error_not_a_page(sf, org):
    org.insert("Account", [{"Name": f"A{i}"} for i in range(2001)])
    assert error(sf, "SELECT Name, COUNT(Id) FROM Account GROUP BY Name")["errorCode"] == (
        "MALFORMED_QUERY"
    )
    rows = records(sf, "SELECT Name, COUNT(Id) FROM Account GROUP BY Name LIMIT 2000")
    assert len(rows) == 2000


@pytest.mark.parametrize(
    ("soql", "code", "detail"),
    [
        (
            "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT Industry FROM Account GROUP BY Industry ORDER BY Name",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT MAX(NumberOfEmployees) FROM Account LIMIT 1",
            "MALFORMED_QUERY",
            "needs a GROUP BY",
        ),
        (
            "SELECT SUM(Name) FROM Account",
            "INVALID_FIELD",
            "field Name does not support aggregate operator SUM",
        ),
        (
            "SELECT Id FROM Account WHERE COUNT(Id) > 1",
            "MALFORMED_QUERY",
            "Aggregate functions are not allowed in WHERE",
        ),
        ("SELECT Name n FROM Account", "MALFORMED_QUERY", "aliasing"),
        ("SELECT Name FROM Account HAVING COUNT(Id) > 1", "MALFORMED_QUERY", "GROUP BY"),
        (
            "SELECT Name, (SELECT COUNT(Id) FROM Contacts) FROM Account",
            "MALFORMED_QUERY",
            "not allowed",
        ),
        (
            "SELECT Description FROM Task GROUP BY Description",
            "INVALID_FIELD",
            "can not be grouped",
        ),
        # Currency fields are not groupable (Object Reference: Opportunity.Amount).
        (
            "SELECT Amount, COUNT(Id) FROM Opportunity GROUP BY Amount",
            "INVALID_FIELD",
            "can not be grouped",
        ),
    ],
)
def test_invalid_aggregate_queries_fail_with_a_position(sf, accounts, soql, code, detail):
    body = error(sf, soql)
    assert body["errorCode"] == code
    assert detail in body["message"]
    assert "ERROR at Row:1:Column:" in body["message"]


def test_bulk_query_refuses_aggregates(sf):
    response = sf.session.post(
        f"https://{sf.sf_instance}/services/data/v62.0/jobs/query",
        json={
            "operation": "query",
            "query": "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
        },
        headers={"Authorization": f"Bearer {sf.session_id}"},
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "API_ERROR"


def test_group_by_takes_exactly_the_fields_describe_calls_groupable(sf):
    for field in sf.Opportunity.describe()["fields"]:
        soql = f"SELECT {field['name']}, COUNT(Id) FROM Opportunity GROUP BY {field['name']}"
        if field["groupable"]:
            assert sf.query(soql)["done"] is True
        else:
            assert error(sf, soql)["errorCode"] == "INVALID_FIELD", field["name"]
