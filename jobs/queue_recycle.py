"""queue-recycle: move leads Sales Dev no longer works to their holding queues.

Seed 001, "Queue assignment": weekly, leads in Recycle, Bad Data, Ineligible,
Inquiry or Disqualified that are not in an active sequence and are still owned
by a Sales Dev user go to the queue for their status until they re-MQL, so the
reps' views hold only leads they work. Each rep's manager gets one digest of
what left the team's books, counted by status, listing each lead once: a rerun
(after a kill, or a saved plan applied again) lists none a digest of the week
already listed; a second run in the week that moves more sends its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from revsched.errors import ConfigError
from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements, iso_week
from revsched.roundrobin import members_from_users
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, relationship_name, users_filter

# Lead status -> DeveloperName of the queue (Group of Type Queue) such leads wait in
# (route-leads sends non-MQLs to the same queues).
HOLDING_QUEUES = {
    "Recycle": "Recycle_Queue",
    "Bad Data": "Bad_Data_Queue",
    "Ineligible": "Ineligible_Queue",
    "Inquiry": "Inquiry_Queue",
    "Disqualified": "Disqualified_Queue",
}


class QueueRecycleConfig(PlayConfig):
    schedule: ScheduleField = Field("weekly", validate_default=True)
    status_field: FieldName = "Status"
    status_queues: dict[str, str] = Field(HOLDING_QUEUES, min_length=1)
    # Leads with this checkbox set are in an active sequence and stay with their rep.
    sequenced_field: FieldName = "Actively_Being_Sequenced__c"
    # Sales Dev users: everyone whose role (UserRole.Name) is listed, and these Usernames.
    sales_dev_roles: list[str] = ["Sales Development"]
    sales_dev_users: list[str] = []
    # The user lookup on User naming who gets a rep's digest.
    manager_field: FieldName = "ManagerId"
    template: str = "queue_recycle.j2"

    @model_validator(mode="after")
    def _some_sales_dev(self) -> QueueRecycleConfig:
        if not (self.sales_dev_roles or self.sales_dev_users):
            raise ValueError("set sales_dev_roles or sales_dev_users: whose leads to recycle")
        return self


def queries(ctx: DecideContext[QueueRecycleConfig]) -> dict[str, str]:
    config = ctx.config
    manager = relationship_name(config.manager_field)
    sales_dev = users_filter(config.sales_dev_roles, config.sales_dev_users)
    return {
        "leads": format_soql(
            f"SELECT Id, Name, Company, OwnerId, {config.status_field}, {config.sequenced_field}"
            f" FROM Lead WHERE {config.status_field} IN {{}} AND IsConverted = false"
            # The built filter goes in as a literal: a brace in a value is no placeholder.
            " AND OwnerId IN (SELECT Id FROM User WHERE {:literal})"
            f" ORDER BY {config.status_field}, Name, Id",
            list(config.status_queues),
            sales_dev,
        ),
        "sales_dev": f"SELECT Id, Name, Username, Email, IsActive, {config.manager_field},"
        f" {manager}.Name, {manager}.Email, {manager}.IsActive"
        f" FROM User WHERE {sales_dev} ORDER BY Name, Id",
        "queues": format_soql(
            "SELECT Id, Name, DeveloperName FROM Group"
            " WHERE Type = 'Queue' AND DeveloperName IN {} ORDER BY DeveloperName",
            sorted(set(config.status_queues.values())),
        ),
    }


def _queues(records: Records, ctx: DecideContext[QueueRecycleConfig]) -> dict[str, Record]:
    """Status -> its queue; a queue missing from the org is a config error, before any write."""
    config = ctx.config
    by_name = {q["DeveloperName"]: q for q in records["queues"]}
    for status, developer_name in config.status_queues.items():
        if developer_name not in by_name:
            raise ConfigError(
                f"plays.{ctx.play}.status_queues.{status}: no queue with DeveloperName"
                f" {developer_name!r} in the org"
            )
    return {status: by_name[name] for status, name in config.status_queues.items()}


def _manager(rep: Record, config: QueueRecycleConfig) -> Recipient | None:
    """The rep's manager, when there is an active one to send the digest to."""
    manager = rep[relationship_name(config.manager_field)]
    if not rep[config.manager_field] or not manager["IsActive"]:
        return None
    return Recipient(
        role="manager",
        user_id=rep[config.manager_field],
        name=manager["Name"],
        email=manager["Email"],
    )


def _digest_context(
    manager: Recipient,
    leads: list[tuple[Record, Record]],
    queues: dict[str, Record],
    ctx: DecideContext[QueueRecycleConfig],
) -> dict[str, Any]:
    """What the manager reads: the team's leads moved, a row each that the template counts
    by status (with its queue) and by rep, so a digest told without the leads whose write
    failed counts only those moved."""
    config = ctx.config
    return {
        "manager": manager.name,
        "week": iso_week(ctx.as_of),
        "moved": [
            {"lead_id": lead["Id"], "status": lead[config.status_field], "rep": rep["Name"]}
            for lead, rep in leads
        ],
        "queues": [
            {"status": status, "queue": queues[status]["Name"]} for status in config.status_queues
        ],
    }


def decide(records: Records, ctx: DecideContext[QueueRecycleConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Lead")
    queues = _queues(records, ctx)
    # Only to fail on a Username that is not in the org: a typo would silently recycle nothing.
    members_from_users(
        f"plays.{ctx.play}.sales_dev_users", config.sales_dev_users, records["sales_dev"]
    )
    reps = {user["Id"]: user for user in records["sales_dev"]}
    by_manager: dict[str, tuple[Recipient, list[tuple[Record, Record]]]] = {}
    for lead in records["leads"]:
        rep = reps[lead["OwnerId"]]
        status = lead[config.status_field]
        if lead[config.sequenced_field]:
            plan.skip(
                lead,
                f"{status} lead of {rep['Name']} is in an active sequence"
                f" ({config.sequenced_field} = true)",
                kind=f"{status} lead in an active sequence",
            )
            continue
        queue = queues[status]
        manager = _manager(rep, config)
        if manager is not None:
            by_manager.setdefault(rep[config.manager_field], (manager, []))[1].append((lead, rep))
        plan.select(
            lead,
            f"{status}, not in a sequence, owned by Sales Dev user {rep['Name']}"
            + ("" if manager else "; no active manager to tell"),
        )
        plan.change(
            lead, {"OwnerId": (queue["Id"], f"{status}: to {queue['Name']} until it re-MQLs")}
        )
    # Each manager's digest lists each lead once: none a digest of the week already listed.
    for manager, leads in by_manager.values():
        new = [(lead, rep) for lead, rep in leads if not plan.listed_this_week(lead["Id"])]
        context = _digest_context(manager, new, queues, ctx)
        ids = [lead["Id"] for lead, _rep in new]
        plan.weekly_digest(
            config.template, (manager,), "weekly queue recycling digest", ids, context
        )
    return plan.build()


def requirements(config: QueueRecycleConfig) -> Requirements:
    """For `revsched doctor`: the lead statuses it recycles, their queues, the named users."""
    return Requirements(
        values=tuple(("Lead", config.status_field, status) for status in config.status_queues),
        users=tuple(config.sales_dev_users),
        queues=tuple(dict.fromkeys(config.status_queues.values())),
        writes=(("Lead", "OwnerId"),),
    )


play = Play(
    name="queue-recycle",
    summary="Move leads Sales Dev no longer works to the queue for their status",
    config_model=QueueRecycleConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
