"""The org's users as lead-status-hygiene's rules read them: who is active, who manages
whom, who sells, and the queue or user PLG leads are handed back to.

Apart from the play so its module reads as its PLAYS.md paragraph; the settings read are
listed in `SellerSettings` and `HandBackSettings`, which the play's config provides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from revsched.errors import ConfigError
from revsched.play import Record, Records
from revsched.records import field_value
from revsched.roundrobin import members_from_users


class SellerSettings(Protocol):
    """Who counts as a seller: by role (UserRole.Name), profile (Profile.Name) or Username."""

    seller_roles: Sequence[str]
    seller_profiles: Sequence[str]
    seller_users: Sequence[str]


class HandBackSettings(Protocol):
    """With `enforce`, the queue (DeveloperName) or user (Username) PLG leads go back to."""

    enabled: bool
    enforce: bool
    plg_queue: str
    plg_owner: str


class SalesPeople:
    """The org's users by Id, who sells, and who manages whom."""

    def __init__(
        self, users: list[Record], manager_field: str, rule: SellerSettings, key: str
    ) -> None:
        """`key` names the rule in config (`plays.<play>.plg_taken`): a Username among its
        `seller_users` that the org lacks is an error."""
        self.manager_field = manager_field
        self.by_id = {u["Id"]: u for u in users}
        named = {u.lower() for u in rule.seller_users}
        members_from_users(f"{key}.seller_users", rule.seller_users, users)
        self.sellers = {
            u["Id"]
            for u in users
            if field_value(u, "UserRole.Name") in rule.seller_roles
            or field_value(u, "Profile.Name") in rule.seller_profiles
            or str(u["Username"]).lower() in named
        }

    def user(self, user_id: str | None) -> Record | None:
        """The active user with this Id; None for a queue or an inactive user."""
        user = self.by_id.get(user_id or "")
        return user if user and user["IsActive"] else None

    def told(self, user_id: str | None) -> tuple[str, ...]:
        """Whose digest a finding about a record this user owns goes in: the user's, when
        active; nobody's for a queue or an inactive user (RevOps' summary only)."""
        user = self.user(user_id)
        return (user["Id"],) if user else ()

    def manager(self, user_id: str | None) -> Record | None:
        user = self.by_id.get(user_id or "")
        return self.user(user[self.manager_field]) if user else None


def hand_back_owner(records: Records, rule: HandBackSettings, key: str) -> Record | None:
    """With `enforce`, the queue or active user PLG leads go back to (Id and Name); `key`
    names the rule in config (`plays.<play>.plg_taken`)."""
    if rule.plg_owner and rule.enabled and rule.enforce:
        [owner] = members_from_users(f"{key}.plg_owner", [rule.plg_owner], records["users"])
        if not owner.active:
            raise ConfigError(f"{key}.plg_owner: {rule.plg_owner} is inactive; name an active user")
        return {"Id": owner.user_id, "Name": owner.name}
    if "queues" not in records:
        return None
    if not records["queues"]:
        raise ConfigError(
            f"{key}.plg_queue: no queue with DeveloperName {rule.plg_queue!r} in the org"
        )
    return records["queues"][0]
