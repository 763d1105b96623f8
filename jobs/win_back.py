"""win-back: route churned accounts back to an AE and SDR at 6 and 12 months.

Seed 000, "Win Back Play": daily, find Former Customer accounts whose churn
date is 6 or 12 calendar months ago (caught up within `catch_up_days` when a
day was missed), take the loss reason of their most recent lost renewal,
set the win-back campaign from it, round-robin an AE and SDR onto unassigned
accounts, and alert both with the context they need for outreach.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, field_validator

from revsched.config import StrictModel
from revsched.declared_writes import Writes
from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements, days_text
from revsched.records import children, field_value
from revsched.roundrobin import (
    Member,
    Pick,
    RoundRobin,
    members_from_users,
    round_robin,
    user_fields,
)
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, FieldPath, format_soql, relationship_name


class WinBackCampaign(StrictModel):
    """Where a loss reason sends the account: its campaign and the pools to draw from (one
    of `routes`)."""

    campaign: str
    ae_pool: str = "win-back-ae"
    sdr_pool: str = "win-back-sdr"


class WinBackConfig(PlayConfig):
    schedule: ScheduleField = Field("daily 06:00", validate_default=True)
    stages_months: list[int] = Field([6, 12], min_length=1)
    catch_up_days: int = Field(30, ge=0)
    near_miss_days: int = Field(7, ge=0)
    # Stages missed by more than catch_up_days are reported for this much longer.
    report_missed_days: int = Field(90, ge=0)
    account_type_field: FieldName = "Type"
    former_customer_value: str = "Former Customer"
    churn_date_field: FieldName = "Churn_Date__c"
    campaign_field: Annotated[FieldName, Writes("Account")] = "Win_Back_Campaign__c"
    sdr_field: Annotated[FieldName, Writes("Account")] = "SDR__c"
    # "" leaves the field alone.
    owner_assigned_date_field: Annotated[FieldName | Literal[""], Writes("Account")] = (
        "Owner_Assigned_Date__c"
    )
    holding_users: list[str] = Field(["revops@demo.revsched.dev"], min_length=1)
    # Label shown in the alert -> account field or path (Owner.Name).
    status_fields: dict[str, FieldPath] = {
        "Account status": "Account_Status__c",
        "Health score": "Health_Score__c",
        "Industry": "Industry",
    }
    opportunity_type_field: FieldName = "Type"
    renewal_type_value: str = "Renewal"
    loss_reason_field: FieldName = "Loss_Reason__c"
    routes: dict[str, WinBackCampaign] = Field(
        default_factory=lambda: {
            "Price": WinBackCampaign(campaign="Win Back - Pricing"),
            "No Budget": WinBackCampaign(campaign="Win Back - Pricing"),
            "Product Gaps": WinBackCampaign(campaign="Win Back - Product"),
            "Competitor": WinBackCampaign(campaign="Win Back - Competitive"),
        }
    )
    default_route: WinBackCampaign = Field(
        default_factory=lambda: WinBackCampaign(campaign="Win Back - General")
    )
    call_to_action: list[str] = [
        "Review the loss reason and what has shipped since the churn date",
        "Reach out to the primary contact within 48 hours",
        "Ask Sales Leadership about a win-back offer if the loss was on price",
    ]
    template: str = "win_back.j2"

    @field_validator("stages_months")
    @classmethod
    def _ascending_positive(cls, stages: list[int]) -> list[int]:
        if any(m <= 0 for m in stages) or stages != sorted(set(stages)):
            raise ValueError(
                "stages must be positive month counts in ascending order, e.g. [6, 12]"
            )
        return stages

    def pools_used(self) -> set[str]:
        routes = [*self.routes.values(), self.default_route]
        return {r.ae_pool for r in routes} | {r.sdr_pool for r in routes}


def stage_label(months: int) -> str:
    return f"{months}-month"


def latest_start(due_by: date, months: int) -> date:
    """The latest churn date whose `months` stage falls on or before `due_by`.

    Calendar months clamp to month ends (31 Aug + 6 months = 28 Feb), so on the
    last day of a month every later day of the month `months` back is due too.
    """
    start = due_by - relativedelta(months=months)
    if (due_by + timedelta(days=1)).day == 1:
        start += relativedelta(day=31)
    return start


def _account_filter(config: WinBackConfig, as_of: date) -> str:
    churn = config.churn_date_field
    upper = latest_start(as_of + timedelta(days=config.near_miss_days), config.stages_months[0])
    lower = (
        as_of
        - relativedelta(months=config.stages_months[-1])
        - timedelta(days=config.catch_up_days + config.report_missed_days)
    )
    return format_soql(
        f"{config.account_type_field} = {{}} AND {churn} != null"
        f" AND {churn} <= {{}} AND {churn} >= {{}}",
        config.former_customer_value,
        upper,
        lower,
    )


def queries(ctx: DecideContext[WinBackConfig]) -> dict[str, str]:
    config = ctx.config
    sdr = relationship_name(config.sdr_field)
    account_fields = dict.fromkeys(
        [
            "Id",
            "Name",
            "OwnerId",
            "Owner.Name",
            "Owner.Email",
            config.sdr_field,
            f"{sdr}.Name",
            f"{sdr}.Email",
            config.churn_date_field,
            config.campaign_field,
            *([config.owner_assigned_date_field] if config.owner_assigned_date_field else []),
            *config.status_fields.values(),
        ]
    )
    account_filter = _account_filter(config, ctx.as_of)
    usernames = list(config.holding_users)
    pools = [ctx.pools[name] for name in sorted(config.pools_used()) if name in ctx.pools]
    for pool in pools:
        usernames.extend(pool.usernames)
    return {
        "accounts": f"SELECT {', '.join(account_fields)} FROM Account"
        f" WHERE {account_filter} ORDER BY {config.churn_date_field}, Id",
        "lost_renewals": format_soql(
            f"SELECT Id, Name, AccountId, CloseDate, {config.loss_reason_field},"
            " (SELECT ContactId, Contact.Name, Contact.Title, Contact.Email"
            " FROM OpportunityContactRoles WHERE IsPrimary = true)"
            " FROM Opportunity WHERE IsClosed = true AND IsWon = false"
            f" AND {config.opportunity_type_field} = {{}}"
            # The built filter goes in as a literal: a brace in a value is no placeholder.
            " AND AccountId IN (SELECT Id FROM Account WHERE {:literal})"
            " ORDER BY CloseDate DESC, Id",
            config.renewal_type_value,
            account_filter,
        ),
        "users": format_soql(
            f"SELECT {', '.join(user_fields(pools))} FROM User WHERE Username IN {{}}",
            sorted(set(usernames)),
        ),
    }


class _Stage(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    months: int
    due: date

    @property
    def label(self) -> str:
        return stage_label(self.months)


def _stages(churn: date, config: WinBackConfig) -> list[_Stage]:
    return [_Stage(months=m, due=churn + relativedelta(months=m)) for m in config.stages_months]


def _route(lost: Record | None, config: WinBackConfig) -> tuple[WinBackCampaign, str]:
    """The route the most recent lost renewal's loss reason takes, and why."""
    if lost is None:
        return config.default_route, "no lost renewal opportunity: default route"
    reason = lost.get(config.loss_reason_field)
    if not reason:
        return config.default_route, "the lost renewal has no loss reason: default route"
    if reason not in config.routes:
        return config.default_route, f"loss reason {reason!r} has no route: default route"
    return config.routes[reason], f"loss reason {reason!r}"


