"""SOQL constructs through simple-salesforce, each with its exact result."""

from __future__ import annotations

import pytest
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest


def names(result: dict) -> list[str]:
    return [r["Name"] for r in result["records"]]


@pytest.fixture
def accounts(org, users):
    ann, bo = users
    ids = org.insert(
        "Account",
        [
            {
                "Name": "Acme",
                "OwnerId": ann,
                "Industry": "Software",
                "NumberOfEmployees": 50,
                "Churn_Date__c": "2026-11-23",
                "SDR__c": bo,
            },
            {
                "Name": "beta",
                "OwnerId": bo,
                "Industry": "Retail",
                "NumberOfEmployees": 5,
                "Churn_Date__c": "2026-11-22",
            },
            {
                "Name": "Gamma",
                "OwnerId": ann,
                "NumberOfEmployees": 500,
                "Churn_Date__c": "2026-11-13",
            },
            {
                "Name": "Del_ta%",
                "OwnerId": bo,
                "Industry": "Software",
                "Churn_Date__c": "2026-10-05",
            },
        ],
    )
    return ids


def test_parent_paths_come_back_as_nested_objects(sf, accounts, users):
    result = sf.query(
        "SELECT Name, Owner.Name, Owner.Email, SDR__r.Email FROM Account ORDER BY Name LIMIT 2"
    )
    first, second = result["records"]
    assert first["Name"] == "Acme"
    assert first["Owner"]["attributes"]["type"] == "User"
    assert first["Owner"]["attributes"]["url"].endswith(f"/sobjects/User/{users[0]}")
    assert first["Owner"]["Name"] == "Ann Lee"
    assert first["SDR__r"] == {
        "attributes": {"type": "User", "url": f"/services/data/v62.0/sobjects/User/{users[1]}"},
        "Email": "bo@x.test",
    }
    assert second["Name"] == "beta"
    assert second["SDR__r"] is None
    assert list(first) == ["attributes", "Name", "Owner", "SDR__r"]


def test_names_are_case_insensitive_and_output_is_canonical(sf, accounts):
    result = sf.query("select name, OWNER.name from ACCOUNT where NAME = 'ACME'")
    assert result["totalSize"] == 1
    record = result["records"][0]
    assert record["Name"] == "Acme"
    assert record["Owner"]["Name"] == "Ann Lee"
    assert record["attributes"]["type"] == "Account"


def test_where_and_or_not_parentheses(sf, accounts):
    q = (
        "SELECT Name FROM Account WHERE (Industry = 'Software' OR NumberOfEmployees > 100) "
        "AND NOT Name LIKE 'D%' ORDER BY Name"
    )
    assert names(sf.query(q)) == ["Acme", "Gamma"]


def test_not_equal_includes_nulls_as_soql_does(sf, accounts):
    result = sf.query("SELECT Name FROM Account WHERE Industry != 'Software' ORDER BY Name")
    assert names(result) == ["beta", "Gamma"]
    result = sf.query("SELECT Name FROM Account WHERE Industry <> null ORDER BY Name")
    assert names(result) == ["Acme", "beta", "Del_ta%"]


def test_null_true_false_and_numbers(sf, accounts, org):
    assert names(sf.query("SELECT Name FROM Account WHERE Industry = null")) == ["Gamma"]
    assert names(
        sf.query(
            "SELECT Name FROM Account WHERE NumberOfEmployees >= 50 AND NumberOfEmployees < 500"
        )
    ) == ["Acme"]
    assert names(sf.query("SELECT Name FROM Account WHERE NumberOfEmployees <= 5")) == ["beta"]
    org.insert(
        "Opportunity",
        [
            {"Name": "O1", "StageName": "Closed Won", "CloseDate": "2026-01-01"},
            {"Name": "O2", "StageName": "Prospecting", "CloseDate": "2026-01-01", "Amount": 12.5},
        ],
    )
    assert names(sf.query("SELECT Name FROM Opportunity WHERE IsWon = true")) == ["O1"]
    assert names(sf.query("SELECT Name FROM Opportunity WHERE IsClosed = false")) == ["O2"]
    # A checkbox is never null: `= null` means false and `!= null` means true.
    assert names(sf.query("SELECT Name FROM Opportunity WHERE IsWon = null")) == ["O2"]
    assert names(sf.query("SELECT Name FROM Opportunity WHERE IsWon != null")) == ["O1"]
    record = sf.query("SELECT Amount, IsWon FROM Opportunity WHERE Amount = 12.5")["records"][0]
    assert record["Amount"] == 12.5
    assert record["IsWon"] is False


