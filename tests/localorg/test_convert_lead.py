"""SOAP convertLead() against the local org through revsched.salesforce_soap."""

from __future__ import annotations

from revsched.salesforce_soap import (
    LeadConvert,
    convert_envelope,
    parse_convert_response,
    soap_convert_leads,
)


def lead_and_account(org, users):
    account = org.insert("Account", [{"Name": "Acme", "OwnerId": users[0]}])[0]
    lead = org.insert(
        "Lead",
        [
            {
                "FirstName": "Pat",
                "LastName": "Lee",
                "Company": "Acme",
                "Email": "pat@acme.com",
                "Title": "VP Sales",
                "Country": "Germany",
                "LeadSource": "UserGems",
                "OwnerId": users[1],
                "UserGems__Job_Start_Date__c": "2026-11-01",
                "Sequence_To_Enroll__c": "UserGems - RevOps",
            }
        ],
    )[0]
    return account, lead


def test_lead_joins_the_account_as_a_contact_with_its_activities(org, sf, users):
    account, lead = lead_and_account(org, users)
    task = org.insert("Task", [{"Subject": "Call", "WhoId": lead, "OwnerId": users[1]}])[0]

    [result] = soap_convert_leads(
        sf, [LeadConvert(lead, "Qualified", account_id=account, owner_id=users[0])]
    )

    assert result.success and result.errors == ()
    assert (result.lead_id, result.account_id, result.opportunity_id) == (lead, account, None)
    converted = sf.Lead.get(lead)
    assert converted["IsConverted"] is True
    assert converted["Status"] == "Qualified"
    assert converted["ConvertedDate"] == "2026-11-23"
    assert (converted["ConvertedAccountId"], converted["ConvertedContactId"]) == (
        account,
        result.contact_id,
    )
    assert converted["ConvertedOpportunityId"] is None
    contact = sf.Contact.get(result.contact_id)
    assert {
        f: contact[f]
        for f in (
            "FirstName",
            "LastName",
            "Email",
            "Title",
            "MailingCountry",
            "LeadSource",
            "AccountId",
            "OwnerId",
            "UserGems__Job_Start_Date__c",
            "Sequence_To_Enroll__c",
        )
    } == {
        "FirstName": "Pat",
        "LastName": "Lee",
        "Email": "pat@acme.com",
        "Title": "VP Sales",
        "MailingCountry": "Germany",
        "LeadSource": "UserGems",
        "AccountId": account,
        "OwnerId": users[0],
        "UserGems__Job_Start_Date__c": "2026-11-01",
        "Sequence_To_Enroll__c": "UserGems - RevOps",
    }
    moved = sf.Task.get(task)
    assert (moved["WhoId"], moved["WhatId"], moved["AccountId"]) == (
        result.contact_id,
        account,
        account,
    )


def test_an_already_converted_lead_is_refused(org, sf, users):
    account, lead = lead_and_account(org, users)
    soap_convert_leads(sf, [LeadConvert(lead, "Qualified", account_id=account)])

    [again] = soap_convert_leads(sf, [LeadConvert(lead, "Qualified", account_id=account)])

    assert not again.success
    assert [(e.status_code, e.message) for e in again.errors] == [
        ("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    ]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 1


def test_each_lead_is_converted_on_its_own(org, sf, users):
    account, lead = lead_and_account(org, users)
    queue = org.insert("Group", [{"Name": "Q", "DeveloperName": "Q", "Type": "Queue"}])[0]
    queued = org.insert("Lead", [{"LastName": "Q", "Company": "Acme", "OwnerId": queue}])[0]
    other = org.insert("Account", [{"Name": "Other", "OwnerId": users[0]}])[0]
    stranger = org.insert("Contact", [{"LastName": "S", "AccountId": other}])[0]

    no_owner, wrong_contact, fine = soap_convert_leads(
        sf,
        [
            LeadConvert(queued, "Qualified", account_id=account),
            LeadConvert(lead, "Qualified", account_id=account, contact_id=stranger),
            LeadConvert(lead, "Qualified", account_id=account),
        ],
    )

    assert no_owner.errors[0].message.startswith("Converted objects can only be owned by users.")
    assert wrong_contact.errors[0].fields == ("contactId",)
    assert fine.success
    assert sf.Lead.get(queued)["IsConverted"] is False


def test_envelope_asks_for_no_opportunity_and_parses_the_documented_response():
    envelope = convert_envelope("SID", [LeadConvert("00QA", "Qualified", account_id="001A")])

    assert "<urn:accountId>001A</urn:accountId>" in envelope
    assert "<urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>" in envelope
    assert "<urn:ownerId>" not in envelope
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><convertLeadResponse><result>'
        b"<accountId>001A</accountId><contactId>003C</contactId><leadId>00QA</leadId>"
        b'<opportunityId xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
        b"<success>true</success></result></convertLeadResponse></soapenv:Body>"
        b"</soapenv:Envelope>"
    )
    [result] = parse_convert_response(200, xml)
    assert (result.account_id, result.contact_id, result.opportunity_id) == ("001A", "003C", None)