def _months_between(start: date, end: date) -> int:
    delta = relativedelta(end, start)
    return delta.years * 12 + delta.months


def _due_stage(
    account: Record, churn: date, plan: PlanBuilder, ctx: DecideContext[WinBackConfig]
) -> _Stage | None:
    """The stage to fire now; None when none does, with the skip listed if worth listing."""
    config, as_of = ctx.config, ctx.as_of
    stages = _stages(churn, config)
    due = [s for s in stages if s.due <= as_of]
    if not due:
        upcoming = stages[0]
        days = (upcoming.due - as_of).days
        plan.skip(
            account,
            f"not yet due: churned {churn}, {upcoming.label} stage due {upcoming.due}"
            f" (in {days_text(days)})",
            upcoming.label,
        )
        return None
    stage = due[-1]
    overdue = (as_of - stage.due).days
    if (account["Id"], stage.label) in ctx.fired:
        if overdue <= config.catch_up_days:
            plan.skip(account, f"{stage.label} stage already fired (due {stage.due})", stage.label)
        return None
    if overdue > config.catch_up_days:
        if overdue <= config.catch_up_days + config.report_missed_days:
            plan.skip(
                account,
                f"missed: {stage.label} stage was due {stage.due}, {overdue} days ago,"
                f" outside the {config.catch_up_days}-day catch-up window",
                stage.label,
            )
        return None
    return stage


