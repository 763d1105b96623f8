"""partner-overlap: tell the deal owner which partners know the account, and PS what it runs.

Seed 000, "Partner Play": daily, the overlaps the Crossbeam package writes into
Salesforce are matched to open opportunities. Per opportunity and partner the
owner gets a Task (upserted on its key, so never twice), and per opportunity one
Slack message naming the partners new to it, with the partner manager to ask for
an introduction. A deal won with overlaps goes to Professional Services with the
partner technologies the new customer uses, so implementation drives those
integrations. Partners already recorded on the opportunity are left out.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from revsched.plan import Plan, Recipient, Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements
from revsched.records import children, field_value
from revsched.roundrobin import active_recipients, users_query
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, relationship_name
from revsched.task_fields import OpportunityTask


class PartnerOverlapConfig(PlayConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    # The overlap records as the Crossbeam package writes them.
    overlap_object: FieldName = "Crossbeam_Ecosystem_Overlap__c"
    account_field: FieldName = "Account__c"
    partner_name_field: FieldName = "Partner_Name__c"
    population_field: FieldName = "Partner_Population__c"
    # The partner's own Account (its owner is the partner manager); blank: known by name.
    partner_account_field: FieldName = "Partner_Account__c"
    # On the partner's Account; "" leaves the tier out.
    partner_tier_field: FieldName | Literal[""] = "Partner_Tier__c"
    # Overlaps in these partner populations make an open opportunity actionable.
    actionable_populations: list[str] = Field(["Customers", "Open Opportunities"], min_length=1)
    # The partner recorded on an opportunity (a lookup to its Account): it is skipped.
    opportunity_partner_field: FieldName = "Partner_Account__c"
    # Won deals this many days back are still told to PS (missed runs).
    catch_up_days: int = Field(30, ge=0)
    # The PS consultant on the account gets the closed-won alert; else these Usernames;
    # else the PS channel (the play's Slack channel, or [alerts] fallback_channel).
    ps_consultant_field: FieldName = "PS_Consultant__c"
    ps_users: list[str] = []
    ps_channel_name: str = "Professional Services"
    task_subject: str = "Partner overlap: {partner} ({populations})"
    task_due_days: int = Field(3, ge=0)
    task_status: str = "Not Started"
    task_priority: str = "Normal"
    next_steps: list[str] = [
        "Contact the partner manager about this deal",
        "Ask the partner for an introduction to their contacts at the account",
        "Record the partner on the opportunity",
    ]
    # The External ID field revsched upserts created records on: [org] key_field.
    key_field: FieldName = "Revsched_Key__c"
    template: str = "partner_overlap.j2"
    won_template: str = "partner_overlap_won.j2"


def queries(ctx: DecideContext[PartnerOverlapConfig]) -> dict[str, str]:
    config = ctx.config
    partner = relationship_name(config.partner_account_field)
    fields = [
        "Id",
        config.account_field,
        config.partner_name_field,
        config.population_field,
        config.partner_account_field,
        f"{partner}.Name",
        f"{partner}.Owner.Name",
        f"{partner}.Owner.Email",
        *([f"{partner}.{config.partner_tier_field}"] if config.partner_tier_field else []),
    ]
    ps = relationship_name(config.ps_consultant_field)
    won_since = ctx.as_of - timedelta(days=config.catch_up_days)
    in_scope = format_soql("(IsClosed = false OR (IsWon = true AND CloseDate >= {}))", won_since)
    found = {
        "overlaps": f"SELECT {', '.join(fields)}"
        f" FROM {config.overlap_object} WHERE {config.account_field} IN"
        f" (SELECT AccountId FROM Opportunity WHERE {in_scope})"
        f" ORDER BY {config.account_field}, {config.partner_name_field}, Id",
        "opportunities": format_soql(
            "SELECT Id, Name, StageName, Amount, CloseDate, IsClosed, IsWon, OwnerId,"
            " Owner.Name, Owner.Email, Owner.IsActive, AccountId, Account.Name,"
            f" Account.{config.ps_consultant_field}, Account.{ps}.Name, Account.{ps}.Email,"
            f" Account.{ps}.IsActive, {config.opportunity_partner_field},"
            f" (SELECT {config.key_field} FROM Tasks WHERE {config.key_field} LIKE {{prefix}}),"
            " (SELECT Product2.Name FROM OpportunityLineItems ORDER BY Product2.Name)"
            f" FROM Opportunity WHERE {in_scope} AND AccountId IN"
            f" (SELECT {config.account_field} FROM {config.overlap_object})"
            " ORDER BY CloseDate, Id",
            prefix=f"{ctx.play}:%",
        ),
    }
    if config.ps_users:
        found["users"] = users_query(config.ps_users)
    return found


class _Partner:
    """One partner of an account: its partner account (else its name), populations merged."""

    def __init__(self, overlap: Record, config: PartnerOverlapConfig) -> None:
        account = overlap[relationship_name(config.partner_account_field)]
        self.account_id: str | None = overlap[config.partner_account_field]
        self.name: str = account["Name"] if account else overlap[config.partner_name_field]
        self.key = self.account_id or self.name
        self.populations: list[str] = []
        self.tier = account and config.partner_tier_field and account[config.partner_tier_field]
        self.manager = (
            {"name": account["Owner"]["Name"], "email": account["Owner"]["Email"]}
            if account and account["Owner"]
            else None
        )

    def add(self, population: str | None) -> None:
        if population and population not in self.populations:
            self.populations.append(population)

    def context(self) -> dict[str, object]:
        return {
            "name": self.name,
            "populations": self.populations,
            "tier": self.tier or None,
            "manager": self.manager,
        }


def _partners(records: Records, config: PartnerOverlapConfig) -> dict[str, list[_Partner]]:
    """Account Id -> its partners, each once."""
    by_account: dict[str, dict[str, _Partner]] = defaultdict(dict)
    for overlap in records["overlaps"]:
        partner = _Partner(overlap, config)
        if not partner.key:
            continue
        known = by_account[overlap[config.account_field]].setdefault(partner.key, partner)
        known.add(overlap[config.population_field])
    return {account: list(partners.values()) for account, partners in by_account.items()}


# The longest stage the state store and the org's firing records keep.
STAGE_LENGTH = 100


def alert_stage(partners: list[_Partner]) -> str:
    """The owner's alert is about these partners: their keys, hashed when too long."""
    keys = "+".join(p.key for p in partners)
    stage = f"open {keys}"
    if len(stage) <= STAGE_LENGTH:
        return stage
    return f"open #{hashlib.sha256(keys.encode()).hexdigest()[:16]}"


