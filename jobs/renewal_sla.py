"""renewal-sla: hold open renewals to their stage at 120, 90 and 60 days out.

Seed 000, "Renewal Opportunity Motion": daily, an open renewal that has
crossed a checkpoint (days before its renewal date) without reaching the stage
expected there gets a Task for its owner (the AM) with the action items, and
the AM a "missed SLA" alert. Only the tightest checkpoint crossed fires, once:
the Task is upserted on a key per opportunity and checkpoint, so not even a
fresh state store creates it twice. Renewals that match the at-risk rules go
to AM leadership as one digest and into the at-risk report (`--report-dir`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from revsched.config import StrictModel
from revsched.errors import ConfigError
from revsched.plan import Plan, Recipient, Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements, days_text
from revsched.records import children, field_value
from revsched.roundrobin import active_recipients, users_query
from revsched.schedule import ScheduleField
from revsched.soql import OPEN_STAGES, FieldName, FieldPath, format_soql, user_lookup_fields
from revsched.task_fields import OpportunityTask

Operator = Literal["<", "<=", ">", ">=", "=", "!=", "is_null", "not_null", "contains"]
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
}


class Checkpoint(StrictModel):
    """Days before renewal, and the stage the renewal should have reached by then."""

    days: int = Field(ge=1)
    expected_stage: str


class AtRiskRule(StrictModel):
    """An opportunity is at risk when `field` `operator` `value` holds (any rule matching)."""

    field: FieldPath
    operator: Operator
    value: Scalar = None
    # How the rule reads in the digest and the report.
    label: str
    # Only renewals this many days out or closer (None: the whole SLA window).
    within_days: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _value_fits_operator(self) -> AtRiskRule:
        needs_value = self.operator not in ("is_null", "not_null")
        if needs_value and self.value is None:
            raise ValueError(f"operator {self.operator!r} needs a value")
        if not needs_value and self.value is not None:
            raise ValueError(f"operator {self.operator!r} takes no value")
        return self

    def matches(self, record: Record, days_to_renewal: int) -> bool:
        """Like SOQL: a comparison with an empty field is false; is_null treats '' as empty."""
        if self.within_days is not None and days_to_renewal > self.within_days:
            return False
        value = field_value(record, self.field)
        empty = value is None or value == ""
        if self.operator in ("is_null", "not_null"):
            return empty == (self.operator == "is_null")
        if value is None:
            return False
        if self.operator == "contains":
            return str(self.value).lower() in str(value).lower()
        try:
            return COMPARISONS[self.operator](value, self.value)
        except TypeError:
            raise ConfigError(
                f"plays.renewal-sla.at_risk_rules: {self.field} {self.operator} {self.value!r}"
                f" cannot compare with the field's value {value!r}"
            ) from None


class RenewalSlaConfig(PlayConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    opportunity_type_field: FieldName = "Type"
    renewal_type_value: str = "Renewal"
    # Days to renewal count to this date: an Opportunity field, or a path (Account.Renewal_Date__c).
    renewal_date_field: FieldPath = "Renewal_Date__c"
    checkpoints: list[Checkpoint] = Field(
        default_factory=lambda: [
            Checkpoint(days=120, expected_stage="Qualification"),
            Checkpoint(days=90, expected_stage="Needs Analysis"),
            Checkpoint(days=60, expected_stage="Proposal"),
        ],
        min_length=1,
    )
    # Open stages, earliest first; empty: the org's OpportunityStage sort order.
    stage_order: list[str] = []
    # A checkpoint crossed up to this many days ago still fires (missed runs).
    catch_up_days: int = Field(30, ge=0)
    # Renewals this many days before the first checkpoint are listed as near misses.
    near_miss_days: int = Field(7, ge=0)
    # The Task: {checkpoint}, {expected_stage}, {stage} and {opportunity} are filled in.
    task_subject: str = "Renewal SLA missed at {checkpoint} days: move to {expected_stage}"
    action_items: list[str] = Field(
        [
            "Confirm the renewal date and decision maker with the customer",
            "Review usage and health with the CSM",
            "Send the renewal quote and book the renewal call",
            "Move the opportunity to the expected stage or log why not",
        ],
        min_length=1,
    )
    # The External ID field revsched upserts created records on: [org] key_field.
    key_field: FieldName = "Revsched_Key__c"
    task_due_days: int = Field(3, ge=0)
    task_status: str = "Not Started"
    task_priority: str = "High"
    # The renewal's value (ARR) in the at-risk report: an Opportunity field or a path.
    amount_field: FieldPath = "Amount"
    # Any rule matching puts an open renewal within the first checkpoint at risk.
    at_risk_rules: list[AtRiskRule] = Field(
        default_factory=lambda: [
            AtRiskRule(
                field="Health_Score__c", operator="<", value=40, label="health score below 40"
            ),
            AtRiskRule(
                field="Has_Primary_Quote__c",
                operator="=",
                value=False,
                label="no primary quote 60 days out",
                within_days=60,
            ),
            AtRiskRule(field="Churn_Risk_Notes__c", operator="not_null", label="churn risk notes"),
        ]
    )
    # AM leadership (Usernames): one digest of the at-risk renewals a day.
    leadership_users: list[str] = ["paula.costa@demo.revsched.dev"]
    template: str = "renewal_sla.j2"
    digest_template: str = "renewal_sla_digest.j2"

    @field_validator("checkpoints")
    @classmethod
    def _distinct_days(cls, checkpoints: list[Checkpoint]) -> list[Checkpoint]:
        days = [c.days for c in checkpoints]
        if len(set(days)) < len(days):
            raise ValueError("two checkpoints have the same days")
        return sorted(checkpoints, key=lambda c: c.days, reverse=True)

    @field_validator("task_subject")
    @classmethod
    def _known_placeholders(cls, subject: str) -> str:
        try:
            subject.format(checkpoint=0, expected_stage="", stage="", opportunity="")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"unknown placeholder {error} in the subject") from None
        return subject

    @property
    def horizon(self) -> int:
        """The first checkpoint: renewals closer than this are in the SLA window."""
        return self.checkpoints[0].days


def queries(ctx: DecideContext[RenewalSlaConfig]) -> dict[str, str]:
    config = ctx.config
    renewal = config.renewal_date_field
    fields = dict.fromkeys(
        [
            "Id",
            "Name",
            "StageName",
            *user_lookup_fields("OwnerId"),
            "AccountId",
            "Account.Name",
            renewal,
            config.amount_field,
            *(rule.field for rule in config.at_risk_rules),
        ]
    )
    found = {
        "opportunities": format_soql(
            f"SELECT {', '.join(fields)},"
            f" (SELECT {config.key_field} FROM Tasks WHERE {config.key_field} != null)"
            f" FROM Opportunity WHERE IsClosed = false AND {config.opportunity_type_field} = {{}}"
            f" AND {renewal} >= {{}} AND {renewal} <= {{}} ORDER BY {renewal}, Id",
            config.renewal_type_value,
            ctx.as_of,
            ctx.as_of + timedelta(days=config.horizon + config.near_miss_days),
        ),
        "users": users_query(config.leadership_users),
    }
    if not config.stage_order:
        found["stages"] = OPEN_STAGES
    return found


def _stage_order(records: Records, ctx: DecideContext[RenewalSlaConfig]) -> dict[str, int]:
    """Stage -> position; every checkpoint's expected stage must be in it."""
    config = ctx.config
    names = config.stage_order or [row["ApiName"] for row in records["stages"]]
    order = {name: position for position, name in enumerate(names)}
    for checkpoint in config.checkpoints:
        if checkpoint.expected_stage not in order:
            source = "stage_order" if config.stage_order else "the org's open OpportunityStages"
            raise ConfigError(
                f"plays.{ctx.play}.checkpoints: expected stage {checkpoint.expected_stage!r}"
                f" is not in {source}"
            )
    return order


