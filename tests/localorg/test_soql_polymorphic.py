"""TYPEOF and the Name entity's Type on polymorphic lookups (SOQL: "TYPEOF", "Understanding
Relationship Fields and Polymorphic Fields"), INCLUDES/EXCLUDES on multi-select picklists
(SOQL: "Querying Multi-Select Picklists")."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from revsched.localorg import add_custom_fields
from revsched.localorg.metadata import read_field

V = "/services/data/v62.0"


@pytest.fixture
def tasks(org):
    acme = org.insert("Account", [{"Name": "Acme", "Phone": "555-0100"}])[0]
    deal = org.insert(
        "Opportunity",
        [{"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-01", "Amount": 5.0}],
    )[0]
    org.insert(
        "Task",
        [
            {"Subject": "a", "WhatId": acme},
            {"Subject": "b", "WhatId": deal},
            {"Subject": "c"},
        ],
    )
    return acme, deal


def test_typeof_returns_each_types_fields(sf, tasks):
    acme, deal = tasks
    records = sf.query(
        "SELECT Subject, TYPEOF What WHEN Account THEN Phone, Name "
        "WHEN Opportunity THEN Amount END FROM Task ORDER BY Subject"
    )["records"]
    assert [r["What"] for r in records] == [
        {
            "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{acme}"},
            "Phone": "555-0100",
            "Name": "Acme",
        },
        {
            "attributes": {"type": "Opportunity", "url": f"{V}/sobjects/Opportunity/{deal}"},
            "Amount": 5.0,
        },
        None,
    ]


def test_typeof_else_gives_name_fields_for_other_types(sf, tasks):
    records = sf.query(
        "SELECT Subject, TYPEOF What WHEN Account THEN Phone ELSE Name END FROM Task "
        "ORDER BY Subject"
    )["records"]
    assert records[0]["What"]["Phone"] == "555-0100" and "Name" not in records[0]["What"]
    assert records[1]["What"]["Name"] == "Deal"
    assert records[1]["What"]["attributes"]["type"] == "Opportunity"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT TYPEOF Owner WHEN User THEN Name END FROM Account", "MALFORMED_QUERY"),
        ("SELECT TYPEOF What WHEN Contact THEN Name END FROM Task", "INVALID_TYPE"),
        ("SELECT TYPEOF What WHEN Account THEN Nope__c END FROM Task", "INVALID_FIELD"),
        ("SELECT TYPEOF What WHEN Account THEN Name FROM Task", "MALFORMED_QUERY"),
    ],
)
def test_typeof_errors(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    assert err.value.content[0]["errorCode"] == code


def test_owner_type_names_the_owners_kind(sf, org, users):
    queue = org.insert(
        "Group", [{"Name": "SDR Queue", "DeveloperName": "SDR_Queue", "Type": "Queue"}]
    )[0]
    org.insert(
        "Lead",
        [
            {"LastName": "L1", "Company": "C", "OwnerId": users[0]},
            {"LastName": "L2", "Company": "C", "OwnerId": queue},
        ],
    )
    records = sf.query("SELECT LastName, Owner.Type FROM Lead ORDER BY LastName")["records"]
    assert [r["Owner"]["Type"] for r in records] == ["User", "Queue"]
    queued = sf.query("SELECT LastName FROM Lead WHERE Owner.Type = 'queue'")["records"]
    assert [r["LastName"] for r in queued] == ["L2"]


@pytest.fixture
def regions(org):
    spec = {
        "Account": {
            "fields": {"Regions__c": {"type": "multipicklist", "values": ["EMEA", "APAC", "AMER"]}}
        }
    }
    add_custom_fields(org, spec)
    org.insert(
        "Account",
        [
            {"Name": "Both", "Regions__c": "EMEA;APAC"},
            {"Name": "Americas", "Regions__c": "AMER"},
            {"Name": "None"},
        ],
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Regions__c INCLUDES ('EMEA')", ["Both"]),
        ("Regions__c INCLUDES ('apac;emea')", ["Both"]),
        ("Regions__c INCLUDES ('EMEA;AMER')", []),
        ("Regions__c INCLUDES ('EMEA;AMER', 'AMER')", ["Americas"]),
        ("Regions__c EXCLUDES ('EMEA')", ["Americas", "None"]),
        ("Regions__c = 'AMER'", ["Americas"]),
    ],
)
def test_includes_and_excludes(sf, regions, condition, expected):
    records = sf.query(f"SELECT Name FROM Account WHERE {condition} ORDER BY Name")["records"]
    assert [r["Name"] for r in records] == expected


def test_includes_needs_a_multi_select_picklist(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM Account WHERE Industry INCLUDES ('Retail')")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_multi_select_picklist_is_described(sf, regions):
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["Regions__c"]["type"] == "multipicklist"
    assert [v["value"] for v in fields["Regions__c"]["picklistValues"]] == ["EMEA", "APAC", "AMER"]


def test_multi_select_picklist_metadata_is_read(tmp_path):
    path = tmp_path / "Regions__c.field-meta.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>Regions__c</fullName><type>MultiselectPicklist</type>"
        "<valueSet><valueSetDefinition>"
        "<value><fullName>EMEA</fullName></value><value><fullName>APAC</fullName></value>"
        "</valueSetDefinition></valueSet><visibleLines>4</visibleLines></CustomField>",
        encoding="utf-8",
    )
    assert read_field(path) == ("Regions__c", {"type": "multipicklist", "values": ["EMEA", "APAC"]})
