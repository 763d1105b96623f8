"""people-signals: people moving in and out of customer accounts, told to the CSM.

Seed 002, UserGems' "Prevent Churn & Drive Expansion" playbook for Customer Success:
daily, on customer accounts, a past champion who joins (expansion), a champion who
leaves (churn risk), and a new hire or promotion in a tracked persona (churn risk near
the renewal or on a weak health score, else expansion). The CSM (else the account
owner, else the CS channel) gets a message with the account, the person, what the
signal means and the seed's recommended actions, and one Task per signal; a champion
leaving an account with few other active contacts is also sent to CS leadership.
Nothing about the records changes. Each signal fires once per person and date: the
key `people-signals:<signal>:<email or id>:<date>` is its Task's external key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta
from pydantic import Field

from revsched.account_matcher import AccountMatcher
from revsched.people_signal_alert import (
    CHURN_RISK,
    EXPANSION,
    KEY_PREFIX,
    FoundSignal,
    Signal,
    alert_context,
    csm_recipient,
    few_others_active,
    other_contacts,
    record_day,
    task_fields,
)
from revsched.plan import Plan, Recipient, Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, Record, Records, Requirements, days_text
from revsched.records import children
from revsched.roundrobin import active_recipients, users_query
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, relationship_name
from revsched.task_fields import PersonTask
from revsched.usergems import UserGemsFields


class PeopleSignalsConfig(UserGemsFields):
    schedule: ScheduleField = Field("daily 07:30", validate_default=True)
    # Signals dated (joined, left, delivered) this many days back are handled.
    catch_up_days: int = Field(30, ge=0)
    account_type_field: FieldName = "Type"
    customer_types: list[str] = Field(["Customer"], min_length=1)
    # UserGems' fields besides those of UserGemsFields.
    no_longer_field: FieldName = "UserGems__No_Longer_at_Company__c"
    # champion_joins: these past relationships.
    champion_relationships: list[str] = ["Past Champion"]
    # champion_leaves: a champion is flagged so, or a contact role on a won opportunity
    # of the account that closed within this many months.
    champion_field: FieldName = "Champion__c"
    # The External ID field revsched upserts created records on: [org] key_field.
    key_field: FieldName = "Revsched_Key__c"
    champion_role_months: int = Field(24, ge=1)
    # new_hire_or_promotion: LeadSource in these values, persona in the tracked list.
    new_hire_sources: list[str] = ["UserGems - New Hire", "UserGems - Promotion"]
    tracked_personas: list[str] = ["Executive", "Sales Leader", "RevOps", "Marketing"]
    # ... a churn risk when the renewal is this close or the health score this low.
    renewal_field: FieldName = "Renewal_Date__c"
    renewal_risk_days: int = Field(120, ge=0)
    health_field: FieldName = "Health_Score__c"
    health_threshold: float = 50
    arr_field: FieldName = "ARR__c"
    csm_field: FieldName = "CSM__c"
    # A champion leaving fewer than this many other contacts active in active_days
    # goes to CS leadership too.
    min_active_contacts: int = Field(2, ge=0)
    active_days: int = Field(90, ge=1)
    leadership_users: list[str] = ["paula.costa@demo.revsched.dev"]
    # For an account whose CSM and owner cannot take it; "" for none (then no Task).
    cs_channel_name: str = "Customer Success"
    task_due_days: int = Field(7, ge=0)
    # Seed 002's recommended actions per signal.
    actions: dict[Signal, list[str]] = {
        "champion_joins": [
            "Send a congratulatory email acknowledging their new role",
            "Schedule a check-in to discuss how you've already been helping their team,"
            " and invite them to the next meeting",
            "Highlight past successes and explore potential expansion opportunities",
        ],
        "champion_leaves": [
            "Multi-thread: identify other influencers and decision-makers within the account",
            "Reach out to the remaining contacts below before the renewal",
        ],
        "new_hire_or_promotion": [
            "Congratulate them on their new role and introduce yourself",
            "Offer a tailored onboarding session on the value the product provides",
            "Share customer success stories or metrics relevant to their role",
        ],
    }
    template: str = "people_signals.j2"


def queries(ctx: DecideContext[PeopleSignalsConfig]) -> dict[str, str]:
    config = ctx.config
    csm = relationship_name(config.csm_field)
    customers = format_soql(f"{config.account_type_field} IN {{}}", config.customer_types)
    person = [
        "Id",
        "Name",
        "Title",
        "Email",
        "LeadSource",
        "LastModifiedDate",
        "LastActivityDate",
        config.relationship_field,
        config.job_start_field,
        config.past_account_field,
        config.past_title_field,
        config.persona_field,
    ]
    since = datetime.combine(ctx.as_of - timedelta(days=config.catch_up_days), time(), UTC)
    usergems = format_soql(
        f"({config.relationship_field} IN {{}} OR LeadSource IN {{}})",
        config.champion_relationships,
        config.new_hire_sources,
    )
    return {
        "accounts": f"SELECT Id, Name, Website, {config.account_type_field}, OwnerId,"
        f" Owner.Name, Owner.Email, Owner.IsActive, {config.csm_field}, {csm}.Name,"
        f" {csm}.Email, {csm}.IsActive, {config.arr_field}, {config.renewal_field},"
        f" {config.health_field}, LastActivityDate, CreatedDate,"
        " (SELECT Id FROM Opportunities WHERE IsClosed = false)"
        f" FROM Account WHERE {customers} ORDER BY Id",
        "contacts": f"SELECT {', '.join(person)}, AccountId, {config.champion_field},"
        f" {config.no_longer_field},"
        " (SELECT Role, Opportunity.IsWon, Opportunity.CloseDate FROM OpportunityContactRoles)"
        f" FROM Contact WHERE Account.{customers} ORDER BY AccountId, Name, Id",
        "leads": format_soql(
            f"SELECT {', '.join(person)}, Company FROM Lead WHERE IsConverted = false"
            f" AND {usergems} AND LastModifiedDate >= {{}} ORDER BY LastModifiedDate, Id",
            since,
        ),
        "tasks": format_soql(
            f"SELECT {config.key_field} FROM Task WHERE {config.key_field} LIKE {{}}",
            f"{KEY_PREFIX}:%",
        ),
        "users": users_query(sorted({u.lower() for u in config.leadership_users})),
    }


def _is_champion(contact: Record, ctx: DecideContext[PeopleSignalsConfig]) -> str | None:
    """Why the contact counts as a champion, or None."""
    config = ctx.config
    if contact.get(config.champion_field):
        return f"{config.champion_field} is set"
    since = ctx.as_of - relativedelta(months=config.champion_role_months)
    for role in children(contact, "OpportunityContactRoles"):
        opportunity = role.get("Opportunity") or {}
        closed = record_day(opportunity.get("CloseDate"))
        if opportunity.get("IsWon") and closed and closed >= since:
            return f"{role.get('Role') or 'contact role'} on an opportunity won {closed}"
    return None


def _new_hire_meaning(account: Record, ctx: DecideContext[PeopleSignalsConfig]) -> tuple[str, str]:
    """Seed 002 reads a new leader both ways: churn risk near the renewal or on a weak
    health score, else expansion. Returns (meaning, why)."""
    config = ctx.config
    renewal = record_day(account.get(config.renewal_field))
    if renewal is not None and 0 <= (renewal - ctx.as_of).days <= config.renewal_risk_days:
        return CHURN_RISK, f"renewal on {renewal}, within {config.renewal_risk_days} days"
    health = account.get(config.health_field)
    if health is not None and health < config.health_threshold:
        return CHURN_RISK, f"health score {health:g} under {config.health_threshold:g}"
    return EXPANSION, "renewal not near and health score sound"


def _person_signal(
    person: Record,
    sobject: Literal["Contact", "Lead"],
    account: Record,
    plan: PlanBuilder,
    ctx: DecideContext[PeopleSignalsConfig],
) -> FoundSignal | None:
    """The join or new-hire signal on a person of a customer account; None when there is
    none, a near miss listed as skipped."""
    config = ctx.config
    earliest = ctx.as_of - timedelta(days=config.catch_up_days)
    delivered = record_day(person.get("LastModifiedDate")) or ctx.as_of
    started = record_day(person.get(config.job_start_field))
    if person.get(config.relationship_field) in config.champion_relationships:
        day = started or delivered
        if day > ctx.as_of:
            why = f"joins {account['Name']} on {day}"
            plan.skip(person, why, sobject=sobject, kind="joins later")
            return None
        if delivered < earliest:
            return None
        return FoundSignal(
            "champion_joins",
            person,
            sobject,
            account,
            day,
            EXPANSION,
            f"{person.get(config.relationship_field)} joined {account['Name']} on {day}",
        )
    if person.get("LeadSource") in config.new_hire_sources and delivered >= earliest:
        persona = person.get(config.persona_field)
        if persona not in config.tracked_personas:
            plan.skip(
                person,
                f"{person.get('LeadSource')} at {account['Name']}, but persona {persona!r}"
                " is not tracked",
                sobject=sobject,
                kind="persona not tracked",
            )
            return None
        meaning, why = _new_hire_meaning(account, ctx)
        return FoundSignal(
            "new_hire_or_promotion",
            person,
            sobject,
            account,
            started or delivered,
            meaning,
            f"{person.get('LeadSource')} ({persona}) at {account['Name']}; {why}",
        )
    return None


def _leave_signal(
    contact: Record, account: Record, plan: PlanBuilder, ctx: DecideContext[PeopleSignalsConfig]
) -> FoundSignal | None:
    """A champion leaving the account; None when nobody left, a non-champion listed."""
    config = ctx.config
    left = record_day(contact.get(config.no_longer_field))
    if left is None or left > ctx.as_of or left < ctx.as_of - timedelta(days=config.catch_up_days):
        return None
    champion = _is_champion(contact, ctx)
    if champion is None:
        why = f"left {account['Name']} on {left}, but was no champion"
        plan.skip(contact, why, kind="left, but was no champion")
        return None
    return FoundSignal(
        "champion_leaves",
        contact,
        "Contact",
        account,
        left,
        CHURN_RISK,
        f"champion ({champion}) left {account['Name']} on {left}",
    )


def _signals(
    records: Records, plan: PlanBuilder, ctx: DecideContext[PeopleSignalsConfig]
) -> Iterator[FoundSignal]:
    """Every signal on the people of customer accounts, contacts first. A generator: the
    near misses are listed on the plan as they are met, in order with the rest."""
    config = ctx.config
    accounts = {a["Id"]: a for a in records["accounts"]}
    for contact in records["contacts"]:
        account = accounts[contact["AccountId"]]
        if found := _leave_signal(contact, account, plan, ctx):
            yield found
        if found := _person_signal(contact, "Contact", account, plan, ctx):
            yield found
    matcher = AccountMatcher(
        records["accounts"],
        free_mail_domains=(),
        customer_types=config.customer_types,
        has_open_opportunity=lambda account: bool(children(account, "Opportunities")),
        type_field=config.account_type_field,
    )
    for lead in records["leads"]:
        account = matcher.match(lead.get("Email"), lead.get("Company")).account
        if account is not None and (found := _person_signal(lead, "Lead", account, plan, ctx)):
            yield found


def decide(records: Records, ctx: DecideContext[PeopleSignalsConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Contact")
    key = f"plays.{ctx.play}.leadership_users"
    leaders = active_recipients("CS leadership", key, config.leadership_users, records["users"])
    by_account: dict[str, list[Record]] = {}
    for contact in records["contacts"]:
        by_account.setdefault(contact["AccountId"], []).append(contact)
    handled = {str(t[config.key_field]) for t in records["tasks"]}
    # Signal key -> whose it is: duplicate records of one person make one signal.
    planned: dict[str, str] = {}
    for found in _signals(records, plan, ctx):
        person, stage, sobject = found.person, found.stage, found.sobject
        if found.key in planned:
            why = f"same person as {planned[found.key]} (same email): one signal"
            plan.skip(person, why, stage, sobject=sobject, kind="same person, one signal")
        elif found.key in handled or (person["Id"], stage) in ctx.fired:
            plan.skip(person, f"already told: Task {found.key} exists", stage, sobject=sobject)
        else:
            planned[found.key] = str(person["Name"])
            others = other_contacts(found, by_account.get(found.account["Id"], []), config)
            _tell(found, others, leaders, plan, ctx)
    return plan.build()


def _tell(
    found: FoundSignal,
    others: list[dict[str, Scalar]],
    leaders: tuple[Recipient, ...],
    plan: PlanBuilder,
    ctx: DecideContext[PeopleSignalsConfig],
) -> None:
    """The CSM's alert and Task for a signal; CS leadership's too when a champion leaves an
    account with few other active contacts."""
    config = ctx.config
    csm = csm_recipient(found.account, config)
    thin = few_others_active(found, others, ctx.as_of, config)
    recipients = [csm, *(r for r in leaders if r.user_id != csm.user_id)] if thin else [csm]
    told = (
        f"; fewer than {config.min_active_contacts} other contacts active in"
        f" {config.active_days} days: CS leadership told"
        if thin
        else ""
    )
    plan.select(
        found.person,
        f"{found.signal}: {found.why}; {found.meaning.lower()}; to {csm.name} ({csm.role}){told}",
        found.stage,
        sobject=found.sobject,
    )
    if csm.user_id is not None:
        plan.create(
            "Task",
            found.key,
            task_fields(found, csm.user_id, ctx.as_of, config),
            reason=f"{csm.name} acts on it within {days_text(config.task_due_days)}",
            parent_id=found.person["Id"],
        )
    plan.alert(
        config.template,
        found.person["Id"],
        found.stage,
        to=tuple(recipients),
        reason=f"{found.signal} on {found.day}",
        context=alert_context(found, csm, others, thin, config),
    )
    plan.mark_fired(found.person["Id"], found.stage)


def requirements(config: PeopleSignalsConfig) -> Requirements:
    """For `revsched doctor`: the values it selects on, CS leadership, the Task it creates."""
    return Requirements(
        values=(
            *(("Account", config.account_type_field, t) for t in config.customer_types),
            *(("Lead", "LeadSource", s) for s in config.new_hire_sources),
            *(("Contact", config.relationship_field, r) for r in config.champion_relationships),
        ),
        users=tuple(config.leadership_users),
        creates=PersonTask.creates(),
    )


play = Play(
    name="people-signals",
    summary="Champions joining or leaving customers, new leaders there: CSM alert and Task",
    config_model=PeopleSignalsConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
