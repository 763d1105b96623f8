"""Who works the account a person moved to: its AE and SDR, round-robined when the
account is unassigned (an unmatched lead: its owner, else the SDR pool's next member).

Apart from job-changes' module so the play reads as its PLAYS.md paragraph; the
settings read are listed in `TeamSettings`, which the play's config provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from revsched.changed_person import ChangedPerson
from revsched.ownership import Ownership
from revsched.plan import Recipient
from revsched.play import Record
from revsched.roundrobin import Member, RoundRobin
from revsched.soql import relationship_name


class TeamSettings(Protocol):
    """The settings of job-changes' config an account's team is found by."""

    ae_pool: str
    sdr_pool: str
    sdr_field: str
    assigned_reason_field: str
    assigned_reason_value: str


def recipient(role: str, user_id: str, user: Record | None) -> Recipient:
    """An alert recipient from a user Id and its User row (Name, Email), if read."""
    user = user or {}
    return Recipient(
        role=role, user_id=user_id, name=user.get("Name") or user_id, email=user.get("Email")
    )


def member_recipient(role: str, member: Member) -> Recipient:
    """An alert recipient from a round robin's member."""
    return Recipient(role=role, user_id=member.user_id, name=member.name, email=member.email)


@dataclass(frozen=True)
class Team:
    """Who works the person's account after this run, and the account changes for it."""

    ae: Recipient | None
    sdr: Recipient | None
    changes: dict[str, tuple[str, str]]
    assigned_reason: str | None
    # Round-robined by this run (its changes are planned with the first person only).
    newly_assigned: bool = False


def account_team(
    account: Record | None,
    person: ChangedPerson,
    ownership: Ownership,
    robin: RoundRobin,
    config: TeamSettings,
) -> Team | None:
    """The account's AE and SDR (round-robined when unassigned); for an unmatched lead, its
    SDR (its owner, or one from the SDR pool). None: the pool has nobody to take it."""
    if account is None:
        owner_id = str(person.record["OwnerId"])
        if ownership.unassigned(owner_id, person.record.get("Owner")) is None:
            return Team(
                None, recipient("Lead Owner", owner_id, person.record.get("Owner")), {}, None
            )
        pick = robin.next(config.sdr_pool)
        if pick is None:
            return None
        return Team(
            None,
            member_recipient("Lead Owner", pick.member),
            {"OwnerId": (pick.member.user_id, pick.explain())},
            None,
        )
    sdr_id = account.get(config.sdr_field)
    sdr_user = account.get(relationship_name(config.sdr_field))
    sdr = (
        recipient("Acct SDR", sdr_id, sdr_user)
        if sdr_id and (sdr_user or {}).get("IsActive", True)
        else None
    )
    if ownership.unassigned(str(account["OwnerId"]), account.get("Owner")) is None:
        return Team(
            recipient("Acct Owner", str(account["OwnerId"]), account.get("Owner")),
            sdr,
            {},
            account.get(config.assigned_reason_field),
        )
    ae = robin.next(config.ae_pool)
    if ae is None:
        return None
    changes = {
        "OwnerId": (ae.member.user_id, ae.explain()),
        config.assigned_reason_field: (config.assigned_reason_value, "assigned by round robin"),
    }
    if sdr is None:
        pick = robin.next(config.sdr_pool)
        if pick is not None:
            sdr = member_recipient("Acct SDR", pick.member)
            changes[config.sdr_field] = (pick.member.user_id, pick.explain())
    return Team(
        member_recipient("Acct Owner", ae.member), sdr, changes, config.assigned_reason_value, True
    )


def team_recipients(team: Team, deal: Record | None) -> tuple[Recipient, ...]:
    """The AE and SDR, and the owner of the open deal if someone else."""
    recipients = [r for r in (team.ae, team.sdr) if r is not None]
    if deal is not None and deal["OwnerId"] not in {r.user_id for r in recipients}:
        recipients.append(recipient("Deal Owner", str(deal["OwnerId"]), deal.get("Owner")))
    return tuple(recipients)


def nobody_free(account: Record | None, robin: RoundRobin, config: TeamSettings) -> str:
    """Why no team was found: nobody in the pool the person's account needed could take it."""
    pool, what = (
        (config.ae_pool, "account unassigned") if account else (config.sdr_pool, "unmatched")
    )
    return f"{what} and nobody in pool {pool!r} can take it ({'; '.join(robin.unavailable(pool))})"
