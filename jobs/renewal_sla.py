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
from revsched.plan import (
    Alert,
    Decision,
    Firing,
    Plan,
    Recipient,
    RecordCreate,
    Scalar,
    group_digest,
)
from revsched.play import (
    DecideContext,
    Play,
    PlayConfig,
    Record,
    Records,
    Requirements,
    children,
    days_text,
    field_value,
)
from revsched.roundrobin import active_recipients
from revsched.soql import FieldName, FieldPath, format_soql

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
    schedule: str = "daily"
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
            "OwnerId",
            "Owner.Name",
            "Owner.Email",
            "Owner.IsActive",
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
        "users": format_soql(
            "SELECT Id, Name, Username, Email, IsActive FROM User WHERE Username IN {}",
            config.leadership_users,
        ),
    }
    if not config.stage_order:
        found["stages"] = (
            "SELECT ApiName, SortOrder FROM OpportunityStage"
            " WHERE IsActive = true AND IsClosed = false ORDER BY SortOrder"
        )
    return found


def _stage_order(records: Records, config: RenewalSlaConfig) -> dict[str, int]:
    """Stage -> position; every checkpoint's expected stage must be in it."""
    names = config.stage_order or [row["ApiName"] for row in records["stages"]]
    order = {name: position for position, name in enumerate(names)}
    for checkpoint in config.checkpoints:
        if checkpoint.expected_stage not in order:
            source = "stage_order" if config.stage_order else "the org's open OpportunityStages"
            raise ConfigError(
                f"plays.{play.name}.checkpoints: expected stage {checkpoint.expected_stage!r}"
                f" is not in {source}"
            )
    return order


def task_key(opportunity_id: str, checkpoint: int) -> str:
    """The Task's External ID: one per opportunity and checkpoint, ever."""
    return f"{play.name}:{opportunity_id}:{checkpoint}"


def _checkpoint(
    opportunity: Record, days: int, order: dict[str, int], ctx: DecideContext[RenewalSlaConfig]
) -> Checkpoint | Decision:
    """The checkpoint that fires now, or the Decision saying why none does."""
    config = ctx.config
    crossed = [c for c in config.checkpoints if days <= c.days]
    if not crossed:
        first = config.checkpoints[0]
        return _skip(
            opportunity,
            f"{days_text(days)} to renewal: the {first.days}-day checkpoint is in"
            f" {days_text(days - first.days)}",
        )
    checkpoint = crossed[-1]
    label = f"{checkpoint.days}-day"
    stage = opportunity["StageName"]
    existing = {t[config.key_field] for t in children(opportunity, "Tasks")}
    if task_key(opportunity["Id"], checkpoint.days) in existing:
        return _skip(opportunity, f"{label} checkpoint already fired: its Task exists", label)
    if (opportunity["Id"], label) in ctx.fired:
        return _skip(opportunity, f"{label} checkpoint already fired", label)
    if stage not in order:
        return _skip(opportunity, f"stage {stage!r} is not an open stage in the order", label)
    at = f"{stage} at {days_text(days)} to renewal"
    if order[stage] >= order[checkpoint.expected_stage]:
        return _skip(
            opportunity,
            f"on track: {at}, {checkpoint.expected_stage} expected by the {label} checkpoint",
            label,
        )
    late = checkpoint.days - days
    if late > config.catch_up_days:
        return _skip(
            opportunity,
            f"missed: {at}; the {label} checkpoint passed {days_text(late)} ago, outside the"
            f" {config.catch_up_days}-day catch-up window",
            label,
        )
    if not opportunity["Owner"]["IsActive"]:
        return _skip(
            opportunity,
            f"behind at the {label} checkpoint, but its owner"
            f" {opportunity['Owner']['Name']} is inactive: nobody to give the Task to",
            label,
        )
    return checkpoint


def _skip(opportunity: Record, reason: str, stage: str | None = None) -> Decision:
    return Decision.of("Opportunity", opportunity, "skipped", reason, stage)


# The fields of the Task it creates (besides [org] key_field).
TASK_FIELDS = ("Subject", "Description", "ActivityDate", "OwnerId", "WhatId", "Status", "Priority")