def test_in_not_in_and_like(sf, accounts):
    assert names(
        sf.query("SELECT Name FROM Account WHERE Name IN ('acme', 'Gamma', 'x') ORDER BY Name")
    ) == ["Acme", "Gamma"]
    assert names(
        sf.query("SELECT Name FROM Account WHERE Industry NOT IN ('Software') ORDER BY Name")
    ) == ["beta", "Gamma"]
    assert names(sf.query("SELECT Name FROM Account WHERE Name LIKE '%ET%'")) == ["beta"]
    assert names(sf.query("SELECT Name FROM Account WHERE Name LIKE 'Del\\_ta\\%'")) == ["Del_ta%"]
    assert names(sf.query("SELECT Name FROM Account WHERE Name LIKE 'Del_ta_'")) == ["Del_ta%"]


def test_string_escapes_via_format_soql(sf, org):
    org.insert("Account", [{"Name": "O'Brien \\ Sons"}, {"Name": "Other"}])
    query = format_soql("SELECT Name FROM Account WHERE Name = {}", "O'Brien \\ Sons")
    assert names(sf.query(query)) == ["O'Brien \\ Sons"]


def test_date_literals_follow_salesforce_ranges(sf, accounts):
    def q(where: str) -> list[str]:
        return names(sf.query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name"))

    # The org clock says 2026-11-23.
    assert q("Churn_Date__c = TODAY") == ["Acme"]
    assert q("Churn_Date__c = YESTERDAY") == ["beta"]
    assert q("Churn_Date__c = TOMORROW") == []
    # LAST_N_DAYS:n includes today and the n days before it.
    assert q("Churn_Date__c = LAST_N_DAYS:1") == ["Acme", "beta"]
    assert q("Churn_Date__c = LAST_N_DAYS:10") == ["Acme", "beta", "Gamma"]
    assert q("Churn_Date__c = LAST_N_DAYS:9") == ["Acme", "beta"]
    # N_DAYS_AGO:n is the single day.
    assert q("Churn_Date__c = N_DAYS_AGO:10") == ["Gamma"]
    # Comparison with a range: < before its start, > after its end.
    assert q("Churn_Date__c < LAST_N_DAYS:10") == ["Del_ta%"]
    assert q("Churn_Date__c > YESTERDAY") == ["Acme"]
    assert q("Churn_Date__c >= YESTERDAY") == ["Acme", "beta"]
    assert q("Churn_Date__c <= YESTERDAY") == ["beta", "Del_ta%", "Gamma"]
    # N_MONTHS_AGO:1 is all of last calendar month.
    assert q("Churn_Date__c = N_MONTHS_AGO:1") == ["Del_ta%"]
    assert q("Churn_Date__c = THIS_MONTH") == ["Acme", "beta", "Gamma"]
    assert q("Churn_Date__c = 2026-11-13") == ["Gamma"]
    assert q("Churn_Date__c > 2026-11-13") == ["Acme", "beta"]


def test_next_n_days_starts_tomorrow(sf, org):
    org.insert(
        "Opportunity",
        [
            {"Name": f"O{d}", "StageName": "Prospecting", "CloseDate": f"2026-11-{d}"}
            for d in (23, 24, 26, 27)
        ],
    )
    result = sf.query("SELECT Name FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:3 ORDER BY Name")
    assert names(result) == ["O24", "O26"]


def test_datetime_literals_and_date_literals_on_datetime_fields(sf, org):
    org.insert(
        "Account",
        [
            {"Name": "Old", "CreatedDate": "2026-11-20T23:59:59Z"},
            {"Name": "New", "CreatedDate": "2026-11-23T10:00:00.000+0000"},
        ],
    )

    def q(where: str) -> list[str]:
        return names(sf.query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name"))

    assert q("CreatedDate = 2026-11-23T10:00:00Z") == ["New"]
    assert q("CreatedDate > 2026-11-21T00:59:59+01:00") == ["New"]
    assert q("CreatedDate < 2026-11-21T00:00:00+0000") == ["Old"]
    assert q("CreatedDate = N_DAYS_AGO:3") == ["Old"]
    assert q("CreatedDate = TODAY AND Name != 'x'") == ["New"]
    record = sf.query("SELECT CreatedDate FROM Account WHERE Name = 'Old'")["records"][0]
    assert record["CreatedDate"] == "2026-11-20T23:59:59.000+0000"


def test_parent_paths_in_where_and_order_by(sf, accounts):
    result = sf.query(
        "SELECT Name FROM Account WHERE Owner.Name = 'Ann Lee' ORDER BY Owner.Name, Name DESC"
    )
    assert names(result) == ["Gamma", "Acme"]
    result = sf.query("SELECT Name FROM Account ORDER BY Owner.LastName DESC, Name")
    assert names(result) == ["Acme", "Gamma", "beta", "Del_ta%"]


def test_order_by_nulls_first_by_default_in_both_directions(sf, accounts):
    assert names(sf.query("SELECT Name FROM Account ORDER BY Industry, Name")) == [
        "Gamma",
        "beta",
        "Acme",
        "Del_ta%",
    ]
    assert names(sf.query("SELECT Name FROM Account ORDER BY Industry DESC, Name")) == [
        "Gamma",
        "Acme",
        "Del_ta%",
        "beta",
    ]
    assert names(sf.query("SELECT Name FROM Account ORDER BY Industry DESC NULLS LAST, Name")) == [
        "Acme",
        "Del_ta%",
        "beta",
        "Gamma",
    ]
    # Text sorts case-insensitively.
    assert names(sf.query("SELECT Name FROM Account ORDER BY Name")) == [
        "Acme",
        "beta",
        "Del_ta%",
        "Gamma",
    ]


def test_limit_offset_and_count(sf, accounts):
    assert names(sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1")) == [
        "beta",
        "Del_ta%",
    ]
    result = sf.query("SELECT COUNT() FROM Account WHERE Industry = 'Software'")
    assert result == {"totalSize": 2, "done": True, "records": []}
    assert sf.query("SELECT COUNT() FROM Account LIMIT 3")["totalSize"] == 3


def test_semi_join_and_anti_join(sf, accounts, org):
    acme, beta, _, _ = accounts
    org.insert(
        "Opportunity",
        [
            {"Name": "A1", "AccountId": acme, "StageName": "Closed Won", "CloseDate": "2026-01-01"},
            {
                "Name": "B1",
                "AccountId": beta,
                "StageName": "Prospecting",
                "CloseDate": "2026-01-01",
            },
            {"Name": "N1", "StageName": "Prospecting", "CloseDate": "2026-01-01"},
        ],
    )
    result = sf.query(
        "SELECT Name FROM Account WHERE Id IN "
        "(SELECT AccountId FROM Opportunity WHERE IsWon = true)"
    )
    assert names(result) == ["Acme"]
    result = sf.query(
        "SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Opportunity) ORDER BY Name"
    )
    assert names(result) == ["Del_ta%", "Gamma"]
    result = sf.query(
        "SELECT Name FROM Opportunity WHERE AccountId NOT IN "
        "(SELECT Id FROM Account WHERE Name = 'Acme') ORDER BY Name"
    )
    assert names(result) == ["B1", "N1"]


def test_child_subqueries(sf, org, accounts):
    acme = accounts[0]
    contacts = org.insert(
        "Contact",
        [
            {"LastName": "Zed", "AccountId": acme},
            {"FirstName": "Amy", "LastName": "Ault", "AccountId": acme},
            {"LastName": "Yo", "AccountId": acme},
        ],
    )
    opp = org.insert(
        "Opportunity",
        [
            {"Name": "Deal", "AccountId": acme, "StageName": "Proposal", "CloseDate": "2026-12-01"},
            {
                "Name": "Empty",
                "AccountId": acme,
                "StageName": "Proposal",
                "CloseDate": "2026-12-01",
            },
        ],
    )
    org.insert(
        "OpportunityContactRole",
        [
            {
                "OpportunityId": opp[0],
                "ContactId": contacts[0],
                "IsPrimary": True,
                "Role": "Champion",
            },
            {"OpportunityId": opp[0], "ContactId": contacts[1], "IsPrimary": False},
        ],
    )
    result = sf.query(
        "SELECT Name, (SELECT Id, Contact.Name, Role FROM OpportunityContactRoles "
        "WHERE IsPrimary = true ORDER BY Role LIMIT 5) FROM Opportunity ORDER BY Name"
    )
    deal, empty = result["records"]
    roles = deal["OpportunityContactRoles"]
    assert roles["totalSize"] == 1 and roles["done"] is True
    assert roles["records"][0]["Contact"]["Name"] == "Zed"
    assert roles["records"][0]["attributes"]["type"] == "OpportunityContactRole"
    assert empty["OpportunityContactRoles"] is None
    result = sf.query(
        "SELECT Name, (SELECT Name FROM Contacts ORDER BY Name DESC LIMIT 2 OFFSET 0) "
        "FROM Account WHERE Name = 'Acme'"
    )
    assert names(result["records"][0]["Contacts"]) == ["Zed", "Yo"]


def test_polymorphic_owner_name_for_user_and_group(sf, org, users):
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
    result = sf.query("SELECT Name, Owner.Name FROM Lead ORDER BY Name")
    first, second = result["records"]
    assert first["Owner"]["Name"] == "Ann Lee"
    assert second["Owner"]["Name"] == "SDR Queue"
    assert second["Owner"]["attributes"]["type"] == "Name"
    assert second["Owner"]["attributes"]["url"].endswith(f"/sobjects/Group/{queue}")
    assert names(sf.query("SELECT Name FROM Lead WHERE Owner.Name = 'sdr queue'")) == ["L2"]


def test_id_filters_accept_15_and_18_character_ids(sf, accounts):
    acme = accounts[0]
    assert names(sf.query(f"SELECT Name FROM Account WHERE Id = '{acme[:15]}'")) == ["Acme"]
    assert names(sf.query(f"SELECT Name FROM Account WHERE Id = '{acme}'")) == ["Acme"]


def test_query_all_includes_deleted_records(sf, accounts):
    sf.Account.delete(accounts[0])
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 3
    deleted = sf.query_all(
        "SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true", include_deleted=True
    )
    assert [(r["Name"], r["IsDeleted"]) for r in deleted["records"]] == [("Acme", True)]


def test_polymorphic_what_sees_only_the_name_entity(sf, org):
    acme = org.insert("Account", [{"Name": "Acme"}])[0]
    opp = org.insert(
        "Opportunity", [{"Name": "Deal", "StageName": "Proposal", "CloseDate": "2026-12-01"}]
    )[0]
    org.insert("Task", [{"Subject": "a", "WhatId": acme}, {"Subject": "b", "WhatId": opp}])
    result = sf.query("SELECT Subject, What.Name FROM Task ORDER BY Subject")
    assert [(r["What"]["Name"], r["What"]["attributes"]["url"]) for r in result["records"]] == [
        ("Acme", f"/services/data/v62.0/sobjects/Account/{acme}"),
        ("Deal", f"/services/data/v62.0/sobjects/Opportunity/{opp}"),
    ]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT What.StageName FROM Task")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_using_scope_mine_is_what_the_running_user_owns(sf, org, accounts):
    org.insert("Account", [{"Name": "Own"}])  # owned by the running user, the default
    mine = "SELECT Name FROM Account USING SCOPE mine WHERE Name != 'x' ORDER BY Name"
    assert names(sf.query(mine)) == ["Own"]
    everything = sf.query("SELECT Name FROM Account USING SCOPE everything ORDER BY Name")
    assert names(everything) == ["Acme", "beta", "Del_ta%", "Gamma", "Own"]
    # Teams, territories and delegation are not modelled: refused, never answered wrongly.
    for soql in (
        "SELECT Name FROM Account USING SCOPE team",
        "SELECT Subject FROM Task USING SCOPE delegated",
        "SELECT Name FROM User USING SCOPE mine",
    ):
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf.query(soql)
        assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"
        assert "is not supported by the local org" in err.value.content[0]["message"]
