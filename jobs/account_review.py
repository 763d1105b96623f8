"""account-review: flag named accounts nobody works, and drop them 30 days later.

Seed 000, "Account Needs Review": nightly, an AE's account that has been
assigned 90+ days, has no open opportunity, is not in a Purchase/Decision
buying stage, and has had no activity in 28 days and none scheduled, is set
to Needs Review and the AE is told they have 30 days. Phase 2 resolves the
reviews: an account still meeting every criterion after 30 days is unassigned
to RevOps; one that re-engaged (any criterion no longer holds) leaves review.
Keep and drop requests the AE files instead are add-drop-approvals' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, NamedTuple

from pydantic import Field, model_validator

from revsched.assignments import Targets, holding_user, unassign
from revsched.declared_writes import Writes
from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements, days_text
from revsched.records import children
from revsched.roundrobin import Member, members_from_users, users_query
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, user_lookup_fields, users_filter


class AccountReviewConfig(PlayConfig):
    schedule: ScheduleField = Field("0 2 * * *", validate_default=True)
    # Named accounts: owned by a user with one of these roles (UserRole.Name) or Usernames.
    ae_roles: list[str] = ["Account Executive"]
    ae_users: list[str] = []
    account_type_field: FieldName = "Type"
    account_types: list[str] = Field(["Prospect", "Customer"], min_length=1)
    owner_assigned_date_field: FieldName = "Owner_Assigned_Date__c"
    assigned_days: int = Field(90, ge=1)
    buying_stage_field: FieldName = "Buying_Stage__c"
    # Accounts in these buying stages are being bought: never flagged.
    active_buying_stages: list[str] = ["Purchase", "Decision"]
    last_activity_field: FieldName = "LastActivityDate"
    # Activity (a completed Task, an Event) this many days ago or less keeps the account.
    quiet_days: int = Field(28, ge=1)
    request_field: Annotated[FieldName, Writes("Account")] = "Add_Drop_Request__c"
    needs_review_value: str = "Needs Review"
    # Shown in the alerts as what the AE can ask for instead.
    add_value: str = "Add as Named"
    keep_value: str = "Keep Account"
    drop_value: str = "Drop Account"
    needs_review_date_field: Annotated[FieldName, Writes("Account")] = "Needs_Review_Date__c"
    review_days: int = Field(30, ge=1)
    # The user (by Username) that owns unassigned accounts: the owner after a drop.
    holding_user: str = "revops@demo.revsched.dev"
    # User lookups naming the account's AE: cleared by a drop.
    ae_fields: Annotated[list[FieldName], Writes("Account")] = ["AE__c"]
    # Accounts this many days short of the assigned_days are listed as near misses.
    near_miss_days: int = Field(7, ge=0)
    template: str = "account_review.j2"

    @model_validator(mode="after")
    def _some_aes(self) -> AccountReviewConfig:
        if not (self.ae_roles or self.ae_users):
            raise ValueError("set ae_roles or ae_users: whose accounts are named accounts")
        if self.near_miss_days >= self.assigned_days:
            raise ValueError("near_miss_days must be less than assigned_days")
        return self


def _account_filter(ctx: DecideContext[AccountReviewConfig]) -> str:
    """Named accounts with no request assigned long enough to list, and those in review."""
    config = ctx.config
    request = config.request_field
    assigned_by = ctx.as_of - timedelta(days=config.assigned_days - config.near_miss_days)
    # Built filters go in as literals: a brace in a value must not be read as a placeholder.
    return format_soql(
        "({:literal})"
        f" AND {config.account_type_field} IN {{}}"
        f" AND (({request} = null AND {config.owner_assigned_date_field} <= {{}})"
        f" OR {request} = {{}})",
        users_filter(config.ae_roles, config.ae_users, "Owner."),
        config.account_types,
        assigned_by,
        config.needs_review_value,
    )


def queries(ctx: DecideContext[AccountReviewConfig]) -> dict[str, str]:
    config = ctx.config
    fields = dict.fromkeys(
        [
            "Id",
            "Name",
            *user_lookup_fields("OwnerId"),
            config.owner_assigned_date_field,
            config.buying_stage_field,
            config.last_activity_field,
            config.request_field,
            config.needs_review_date_field,
            *config.ae_fields,
        ]
    )
    accounts = _account_filter(ctx)
    since = ctx.as_of - timedelta(days=config.quiet_days)
    return {
        "accounts": f"SELECT {', '.join(fields)},"
        " (SELECT Id, Name, StageName FROM Opportunities WHERE IsClosed = false ORDER BY Name)"
        f" FROM Account WHERE {accounts} ORDER BY Name, Id",
        # Completed recently or scheduled ahead, on the account or its opportunities and contacts.
        "tasks": format_soql(
            "SELECT Id, Subject, AccountId, ActivityDate, IsClosed FROM Task"
            " WHERE AccountId IN (SELECT Id FROM Account WHERE {:literal})"
            " AND ActivityDate >= {} ORDER BY ActivityDate, Id",
            accounts,
            since,
        ),
        "events": format_soql(
            "SELECT Id, Subject, AccountId, ActivityDate FROM Event"
            " WHERE AccountId IN (SELECT Id FROM Account WHERE {:literal})"
            " AND ActivityDate >= {} ORDER BY ActivityDate, Id",
            accounts,
            since,
        ),
        "users": users_query(sorted({config.holding_user, *config.ae_users})),
    }


class _Activity(NamedTuple):
    """A named tuple: a forecast builds hundreds of thousands a day."""

    kind: str  # "Task" or "Event"
    subject: str
    day: date
    done: bool


def _activities(records: Records) -> dict[str, list[_Activity]]:
    """Each account's recent and scheduled Tasks and Events, oldest first."""
    by_account: dict[str, list[_Activity]] = {}
    for kind in ("Task", "Event"):
        for row in records[f"{kind.lower()}s"]:
            done = row["IsClosed"] if kind == "Task" else True
            activity = _Activity(
                kind, row["Subject"], date.fromisoformat(row["ActivityDate"]), done
            )
            by_account.setdefault(row["AccountId"], []).append(activity)
    for activities in by_account.values():
        activities.sort(key=lambda a: a.day)
    return by_account


