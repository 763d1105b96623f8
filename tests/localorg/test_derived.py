"""Fields the org derives on every write, through both insert() and REST."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def test_person_name_from_first_and_last_name(sf, org):
    ids = org.insert("Contact", [{"FirstName": "Ann", "LastName": "Lee"}, {"LastName": "Solo"}])
    lead = sf.Lead.create({"FirstName": "Max", "LastName": "Moe", "Company": "C"})["id"]
    assert sf.Contact.get(ids[0])["Name"] == "Ann Lee"
    assert sf.Contact.get(ids[1])["Name"] == "Solo"
    assert sf.Lead.get(lead)["Name"] == "Max Moe"
    sf.Contact.update(ids[1], {"FirstName": "Han"})
    assert sf.Contact.get(ids[1])["Name"] == "Han Solo"


def test_opportunity_stage_drives_is_closed_is_won_and_probability(sf, org):
    opp = sf.Opportunity.create({"Name": "O", "StageName": "Proposal", "CloseDate": "2026-12-01"})
    record = sf.Opportunity.get(opp["id"])
    assert (record["IsClosed"], record["IsWon"], record["Probability"]) == (False, False, 50)
    sf.Opportunity.update(opp["id"], {"StageName": "Closed Won"})
    record = sf.Opportunity.get(opp["id"])
    assert (record["IsClosed"], record["IsWon"], record["Probability"]) == (True, True, 100)
    sf.Opportunity.update(opp["id"], {"StageName": "Closed Lost", "Probability": 5})
    record = sf.Opportunity.get(opp["id"])
    assert (record["IsClosed"], record["IsWon"], record["Probability"]) == (True, False, 5)
    stages = sf.query(
        "SELECT ApiName FROM OpportunityStage WHERE IsClosed = true ORDER BY SortOrder"
    )
    assert [r["ApiName"] for r in stages["records"]] == ["Closed Won", "Closed Lost"]


def test_task_is_closed_from_status(sf):
    task = sf.Task.create({"Subject": "Call", "Status": "In Progress"})["id"]
    assert sf.Task.get(task)["IsClosed"] is False
    sf.Task.update(task, {"Status": "Completed"})
    assert sf.Task.get(task)["IsClosed"] is True


@pytest.fixture
def crm(org):
    acme, other = org.insert("Account", [{"Name": "Acme"}, {"Name": "Other"}])
    contact = org.insert("Contact", [{"LastName": "C", "AccountId": acme}])[0]
    opp = org.insert(
        "Opportunity",
        [{"Name": "O", "AccountId": other, "StageName": "Proposal", "CloseDate": "2026-12-01"}],
    )[0]
    lead = org.insert("Lead", [{"LastName": "L", "Company": "X"}])[0]
    return {"acme": acme, "other": other, "contact": contact, "opp": opp, "lead": lead}


def test_activity_account_from_what_then_who(sf, org, crm):
    tasks = org.insert(
        "Task",
        [
            {"Subject": "what account", "WhatId": crm["acme"]},
            {"Subject": "what opp", "WhatId": crm["opp"], "WhoId": crm["contact"]},
            {"Subject": "who contact", "WhoId": crm["contact"]},
            {"Subject": "who lead", "WhoId": crm["lead"]},
        ],
    )
    accounts = [sf.Task.get(t)["AccountId"] for t in tasks]
    assert accounts == [crm["acme"], crm["other"], crm["acme"], None]
    event = sf.Event.create(
        {"Subject": "E", "WhatId": crm["opp"], "StartDateTime": "2026-11-01T10:00:00Z"}
    )["id"]
    assert sf.Event.get(event)["AccountId"] == crm["other"]
    # Moving the opportunity moves its activities' account.
    sf.Opportunity.update(crm["opp"], {"AccountId": crm["acme"]})
    assert sf.Event.get(event)["AccountId"] == crm["acme"]
    assert sf.Task.get(tasks[1])["AccountId"] == crm["acme"]


def test_last_activity_date_is_latest_closed_task_or_event(sf, org, crm):
    def lad(sobject: str, record_id: str):
        return sf.query(f"SELECT LastActivityDate FROM {sobject} WHERE Id = '{record_id}'")[
            "records"
        ][0]["LastActivityDate"]

    org.insert(
        "Task",
        [
            {"Subject": "open", "WhatId": crm["acme"], "ActivityDate": "2026-11-20"},
            {
                "Subject": "done",
                "WhatId": crm["acme"],
                "Status": "Completed",
                "ActivityDate": "2026-11-01",
            },
        ],
    )
    # Only closed tasks count.
    assert lad("Account", crm["acme"]) == "2026-11-01"
    task = sf.Task.create(
        {
            "Subject": "call",
            "WhoId": crm["contact"],
            "Status": "Completed",
            "ActivityDate": "2026-11-10",
        }
    )["id"]
    assert lad("Account", crm["acme"]) == "2026-11-10"
    assert lad("Contact", crm["contact"]) == "2026-11-10"
    sf.Event.create({"Subject": "meet", "WhoId": crm["lead"], "ActivityDate": "2026-11-15"})
    assert lad("Lead", crm["lead"]) == "2026-11-15"
    sf.Task.delete(task)
    assert lad("Account", crm["acme"]) == "2026-11-01"
    assert lad("Contact", crm["contact"]) is None
    assert lad("Account", crm["other"]) is None


def test_last_activity_date_is_not_writable(sf, crm):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(crm["acme"], {"LastActivityDate": "2026-01-01"})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_clearing_a_checkbox_stores_false(sf, org):
    lead = org.insert(
        "Lead", [{"LastName": "L", "Company": "C", "Actively_Being_Sequenced__c": True}]
    )[0]
    sf.Lead.update(lead, {"Actively_Being_Sequenced__c": None})
    assert sf.Lead.get(lead)["Actively_Being_Sequenced__c"] is False
