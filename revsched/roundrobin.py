"""Round-robin assignment from pools of users, as a pure computation.

The cursor (the position served next) and today's per-member counts come in
from the state store through the decide context and go out in the plan, so a
dry run never moves them and an applied run continues where the last stopped.
Members are skipped, with the reason audited, when they are inactive, out of
office, at their daily cap, or outside their working hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revsched.config import DateRange, PoolSettings, WorkingHours
from revsched.errors import ConfigError
from revsched.plan import Recipient
from revsched.play import Record
from revsched.soql import format_soql

# What round robin needs to know about each user.
USER_FIELDS = ("Id", "Name", "Username", "Email", "IsActive", "TimeZoneSidKey")


def user_fields(pools: Iterable[PoolSettings]) -> list[str]:
    """The User fields to query for these pools (their out-of-office fields included)."""
    extra = {p.out_of_office_field for p in pools if p.out_of_office_field}
    return [*USER_FIELDS, *sorted(extra)]


@dataclass(frozen=True)
class Member:
    username: str
    user_id: str
    name: str
    email: str | None
    active: bool
    weight: int = 1
    daily_cap: int | None = None
    out_of_office: tuple[DateRange, ...] = ()
    out_of_office_flag: bool = False
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Pick:
    pool: str
    member: Member
    skipped: tuple[str, ...]

    def explain(self) -> str:
        why = f" (skipped {'; '.join(self.skipped)})" if self.skipped else ""
        return f"round robin pool {self.pool!r} picked {self.member.name}{why}"


def users_query(usernames: Sequence[str]) -> str:
    """SOQL for the User rows of configured Usernames: what `members_from_users` reads."""
    return format_soql(
        "SELECT Id, Name, Username, Email, IsActive FROM User WHERE Username IN {}", usernames
    )


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


def active_recipients(
    role: str, config_key: str, usernames: Sequence[str], users: Sequence[Record]
) -> tuple[Recipient, ...]:
    """The configured users still active, as alert recipients (leadership, RevOps, PS)."""
    return tuple(
        Recipient(role=role, user_id=m.user_id, name=m.name, email=m.email)
        for m in members_from_users(config_key, usernames, users)
        if m.active
    )


def _pool_members(name: str, pool: PoolSettings, users: Sequence[Record]) -> list[Member]:
    entries = pool.members
    found = members_from_users(f"pools.{name}.members", [e.username for e in entries], users)
    by_username = {str(u["Username"]).lower(): u for u in users}
    members = []
    for entry, member in zip(entries, found, strict=True):
        user = by_username[entry.username.lower()]
        flag = pool.out_of_office_field
        members.append(
            replace(
                member,
                weight=entry.weight,
                daily_cap=entry.daily_cap if entry.daily_cap is not None else pool.daily_cap,
                out_of_office=tuple(entry.out_of_office),
                out_of_office_flag=bool(flag and user[flag]),
                time_zone=user.get("TimeZoneSidKey") or "UTC",
            )
        )
    return members


def _in_hours(hours: WorkingHours, member: Member, now: datetime) -> str | None:
    """Why the member is outside working hours now, or None when inside."""
    try:
        local = now.astimezone(ZoneInfo(member.time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = now
    if local.isoweekday() in hours.days and hours.start <= local.time() < hours.end:
        return None
    return f"outside working hours ({local:%a %H:%M} in {member.time_zone})"


@dataclass
class _Pool:
    settings: PoolSettings
    # The rotation: each member as often as its weight, interleaved.
    rotation: list[Member]
    cursor: int
    assigned: dict[str, int] = field(default_factory=dict)


def _rotation(members: Sequence[Member]) -> list[Member]:
    """Members by weight, interleaved (a, b, a for weights 2 and 1) so work spreads evenly."""
    rounds = max(m.weight for m in members)
    return [m for turn in range(rounds) for m in members if m.weight > turn]


class RoundRobin:
    """Serves the members of several pools in turn, skipping those who cannot take work."""

    def __init__(
        self,
        pools: Mapping[str, tuple[PoolSettings, Sequence[Member]]],
        cursors: Mapping[str, int],
        assigned_today: Mapping[str, Mapping[str, int]],
        now: datetime,
    ):
        self._now = now
        self._pools = {
            name: _Pool(
                settings,
                _rotation(members),
                cursors.get(name, 0),
                dict(assigned_today.get(name, {})),
            )
            for name, (settings, members) in pools.items()
        }
        self._assigned_before = {name: dict(assigned_today.get(name, {})) for name in pools}

    @property
    def cursors(self) -> dict[str, int]:
        return {name: pool.cursor for name, pool in self._pools.items()}

    @property
    def assignments(self) -> dict[str, dict[str, int]]:
        """Assignments made here, by pool and Username, to add to today's counts."""
        added: dict[str, dict[str, int]] = {}
        for name, pool in self._pools.items():
            before = self._assigned_before[name]
            for username, count in pool.assigned.items():
                if count > before.get(username, 0):
                    added.setdefault(name, {})[username] = count - before.get(username, 0)
        return added

    def _unavailable(self, pool: _Pool, member: Member, today: date) -> str | None:
        if not member.active:
            return f"{member.name}: inactive"
        absence = next((r for r in member.out_of_office if today in r), None)
        if absence is not None:
            return f"{member.name}: out of office until {absence.end}"
        if member.out_of_office_flag:
            return f"{member.name}: out of office ({pool.settings.out_of_office_field})"
        taken = pool.assigned.get(member.username, 0)
        if member.daily_cap is not None and taken >= member.daily_cap:
            return f"{member.name}: reached the daily cap of {member.daily_cap}"
        if pool.settings.working_hours is not None:
            outside = _in_hours(pool.settings.working_hours, member, self._now)
            if outside:
                return f"{member.name}: {outside}"
        return None

    def unavailable(self, pool_name: str) -> tuple[str, ...]:
        """Why each member who cannot take work now cannot."""
        pool = self._pools[pool_name]
        reasons = (self._unavailable(pool, m, self._now.date()) for m in pool.rotation)
        return tuple(dict.fromkeys(r for r in reasons if r))

    def next(self, pool_name: str) -> Pick | None:
        """The next eligible member of the pool, or None when nobody in it can take work."""
        pool = self._pools[pool_name]
        today = self._now.date()
        skipped: dict[str, str] = {}
        size = len(pool.rotation)
        for offset in range(size):
            index = (pool.cursor + offset) % size
            member = pool.rotation[index]
            reason = self._unavailable(pool, member, today)
            if reason is None:
                pool.cursor = (index + 1) % size
                pool.assigned[member.username] = pool.assigned.get(member.username, 0) + 1
                return Pick(pool_name, member, tuple(skipped.values()))
            skipped.setdefault(member.username, reason)
        return None


def round_robin(
    pool_names: Iterable[str],
    pools: Mapping[str, PoolSettings],
    users: Sequence[Record],
    cursors: Mapping[str, int],
    assigned_today: Mapping[str, Mapping[str, int]],
    now: datetime,
) -> RoundRobin:
    """A RoundRobin over the named pools, their members matched to the org's users."""
    chosen = {}
    for name in sorted(pool_names):
        if name not in pools:
            raise ConfigError(f"pools.{name}: no such pool; define [pools.{name}] with members")
        chosen[name] = (pools[name], _pool_members(name, pools[name], users))
    return RoundRobin(chosen, cursors, assigned_today, now)
