"""contact-alignment: contacts follow their account's owner, weekly.

Seed 000, the Routing Scheduler's "Align Contact to Account Owner" job: every
contact whose owner differs from its account's owner gets the account's owner,
and nothing else changes. Left alone, each with its reason: partner-managed
contacts (seed 001's Vartopia flow), contacts of unassigned accounts (never
moved to a holding, integration or inactive user), contacts of protected owners
(portal users), contacts in an active sequence (retried next week) and person
accounts. RevOps gets one digest a week with the counts, listing each contact
once (a rerun after a kill lists none again); the changes go to a
CSV (`--report-dir`); a week with more than `max_changes` changes is applied
only with `--confirm`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, Literal

from pydantic import Field

from revsched.ownership import Ownership
from revsched.plan import Plan, Recipient, Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements, iso_week
from revsched.roundrobin import members_from_users, users_query
from revsched.schedule import ScheduleField
from revsched.soql import FieldName

REPORT = "contact-alignment"


class ContactAlignmentConfig(PlayConfig):
    schedule: ScheduleField = Field("weekly sat 00:00", validate_default=True)
    # Accounts these users own are unassigned, as are accounts of inactive users.
    holding_users: list[str] = ["revops@demo.revsched.dev"]
    integration_users: list[str] = ["integration@demo.revsched.dev"]
    # Contacts these users own stay theirs (portal users, partner managers...).
    protected_users: list[str] = []
    # Partner-managed contacts (Vartopia): a status in this list, or a partner account set.
    # "" for a field means no such rule.
    partner_status_field: FieldName | Literal[""] = "Prospect_Share_Status__c"
    partner_status_values: list[str] = ["Sending to Partner"]
    partner_account_field: FieldName | Literal[""] = "Partner_Account__c"
    sequenced_field: FieldName = "Actively_Being_Sequenced__c"
    # "IsPersonAccount" in orgs with person accounts enabled (the field exists only there).
    person_account_field: FieldName | Literal[""] = ""
    # More owner changes than this in one run are applied only with --confirm.
    max_changes: int = Field(2000, ge=0)
    # Who gets the weekly digest (Usernames).
    digest_users: list[str] = Field(["revops@demo.revsched.dev"], min_length=1)
    template: str = "contact_alignment.j2"

    def named_users(self) -> list[str]:
        """Every Username the play names, once each, in config order."""
        named = [*self.holding_users, *self.integration_users, *self.protected_users]
        return list(dict.fromkeys([*named, *self.digest_users]))

    def optional_fields(self) -> list[str]:
        """The partner and person-account fields that are switched on."""
        fields = (self.partner_status_field, self.partner_account_field, self.person_account_field)
        return [name for name in fields if name]


def queries(ctx: DecideContext[ContactAlignmentConfig]) -> dict[str, str]:
    config = ctx.config
    fields = [
        "Id",
        "Name",
        "OwnerId",
        "Owner.Name",
        "AccountId",
        "Account.Name",
        "Account.OwnerId",
        "Account.Owner.Name",
        "Account.Owner.IsActive",
        config.sequenced_field,
        *config.optional_fields(),
    ]
    return {
        "contacts": f"SELECT {', '.join(dict.fromkeys(fields))} FROM Contact"
        " WHERE AccountId != null ORDER BY AccountId, Name, Id",
        "users": users_query(sorted({name.lower() for name in config.named_users()})),
    }


def _left_alone(
    contact: Record, ownership: Ownership, protected: set[str], config: ContactAlignmentConfig
) -> tuple[str, str] | None:
    """(skip category, reason) when the contact must keep its owner, else None."""
    account = contact["Account"]
    if config.person_account_field and contact[config.person_account_field]:
        return "person account", "a person account's contact"
    status_field, partner_field = config.partner_status_field, config.partner_account_field
    if status_field and contact[status_field] in config.partner_status_values:
        return "partner-managed", f"partner-managed ({status_field} = {contact[status_field]!r})"
    if partner_field and contact[partner_field]:
        return "partner-managed", f"partner-managed ({partner_field} is set)"
    unassigned = ownership.unassigned(account["OwnerId"], account.get("Owner"))
    if unassigned is not None:
        return "account unassigned", f"account {account['Name']} is unassigned: {unassigned}"
    if contact["OwnerId"] in protected:
        owner = (contact.get("Owner") or {}).get("Name") or contact["OwnerId"]
        return "protected owner", f"owned by {owner}, a protected user"
    if contact[config.sequenced_field]:
        return (
            "actively sequenced",
            f"in an active sequence ({config.sequenced_field} = true): retried next week",
        )
    return None


def _report_row(contact: Record) -> dict[str, Scalar]:
    account = contact["Account"]
    return {
        "contact_id": contact["Id"],
        "contact": contact["Name"],
        "account_id": contact["AccountId"],
        "account": account["Name"],
        "old_owner_id": contact["OwnerId"],
        "old_owner": (contact.get("Owner") or {}).get("Name"),
        "new_owner_id": account["OwnerId"],
        "new_owner": (account.get("Owner") or {}).get("Name"),
    }


def _digest_context(
    rows: list[dict[str, Scalar]], skipped: Counter[str], as_of: date
) -> dict[str, Any]:
    """What RevOps reads: the contacts moved, a row each that the template counts by new
    owner (so a digest told without the contacts whose write failed counts only those
    moved), and what was left, by why."""
    return {
        "week": iso_week(as_of),
        "moved": [
            {"contact_id": row["contact_id"], "owner": str(row["new_owner"])} for row in rows
        ],
        "skipped": [{"reason": r, "count": c} for r, c in sorted(skipped.items())],
        "report": REPORT,
    }


def decide(records: Records, ctx: DecideContext[ContactAlignmentConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Contact")
    key = f"plays.{ctx.play}"
    users = records["users"]
    ownership = Ownership.of(key, config.holding_users, config.integration_users, users)
    protected_users = members_from_users(f"{key}.protected_users", config.protected_users, users)
    protected = {m.user_id for m in protected_users}
    recipients = tuple(
        Recipient(role="RevOps", user_id=m.user_id, name=m.name, email=m.email)
        for m in members_from_users(f"{key}.digest_users", config.digest_users, users)
    )
    rows: list[dict[str, Scalar]] = []
    skipped: Counter[str] = Counter()
    for contact in records["contacts"]:
        account = contact["Account"]
        if contact["OwnerId"] == account["OwnerId"]:
            continue
        alone = _left_alone(contact, ownership, protected, config)
        if alone is not None:
            skipped[alone[0]] += 1
            plan.skip(contact, alone[1], kind=alone[0])
            continue
        new_owner = (account.get("Owner") or {}).get("Name") or account["OwnerId"]
        why = f"account {account['Name']} is owned by {new_owner}"
        plan.select(contact, why)
        plan.change(contact, {"OwnerId": (account["OwnerId"], why)})
        rows.append(_report_row(contact))
    # The week's digest lists each contact once: none a digest of the week already listed.
    new = [row for row in rows if not plan.listed_this_week(str(row["contact_id"]))]
    ids = [str(row["contact_id"]) for row in new]
    context = _digest_context(new, skipped, ctx.as_of)
    plan.weekly_digest(config.template, recipients, "weekly contact alignment digest", ids, context)
    confirmation = None
    if len(plan.changes) > config.max_changes:
        confirmation = (
            f"{len(plan.changes)} contact owner changes are more than {key}.max_changes"
            f" ({config.max_changes})"
        )
    return plan.build(reports={REPORT: rows}, confirmation=confirmation)


def requirements(config: ContactAlignmentConfig) -> Requirements:
    """For `revsched doctor`: the partner status, the users, and the one field it writes."""
    values = (
        tuple(
            ("Contact", config.partner_status_field, value)
            for value in config.partner_status_values
        )
        if config.partner_status_field
        else ()
    )
    return Requirements(
        values=values,
        users=tuple(config.named_users()),
        writes=(("Contact", "OwnerId"),),
    )


play = Play(
    name="contact-alignment",
    summary="Give contacts their account owner, weekly, leaving partner and sequenced ones",
    config_model=ContactAlignmentConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
