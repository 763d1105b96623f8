"""dedupe-accounts: normalize accounts, merge the sure duplicates, flag the rest for review.

Seed 000, "Account Normalization" (monthly), and seed 004's "I.B.M." / "IBM" /
"Internat'l Bus Machines" / "IBM HQ" problem: accounts are one company when they
share a website domain, or their names agree once legal forms, punctuation,
abbreviations and office or region words are gone (or one is the other's
initials); names only alike are flagged. Websites become their registered domain
and countries and states their codes, as ordinary (revertible) field changes.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from pydantic import Field

from revsched.declared_writes import Writes
from revsched.dedupe.config import (
    DedupeConfig,
    ObjectSpec,
    dedupe_requirements,
    flag_fields,
    integration_queries,
    records_query,
)
from revsched.dedupe.survivorship import Strategy
from revsched.plan import Plan, Scalar
from revsched.play import DecideContext, Play, Record, Records, Requirements
from revsched.schedule import ScheduleField
from revsched.soql import FieldName

SPEC = ObjectSpec("Account", opportunities="Opportunities")


class DedupeAccountsConfig(DedupeConfig):
    schedule: ScheduleField = Field("monthly", validate_default=True)
    # Normalization writes the website, country and state (and the name).
    website_field: Annotated[FieldName, Writes("Account")] = "Website"
    country_field: Annotated[FieldName, Writes("Account")] = "BillingCountry"
    state_field: Annotated[FieldName, Writes("Account")] = "BillingState"
    phone_field: FieldName = "Phone"
    # Normalizations written to every account (each a revertible field change).
    website_to_domain: bool = True
    country_codes: bool = True
    state_codes: bool = True
    trim_names: bool = True
    audit_fields: list[FieldName] = [
        "Name",
        "Type",
        "OwnerId",
        "ParentId",
        "Website",
        "Phone",
        "Industry",
        "NumberOfEmployees",
        "AnnualRevenue",
        "BillingCity",
        "BillingState",
        "BillingCountry",
        "LastActivityDate",
        "Churn_Date__c",
        "Win_Back_Campaign__c",
        "SDR__c",
        "AE__c",
        "AM__c",
        "CSM__c",
        "Solutions_Consultant__c",
        "Owner_Assigned_Date__c",
        "Buying_Stage__c",
        "Add_Drop_Request__c",
        "Add_Drop_Approval__c",
        "Add_Drop_Requested_By__c",
        "Needs_Review_Date__c",
        "Account_Status__c",
        "Health_Score__c",
        "Renewal_Date__c",
        "Users_In_Contract__c",
        "Users_Routed__c",
        "CreatedDate",
        "LastModifiedDate",
    ]
    survivorship: dict[FieldName, Strategy] = {
        "Website": "oldest",
        "Phone": "newest",
        "Industry": "newest",
        "NumberOfEmployees": "newest",
        "AnnualRevenue": "newest",
        "BillingCity": "oldest",
        "BillingState": "oldest",
        "BillingCountry": "oldest",
    }


def queries(ctx: DecideContext[DedupeAccountsConfig]) -> dict[str, str]:
    config = ctx.config
    fields = [
        config.website_field,
        config.country_field,
        config.state_field,
        config.phone_field,
        *flag_fields(config),
    ]
    return {
        "accounts": records_query(SPEC, fields),
        **integration_queries(config),
    }


def normalized(account: Record, config: DedupeAccountsConfig) -> dict[str, tuple[Scalar, str]]:
    """The values account normalization writes (field -> value, why), where they differ."""
    # The matcher loads when the play decides, not whenever the plays are listed.
    from revsched.dedupe import normalize
    from revsched.dedupe.companies import own_site

    targets: dict[str, tuple[Scalar, str]] = {}
    name = account["Name"]
    if config.trim_names and name and " ".join(name.split()) != name:
        targets["Name"] = (" ".join(name.split()), "name without stray spaces")
    website = account[config.website_field]
    # Only a company's own site becomes its domain: a page on a shared host
    # (facebook.com/joes) or a country site (ibm.com/uk-en) would lose what tells it apart.
    site = own_site(website, config.match)
    domain = site.domain if site and not site.country_site else None
    if config.website_to_domain and domain and domain != website:
        targets[config.website_field] = (domain, "website as its registered domain")
    country = normalize.country_code(account[config.country_field])
    if config.country_codes and country and country != account[config.country_field]:
        targets[config.country_field] = (country, "country as its ISO 3166 code")
    state = normalize.state_code(account[config.state_field], country)
    if config.state_codes and state and state != account[config.state_field]:
        targets[config.state_field] = (state, "state as its postal code")
    return targets


def decide(records: Records, ctx: DecideContext[DedupeAccountsConfig]) -> Plan:
    # The matcher loads when the play decides, not whenever the plays are listed.
    from revsched.dedupe.companies import company, count_companies, match_companies
    from revsched.dedupe.planning import integration_ids
    from revsched.dedupe.settling import Matcher, plan_settled

    config = ctx.config
    accounts = records["accounts"]
    targets = {a["Id"]: normalized(a, config) for a in accounts}
    fields = (config.website_field, config.country_field, config.phone_field)
    matcher = Matcher(
        normalize=lambda account: company(account, config.match, *fields),
        count=partial(count_companies, rules=config.match),
        match=lambda companies, counts: match_companies(
            companies, config.match, config.flag_threshold, counts
        ),
    )
    integration = integration_ids(ctx.play, config, records)
    compared = ["Name", *fields]
    plan, outcome = plan_settled(
        ctx, SPEC, accounts, matcher, config, integration, compared, targets
    )
    # Accounts in no merge are normalized all the same.
    for account in accounts:
        if account["Id"] not in outcome.planned:
            plan.change(account, targets[account["Id"]])
    return plan.build(reports={"review": outcome.review})


def requirements(config: DedupeAccountsConfig) -> Requirements:
    """Normalization writes the name besides the dedupe fields (and those its config names)."""
    return dedupe_requirements(SPEC, config, ["Name"])


play = Play(
    name="dedupe-accounts",
    summary="Normalize accounts (domain, country and state codes), merge sure duplicates,"
    " flag the rest",
    config_model=DedupeAccountsConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
    reads_the_date=False,
)
