"""What people-signals tells about one signal on a person of a customer account: who hears
of it (the CSM, else the account owner, else the CS channel), the CSM's Task, and the
alert, with the account's other contacts when a champion leaves.

Apart from the play so its module reads as its PLAYS.md paragraph; the settings read are
listed in `AlertSettings`, which the play's config provides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, Protocol

from revsched.ownership import QUEUE_ID_PREFIX, lookup_recipient
from revsched.plan import Recipient, Scalar
from revsched.play import Record
from revsched.records import children
from revsched.task_fields import PersonTask

Signal = Literal["champion_joins", "champion_leaves", "new_hire_or_promotion"]
KEY_PREFIX = "people-signals"
EXPANSION = "Expansion opportunity"
CHURN_RISK = "Churn risk"
TITLES: dict[Signal, str] = {
    "champion_joins": "Past champion joins",
    "champion_leaves": "Champion leaves",
    "new_hire_or_promotion": "New hire or promotion",
}


class AlertSettings(Protocol):
    """The settings of people-signals' config its alert, Task and recipients read."""

    csm_field: str
    cs_channel_name: str
    no_longer_field: str
    arr_field: str
    renewal_field: str
    past_title_field: str
    past_account_field: str
    min_active_contacts: int
    active_days: int
    task_due_days: int
    actions: Mapping[Signal, Sequence[str]]


def record_day(value: Any) -> date | None:
    """The day of a date or datetime field's value; None when it is blank."""
    return date.fromisoformat(str(value)[:10]) if value else None


@dataclass(frozen=True)
class FoundSignal:
    """A signal found on a person: its date, what it means and why."""

    signal: Signal
    person: Record
    sobject: Literal["Contact", "Lead"]
    account: Record
    day: date
    meaning: str
    why: str

    @property
    def key(self) -> str:
        email = self.person.get("Email")
        who = str(email).strip().lower() if email else self.person["Id"]
        return f"{KEY_PREFIX}:{self.signal}:{who}:{self.day.isoformat()}"

    @property
    def stage(self) -> str:
        return f"{self.signal} {self.day.isoformat()}"


def csm_recipient(account: Record, config: AlertSettings) -> Recipient:
    """The account's CSM, else its owner, else the CS channel (someone with no user)."""
    csm = lookup_recipient(account, config.csm_field, "CSM")
    owner = lookup_recipient(account, "OwnerId", "Account Owner")
    if csm is None and owner is not None and not owner.user_id.startswith(QUEUE_ID_PREFIX):
        return owner
    return csm or Recipient(role="CS channel", user_id=None, name=config.cs_channel_name)


def other_contacts(
    found: FoundSignal, contacts: list[Record], config: AlertSettings
) -> list[dict[str, Scalar]]:
    """The account's other contacts still there, most recently active first."""
    rows = []
    for contact in contacts:
        if contact["Id"] == found.person["Id"] or record_day(contact.get(config.no_longer_field)):
            continue
        roles = sorted(
            {r["Role"] for r in children(contact, "OpportunityContactRoles") if r.get("Role")}
        )
        rows.append(
            {
                "id": contact["Id"],
                "name": contact["Name"],
                "title": contact.get("Title"),
                "last_activity": contact.get("LastActivityDate"),
                "roles": ", ".join(roles),
            }
        )
    return sorted(rows, key=lambda r: (str(r["last_activity"] or ""), str(r["name"])), reverse=True)


def few_others_active(
    found: FoundSignal, others: list[dict[str, Scalar]], as_of: date, config: AlertSettings
) -> bool:
    """A champion leaves an account where fewer than `min_active_contacts` others were
    active in `active_days`: CS leadership is told too."""
    since = as_of - timedelta(days=config.active_days)
    active = sum(1 for r in others if (d := record_day(r["last_activity"])) and d >= since)
    return found.signal == "champion_leaves" and active < config.min_active_contacts


def task_fields(
    found: FoundSignal, owner_id: str, as_of: date, config: AlertSettings
) -> dict[str, Scalar]:
    """The CSM's Task: the signal, on the person and the account, due in task_due_days."""
    return PersonTask(
        Subject=f"{TITLES[found.signal]}: {found.person['Name']}",
        OwnerId=owner_id,
        ActivityDate=(as_of + timedelta(days=config.task_due_days)).isoformat(),
        Status="Not Started",
        Priority="High" if found.meaning == CHURN_RISK else "Normal",
        WhoId=found.person["Id"],
        WhatId=found.account["Id"],
        Description=f"{found.meaning}: {found.why}.",
    ).values()


def alert_context(
    item: FoundSignal,
    csm: Recipient,
    others: list[dict[str, Scalar]],
    thin: bool,
    config: AlertSettings,
) -> dict[str, Any]:
    """What the CSM reads: the signal and what it means, the account, the person, the
    seed's recommended actions, and (a champion leaving) who else is there."""
    account, person = item.account, item.person
    return {
        "signal": item.signal,
        "title": TITLES[item.signal],
        "meaning": item.meaning,
        "why": item.why,
        "account": {
            "id": account["Id"],
            "name": account["Name"],
            "arr": account.get(config.arr_field),
            "renewal_date": account.get(config.renewal_field),
        },
        "person": {
            "sobject": item.sobject,
            "id": person["Id"],
            "name": person["Name"],
            "title": person.get("Title"),
            "past_title": person.get(config.past_title_field),
            "past_account": person.get(config.past_account_field),
            "date": item.day.isoformat(),
        },
        "csm": csm.name,
        "actions": config.actions[item.signal],
        "others": others if item.signal == "champion_leaves" else None,
        "leadership": (
            f"CS leadership: fewer than {config.min_active_contacts} other contacts"
            f" were active here in the last {config.active_days} days."
            if thin
            else None
        ),
    }
