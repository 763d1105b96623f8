"""Who an account really belongs to: the "unassigned" rule the people plays share.

PLAYS.md: unassigned = owned by the holding user/queue, an integration user or an
inactive user. Nobody works such an account, so no contact is moved to its owner
and job-changes round-robins an AE onto it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from revsched.plan import Recipient
from revsched.play import Record
from revsched.roundrobin import members_from_users
from revsched.soql import relationship_name

QUEUE_ID_PREFIX = "00G"


@dataclass(frozen=True)
class Ownership:
    """The holding and integration users' Ids, to tell an unassigned owner from a working one."""

    holding_ids: frozenset[str]
    integration_ids: frozenset[str]

    @classmethod
    def of(
        cls,
        config_key: str,
        holding_users: Sequence[str],
        integration_users: Sequence[str],
        users: Sequence[Record],
    ) -> Ownership:
        """From configured Usernames; one missing from the org is a config error (a typo)."""
        holding = members_from_users(f"{config_key}.holding_users", holding_users, users)
        integration = members_from_users(
            f"{config_key}.integration_users", integration_users, users
        )
        return cls(frozenset(m.user_id for m in holding), frozenset(m.user_id for m in integration))

    def unassigned(self, owner_id: str, owner: Record | None) -> str | None:
        """Why a record owned by `owner_id` (its Owner row: Name, IsActive) counts as
        unassigned, or None when a working user owns it."""
        name = (owner or {}).get("Name") or owner_id
        if owner_id.startswith(QUEUE_ID_PREFIX):
            return f"owned by the queue {name}"
        if owner_id in self.holding_ids:
            return f"owned by the holding user {name}"
        if owner_id in self.integration_ids:
            return f"owned by the integration user {name}"
        if owner is not None and owner.get("IsActive") is False:
            return f"owner {name} is inactive"
        return None


def lookup_recipient(record: Record, field: str, role: str) -> Recipient | None:
    """The active user a user lookup of the record names (`OwnerId`, an AM or CSM field,
    queried with its relationship's Name, Email, IsActive), as an alert recipient; None
    when the lookup is blank or the user inactive, so the play falls back to the next."""
    user_id = record.get(field)
    user = record.get(relationship_name(field)) or {}
    if user_id and user.get("IsActive"):
        return Recipient(role=role, user_id=user_id, name=user["Name"], email=user.get("Email"))
    return None
