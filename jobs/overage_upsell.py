"""overage-upsell: turn license overage into an Overage, then an Upsell opportunity.

Seed 000, "Upsell Opportunity Creation": daily, a customer whose users routed
exceed the users in contract by more than `overage_pct` starts an overage
episode, keyed by its start date (`Overage_Start_Date__c`): an Overage
opportunity for the AM and an alert. Still over `upsell_after_days` later:
an Upsell opportunity and a second alert (the Overage one stays open unless
`overage_close_stage` names the stage to move it to). Back at or under contract: the start
date is cleared (the clock resets) and the AM is told which opportunities to
close; with `grace_days`, only once the dip has lasted that long (a shorter dip
keeps the episode and its clock; the dip's first day is remembered as a fired
stage, so in the org too). Both opportunities are upserted on keys per account and episode, so a
rerun, or a run with a fresh state store, never creates one twice. AM
leadership gets the accounts in overage as one digest and a report a day.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from pydantic import Field

from revsched.declared_writes import Creates, Writes
from revsched.overage_episode import (
    OPPORTUNITY_FIELDS,
    Episode,
    alert_context,
    opportunity_fields,
    opportunity_key,
    report_row,
)
from revsched.plan import Firing, Plan, Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import (
    DecideContext,
    Play,
    PlayConfig,
    Records,
    Requirements,
    days_text,
    object_fields,
)
from revsched.roundrobin import active_recipients, users_query
from revsched.schedule import ScheduleField
from revsched.soql import OPEN_STAGES, FieldName, format_soql, relationship_name
from revsched.usage_dips import dip_ended_stage, dip_stage, open_dips


class OverageUpsellConfig(PlayConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    account_type_field: FieldName = "Type"
    customer_types: list[str] = Field(["Customer"], min_length=1)
    users_in_contract_field: FieldName = "Users_In_Contract__c"
    users_routed_field: FieldName = "Users_Routed__c"
    # In overage: users routed > users in contract * (1 + overage_pct / 100).
    overage_pct: float = Field(10, ge=0)
    # Set by the play when an episode starts (or by hand); keys the episode.
    start_date_field: Annotated[FieldName, Writes("Account")] = "Overage_Start_Date__c"
    # Owner of the opportunities and the alerts' recipient; blank: the account owner.
    account_manager_field: FieldName = "AM__c"
    # Amount = users over contract * this field, when it is set.
    price_per_user_field: FieldName = "Price_Per_User__c"
    website_field: FieldName = "Website"
    upsell_after_days: int = Field(30, ge=1)
    # A dip at or under contract ends the episode (and resets the clock) once it has lasted
    # this many days; a shorter dip keeps it. 0: the first run that sees the dip ends it.
    grace_days: int = Field(0, ge=0)
    # The stage the episode's Overage opportunity moves to when its Upsell is due (e.g.
    # "Closed Lost"); empty: it stays open.
    overage_close_stage: str = ""
    opportunity_type_field: Annotated[FieldName, Creates("Opportunity")] = "Type"
    overage_type: str = "Overage"
    upsell_type: str = "Upsell"
    # The stage new opportunities open in; empty: the org's first open OpportunityStage.
    open_stage: str = ""
    close_days: int = Field(30, ge=0)
    # The External ID field revsched upserts created records on: [org] key_field.
    key_field: FieldName = "Revsched_Key__c"
    # AM leadership (Usernames): the accounts in overage as one digest a day.
    leadership_users: list[str] = ["paula.costa@demo.revsched.dev"]
    call_to_action: list[str] = [
        "Confirm the overage with the customer",
        "Agree with them whether they reduce their users or buy more licenses",
    ]
    template: str = "overage_upsell.j2"
    digest_template: str = "overage_upsell_digest.j2"


def queries(ctx: DecideContext[OverageUpsellConfig]) -> dict[str, str]:
    config = ctx.config
    am = relationship_name(config.account_manager_field)
    kind = config.opportunity_type_field
    found = {
        "accounts": format_soql(
            f"SELECT Id, Name, {config.account_type_field}, {config.website_field},"
            f" OwnerId, Owner.Name, Owner.Email, Owner.IsActive, {config.account_manager_field},"
            f" {am}.Name, {am}.Email, {am}.IsActive, {config.users_in_contract_field},"
            f" {config.users_routed_field}, {config.start_date_field},"
            f" {config.price_per_user_field},"
            f" (SELECT Id, Name, {kind}, StageName, IsClosed, {config.key_field}"
            f" FROM Opportunities WHERE {kind} IN {{types}}"
            f" AND (IsClosed = false OR {config.key_field} != null))"
            f" FROM Account WHERE ({config.account_type_field} IN {{customers}}"
            f" AND {config.users_in_contract_field} > 0)"
            f" OR {config.start_date_field} != null ORDER BY Name, Id",
            types=[config.overage_type, config.upsell_type],
            customers=config.customer_types,
        ),
        "users": users_query(config.leadership_users),
    }
    if not config.open_stage:
        found["stages"] = f"{OPEN_STAGES} LIMIT 1"
    return found


def _end_dip(episode: Episode, plan: PlanBuilder) -> None:
    """Over contract again: the dip it was in, if any, is over."""
    if episode.start is not None and episode.dip is not None:
        plan.mark_fired(episode.account["Id"], dip_ended_stage(episode.start, episode.dip))


def _dip(episode: Episode, start: date, plan: PlanBuilder) -> None:
    """At or under contract within the grace days: nothing changes; the dip's first day is
    remembered (fired) so the next runs count from it."""
    dip = episode.dip or episode.ctx.as_of
    grace = episode.ctx.config.grace_days
    stage = dip_stage(start, dip)
    why = (
        f"in a dip within the grace days: {episode.usage}, at or under contract since {dip}"
        f" (the {days_text(grace)} of grace end the episode on {dip + timedelta(days=grace)});"
        f" the overage since {start} goes on"
    )
    plan.skip(episode.account, why, stage)
    if not episode.dip:
        plan.mark_fired(episode.account["Id"], stage)


def _recover(episode: Episode, start: date, plan: PlanBuilder) -> None:
    """Back at or under contract, or no longer a customer: the episode ends, the clock resets."""
    config = episode.ctx.config
    account = episode.account
    stage = f"recovered {start.isoformat()}"
    if not episode.customer:
        why = f"no longer a customer ({account[config.account_type_field]}): overage episode ended"
        plan.change(account, {config.start_date_field: (None, why)})
        plan.skip(account, why, stage)
        return
    why = f"back in compliance: {episode.usage}; the overage clock resets"
    plan.change(account, {config.start_date_field: (None, why)})
    plan.select(account, why, stage)
    owner = episode.owner
    if owner is not None and (account["Id"], stage) not in episode.ctx.fired:
        plan.alert(
            config.template,
            account["Id"],
            stage,
            to=(owner,),
            reason="back in compliance",
            context=alert_context(episode, "recovered", owner, start),
        )
        plan.mark_fired(account["Id"], stage)


def _close_overage(episode: Episode, start: date, plan: PlanBuilder) -> None:
    """With `overage_close_stage`: the episode's Overage opportunity (the one revsched made)
    moves to it once the Upsell is due; once, so a person reopening it is not overruled."""
    config = episode.ctx.config
    if not config.overage_close_stage:
        return
    key = opportunity_key(episode.ctx.play, "overage", episode.account["Id"], start)
    stage = f"overage closed {start.isoformat()}"
    for opp in episode.open_of_type(config.overage_type):
        if opp[config.key_field] == key and (opp["Id"], stage) not in episode.ctx.fired:
            why = f"the Upsell opportunity takes over the overage since {start}"
            plan.change(
                opp, {"StageName": (config.overage_close_stage, why)}, sobject="Opportunity"
            )
            plan.mark_fired(opp["Id"], stage)
            return


def _not_over(episode: Episode, plan: PlanBuilder) -> None:
    """Not over the allowance: a near miss, an episode going on (over contract, or in a dip
    within the grace days), or an episode ending."""
    config, account, start = episode.ctx.config, episode.account, episode.start
    if start is None:
        plan.skip(account, episode.near_miss())
    elif episode.customer and episode.routed > episode.contract:
        plan.skip(
            account,
            f"over contract within the {config.overage_pct:g}% allowance:"
            f" {episode.usage}; the overage since {episode.since} goes on",
        )
        _end_dip(episode, plan)
    elif episode.customer and episode.in_grace():
        _dip(episode, start, plan)
    else:
        _recover(episode, start, plan)


def _over(episode: Episode, plan: PlanBuilder) -> tuple[dict[str, Scalar], tuple[Firing, ...]]:
    """Over the allowance: the episode starts, and its step (Overage, then Upsell after
    upsell_after_days) gets its opportunity and the AM's alert, once. Its report row, and
    the account's stage when the run acts on it: the leadership digest covers it, so is held
    back while none of the writes it reports succeeded."""
    ctx, account = episode.ctx, episode.account
    config = ctx.config
    start = episode.start or ctx.as_of
    _end_dip(episode, plan)
    if episode.start is None:
        why = f"{episode.usage}: over by more than {config.overage_pct:g}%"
        plan.change(account, {config.start_date_field: (start.isoformat(), why)})
    days = (ctx.as_of - start).days
    step = "upsell" if days >= config.upsell_after_days else "overage"
    kind = config.upsell_type if step == "upsell" else config.overage_type
    stage = f"{step} {start.isoformat()}"
    key = opportunity_key(ctx.play, step, account["Id"], start)
    owner = episode.owner
    if step == "upsell":
        _close_overage(episode, start, plan)
    since = episode.since or start
    if key in episode.keys or (account["Id"], stage) in ctx.fired:
        why = f"{step} already handled: in overage since {since}, {days_text(days)}"
        plan.skip(account, why, stage)
        status = f"{kind} opportunity open" if key in episode.keys else step
        return report_row(episode, start, status), ()
    if owner is None:
        plan.skip(
            account,
            f"nobody to give the {kind} opportunity to: neither its AM nor its owner"
            f" is active ({episode.usage})",
            stage,
        )
        return report_row(episode, start, "no active AM or owner"), ()
    reason = f"{episode.usage} ({episode.pct_over:g}% over) since {since}" + (
        f", {days_text(days)}: still over" if step == "upsell" else ""
    )
    hand_made = episode.hand_made(kind)
    if hand_made is not None:
        plan.select(
            account,
            f"{reason}; open {kind} opportunity {hand_made['Name']!r} exists: alert only",
            stage,
        )
        context = alert_context(episode, step, owner, start, existing=hand_made)
        plan.alert(config.template, account["Id"], stage, (owner,), f"{step}, alert only", context)
        status = f"{step} (alert only)"
    else:
        plan.select(account, reason, stage)
        created = plan.create(
            "Opportunity",
            key,
            opportunity_fields(episode, kind, owner),
            reason=f"{kind} opportunity for the overage that began {start.isoformat()}",
            parent_id=account["Id"],
        )
        context = alert_context(episode, step, owner, start, created=created)
        plan.alert(config.template, account["Id"], stage, (owner,), step, context)
        status = f"{kind} opportunity created"
    plan.mark_fired(account["Id"], stage)
    return report_row(episode, start, status), (Firing(record_id=account["Id"], stage=stage),)


def decide(records: Records, ctx: DecideContext[OverageUpsellConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Account")
    first_stage = config.open_stage or records["stages"][0]["ApiName"]
    key = f"plays.{ctx.play}.leadership_users"
    leaders = active_recipients("AM leadership", key, config.leadership_users, records["users"])
    dips = open_dips(ctx.fired) if config.grace_days else {}
    rows: list[dict[str, Scalar]] = []
    acted_on: list[Firing] = []
    for account in records["accounts"]:
        episode = Episode(account, ctx, first_stage, dips)
        if episode.contract <= 0:
            plan.skip(account, "no users in contract to measure usage against")
        elif not episode.over:
            _not_over(episode, plan)
        else:
            row, covers = _over(episode, plan)
            rows.append(row)
            acted_on += covers
    if rows:
        stage, reason = f"overage {ctx.as_of.isoformat()}", f"{len(rows)} accounts in overage"
        context = {"as_of": ctx.as_of.isoformat(), "rows": rows}
        plan.digest(config.digest_template, leaders, stage, reason, context, tuple(acted_on))
    return plan.build(reports={"overage": rows})


def requirements(config: OverageUpsellConfig) -> Requirements:
    """For `revsched doctor`: the key its opportunities' subquery reads, the values, what it
    writes and creates, leaders."""
    return Requirements(
        fields=(("Opportunity", config.key_field),),
        values=(
            *(("Account", config.account_type_field, t) for t in config.customer_types),
            ("Opportunity", config.opportunity_type_field, config.overage_type),
            ("Opportunity", config.opportunity_type_field, config.upsell_type),
            *(
                ("Opportunity", "StageName", stage)
                for stage in (config.open_stage, config.overage_close_stage)
                if stage
            ),
        ),
        users=tuple(config.leadership_users),
        writes=(("Opportunity", "StageName"),) if config.overage_close_stage else (),
        creates=object_fields("Opportunity", *OPPORTUNITY_FIELDS),
    )


play = Play(
    name="overage-upsell",
    summary="Overage opportunity for the AM when a customer outgrows its licenses, Upsell at 30",
    config_model=OverageUpsellConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