def task_key(play: str, opportunity_id: str, partner: str) -> str:
    """The Task's External ID: one per opportunity and partner, ever."""
    return f"{play}:open:{opportunity_id}:{partner}"


def _owner(opportunity: Record) -> Recipient:
    owner = opportunity["Owner"]
    return Recipient(
        role="opportunity owner",
        user_id=opportunity["OwnerId"],
        name=owner["Name"],
        email=owner["Email"],
    )


def _task_fields(
    opportunity: Record, partner: _Partner, due: str, config: PartnerOverlapConfig
) -> dict[str, Scalar]:
    """The owner's Task for one partner: ask its manager for an introduction."""
    subject = config.task_subject.format(
        partner=partner.name, populations=", ".join(partner.populations)
    )
    return OpportunityTask(
        Subject=subject[:255],
        Description="\n".join(f"- {step}" for step in config.next_steps),
        ActivityDate=due,
        OwnerId=opportunity["OwnerId"],
        WhatId=opportunity["Id"],
        Status=config.task_status,
        Priority=config.task_priority,
    ).values()


def _open(
    opportunity: Record,
    partners: list[_Partner],
    plan: PlanBuilder,
    ctx: DecideContext[PartnerOverlapConfig],
) -> None:
    """Tasks for the partners new to an open opportunity, and one message naming them."""
    config = ctx.config
    actionable = [
        p for p in partners if any(pop in config.actionable_populations for pop in p.populations)
    ]
    if not actionable:
        populations = sorted({pop for p in partners for pop in p.populations})
        plan.skip(opportunity, f"overlaps only in {', '.join(populations)}: not actionable")
        return
    recorded = opportunity[config.opportunity_partner_field]
    told = {t[config.key_field] for t in children(opportunity, "Tasks")}
    new = [
        p
        for p in actionable
        if p.account_id != recorded or recorded is None
        if task_key(ctx.play, opportunity["Id"], p.key) not in told
    ]
    notes = [
        f"{p.name} is recorded on the opportunity"
        for p in actionable
        if recorded and p.account_id == recorded
    ]
    if not new:
        kind = "partner already recorded on the opportunity" if notes else None
        plan.skip(opportunity, "; ".join(notes) or "every partner overlap already told", kind=kind)
        return
    stage = alert_stage(new)
    if (opportunity["Id"], stage) in ctx.fired:
        plan.skip(opportunity, "these partners were already told", stage)
        return
    if not opportunity["Owner"]["IsActive"]:
        why = f"owner {opportunity['Owner']['Name']} is inactive"
        plan.skip(opportunity, why, stage, kind="owner inactive")
        return
    names = ", ".join(f"{p.name} ({', '.join(p.populations)})" for p in new)
    recorded_notes = "".join(f"; {n}" for n in notes)
    plan.select(opportunity, f"account overlaps with {names}{recorded_notes}", stage, kind="open")
    due = (ctx.as_of + timedelta(days=config.task_due_days)).isoformat()
    for partner in new:
        plan.create(
            "Task",
            task_key(ctx.play, opportunity["Id"], partner.key),
            _task_fields(opportunity, partner, due, config),
            reason=f"partner overlap with {partner.name}",
            parent_id=opportunity["Id"],
        )
    plan.alert(
        config.template,
        opportunity["Id"],
        stage,
        to=(_owner(opportunity),),
        reason=f"{len(new)} partner overlaps new to the opportunity",
        context=_open_context(opportunity, new, due, config),
    )
    plan.mark_fired(opportunity["Id"], stage)


