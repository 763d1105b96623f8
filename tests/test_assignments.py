"""Unassigning: the holding user is looked up by Username and the owner and team change."""

from __future__ import annotations

import pytest

from revsched.assignments import holding_user, holding_user_query, unassign
from revsched.errors import ConfigError

USERS = [
    {
        "Id": "005000000000000001",
        "Name": "RevOps Team",
        "Username": "revops@demo.revsched.dev",
        "Email": "revops@demo.revsched.dev",
        "IsActive": True,
    }
]


def test_unassign_gives_the_account_to_the_holding_user_and_clears_the_team():
    holding = holding_user("plays.x.holding_user", "RevOps@demo.revsched.dev", USERS)

    assert unassign(holding, {"AE__c": "AE", "SDR__c": "SDR"}, "dropped") == {
        "OwnerId": ("005000000000000001", "dropped: the account goes to RevOps Team"),
        "AE__c": (None, "dropped: AE taken off the account"),
        "SDR__c": (None, "dropped: SDR taken off the account"),
    }


def test_holding_user_query_quotes_the_username():
    assert holding_user_query("o'neil@x.dev").endswith("WHERE Username = 'o\\'neil@x.dev'")


def test_unknown_holding_user_names_the_key():
    with pytest.raises(ConfigError, match=r"plays\.x\.holding_user: no user"):
        holding_user("plays.x.holding_user", "ops@demo.revsched.dev", USERS)
