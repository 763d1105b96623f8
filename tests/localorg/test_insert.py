"""LocalOrg.insert: the fast bulk load used for demo data and test fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from revsched.localorg import LocalOrg, ids


def test_insert_assigns_ids_defaults_and_keeps_given_created_date(org):
    new = org.insert(
        "Lead",
        [
            {
                "LastName": "A",
                "Company": "C",
                "CreatedDate": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
            },
            {"LastName": "B", "Company": "C", "Actively_Being_Sequenced__c": True},
        ],
    )
    assert all(len(i) == 18 and i.startswith("00Q") for i in new)
    assert len(set(new)) == 2
    rows = org.salesforce().query(
        "SELECT Status, IsConverted, Actively_Being_Sequenced__c, "
        "CreatedDate, OwnerId FROM Lead ORDER BY LastName"
    )["records"]
    assert rows[0]["Status"] == "Open"
    assert rows[0]["IsConverted"] is False
    assert rows[1]["Actively_Being_Sequenced__c"] is True
    assert rows[0]["CreatedDate"] == "2025-01-02T03:04:05.000+0000"
    assert rows[1]["CreatedDate"].startswith("2026-11-23T")
    assert rows[0]["OwnerId"] == org.running_user_id


def test_insert_rejects_unknown_and_derived_fields(org):
    with pytest.raises(ValueError, match="Bogus"):
        org.insert("Account", [{"Name": "A", "Bogus": 1}])
    with pytest.raises(ValueError, match="IsWon"):
        org.insert(
            "Opportunity",
            [{"Name": "O", "StageName": "Proposal", "CloseDate": date(2026, 1, 1), "IsWon": True}],
        )
    with pytest.raises(ValueError, match="LastName"):
        org.insert("Contact", [{"FirstName": "x"}])
    assert org.salesforce().query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_ids_carry_key_prefix_and_case_safe_suffix():
    assert ids.checksum("001D000000IRFma") == "IAH"
    assert ids.normalize("001D000000IRFma") == "001D000000IRFmaIAH"
    assert ids.normalize("001d000000irfmaiah") == "001D000000IRFmaIAH"
    assert ids.normalize("001D000000IRFmaIA9") is None
    assert ids.normalize("001D000000IRFma!AH") is None
    made = ids.make_id("006", 12345)
    assert made.startswith("006") and made[15:] == ids.checksum(made[:15])


def test_org_persists_across_reopen(tmp_path):
    path = tmp_path / "org.sqlite"
    first = LocalOrg(path)
    acme = first.insert("Account", [{"Name": "Acme"}])[0]
    first.close()
    second = LocalOrg(path)
    assert second.salesforce().Account.get(acme)["Name"] == "Acme"
    assert second.insert("Account", [{"Name": "Next"}])[0] != acme
    stages = second.salesforce().query("SELECT COUNT() FROM OpportunityStage")["totalSize"]
    assert stages == 7
    second.close()
