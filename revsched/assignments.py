"""Unassigning accounts, one way for every play that does it.

churn-intake, add-drop-approvals and account-review all hand an account to the
RevOps holding user and clear the people on it; they share this so the holding
user is looked up, and an unassignment reads, the same in each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from revsched.plan import Scalar
from revsched.play import Record
from revsched.roundrobin import Member, members_from_users
from revsched.soql import format_soql

Targets = dict[str, tuple[Scalar, str]]


def holding_user_query(username: str) -> str:
    """SOQL for the holding user's User row (Username as configured)."""
    return format_soql(
        "SELECT Id, Name, Username, Email, IsActive FROM User WHERE Username = {}", username
    )


def holding_user(config_key: str, username: str, users: Sequence[Record]) -> Member:
    """The holding user from the rows of `holding_user_query`; a missing one is a config error."""
    [holding] = members_from_users(config_key, [username], users)
    return holding


def unassign(holding: Member, cleared: Mapping[str, str], reason: str) -> Targets:
    """Field -> (new value, why) that give the account to `holding` and clear `cleared`.

    `cleared` maps each user lookup to the role it names, shown in the why.
    """
    return {
        "OwnerId": (holding.user_id, f"{reason}: the account goes to {holding.name}"),
        **{
            field: (None, f"{reason}: {role} taken off the account")
            for field, role in cleared.items()
        },
    }
