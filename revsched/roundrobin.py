"""Round-robin assignment from pools of users, as a pure computation.

The cursor (the index of the member served next) comes in from the state store
through the decide context and goes out in the plan, so a dry run never moves
it and an applied run continues where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from revsched.errors import ConfigError
from revsched.play import Record


@dataclass(frozen=True)
class Member:
    username: str
    user_id: str
    name: str
    email: str | None
    active: bool


@dataclass(frozen=True)
class Pick:
    pool: str
    member: Member
    skipped: tuple[str, ...]

    def explain(self) -> str:
        why = f" (skipped {'; '.join(self.skipped)})" if self.skipped else ""
        return f"round robin pool {self.pool!r} picked {self.member.name}{why}"


def members_from_users(
    config_key: str, usernames: Sequence[str], users: Sequence[Record]
) -> list[Member]:
    """Users in configured order, matched to User rows by Username (any case).

    Salesforce never deletes users, so a Username with no User is a typo in config.
    """
    by_username = {str(u["Username"]).lower(): u for u in users}
    missing = [name for name in usernames if name.lower() not in by_username]
    if missing:
        raise ConfigError(f"{config_key}: no user with Username {missing[0]!r} in the org")
    return [
        Member(name, user["Id"], user["Name"], user.get("Email"), bool(user["IsActive"]))
        for name in usernames
        for user in [by_username[name.lower()]]
    ]


def round_robin(
    pool_names: Iterable[str],
    pools: Mapping[str, Sequence[str]],
    users: Sequence[Record],
    cursors: Mapping[str, int],
) -> RoundRobin:
    """A RoundRobin over the named pools, their members matched to the org's users."""
    members = {}
    for name in sorted(pool_names):
        if name not in pools:
            raise ConfigError(f"pools.{name}: no such pool; define [pools.{name}] with members")
        members[name] = members_from_users(f"pools.{name}.members", pools[name], users)
    return RoundRobin(members, cursors)


class RoundRobin:
    """Serves the members of several pools in turn, skipping those who cannot take work."""

    def __init__(self, pools: Mapping[str, Sequence[Member]], cursors: Mapping[str, int]):
        self._pools = pools
        self.cursors = {name: cursors.get(name, 0) for name in pools}

    def next(self, pool: str) -> Pick | None:
        """The next eligible member of `pool`, or None when nobody in it can take work."""
        members = self._pools[pool]
        skipped: list[str] = []
        for offset in range(len(members)):
            index = (self.cursors[pool] + offset) % len(members)
            member = members[index]
            if not member.active:
                skipped.append(f"{member.name}: inactive")
            else:
                self.cursors[pool] = (index + 1) % len(members)
                return Pick(pool, member, tuple(skipped))
        return None
