"""SOQL helpers: values are quoted, teams are matched by role or Username along a path,
and the fields a query reads are found in every clause."""

from __future__ import annotations

from revsched.soql import users_filter
from revsched.soql_syntax import fields_read


def test_users_filter_by_role_and_username_along_a_path():
    assert users_filter(["Account Executive"], ["o'neil@x.dev"], "Owner.") == (
        "Owner.UserRole.Name IN ('Account Executive') OR Owner.Username IN ('o\\'neil@x.dev')"
    )


def test_users_filter_by_role_only():
    assert users_filter(["Sales Development"], []) == "UserRole.Name IN ('Sales Development')"


def test_the_fields_a_query_reads_in_every_clause_and_semi_join():
    soql = (
        "SELECT Id, Owner.Name, MAX(CloseDate) latest, (SELECT Subject FROM Tasks)"
        " FROM Opportunity WHERE Type = 'Renewal' AND NOT IsWon = true"
        " AND AccountId IN (SELECT Id FROM Account WHERE Churn_Date__c < TODAY)"
        " GROUP BY StageName ORDER BY Amount DESC"
    )

    assert fields_read(soql) == [
        ("Opportunity", "Id"),
        ("Opportunity", "Owner.Name"),
        ("Opportunity", "CloseDate"),
        ("Opportunity", "Type"),
        ("Opportunity", "IsWon"),
        ("Opportunity", "AccountId"),
        ("Account", "Id"),
        ("Account", "Churn_Date__c"),
        ("Opportunity", "StageName"),
        ("Opportunity", "Amount"),
    ]


def test_a_query_outside_the_grammar_reads_no_field_here():
    """The org still checks it when doctor runs it."""
    assert fields_read("SELECT Id FROM Account WHERE Name SOUNDS LIKE 'x'") == []
