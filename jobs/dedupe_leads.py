"""dedupe-leads: find duplicate open leads, merge the sure ones, flag the rest for review.

Leads are one person when they share a normalized email, or work at the same
company (email or website domain, else normalized company name) with alike names
and a shared phone; alike names alone are only flagged. Converted leads are left
alone: Salesforce cannot merge them.
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

SPEC = ObjectSpec("Lead")


class DedupeLeadsConfig(PeopleConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    company_field: FieldName = "Company"
    website_field: FieldName = "Website"
    audit_fields: list[FieldName] = [
        "FirstName",
        "LastName",
        "Company",
        "Title",
        "Email",
        "Phone",
        "Website",
        "Country",
        "State",
        "Status",
        "LeadSource",
        "OwnerId",
        "Actively_Being_Sequenced__c",
        "LastActivityDate",
        "CreatedDate",
        "LastModifiedDate",
    ]
    survivorship: dict[FieldName, Strategy] = {
        "Title": "newest",
        "Phone": "newest",
        "Website": "oldest",
        "Country": "newest",
        "State": "newest",
    }


def queries(ctx: DecideContext[DedupeLeadsConfig]) -> dict[str, str]:
    config = ctx.config
    fields = [*people_fields(config), config.company_field, config.website_field]
    return {
        "leads": records_query(SPEC, fields, where="IsConverted = false"),
        **integration_queries(config),
    }


def decide(records: Records, ctx: DecideContext[DedupeLeadsConfig]) -> Plan:
    # The matcher loads when the play decides, not whenever the plays are listed.
    from revsched.dedupe.people import lead_company
    from revsched.dedupe.planning import integration_ids
    from revsched.dedupe.settling import people_outcome

    config = ctx.config
    leads = records["leads"]
    companies = [
        lead_company(
            lead[config.email_field], lead[config.website_field], lead[config.company_field]
        )
        for lead in leads
    ]
    integration = integration_ids(ctx.play, config, records)
    org_fields = [config.company_field, config.website_field]
    plan, outcome = people_outcome(ctx, SPEC, leads, companies, org_fields, config, integration)
    return plan.build(reports={"review": outcome.review})


play = Play(
    name="dedupe-leads",
    summary="Merge duplicate open leads above the auto-merge threshold; flag the rest for review",
    config_model=DedupeLeadsConfig,
    queries=queries,
    decide=decide,
    requirements=partial(dedupe_requirements, SPEC),
    reads_the_date=False,
)
