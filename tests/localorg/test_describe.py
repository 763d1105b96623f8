"""Describe derived from the schema, and custom objects and fields added by users."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceMoreThanOneRecord

from revsched.localorg import LocalOrg, add_custom_fields

SCHEMA = """
[Rs_Project__c]
label = "Project"
fields.Account__c = { type = "reference", to = "Account", child_relationship = "Projects__r" }
fields.Budget__c = { type = "currency" }
fields.Code__c = { type = "string", length = 20, external_id = true }

[Account.fields]
Rs_Tier__c = { type = "picklist", values = ["Gold", "Silver"] }
Rs_Legacy_Key__c = { type = "string", length = 30, external_id = true }
"""


def test_field_describe(sf):
    describe = sf.Lead.describe()
    assert describe["keyPrefix"] == "00Q" and describe["custom"] is False
    fields = {f["name"]: f for f in describe["fields"]}
    owner = fields["OwnerId"]
    assert owner["referenceTo"] == ["User", "Group"] and owner["polymorphicForeignKey"] is True
    assert owner["relationshipName"] == "Owner" and owner["type"] == "reference"
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["Name"]["createable"] is False
    assert fields["Status"]["defaultValue"] == "Open"
    assert fields["Actively_Being_Sequenced__c"]["custom"] is True
    assert fields["MasterRecordId"]["updateable"] is False
    summary = {s["name"]: s for s in sf.describe()["sobjects"]}
    assert summary["Lead"]["mergeable"] is True and summary["Task"]["mergeable"] is False


def test_custom_objects_and_fields_from_a_schema_file(tmp_path):
    schema_file = tmp_path / "schema.toml"
    schema_file.write_text(SCHEMA)
    path = tmp_path / "org.sqlite"
    org = LocalOrg(path, schema_extensions=schema_file)
    sf = org.salesforce()
    account = sf.Account.create({"Name": "Acme", "Rs_Tier__c": "Gold"})["id"]
    project = sf.Rs_Project__c.create({"Name": "P1", "Account__c": account, "Budget__c": 10.5})
    assert project["id"].startswith("a0")
    records = sf.query(
        "SELECT Name, (SELECT Name, Budget__c FROM Projects__r) FROM Account WHERE "
        "Rs_Tier__c = 'Gold'"
    )["records"]
    assert records[0]["Projects__r"]["records"][0]["Budget__c"] == 10.5
    describe = sf.Rs_Project__c.describe()
    assert describe["custom"] is True and describe["label"] == "Project"
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Code__c"]["externalId"] is True and fields["Code__c"]["length"] == 20
    children = {c["relationshipName"] for c in sf.Account.describe()["childRelationships"]}
    assert "Projects__r" in children
    org.close()
    # The file remembers its custom schema.
    reopened = LocalOrg(path)
    assert reopened.salesforce().query("SELECT COUNT() FROM Rs_Project__c")["totalSize"] == 1
    reopened.close()


def test_custom_schema_belongs_to_its_org(tmp_path):
    schema_file = tmp_path / "schema.toml"
    schema_file.write_text(SCHEMA)
    extended = LocalOrg(tmp_path / "extended.sqlite", schema_extensions=schema_file)
    plain = LocalOrg(tmp_path / "plain.sqlite")
    sf = plain.salesforce()

    names = {s["name"] for s in sf.describe()["sobjects"]}
    account_fields = {f["name"] for f in sf.Account.describe()["fields"]}
    children = {c["relationshipName"] for c in sf.Account.describe()["childRelationships"]}
    with pytest.raises(SalesforceMalformedRequest, match="No such column 'Rs_Tier__c'"):
        sf.query("SELECT Rs_Tier__c FROM Account")

    assert "Rs_Project__c" not in names and "Rs_Tier__c" not in account_fields
    assert "Projects__r" not in children
    assert "Rs_Tier__c" in {f["name"] for f in extended.salesforce().Account.describe()["fields"]}
    extended.close()
    plain.close()


def test_upsert_matching_several_records_is_300(tmp_path):
    org = LocalOrg(tmp_path / "org.sqlite")
    add_custom_fields(
        org,
        {
            "Account": {
                "fields": {
                    "Rs_Legacy_Key__c": {"type": "string", "length": 30, "external_id": True}
                }
            }
        },
    )
    org.insert(
        "Account", [{"Name": "a", "Rs_Legacy_Key__c": "x"}, {"Name": "b", "Rs_Legacy_Key__c": "x"}]
    )
    sf = org.salesforce()
    with pytest.raises(SalesforceMoreThanOneRecord) as err:
        sf.Account.upsert("Rs_Legacy_Key__c/x", {"Industry": "Retail"})
    assert err.value.status == 300
    assert len(err.value.content) == 2
    results = sf.restful(
        "composite/sobjects/Account/Rs_Legacy_Key__c",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Account"}, "Rs_Legacy_Key__c": "x"}]},
    )
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert "more than one record found for external id field" in results[0]["errors"][0]["message"]
    org.close()


def test_bad_schema_definitions(org):
    with pytest.raises(ValueError, match="__c"):
        add_custom_fields(org, {"Account": {"fields": {"Tier": {"type": "string"}}}})
    with pytest.raises(ValueError, match="unknown type"):
        add_custom_fields(org, {"Account": {"fields": {"X__c": {"type": "blob"}}}})
    with pytest.raises(ValueError, match="custom object"):
        add_custom_fields(org, {"Widget": {"fields": {}}})
