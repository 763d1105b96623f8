"""churn-intake: hand newly churned accounts to RevOps and take their team off them.

Seed 000, "LeanData Automation in Action": when Customer Experience sets an
account's type to Former Customer, the churn date is set, the account goes to
the RevOps team and every other assigned field is cleared. This is the daily
batch form of that trigger; win-back counts its stages from the churn date it
sets, so an account missed here is never won back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator

from revsched.assignments import holding_user, holding_user_query, unassign
from revsched.declared_writes import Writes
from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements
from revsched.roundrobin import Member
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, relationship_name, user_lookup_fields


class ChurnIntakeConfig(PlayConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    account_type_field: FieldName = "Type"
    former_customer_value: str = "Former Customer"
    churn_date_field: Annotated[FieldName, Writes("Account")] = "Churn_Date__c"
    # The user (by Username) that owns unassigned accounts.
    holding_user: str = "revops@demo.revsched.dev"
    # Role shown in the alert -> user lookup cleared at intake; no other field is touched.
    assignment_fields: Annotated[dict[str, FieldName], Writes("Account")] = {
        "SDR": "SDR__c",
        "AE": "AE__c",
        "AM": "AM__c",
        "CSM": "CSM__c",
        "Solutions Consultant": "Solutions_Consultant__c",
    }
    # Former customers churned this many days ago or less are listed as left alone.
    near_miss_days: int = Field(30, ge=0)
    call_to_action: list[str] = [
        "Log your last conversations and any open commitments on the account",
        "Tell RevOps today if the account was marked Former Customer by mistake",
    ]
    template: str = "churn_intake.j2"

    @field_validator("assignment_fields")
    @classmethod
    def _user_lookups(cls, fields: dict[str, str]) -> dict[str, str]:
        for field in fields.values():
            if field == "OwnerId" or not field.endswith(("__c", "Id")):
                raise ValueError(
                    f"{field} is not a user lookup to clear (the owner is set, not cleared)"
                )
        return fields


def queries(ctx: DecideContext[ChurnIntakeConfig]) -> dict[str, str]:
    config = ctx.config
    churn = config.churn_date_field
    lookups = ["OwnerId", *config.assignment_fields.values()]
    users = [path for lookup in lookups for path in user_lookup_fields(lookup)]
    fields = dict.fromkeys(["Id", "Name", churn, *users])
    return {
        "accounts": format_soql(
            f"SELECT {', '.join(fields)} FROM Account"
            f" WHERE {config.account_type_field} = {{}}"
            f" AND ({churn} = null OR {churn} >= {{}}) ORDER BY Name, Id",
            config.former_customer_value,
            ctx.as_of - timedelta(days=config.near_miss_days),
        ),
        "users": holding_user_query(config.holding_user),
    }


def _recipients(
    account: Record, config: ChurnIntakeConfig, holding: Member
) -> tuple[Recipient, ...]:
    """Everyone active on the account before intake, once each, with every role they had."""
    roles: dict[str, list[str]] = {}
    users: dict[str, Record] = {}
    for role, lookup in {"Owner": "OwnerId", **config.assignment_fields}.items():
        user_id = account[lookup]
        if user_id and user_id != holding.user_id:
            roles.setdefault(user_id, []).append(role)
            users[user_id] = account[relationship_name(lookup)]
    return tuple(
        Recipient(
            role=" / ".join(roles[user_id]), user_id=user_id, name=user["Name"], email=user["Email"]
        )
        for user_id, user in users.items()
        if user["IsActive"]
    )


def _alert_context(
    account: Record, holding: Member, ctx: DecideContext[ChurnIntakeConfig]
) -> dict[str, Any]:
    """What the account's team reads: it churned today, who held it, whose roles were cleared."""
    config = ctx.config
    return {
        "account": {"id": account["Id"], "name": account["Name"]},
        "churn_date": ctx.as_of.isoformat(),
        "holding_user": holding.name,
        # None: RevOps held it already.
        "moved_from": (None if account["OwnerId"] == holding.user_id else account["Owner"]["Name"]),
        "cleared": [
            {
                "role": role,
                "name": account[relationship_name(field)]["Name"],
                "email": account[relationship_name(field)]["Email"],
            }
            for role, field in config.assignment_fields.items()
            if account[field]
        ],
        "call_to_action": config.call_to_action,
    }


def decide(records: Records, ctx: DecideContext[ChurnIntakeConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Account")
    holding = holding_user(f"plays.{ctx.play}.holding_user", config.holding_user, records["users"])
    churn_field = config.churn_date_field
    roles = {field: role for role, field in config.assignment_fields.items()}
    for account in records["accounts"]:
        if account[churn_field] is not None:
            plan.skip(account, f"already has a churn date ({account[churn_field]}): left alone")
            continue
        targets = {
            churn_field: (ctx.as_of.isoformat(), "Former Customer with no churn date"),
            **unassign(holding, roles, "churned"),
        }
        plan.change(account, targets)
        recipients = _recipients(account, config, holding)
        plan.select(
            account,
            f"{config.account_type_field} = {config.former_customer_value!r} with no churn"
            " date" + ("" if recipients else "; nobody active on it to alert"),
        )
        if recipients:
            plan.alert(
                config.template,
                account["Id"],
                "churned",
                to=recipients,
                reason="churn intake",
                context=_alert_context(account, holding, ctx),
            )
    return plan.build()


def requirements(config: ChurnIntakeConfig) -> Requirements:
    """For `revsched doctor`: the picklist value it selects on, the user it assigns and the
    fields it writes."""
    return Requirements(
        values=(("Account", config.account_type_field, config.former_customer_value),),
        users=(config.holding_user,),
        writes=(("Account", "OwnerId"),),
    )


play = Play(
    name="churn-intake",
    summary="Set the churn date of new former customers, hand them to RevOps, clear their team",
    config_model=ChurnIntakeConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
    # Each account is decided on its own: a large intake is read and saved a page at a time.
    streams="accounts",
)