def task_key(play: str, opportunity_id: str, checkpoint: int) -> str:
    """The Task's External ID: one per opportunity and checkpoint, ever."""
    return f"{play}:{opportunity_id}:{checkpoint}"


def _checkpoint(
    opportunity: Record,
    days: int,
    order: dict[str, int],
    plan: PlanBuilder,
    ctx: DecideContext[RenewalSlaConfig],
) -> Checkpoint | None:
    """The checkpoint that fires now; None when none does, with the skip saying why."""
    config = ctx.config
    crossed = [c for c in config.checkpoints if days <= c.days]
    if not crossed:
        first = config.checkpoints[0]
        plan.skip(
            opportunity,
            f"{days_text(days)} to renewal: the {first.days}-day checkpoint is in"
            f" {days_text(days - first.days)}",
        )
        return None
    checkpoint = crossed[-1]
    label = f"{checkpoint.days}-day"
    stage = opportunity["StageName"]
    at = f"{stage} at {days_text(days)} to renewal"
    existing = {t[config.key_field] for t in children(opportunity, "Tasks")}
    late = checkpoint.days - days
    if task_key(ctx.play, opportunity["Id"], checkpoint.days) in existing:
        why_not = f"{label} checkpoint already fired: its Task exists"
    elif (opportunity["Id"], label) in ctx.fired:
        why_not = f"{label} checkpoint already fired"
    elif stage not in order:
        why_not = f"stage {stage!r} is not an open stage in the order"
    elif order[stage] >= order[checkpoint.expected_stage]:
        why_not = f"on track: {at}, {checkpoint.expected_stage} expected by the {label} checkpoint"
    elif late > config.catch_up_days:
        why_not = (
            f"missed: {at}; the {label} checkpoint passed {days_text(late)} ago, outside the"
            f" {config.catch_up_days}-day catch-up window"
        )
    elif not opportunity["Owner"]["IsActive"]:
        why_not = (
            f"behind at the {label} checkpoint, but its owner"
            f" {opportunity['Owner']['Name']} is inactive: nobody to give the Task to"
        )
    else:
        return checkpoint
    plan.skip(opportunity, why_not, label)
    return None


