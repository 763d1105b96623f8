"""What job-changes tells people about one job change: the seed's Slack alert (and its
variant), the SDR's follow-up Task and the lead's conversion.

Apart from the play so its module reads as its PLAYS.md paragraph; the settings read
are listed in `JobChangeAlertSettings`, which the play's config provides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from revsched.account_team import Team
from revsched.changed_person import ChangedPerson, PersonSettings, Variant
from revsched.plan import LeadConversion, Recipient, Scalar
from revsched.play import DecideContext, Record, days_text
from revsched.task_fields import PersonTask


class JobChangeAlertSettings(Protocol):
    """The settings of job-changes' config its alert, Task and conversion read."""

    account_type_field: str
    converted_status: str
    follow_up: Sequence[str]
    job_start_field: str
    past_account_field: str
    past_account_type_field: str
    past_title_field: str
    relationships: Mapping[str, str]
    task_due_days: int
    task_subject: str


def alert_variant(
    person: ChangedPerson, deals: list[Record], team: Team, config: PersonSettings
) -> Variant:
    """Which of the seed's alert variants applies."""
    if deals:
        return "open_deal"
    if person.record.get(config.sequenced_field):
        return "in_sequence"
    return "new_assignment" if team.newly_assigned else "standard"


def _details(
    person: ChangedPerson, relationship: str, config: JobChangeAlertSettings
) -> dict[str, Any]:
    """The seed's Contact Details, blanks kept."""
    record = person.record
    return {
        "title": record.get("Title"),
        "email": record.get("Email"),
        "job_started": record.get(config.job_start_field),
        "past_account": record.get(config.past_account_field),
        "past_account_type": record.get(config.past_account_type_field),
        "relationship": relationship,
        "past_title": record.get(config.past_title_field),
    }


def follow_up_task(
    person: ChangedPerson, account: Record | None, owner: Recipient, ctx: DecideContext[Any]
) -> dict[str, Scalar]:
    """The follow-up Task of the SDR (else the AE), due in task_due_days."""
    config = ctx.config
    name = str(person.record["Name"])
    due = ctx.as_of + timedelta(days=config.task_due_days)
    return PersonTask(
        Subject=config.task_subject.format(name=name),
        OwnerId=owner.user_id,
        ActivityDate=due.isoformat(),
        Status="Not Started",
        Priority="High",
        WhoId=person.id,
        WhatId=account["Id"] if account else None,
        Description=f"{name} changed jobs (UserGems). Follow up within"
        f" {days_text(config.task_due_days)}.",
    ).values()


def conversion(
    person: ChangedPerson,
    account: Record,
    owner: Recipient,
    how: str,
    config: JobChangeAlertSettings,
) -> LeadConversion:
    """The lead converted onto the account it matched, owned by the account's AE."""
    return LeadConversion(
        lead_id=person.id,
        lead_name=str(person.record["Name"]),
        account_id=str(account["Id"]),
        account_name=str(account["Name"]),
        owner_id=str(owner.user_id),
        converted_status=config.converted_status,
        reason=f"{how}: the lead joins {account['Name']} as a contact",
    )


def alert_context(
    person: ChangedPerson,
    account: Record | None,
    relationship: str,
    team: Team,
    variant: Variant,
    deal: Record | None,
    sequence_line: str,
    config: JobChangeAlertSettings,
) -> dict[str, Any]:
    """The seed's Slack alert: who moved where, the account and its team, the deal, the
    sequence, and what to do."""
    return {
        "person": {"sobject": person.sobject, "id": person.id, "name": person.record["Name"]},
        "ae": team.ae.model_dump() if team.ae else None,
        "sdr": team.sdr.model_dump() if team.sdr else None,
        "company": person.record.get("Company"),
        "account": (
            {
                "id": account["Id"],
                "name": account["Name"],
                "type": account.get(config.account_type_field),
                "assigned_reason": team.assigned_reason,
            }
            if account is not None
            else None
        ),
        "details": _details(person, relationship, config),
        "definition": config.relationships[relationship],
        "variant": variant,
        "deal": (
            {"id": deal["Id"], "name": deal["Name"], "owner": (deal.get("Owner") or {}).get("Name")}
            if deal is not None
            else None
        ),
        "sequence": sequence_line,
        "follow_up": config.follow_up,
    }