def _open_context(
    opportunity: Record, new: list[_Partner], due: str, config: PartnerOverlapConfig
) -> dict[str, Any]:
    """What the owner reads: the opportunity, the partners new to it, the Tasks' next steps."""
    return {
        "opportunity": _opportunity_context(opportunity),
        "owner": opportunity["Owner"]["Name"],
        "partners": [p.context() for p in new],
        "task_due": due,
        "next_steps": config.next_steps,
    }


def _opportunity_context(opportunity: Record) -> dict[str, object]:
    return {
        "id": opportunity["Id"],
        "name": opportunity["Name"],
        "account": field_value(opportunity, "Account.Name"),
        "account_id": opportunity["AccountId"],
        "stage": opportunity["StageName"],
        "amount": opportunity["Amount"],
        "close_date": opportunity["CloseDate"],
    }


def _ps_recipients(
    opportunity: Record, ps_team: tuple[Recipient, ...], config: PartnerOverlapConfig
) -> tuple[Recipient, ...]:
    consultant = field_value(
        opportunity, f"Account.{relationship_name(config.ps_consultant_field)}"
    )
    if consultant and consultant["IsActive"]:
        return (
            Recipient(
                role="PS consultant",
                user_id=field_value(opportunity, f"Account.{config.ps_consultant_field}"),
                name=consultant["Name"],
                email=consultant["Email"],
            ),
        )
    return ps_team or (Recipient(role="PS channel", user_id=None, name=config.ps_channel_name),)


def _won_context(opportunity: Record, partners: list[_Partner]) -> dict[str, Any]:
    """What PS reads: the deal won, its products, and the partner technologies it uses."""
    products = (
        field_value(item, "Product2.Name") for item in children(opportunity, "OpportunityLineItems")
    )
    return {
        "opportunity": _opportunity_context(opportunity),
        "products": list(dict.fromkeys(p for p in products if p)),
        "partners": [p.context() for p in partners],
    }


def _won(
    opportunity: Record,
    partners: list[_Partner],
    ps_team: tuple[Recipient, ...],
    plan: PlanBuilder,
    ctx: DecideContext[PartnerOverlapConfig],
) -> None:
    """A deal won at an account with overlaps: PS hears which partner technologies it uses."""
    config = ctx.config
    stage = "won"
    if (opportunity["Id"], stage) in ctx.fired:
        plan.skip(opportunity, "won: PS already told", stage)
        return
    names = ", ".join(p.name for p in partners)
    plan.select(opportunity, f"won on {opportunity['CloseDate']}; partners: {names}", stage)
    plan.alert(
        config.won_template,
        opportunity["Id"],
        stage,
        to=_ps_recipients(opportunity, ps_team, config),
        reason="closed-won deal with partner overlaps",
        context=_won_context(opportunity, partners),
    )
    plan.mark_fired(opportunity["Id"], stage)


def decide(records: Records, ctx: DecideContext[PartnerOverlapConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Opportunity")
    key = f"plays.{ctx.play}.ps_users"
    ps_team = active_recipients(
        "Professional Services", key, config.ps_users, records.get("users", [])
    )
    partners = _partners(records, config)
    for opportunity in records["opportunities"]:
        found = partners.get(opportunity["AccountId"], [])
        if found and opportunity["IsClosed"]:
            _won(opportunity, found, ps_team, plan, ctx)
        elif found:
            _open(opportunity, found, plan, ctx)
    return plan.build()


def requirements(config: PartnerOverlapConfig) -> Requirements:
    """For `revsched doctor`: the key its Tasks' subquery reads, the populations it acts on,
    the PS team, the Task it creates."""
    return Requirements(
        fields=(("Task", config.key_field),),
        values=(
            *(
                (config.overlap_object, config.population_field, population)
                for population in config.actionable_populations
            ),
            ("Task", "Status", config.task_status),
            ("Task", "Priority", config.task_priority),
        ),
        users=tuple(config.ps_users),
        creates=OpportunityTask.creates(),
    )


play = Play(
    name="partner-overlap",
    summary="Task and Slack to the deal owner for each Crossbeam partner overlap; PS told on won",
    config_model=PartnerOverlapConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