def _ago(day: date, as_of: date) -> str:
    count = (as_of - day).days
    return f"today ({day})" if count == 0 else f"{days_text(count)} ago ({day})"


def _last_activity(
    account: Record, activities: list[_Activity], ctx: DecideContext[AccountReviewConfig]
) -> date | None:
    """The most recent activity up to today: the account's rollup, a completed Task, an Event."""
    rollup = account[ctx.config.last_activity_field]
    last = date.fromisoformat(rollup) if rollup else None
    if last is not None and last > ctx.as_of:
        last = None
    # Oldest first: the latest done by today is the first such from the end.
    done = next((a.day for a in reversed(activities) if a.done and a.day <= ctx.as_of), None)
    if done is not None and (last is None or done > last):
        return done
    return last


def _engaged(
    account: Record, activities: list[_Activity], ctx: DecideContext[AccountReviewConfig]
) -> list[str]:
    """Why the account is worked after all: every review criterion it fails (none: review it)."""
    config, as_of = ctx.config, ctx.as_of
    why = []
    assigned = account[config.owner_assigned_date_field]
    if not assigned:
        why.append(f"no {config.owner_assigned_date_field}")
    elif (as_of - date.fromisoformat(assigned)).days < config.assigned_days:
        since = _ago(date.fromisoformat(assigned), as_of)
        why.append(f"assigned {since}, under {config.assigned_days} days")
    why += [
        f"open opportunity {o['Name']!r} ({o['StageName']})"
        for o in children(account, "Opportunities")
    ]
    stage = account[config.buying_stage_field]
    if stage in config.active_buying_stages:
        why.append(f"buying stage {stage}")
    last = _last_activity(account, activities, ctx)
    if last is not None and (as_of - last).days <= config.quiet_days:
        why.append(f"activity {_ago(last, as_of)}")
    why += [
        f"{a.kind} {a.subject!r} scheduled for {a.day}"
        for a in activities
        if a.day >= as_of and (a.kind == "Event" or not a.done)
    ]
    return why


def _ae(account: Record) -> Recipient | None:
    owner = account["Owner"]
    if not owner["IsActive"]:
        return None
    return Recipient(
        role="AE", user_id=account["OwnerId"], name=owner["Name"], email=owner["Email"]
    )


@dataclass(frozen=True)
class _Outcome:
    stage: str
    reason: str
    targets: Targets
    context: dict[str, Any]


def _flag(
    account: Record, activities: list[_Activity], ctx: DecideContext[AccountReviewConfig]
) -> _Outcome:
    config, today = ctx.config, ctx.as_of
    assigned = date.fromisoformat(account[config.owner_assigned_date_field])
    last = _last_activity(account, activities, ctx)
    return _Outcome(
        stage="needs-review",
        reason=f"assigned {days_text((today - assigned).days)}, no open opportunity, buying stage"
        f" {account[config.buying_stage_field] or 'empty'}, no activity in {config.quiet_days} days"
        " and none scheduled",
        targets={
            config.request_field: (config.needs_review_value, "meets every review criterion"),
            config.needs_review_date_field: (today.isoformat(), "the review starts today"),
        },
        context={
            "assigned_date": assigned.isoformat(),
            "days_assigned": (today - assigned).days,
            "last_activity": last.isoformat() if last else None,
            "drop_date": (today + timedelta(days=config.review_days)).isoformat(),
        },
    )


def _end_review(config: AccountReviewConfig) -> Targets:
    return {
        config.request_field: (None, "the review is over"),
        config.needs_review_date_field: (None, "the review is over"),
    }


