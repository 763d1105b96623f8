"""SOAP merge() against the local org through revsched.salesforce_soap."""

from __future__ import annotations

import pytest

from revsched.localorg import FaultProfile, ids
from revsched.salesforce_soap import (
    MergeRequest,
    SoapFault,
    merge_envelope,
    parse_merge_response,
    soap_merge,
)


def test_merge_accounts_reparents_children_and_deletes(org, sf):
    master, dup1, dup2 = org.insert(
        "Account", [{"Name": "Acme"}, {"Name": "Acme Inc"}, {"Name": "ACME"}]
    )
    contact = org.insert("Contact", [{"LastName": "Lee", "AccountId": dup1}])[0]
    opp = org.insert(
        "Opportunity",
        [{"Name": "O", "StageName": "Proposal", "CloseDate": "2026-12-01", "AccountId": dup2}],
    )[0]
    task = org.insert(
        "Task",
        [
            {
                "Subject": "Call",
                "WhoId": contact,
                "Status": "Completed",
                "ActivityDate": "2026-11-01",
            }
        ],
    )[0]
    event = org.insert(
        "Event", [{"Subject": "Meet", "WhatId": dup1, "ActivityDate": "2026-10-01"}]
    )[0]
    [result] = soap_merge(
        sf, "Account", [MergeRequest(master, [dup1, dup2], {"Industry": "Retail"})]
    )
    assert result.success and result.errors == ()
    assert result.id == master
    assert result.merged_record_ids == (dup1, dup2)
    assert set(result.updated_related_ids) == {contact, opp, event}
    assert sf.Contact.get(contact)["AccountId"] == master
    assert sf.Opportunity.get(opp)["AccountId"] == master
    assert sf.Task.get(task)["AccountId"] == master
    account = sf.Account.get(master)
    assert account["Industry"] == "Retail"
    assert account["LastActivityDate"] == "2026-11-01"
    deleted = sf.query_all(
        "SELECT Id, MasterRecordId FROM Account WHERE IsDeleted = true ORDER BY Name",
        include_deleted=True,
    )["records"]
    assert {(r["Id"], r["MasterRecordId"]) for r in deleted} == {(dup1, master), (dup2, master)}
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1


def test_contact_merge_moves_roles_and_activities(org, sf):
    a, b = org.insert("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    opp = org.insert(
        "Opportunity", [{"Name": "O", "StageName": "Proposal", "CloseDate": "2026-12-01"}]
    )[0]
    role = org.insert("OpportunityContactRole", [{"OpportunityId": opp, "ContactId": b}])[0]
    task = org.insert("Task", [{"Subject": "x", "WhoId": b}])[0]
    [result] = soap_merge(sf, "Contact", [MergeRequest(a, [b])])
    assert result.success
    assert set(result.updated_related_ids) == {role, task}
    assert sf.OpportunityContactRole.get(role)["ContactId"] == a


def test_each_request_is_its_own_transaction(org, sf):
    a, b, c, d = org.insert("Lead", [{"LastName": n, "Company": "C"} for n in "abcd"])
    results = soap_merge(
        sf,
        "Lead",
        [
            MergeRequest(a, [b]),
            MergeRequest(c, [ids.make_id("00Q", 999)]),
            MergeRequest(c, [c]),
            MergeRequest(c, [d]),
        ],
    )
    assert [r.success for r in results] == [True, False, False, True]
    assert results[1].errors[0].status_code == "INVALID_CROSS_REFERENCE_KEY"
    assert results[2].errors[0].status_code == "INVALID_ID_FIELD"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 2


def test_merge_limits_and_types(org, sf):
    a, b, c, d = org.insert("Account", [{"Name": n} for n in "abcd"])
    with pytest.raises(ValueError):
        merge_envelope("s", "Account", [MergeRequest(a, [b, c, d])])
    user = org.running_user_id
    [result] = soap_merge(sf, "User", [MergeRequest(user, [user])])
    assert not result.success and result.errors[0].status_code == "INVALID_TYPE"


def test_merge_faults(org, sf):
    a, b = org.insert("Account", [{"Name": "a"}, {"Name": "b"}])
    org.faults = FaultProfile(session_expires_after=0)
    with pytest.raises(SoapFault) as err:
        soap_merge(sf, "Account", [MergeRequest(a, [b])])
    assert err.value.code == "INVALID_SESSION_ID" and err.value.status == 500
    org.faults = FaultProfile(fail_records={a: "UNABLE_TO_LOCK_ROW"})
    [result] = soap_merge(sf, "Account", [MergeRequest(a, [b])])
    assert result.errors[0].status_code == "UNABLE_TO_LOCK_ROW"
    assert org.api_usage()[0] == 1


def test_parse_documented_response():
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><mergeResponse><result>'
        b"<id>001A</id><mergedRecordIds>001B</mergedRecordIds><success>true</success>"
        b"<updatedRelatedIds>003C</updatedRelatedIds></result><result><errors>"
        b"<fields>Id</fields><message>bad</message><statusCode>INVALID_ID_FIELD</statusCode>"
        b"</errors><id>001D</id><success>false</success></result>"
        b"</mergeResponse></soapenv:Body></soapenv:Envelope>"
    )
    ok, failed = parse_merge_response(200, xml)
    assert ok.merged_record_ids == ("001B",) and ok.updated_related_ids == ("003C",)
    assert failed.errors[0].fields == ("Id",) and not failed.success