def _task(
    opportunity: Record, checkpoint: Checkpoint, ctx: DecideContext[RenewalSlaConfig]
) -> RecordCreate:
    config = ctx.config
    subject = config.task_subject.format(
        checkpoint=checkpoint.days,
        expected_stage=checkpoint.expected_stage,
        stage=opportunity["StageName"],
        opportunity=opportunity["Name"],
    )
    return RecordCreate(
        sobject="Task",
        key=task_key(opportunity["Id"], checkpoint.days),
        parent_id=opportunity["Id"],
        reason=f"{checkpoint.days}-day renewal SLA missed: the AM's action items",
        fields={
            "Subject": subject,
            "Description": "\n".join(f"- {item}" for item in config.action_items),
            "ActivityDate": (ctx.as_of + timedelta(days=config.task_due_days)).isoformat(),
            "OwnerId": opportunity["OwnerId"],
            "WhatId": opportunity["Id"],
            "Status": config.task_status,
            "Priority": config.task_priority,
        },
    )


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


def decide(records: Records, ctx: DecideContext[RenewalSlaConfig]) -> Plan:
    config = ctx.config
    order = _stage_order(records, config)
    leaders = active_recipients(
        "AM leadership",
        f"plays.{play.name}.leadership_users",
        config.leadership_users,
        records["users"],
    )
    decisions: list[Decision] = []
    creates: list[RecordCreate] = []
    alerts: list[Alert] = []
    firings: list[Firing] = []
    at_risk: list[dict[str, Scalar]] = []
    for opportunity in records["opportunities"]:
        renewal = date.fromisoformat(field_value(opportunity, config.renewal_date_field))
        days = (renewal - ctx.as_of).days
        risks = [r.label for r in config.at_risk_rules if r.matches(opportunity, days)]
        if risks and days <= config.horizon:
            at_risk.append(_at_risk_row(opportunity, renewal, days, risks, config.amount_field))
        checkpoint = _checkpoint(opportunity, days, order, ctx)
        if isinstance(checkpoint, Decision):
            decisions.append(checkpoint)
            continue
        label = f"{checkpoint.days}-day"
        stage = opportunity["StageName"]
        decisions.append(
            Decision.of(
                "Opportunity",
                opportunity,
                "selected",
                f"{stage} at {days_text(days)} to renewal ({renewal}), behind"
                f" {checkpoint.expected_stage} expected by the {label} checkpoint",
                label,
            )
        )
        task = _task(opportunity, checkpoint, ctx)
        creates.append(task)
        owner = opportunity["Owner"]
        alerts.append(
            Alert(
                template=config.template,
                record_id=opportunity["Id"],
                stage=label,
                recipients=(
                    Recipient(
                        role="AM",
                        user_id=opportunity["OwnerId"],
                        name=owner["Name"],
                        email=owner["Email"],
                    ),
                ),
                reason=f"{label} renewal SLA missed",
                context={
                    "opportunity": {"id": opportunity["Id"], "name": opportunity["Name"]},
                    "account": field_value(opportunity, "Account.Name"),
                    "am": owner["Name"],
                    "renewal_date": renewal.isoformat(),
                    "days_to_renewal": days,
                    "checkpoint": checkpoint.days,
                    "stage": stage,
                    "expected_stage": checkpoint.expected_stage,
                    "task_due": task.fields["ActivityDate"],
                    "action_items": config.action_items,
                },
            )
        )
        firings.append(Firing(record_id=opportunity["Id"], stage=label))
    digest = (
        group_digest(
            config.digest_template,
            leaders,
            f"at-risk {ctx.as_of.isoformat()}",
            f"{len(at_risk)} renewals at risk",
            {"as_of": ctx.as_of.isoformat(), "horizon": config.horizon, "rows": at_risk},
            ctx.fired,
        )
        if at_risk
        else None
    )
    if digest is not None:
        alerts.append(digest[0])
        firings.append(digest[1])
    return Plan(
        play=play.name,
        as_of=ctx.as_of,
        decisions=tuple(decisions),
        creates=tuple(creates),
        alerts=tuple(alerts),
        firings=tuple(firings),
        reports={"at-risk": at_risk},
    )


def requirements(config: RenewalSlaConfig) -> Requirements:
    """For `revsched doctor`: the renewal type it selects on, the leaders it tells and the
    Task fields it sets."""
    return Requirements(
        values=(("Opportunity", config.opportunity_type_field, config.renewal_type_value),),
        users=tuple(config.leadership_users),
        creates=tuple(("Task", field) for field in TASK_FIELDS),
    )


play = Play(
    name="renewal-sla",
    summary="Task and alert the AM when an open renewal is behind its stage at 120/90/60 days",
    config_model=RenewalSlaConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