class _Assignment(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    owner: Recipient
    sdr: Recipient | None
    changes: dict[str, tuple[str, str]]  # field -> (new value, why)
    # Assigned for this stage, by this run or by an earlier one that was interrupted.
    new_owner: bool


def _recipient(role: str, user_id: str, name: str | None, email: str | None) -> Recipient:
    return Recipient(role=role, user_id=user_id, name=name or user_id, email=email)


def _member_recipient(role: str, member: Member) -> Recipient:
    return _recipient(role, member.user_id, member.name, member.email)


def _assigned_since(account: Record, due: date, config: WinBackConfig) -> bool:
    field = config.owner_assigned_date_field
    return bool(field and account[field] and date.fromisoformat(account[field]) >= due)


def _assign(
    account: Record,
    route: WinBackCampaign,
    due: date,
    holding_ids: set[str],
    robin: RoundRobin,
    ctx: DecideContext[WinBackConfig],
) -> _Assignment | None:
    """Who works the account: its current owner, or AE and SDR from the route's pools.

    None when the account is unassigned and nobody in the AE pool can take it.
    """
    config = ctx.config
    sdr_rel = account.get(relationship_name(config.sdr_field)) or {}
    current_sdr = account[config.sdr_field]
    sdr = (
        _recipient("SDR", current_sdr, sdr_rel.get("Name"), sdr_rel.get("Email"))
        if current_sdr
        else None
    )
    if account["OwnerId"] not in holding_ids:
        owner = account.get("Owner") or {}
        return _Assignment(
            owner=_recipient("AE", account["OwnerId"], owner.get("Name"), owner.get("Email")),
            sdr=sdr,
            changes={},
            new_owner=_assigned_since(account, due, config),
        )
    ae_pick = robin.next(route.ae_pool)
    if ae_pick is None:
        return None
    changes = {"OwnerId": (ae_pick.member.user_id, ae_pick.explain())}
    if config.owner_assigned_date_field:
        changes[config.owner_assigned_date_field] = (
            ctx.as_of.isoformat(),
            f"assigned to {ae_pick.member.name}",
        )
    if sdr is None:
        sdr_pick: Pick | None = robin.next(route.sdr_pool)
        if sdr_pick is not None:
            sdr = _member_recipient("SDR", sdr_pick.member)
            changes[config.sdr_field] = (sdr_pick.member.user_id, sdr_pick.explain())
    return _Assignment(
        owner=_member_recipient("AE", ae_pick.member),
        sdr=sdr,
        changes=changes,
        new_owner=True,
    )


def _primary_contact(lost: Record | None) -> dict[str, Any] | None:
    roles = children(lost, "OpportunityContactRoles") if lost else []
    if not roles:
        return None
    contact = roles[0].get("Contact") or {}
    return {
        "id": roles[0]["ContactId"],
        "name": contact.get("Name"),
        "title": contact.get("Title"),
        "email": contact.get("Email"),
    }


def _alert_context(
    account: Record,
    churn: date,
    stage: _Stage,
    lost: list[Record],
    route: WinBackCampaign,
    team: _Assignment,
    ctx: DecideContext[WinBackConfig],
) -> dict[str, Any]:
    """What the AE and SDR need for outreach: why the account left, its status, whom to call."""
    config = ctx.config
    latest = lost[0] if lost else None
    reasons = (o[config.loss_reason_field] for o in lost if o.get(config.loss_reason_field))
    return {
        "account": {"id": account["Id"], "name": account["Name"]},
        "stage": stage.label,
        "churn_date": churn.isoformat(),
        "months_since_churn": _months_between(churn, ctx.as_of),
        "loss_reasons": list(dict.fromkeys(reasons)),
        "lost_renewal": (
            {"id": latest["Id"], "name": latest["Name"], "close_date": latest["CloseDate"]}
            if latest
            else None
        ),
        "status": {
            label: field_value(account, path) for label, path in config.status_fields.items()
        },
        "primary_contact": _primary_contact(latest),
        "campaign": route.campaign,
        "ae": team.owner.model_dump(),
        "sdr": team.sdr.model_dump() if team.sdr else None,
        "newly_assigned": team.new_owner,
        "call_to_action": config.call_to_action,
    }


def _by_account(lost_renewals: list[Record]) -> dict[str, list[Record]]:
    """Each account's lost renewals, the most recent first (as the query reads them)."""
    found: dict[str, list[Record]] = defaultdict(list)
    for opportunity in lost_renewals:
        found[opportunity["AccountId"]].append(opportunity)
    return found


def _why_due(churn: date, stage: _Stage, route_why: str, as_of: date) -> str:
    """Why the account is selected: its churn, the stage due (how late, when caught up),
    the route taken."""
    overdue = (as_of - stage.due).days
    late = f" (caught up {days_text(overdue)} late)" if overdue else ""
    return f"churned {churn}; {stage.label} stage due {stage.due}{late}; {route_why}"


def decide(records: Records, ctx: DecideContext[WinBackConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Account")
    users = records["users"]
    holding = members_from_users(f"plays.{ctx.play}.holding_users", config.holding_users, users)
    holding_ids = {m.user_id for m in holding}
    robin = round_robin(
        config.pools_used(), ctx.pools, users, ctx.cursors, ctx.assigned_today, ctx.moment
    )
    lost_by_account = _by_account(records["lost_renewals"])
    for account in records["accounts"]:
        churn = date.fromisoformat(account[config.churn_date_field])
        stage = _due_stage(account, churn, plan, ctx)
        if stage is None:
            continue
        lost = lost_by_account.get(account["Id"], [])
        route, route_why = _route(lost[0] if lost else None, config)
        team = _assign(account, route, stage.due, holding_ids, robin, ctx)
        if team is None:
            why = "; ".join(robin.unavailable(route.ae_pool))
            reason = f"unassigned and nobody in pool {route.ae_pool!r} can take it ({why})"
            plan.skip(account, reason, stage.label)
            continue
        targets = {config.campaign_field: (route.campaign, route_why), **team.changes}
        plan.change(account, targets, f"{stage.label} win-back: ")
        plan.select(account, _why_due(churn, stage, route_why, ctx.as_of), stage.label)
        plan.alert(
            config.template,
            account["Id"],
            stage.label,
            to=tuple(r for r in (team.owner, team.sdr) if r is not None),
            reason=f"{stage.label} win-back stage",
            context=_alert_context(account, churn, stage, lost, route, team, ctx),
        )
        plan.mark_fired(account["Id"], stage.label)
    return plan.build(cursors=robin.cursors, assignments=robin.assignments)


def requirements(config: WinBackConfig) -> Requirements:
    """For `revsched doctor`, besides the fields its queries read: the values it selects on,
    the users and pools it assigns from and the fields it writes."""
    return Requirements(
        values=(
            ("Account", config.account_type_field, config.former_customer_value),
            ("Opportunity", config.opportunity_type_field, config.renewal_type_value),
        ),
        users=tuple(config.holding_users),
        pools=tuple(sorted(config.pools_used())),
        writes=(("Account", "OwnerId"),),
    )


play = Play(
    name="win-back",
    summary="Route churned accounts to an AE and SDR at 6 and 12 months, with the loss context",
    config_model=WinBackConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