def _task_fields(
    opportunity: Record, checkpoint: Checkpoint, ctx: DecideContext[RenewalSlaConfig]
) -> dict[str, Scalar]:
    """The AM's Task: the checkpoint missed, and the action items."""
    config = ctx.config
    subject = config.task_subject.format(
        checkpoint=checkpoint.days,
        expected_stage=checkpoint.expected_stage,
        stage=opportunity["StageName"],
        opportunity=opportunity["Name"],
    )
    return OpportunityTask(
        Subject=subject,
        Description="\n".join(f"- {item}" for item in config.action_items),
        ActivityDate=(ctx.as_of + timedelta(days=config.task_due_days)).isoformat(),
        OwnerId=opportunity["OwnerId"],
        WhatId=opportunity["Id"],
        Status=config.task_status,
        Priority=config.task_priority,
    ).values()


def _am(opportunity: Record) -> Recipient:
    owner = opportunity["Owner"]
    return Recipient(
        role="AM", user_id=opportunity["OwnerId"], name=owner["Name"], email=owner["Email"]
    )


def _alert_context(
    opportunity: Record,
    renewal: date,
    checkpoint: Checkpoint,
    task: dict[str, Scalar],
    ctx: DecideContext[RenewalSlaConfig],
) -> dict[str, Any]:
    """What the AM reads: the renewal, where it stands against the checkpoint, the Task."""
    return {
        "opportunity": {"id": opportunity["Id"], "name": opportunity["Name"]},
        "account": field_value(opportunity, "Account.Name"),
        "am": opportunity["Owner"]["Name"],
        "renewal_date": renewal.isoformat(),
        "days_to_renewal": (renewal - ctx.as_of).days,
        "checkpoint": checkpoint.days,
        "stage": opportunity["StageName"],
        "expected_stage": checkpoint.expected_stage,
        "task_due": task["ActivityDate"],
        "action_items": ctx.config.action_items,
    }