def _re_engaged(
    since: str, engaged: list[str], config: AccountReviewConfig, context: dict[str, Any]
) -> _Outcome:
    """The review ends: a criterion no longer holds, so the AE keeps the account."""
    return _Outcome(
        "re-engaged",
        f"{since}; re-engaged: {'; '.join(engaged)}",
        _end_review(config),
        context | {"engaged": engaged},
    )


def _resolve(
    account: Record,
    engaged: list[str],
    review_date: date,
    holding: Member,
    plan: PlanBuilder,
    ctx: DecideContext[AccountReviewConfig],
) -> _Outcome | None:
    """A review's outcome: re-engaged, or dropped after review_days; None while it waits."""
    config = ctx.config
    in_review = (ctx.as_of - review_date).days
    since = f"in review since {review_date} ({days_text(in_review)})"
    context = {"review_date": review_date.isoformat(), "days_in_review": in_review}
    if engaged:
        return _re_engaged(since, engaged, config, context)
    drop_date = review_date + timedelta(days=config.review_days)
    if ctx.as_of < drop_date:
        plan.skip(account, f"{since}; dropped on {drop_date} unless re-engaged", "needs-review")
        return None
    reason = f"not worked in {days_text(in_review)} of review"
    targets = unassign(holding, dict.fromkeys(config.ae_fields, "AE"), reason) | _end_review(config)
    return _Outcome("dropped", f"{since}; still meets every review criterion", targets, context)


def _outcome(
    account: Record,
    activities: list[_Activity],
    holding: Member,
    plan: PlanBuilder,
    ctx: DecideContext[AccountReviewConfig],
) -> _Outcome | None:
    """What the review does with the account: flag it, resolve its review, or (None) nothing,
    the skip saying why."""
    config = ctx.config
    engaged = _engaged(account, activities, ctx)
    review_date = account[config.needs_review_date_field]
    in_review = account[config.request_field] == config.needs_review_value
    if in_review and review_date:
        return _resolve(account, engaged, date.fromisoformat(review_date), holding, plan, ctx)
    if in_review and engaged:
        # Set to Needs Review by hand, without a date, on an account that is worked.
        since = f"in review with no {config.needs_review_date_field}"
        return _re_engaged(since, engaged, config, {})
    if engaged:
        plan.skip(account, "; ".join(engaged))
        return None
    return _flag(account, activities, ctx)


def _alert_context(
    account: Record, outcome: _Outcome, ae: Recipient, holding: Member, config: AccountReviewConfig
) -> dict[str, Any]:
    """What the AE reads: the outcome, the review's rules and how to answer it."""
    return {
        "stage": outcome.stage,
        "account": {"id": account["Id"], "name": account["Name"]},
        "ae": ae.name,
        "buying_stage": account[config.buying_stage_field],
        "review_days": config.review_days,
        "quiet_days": config.quiet_days,
        "holding_user": holding.name,
        "needs_review_value": config.needs_review_value,
        "add_value": config.add_value,
        "keep_value": config.keep_value,
        "drop_value": config.drop_value,
        **outcome.context,
    }


def decide(records: Records, ctx: DecideContext[AccountReviewConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Account")
    users = records["users"]
    holding = holding_user(f"plays.{ctx.play}.holding_user", config.holding_user, users)
    # Only to fail on a Username that is not in the org: a typo would silently review nothing.
    members_from_users(f"plays.{ctx.play}.ae_users", config.ae_users, users)
    activities = _activities(records)
    for account in records["accounts"]:
        outcome = _outcome(account, activities.get(account["Id"], []), holding, plan, ctx)
        if outcome is None:
            continue
        plan.change(account, outcome.targets, f"{outcome.stage}: ")
        ae = _ae(account)
        nobody = "" if ae else "; the owner is inactive: nobody to alert"
        plan.select(account, outcome.reason + nobody, outcome.stage)
        if ae is not None:
            plan.alert(
                config.template,
                account["Id"],
                outcome.stage,
                to=(ae,),
                reason=f"account review: {outcome.stage}",
                context=_alert_context(account, outcome, ae, holding, config),
            )
    return plan.build()


def requirements(config: AccountReviewConfig) -> Requirements:
    """For `revsched doctor`: the picklist values it filters and writes, named users and the
    fields it writes."""
    request_values = (
        config.needs_review_value,
        config.add_value,
        config.keep_value,
        config.drop_value,
    )
    return Requirements(
        values=(
            *(("Account", config.account_type_field, value) for value in config.account_types),
            *(("Account", config.buying_stage_field, v) for v in config.active_buying_stages),
            *(("Account", config.request_field, value) for value in request_values),
        ),
        users=(config.holding_user, *config.ae_users),
        writes=(("Account", "OwnerId"),),
    )


play = Play(
    name="account-review",
    summary="Flag named accounts nobody works as Needs Review; drop them after 30 days",
    config_model=AccountReviewConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
