"""add-drop-approvals: carry out the add, keep and drop requests managers decided.

Seed 000, "Account Needs Review" and "Add as Named Request": an AE sets the
account's Add/Drop Request, a manager approves or rejects it, and the account
is updated at once (LeanData ran this in its live graph; every 15 minutes is
close enough): an approved add gives the account to the requester, an approved
drop unassigns it, an approved keep ends the review and restarts the 90-day
clock. The request and its approval are then cleared, so a request is carried
out once, and the requester hears the outcome in the seed's words.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from revsched.assignments import holding_user, holding_user_query, unassign
from revsched.declared_writes import Writes
from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements
from revsched.roundrobin import Member
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, relationship_name, user_lookup_fields

Verb = Literal["add", "keep", "drop"]


class AddDropConfig(PlayConfig):
    schedule: ScheduleField = Field("*/15 * * * *", validate_default=True)
    request_field: Annotated[FieldName, Writes("Account")] = "Add_Drop_Request__c"
    add_value: str = "Add as Named"
    keep_value: str = "Keep Account"
    drop_value: str = "Drop Account"
    approval_field: Annotated[FieldName, Writes("Account")] = "Add_Drop_Approval__c"
    approved_value: str = "Approved"
    rejected_value: str = "Rejected"
    # The user lookup naming the AE who asked; the owner after an approved add.
    requested_by_field: FieldName = "Add_Drop_Requested_By__c"
    # Cleared when an approved keep or drop ends the review.
    needs_review_date_field: Annotated[FieldName, Writes("Account")] = "Needs_Review_Date__c"
    # Set to the run date by an approved add or keep: the 90-day clock restarts.
    owner_assigned_date_field: Annotated[FieldName, Writes("Account")] = "Owner_Assigned_Date__c"
    # The user (by Username) that owns unassigned accounts: the owner after an approved drop.
    holding_user: str = "revops@demo.revsched.dev"
    # User lookups naming the account's AE: cleared by a drop, set to the requester by an add.
    ae_fields: Annotated[list[FieldName], Writes("Account")] = ["AE__c"]
    template: str = "add_drop_approvals.j2"

    @model_validator(mode="after")
    def _distinct_values(self) -> AddDropConfig:
        if len({self.add_value, self.keep_value, self.drop_value}) < 3:
            raise ValueError("add_value, keep_value and drop_value must differ")
        if self.approved_value == self.rejected_value:
            raise ValueError("approved_value and rejected_value must differ")
        return self

    def verbs(self) -> dict[str, Verb]:
        """Request picklist value -> what the AE asked for."""
        return {self.add_value: "add", self.keep_value: "keep", self.drop_value: "drop"}


def queries(ctx: DecideContext[AddDropConfig]) -> dict[str, str]:
    config = ctx.config
    fields = dict.fromkeys(
        [
            "Id",
            "Name",
            *user_lookup_fields("OwnerId"),
            config.request_field,
            config.approval_field,
            *user_lookup_fields(config.requested_by_field),
            config.needs_review_date_field,
            config.owner_assigned_date_field,
            *config.ae_fields,
        ]
    )
    return {
        "accounts": format_soql(
            f"SELECT {', '.join(fields)} FROM Account"
            f" WHERE {config.request_field} IN {{}} ORDER BY Name, Id",
            list(config.verbs()),
        ),
        "users": holding_user_query(config.holding_user),
    }


def _targets(
    account: Record, verb: Verb, approved: bool, holding: Member, ctx: DecideContext[AddDropConfig]
) -> dict[str, tuple[Any, str]]:
    """Field -> (new value, why) that carry out the decided request."""
    config = ctx.config
    today = ctx.as_of.isoformat()
    outcome = f"{verb} request {'approved' if approved else 'rejected'}"
    targets: dict[str, tuple[Any, str]] = {}
    if approved and verb == "add":
        requester = account[config.requested_by_field]
        name = account[relationship_name(config.requested_by_field)]["Name"]
        targets["OwnerId"] = (requester, f"{outcome}: the account goes to {name}")
        targets[config.owner_assigned_date_field] = (today, f"{outcome}: assigned today")
        targets |= {f: (requester, f"{outcome}: {name} is the AE") for f in config.ae_fields}
    elif approved and verb == "drop":
        targets |= unassign(holding, dict.fromkeys(config.ae_fields, "AE"), outcome)
        targets[config.needs_review_date_field] = (None, f"{outcome}: the review is over")
    elif approved:
        targets[config.needs_review_date_field] = (None, f"{outcome}: the review is over")
        targets[config.owner_assigned_date_field] = (today, f"{outcome}: the 90-day clock restarts")
    targets[config.request_field] = (None, f"{outcome}: carried out")
    targets[config.approval_field] = (None, f"{outcome}: carried out")
    return targets


def _recipient(account: Record, holding: Member, config: AddDropConfig) -> Recipient | None:
    """Who hears the outcome: the requester, else the AE who owns the account (if active)."""
    lookup, role = config.requested_by_field, "requester"
    if not account[lookup]:
        lookup, role = "OwnerId", "owner"
        if account[lookup] == holding.user_id:
            return None
    user = account[relationship_name(lookup)]
    if not user["IsActive"]:
        return None
    return Recipient(role=role, user_id=account[lookup], name=user["Name"], email=user["Email"])


def _cannot_add(account: Record, config: AddDropConfig) -> str | None:
    """Why an approved add cannot be carried out: nobody (active) to give the account to."""
    if not account[config.requested_by_field]:
        return f"approved add request names no requester ({config.requested_by_field} is empty)"
    requester = account[relationship_name(config.requested_by_field)]
    if not requester["IsActive"]:
        return f"approved add request by {requester['Name']}, who is inactive"
    return None


def decide(records: Records, ctx: DecideContext[AddDropConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Account")
    holding = holding_user(f"plays.{ctx.play}.holding_user", config.holding_user, records["users"])
    verbs = config.verbs()
    for account in records["accounts"]:
        request, approval = account[config.request_field], account[config.approval_field]
        verb = verbs[request]
        if approval not in (config.approved_value, config.rejected_value):
            state = f"= {approval!r}" if approval else "is empty"
            why = f"{request!r} awaiting a manager ({config.approval_field} {state})"
            plan.skip(account, why, kind=f"{verb} awaiting a manager")
            continue
        approved = approval == config.approved_value
        stage = f"{verb}-{'approved' if approved else 'rejected'}"
        blocked = _cannot_add(account, config) if approved and verb == "add" else None
        if blocked:
            plan.skip(account, blocked, stage)
            continue
        plan.change(account, _targets(account, verb, approved, holding, ctx))
        recipient = _recipient(account, holding, config)
        nobody = "" if recipient else "; nobody active to tell"
        plan.select(account, f"{request!r} {approval.lower()} by a manager{nobody}", stage)
        if recipient is not None:
            plan.alert(
                config.template,
                account["Id"],
                stage,
                to=(recipient,),
                reason=f"{verb} request {approval.lower()}",
                context=_alert_context(account, verb, approved),
            )
    return plan.build()


def _alert_context(account: Record, verb: Verb, approved: bool) -> dict[str, Any]:
    """What the requester reads: which request on which account, and the manager's answer."""
    return {
        "account": {"id": account["Id"], "name": account["Name"]},
        "request": verb,
        "approved": approved,
    }


def requirements(config: AddDropConfig) -> Requirements:
    """For `revsched doctor`: the request and approval values it acts on, the holding user
    and the fields it writes."""
    requests = (config.add_value, config.keep_value, config.drop_value)
    approvals = (config.approved_value, config.rejected_value)
    return Requirements(
        values=(
            *(("Account", config.request_field, value) for value in requests),
            *(("Account", config.approval_field, value) for value in approvals),
        ),
        users=(config.holding_user,),
        writes=(("Account", "OwnerId"),),
    )


play = Play(
    name="add-drop-approvals",
    summary="Carry out approved or rejected add/keep/drop requests and tell the requester",
    config_model=AddDropConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
