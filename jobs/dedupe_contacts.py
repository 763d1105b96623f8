"""dedupe-contacts: find duplicate contacts, merge the sure ones, flag the rest for review.

Seed 000, "Identify and Merge Duplicate Contacts" (daily): contacts are one person
when they share a normalized email, or are at the same account with alike names
(nicknames count) and a shared phone; alike names alone are only flagged.
"""

from __future__ import annotations

from functools import partial

from pydantic import Field

from revsched.dedupe.config import (
    ObjectSpec,
    PeopleConfig,
    dedupe_requirements,
    integration_queries,
    people_fields,
    records_query,
)
from revsched.dedupe.survivorship import Strategy
from revsched.plan import Plan
from revsched.play import DecideContext, Play, Records
from revsched.schedule import ScheduleField
from revsched.soql import FieldName

SPEC = ObjectSpec("Contact", opportunities="OpportunityContactRoles")


class DedupeContactsConfig(PeopleConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    phone_fields: list[FieldName] = ["Phone", "MobilePhone"]
    country_field: FieldName = "MailingCountry"
    # Contacts are compared by name and phone only within the same value of this field.
    account_field: FieldName = "AccountId"
    audit_fields: list[FieldName] = [
        "AccountId",
        "FirstName",
        "LastName",
        "Title",
        "Email",
        "Phone",
        "MobilePhone",
        "OwnerId",
        "LeadSource",
        "MailingCountry",
        "LastActivityDate",
        "CreatedDate",
        "LastModifiedDate",
    ]
    survivorship: dict[FieldName, Strategy] = {
        "Title": "newest",
        "Phone": "newest",
        "MobilePhone": "newest",
        "MailingCountry": "newest",
    }


def queries(ctx: DecideContext[DedupeContactsConfig]) -> dict[str, str]:
    config = ctx.config
    return {
        "contacts": records_query(SPEC, [*people_fields(config), config.account_field]),
        **integration_queries(config),
    }


def decide(records: Records, ctx: DecideContext[DedupeContactsConfig]) -> Plan:
    # The matcher loads when the play decides, not whenever the plays are listed.
    from revsched.dedupe.planning import integration_ids
    from revsched.dedupe.settling import people_outcome

    contacts = records["contacts"]
    config = ctx.config
    accounts = [c[config.account_field] for c in contacts]
    integration = integration_ids(ctx.play, config, records)
    plan, outcome = people_outcome(
        ctx, SPEC, contacts, accounts, [config.account_field], config, integration
    )
    return plan.build(reports={"review": outcome.review})


play = Play(
    name="dedupe-contacts",
    summary="Merge duplicate contacts above the auto-merge threshold; flag the rest for review",
    config_model=DedupeContactsConfig,
    queries=queries,
    decide=decide,
    requirements=partial(dedupe_requirements, SPEC),
    reads_the_date=False,
)