def _at_risk_row(
    opportunity: Record, renewal: date, days: int, reasons: list[str], amount_field: str
) -> dict[str, Scalar]:
    return {
        "opportunity": opportunity["Name"],
        "opportunity_id": opportunity["Id"],
        "account": field_value(opportunity, "Account.Name"),
        "owner": opportunity["Owner"]["Name"],
        "amount": field_value(opportunity, amount_field),
        "stage": opportunity["StageName"],
        "renewal_date": renewal.isoformat(),
        "days_to_renewal": days,
        "at_risk_because": "; ".join(reasons),
    }


def _missed(
    opportunity: Record,
    renewal: date,
    checkpoint: Checkpoint,
    plan: PlanBuilder,
    ctx: DecideContext[RenewalSlaConfig],
) -> None:
    """A checkpoint missed: the AM gets a Task with the action items and an alert, once."""
    label = f"{checkpoint.days}-day"
    days = (renewal - ctx.as_of).days
    plan.select(
        opportunity,
        f"{opportunity['StageName']} at {days_text(days)} to renewal ({renewal}), behind"
        f" {checkpoint.expected_stage} expected by the {label} checkpoint",
        label,
    )
    task = plan.create(
        "Task",
        task_key(ctx.play, opportunity["Id"], checkpoint.days),
        _task_fields(opportunity, checkpoint, ctx),
        reason=f"{checkpoint.days}-day renewal SLA missed: the AM's action items",
        parent_id=opportunity["Id"],
    )
    plan.alert(
        ctx.config.template,
        opportunity["Id"],
        label,
        to=(_am(opportunity),),
        reason=f"{label} renewal SLA missed",
        context=_alert_context(opportunity, renewal, checkpoint, task.fields, ctx),
    )
    plan.mark_fired(opportunity["Id"], label)


def decide(records: Records, ctx: DecideContext[RenewalSlaConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Opportunity")
    order = _stage_order(records, ctx)
    # Looked up first: a leadership Username not in the org is an error on any day.
    key = f"plays.{ctx.play}.leadership_users"
    leaders = active_recipients("AM leadership", key, config.leadership_users, records["users"])
    at_risk: list[dict[str, Scalar]] = []
    for opportunity in records["opportunities"]:
        renewal = date.fromisoformat(field_value(opportunity, config.renewal_date_field))
        days = (renewal - ctx.as_of).days
        risks = [r.label for r in config.at_risk_rules if r.matches(opportunity, days)]
        if risks and days <= config.horizon:
            at_risk.append(_at_risk_row(opportunity, renewal, days, risks, config.amount_field))
        checkpoint = _checkpoint(opportunity, days, order, plan, ctx)
        if checkpoint is not None:
            _missed(opportunity, renewal, checkpoint, plan, ctx)
    if at_risk:
        context = {"as_of": ctx.as_of.isoformat(), "horizon": config.horizon, "rows": at_risk}
        stage, reason = f"at-risk {ctx.as_of.isoformat()}", f"{len(at_risk)} renewals at risk"
        plan.digest(config.digest_template, leaders, stage, reason, context)
    return plan.build(reports={"at-risk": at_risk})


def requirements(config: RenewalSlaConfig) -> Requirements:
    """For `revsched doctor`: the renewal type it selects on, the leaders it tells and the
    Task fields it sets."""
    return Requirements(
        values=(("Opportunity", config.opportunity_type_field, config.renewal_type_value),),
        users=tuple(config.leadership_users),
        creates=OpportunityTask.creates(),
    )


play = Play(
    name="renewal-sla",
    summary="Task and alert the AM when an open renewal is behind its stage at 120/90/60 days",
    config_model=RenewalSlaConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
