"""toLabel(), convertCurrency() and FORMAT() (SOQL and SOSL Reference, "toLabel()",
"convertCurrency()", "FORMAT()"): how the local org's user (en_US, UTC, one currency)
reads values, where each function may appear, and their aliases."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

AGGREGATE = {"type": "AggregateResult"}


@pytest.fixture
def deals(org):
    return org.insert(
        "Opportunity",
        [
            {
                "Name": "Big",
                "StageName": "Prospecting",
                "CloseDate": "2015-12-28",
                "Amount": 44000,
                "Probability": 10,
                "CreatedDate": "2025-04-10T15:31:37Z",
            },
            {"Name": "Small", "StageName": "Closed Won", "CloseDate": "2026-01-05", "Amount": 7.5},
        ],
    )


def only_record(sf, soql: str) -> dict:
    records = sf.query(soql)["records"]
    assert len(records) == 1
    return {k: v for k, v in records[0].items() if k != "attributes"}


def error(sf, soql: str) -> dict:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    return err.value.content[0]


def test_to_label_and_convert_currency_return_the_stored_value(sf, deals):
    record = only_record(
        sf, "SELECT toLabel(StageName), convertCurrency(Amount) FROM Opportunity WHERE Name = 'Big'"
    )
    assert record == {"StageName": "Prospecting", "Amount": 44000.0}
    # toLabel() filters on the label, which is the value here.
    found = sf.query("SELECT Name FROM Opportunity WHERE toLabel(StageName) = 'Closed Won'")
    assert [r["Name"] for r in found["records"]] == ["Small"]


def test_display_functions_take_aliases_which_repeat_a_field(sf, deals):
    record = only_record(
        sf,
        "SELECT StageName, toLabel(StageName) stage, Amount, convertCurrency(Amount) converted "
        "FROM Opportunity WHERE Name = 'Small'",
    )
    assert record == {
        "StageName": "Closed Won",
        "stage": "Closed Won",
        "Amount": 7.5,
        "converted": 7.5,
    }


def test_format_gives_en_us_text(sf, deals):
    record = only_record(
        sf,
        "SELECT FORMAT(Amount), FORMAT(CloseDate), FORMAT(Probability), "
        "FORMAT(convertCurrency(Amount)) converted, FORMAT(CreatedDate) created "
        "FROM Opportunity WHERE Name = 'Big'",
    )
    # The documented examples: $44,000.00, 12/28/2015, and 4/10/2025, 3:31 PM for
    # 2025-04-10T15:31:37.000+0000 (the user is on UTC).
    assert record == {
        "Amount": "$44,000.00",
        "CloseDate": "12/28/2015",
        "Probability": "10%",
        "converted": "$44,000.00",
        "created": "4/10/2025, 3:31 PM",
    }
    assert only_record(sf, "SELECT FORMAT(Amount) FROM Opportunity WHERE Name = 'Small'") == {
        "Amount": "$7.50"
    }


def test_format_of_aggregates_and_groups(sf, deals):
    rows = sf.query(
        "SELECT FORMAT(MIN(CloseDate)) first, FORMAT(SUM(Amount)), MAX(Amount) FROM Opportunity"
    )["records"]
    assert rows == [
        {"attributes": AGGREGATE, "first": "12/28/2015", "expr0": "$44,007.50", "expr1": 44000.0}
    ]
    # FORMAT() of an aggregate alone still makes an aggregate query (the documented example).
    rows = sf.query("SELECT FORMAT(MIN(CloseDate)) Amt FROM Opportunity")["records"]
    assert rows == [{"attributes": AGGREGATE, "Amt": "12/28/2015"}]
    rows = sf.query(
        "SELECT StageName, FORMAT(SUM(Amount)) total FROM Opportunity GROUP BY StageName "
        "ORDER BY StageName"
    )["records"]
    assert [(r["StageName"], r["total"]) for r in rows] == [
        ("Closed Won", "$7.50"),
        ("Prospecting", "$44,000.00"),
    ]


@pytest.mark.parametrize(
    ("soql", "code", "detail"),
    [
        # A field twice needs an alias (SOQL: "FORMAT()", "toLabel()").
        ("SELECT Amount, FORMAT(Amount) FROM Opportunity", "MALFORMED_QUERY", "duplicate field"),
        ("SELECT Name, toLabel(StageName) Name FROM Opportunity", "MALFORMED_QUERY", "duplicate"),
        ("SELECT Name n FROM Opportunity", "MALFORMED_QUERY", "aliasing"),
        ("SELECT FORMAT(Name) FROM Opportunity", "INVALID_FIELD", "FORMAT() takes a number"),
        ("SELECT convertCurrency(Name) FROM Opportunity", "INVALID_FIELD", "currency field"),
        # convertCurrency(): not in WHERE, nor on an aggregate; toLabel(): not in ORDER BY.
        (
            "SELECT Id FROM Opportunity WHERE convertCurrency(Amount) > 1",
            "MALFORMED_QUERY",
            "not allowed in WHERE",
        ),
        (
            "SELECT convertCurrency(SUM(Amount)) FROM Opportunity",
            "MALFORMED_QUERY",
            "takes one field",
        ),
        (
            "SELECT Id FROM Opportunity ORDER BY toLabel(StageName)",
            "MALFORMED_QUERY",
            "not allowed in ORDER BY",
        ),
        (
            "SELECT Id FROM Opportunity WHERE FORMAT(Amount) = '$1.00'",
            "MALFORMED_QUERY",
            "not allowed in WHERE",
        ),
    ],
)
def test_display_function_errors(sf, deals, soql, code, detail):
    body = error(sf, soql)
    assert body["errorCode"] == code
    assert detail in body["message"]
    assert "ERROR at Row:1:Column:" in body["message"]
