"""lead-status-hygiene: keep seed 003's PLG + SLG lead statuses honest.

Seed 003, "PLG+SLG Lead Framework": the lead status says only what is happening
between the owner and the prospect, so four rules are policed daily, each one
switchable: R1 a Remarket lead needs a reason (the owner is told, then after a
week the manager; the reason is never guessed); R2 a Working S lead needs a
next step (a Task "Set the next follow-up"; untouched for two weeks, it goes in
the digest); R3 PLG leads belong to the product and Nurture to marketing, so a
seller owning, working or sequencing one is reported (and with `enforce`,
handed back); R4 every opportunity name carries its account's `@domain`
(renamed, or flagged when it names another domain or there is no website), and
open opportunities of one type on different accounts sharing a domain are
flagged as likely duplicates. Each owner (or manager) gets one digest a day and
RevOps one summary per rule. Each finding is keyed by rule, record and the date
its state began, so it is reported once to its person and once to RevOps.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from revsched.config import StrictModel
from revsched.findings import Finding, Reporting, finding_key, next_business_day
from revsched.name_findings import name_findings
from revsched.plan import Plan
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Play, PlayConfig, Record, Records, Requirements
from revsched.records import children
from revsched.roundrobin import active_recipients
from revsched.schedule import ScheduleField
from revsched.sellers import SalesPeople, hand_back_owner
from revsched.soql import FieldName, format_soql, relationship_name
from revsched.task_fields import LeadTask

RULES = {
    "remarket_reason": "R1 Remarket without a reason",
    "working_next_step": "R2 Working S without a next step",
    "plg_taken": "R3 PLG or Nurture lead worked by sales",
    "opportunity_names": "R4 Opportunity names and shared domains",
}


class Statuses(StrictModel):
    """Seed 003's statuses, as the org's Lead Status picklist spells them."""

    open_plg: str = "Open PLG"
    open_slg: str = "Open SLG"
    working_p: str = "Working P"
    working_s: str = "Working S"
    remarket: str = "Remarket"
    nurture: str = "Nurture"


class RemarketReasonRule(StrictModel):
    enabled: bool = True
    # Still without a reason this many days after entering Remarket: the manager is told.
    manager_after_days: int = Field(7, ge=1)


class NextStepRule(StrictModel):
    enabled: bool = True
    task_subject: str = "Set the next follow-up"
    task_status: str = "Not Started"
    task_priority: str = "Normal"
    # No activity for this many days: the lead is listed in the owner's digest.
    stale_days: int = Field(14, ge=1)


class PlgRule(StrictModel):
    enabled: bool = True
    # Sellers: users whose role (UserRole.Name) or profile (Profile.Name) is listed, and
    # these Usernames.
    seller_roles: list[str] = ["Account Executive", "Sales Development"]
    seller_profiles: list[str] = []
    seller_users: list[str] = []
    # Police Nurture (marketing only) the same way.
    include_nurture: bool = True
    # Hand the lead back to the PLG owner: this queue (DeveloperName) or this user
    # (Username), one of the two; report only when false.
    enforce: bool = False
    plg_queue: str = ""
    plg_owner: str = ""

    @model_validator(mode="after")
    def _owner_when_enforced(self) -> PlgRule:
        if self.enforce and bool(self.plg_queue) == bool(self.plg_owner):
            raise ValueError(
                "enforce = true needs plg_queue or plg_owner (one of them): the queue or user"
                " PLG leads go back to"
            )
        return self


class NameRule(StrictModel):
    enabled: bool = True
    # Rename names without `@<domain>`; false: flag them only.
    rename: bool = True
    # `@acme.co.uk` (true) or `@acme` (false): seed 003 writes both.
    keep_tld: bool = True
    website_field: FieldName = "Website"
    # Open opportunities of these types on different accounts sharing a domain are flagged.
    duplicate_types: list[str] = ["New Business"]
    opportunity_type_field: FieldName = "Type"


class LeadStatusHygieneConfig(PlayConfig):
    schedule: ScheduleField = Field("daily", validate_default=True)
    status_field: FieldName = "Status"
    statuses: Statuses = Field(default_factory=Statuses)
    remarket_reason_field: FieldName = "Remarket_Reason__c"
    remarket_reasons: list[str] = [
        "Unresponsive",
        "Too Small",
        "Wrong Use Case",
        "Wrong Persona",
        "Trash",
        "Unaware they took action",
    ]
    # The date the lead entered its status (a flow sets it); blank: its CreatedDate.
    status_date_field: FieldName = "Status_Date__c"
    sequenced_field: FieldName = "Actively_Being_Sequenced__c"
    manager_field: FieldName = "ManagerId"
    remarket_reason: RemarketReasonRule = Field(default_factory=RemarketReasonRule)
    working_next_step: NextStepRule = Field(default_factory=NextStepRule)
    plg_taken: PlgRule = Field(default_factory=PlgRule)
    opportunity_names: NameRule = Field(default_factory=NameRule)
    # RevOps (Usernames): one summary per rule a day.
    revops_users: list[str] = ["revops@demo.revsched.dev"]
    # The External ID field revsched upserts created records on: [org] key_field.
    key_field: FieldName = "Revsched_Key__c"
    template: str = "lead_status_hygiene.j2"
    summary_template: str = "lead_status_hygiene_summary.j2"


def queries(ctx: DecideContext[LeadStatusHygieneConfig]) -> dict[str, str]:
    config = ctx.config
    statuses = config.statuses
    policed = [
        *([statuses.remarket] if config.remarket_reason.enabled else []),
        *([statuses.working_s] if config.working_next_step.enabled else []),
        *([statuses.open_plg, statuses.working_p] if config.plg_taken.enabled else []),
        *(
            [statuses.nurture]
            if config.plg_taken.enabled and config.plg_taken.include_nurture
            else []
        ),
    ]
    manager = relationship_name(config.manager_field)
    found = {
        "users": f"SELECT Id, Name, Username, Email, IsActive, UserRole.Name, Profile.Name,"
        f" {config.manager_field}, {manager}.Name, {manager}.Email, {manager}.IsActive"
        " FROM User ORDER BY Id",
    }
    if policed:
        found["leads"] = format_soql(
            f"SELECT Id, Name, Company, {config.status_field}, {config.remarket_reason_field},"
            f" {config.status_date_field}, CreatedDate, LastActivityDate, OwnerId,"
            f" {config.sequenced_field},"
            f" (SELECT OwnerId, ActivityDate, IsClosed, {config.key_field} FROM Tasks),"
            " (SELECT OwnerId FROM Events)"
            f" FROM Lead WHERE IsConverted = false AND {config.status_field} IN {{}}"
            " ORDER BY Name, Id",
            policed,
        )
    if config.plg_taken.enabled and config.plg_taken.enforce and config.plg_taken.plg_queue:
        found["queues"] = format_soql(
            "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue' AND DeveloperName = {}",
            config.plg_taken.plg_queue,
        )
    names = config.opportunity_names
    if names.enabled:
        found["opportunities"] = (
            f"SELECT Id, Name, {names.opportunity_type_field}, AccountId, Account.Name,"
            f" Account.{names.website_field}, OwnerId, CreatedDate"
            " FROM Opportunity WHERE IsClosed = false ORDER BY Name, Id"
        )
    return found


def _began(lead: Record, config: LeadStatusHygieneConfig) -> date:
    value = lead[config.status_date_field] or lead["CreatedDate"]
    return date.fromisoformat(str(value)[:10])


def _remarket(
    lead: Record, people: SalesPeople, ctx: DecideContext[LeadStatusHygieneConfig]
) -> list[Finding]:
    config = ctx.config
    if lead[config.remarket_reason_field]:
        return []
    began = _began(lead, config)
    days = (ctx.as_of - began).days
    owner = people.user(lead["OwnerId"])
    found = [
        Finding(
            "remarket_reason",
            "Lead",
            lead,
            f"remarket_reason {began}",
            f"in Remarket since {began} without a reason: set {config.remarket_reason_field}",
            people.told(lead["OwnerId"]),
        )
    ]
    manager = people.manager(lead["OwnerId"])
    if days >= config.remarket_reason.manager_after_days and manager:
        found.append(
            Finding(
                "remarket_reason",
                "Lead",
                lead,
                f"remarket_reason manager {began}",
                f"still without a remarket reason after {days} days"
                + (f" (owner: {owner['Name']})" if owner else " (owned by a queue)"),
                (manager["Id"],),
                "manager",
            )
        )
    return found


def _next_step(
    lead: Record,
    people: SalesPeople,
    plan: PlanBuilder,
    ctx: DecideContext[LeadStatusHygieneConfig],
) -> list[Finding]:
    """Findings and the Task for a Working S lead without an open Task dated today or later;
    none due: the skip says why."""
    config = ctx.config
    rule = config.working_next_step
    status = config.statuses.working_s
    tasks = children(lead, "Tasks")
    planned = [
        t
        for t in tasks
        if not t["IsClosed"] and t["ActivityDate"] and t["ActivityDate"] >= ctx.as_of.isoformat()
    ]
    if planned:
        plan.skip(lead, f"{status}: next step planned on {min(t['ActivityDate'] for t in planned)}")
        return []
    began = _began(lead, config)
    owner = people.user(lead["OwnerId"])
    if owner is None:
        why = "owned by a queue or an inactive user: nobody to give the Task to"
        plan.skip(lead, f"{status}: {why}")
        return []
    key = finding_key(ctx.play, "working_next_step", lead["Id"], began)
    found: list[Finding] = []
    if key not in {t[config.key_field] for t in tasks}:
        due = next_business_day(ctx.as_of)
        fields = LeadTask(
            Subject=rule.task_subject,
            ActivityDate=due.isoformat(),
            OwnerId=owner["Id"],
            WhoId=lead["Id"],
            Status=rule.task_status,
            Priority=rule.task_priority,
        ).values()
        plan.create("Task", key, fields, f"{status} without a next step", parent_id=lead["Id"])
        found.append(
            Finding(
                "working_next_step",
                "Lead",
                lead,
                f"working_next_step {began}",
                f'no next step: Task "{rule.task_subject}" due {due}',
                (owner["Id"],),
            )
        )
    last = lead["LastActivityDate"]
    if last is None or (ctx.as_of - date.fromisoformat(last)).days >= rule.stale_days:
        found.append(
            Finding(
                "working_next_step",
                "Lead",
                lead,
                f"working_next_step stale {began}",
                f"no activity in {rule.stale_days} days" + (f" (last {last})" if last else ""),
                (owner["Id"],),
            )
        )
    if not found:
        plan.skip(lead, f"{status}: its follow-up Task exists")
    return found


def _plg_taken(
    lead: Record,
    people: SalesPeople,
    hand_back: Record | None,
    plan: PlanBuilder,
    ctx: DecideContext[LeadStatusHygieneConfig],
) -> list[Finding]:
    """R3: a PLG or Nurture lead a seller owns, works or sequences; with `enforce`, a PLG
    one goes back to the PLG owner (`hand_back`: the queue or user)."""
    config = ctx.config
    status = lead[config.status_field]
    signs = []
    seller = None
    if lead["OwnerId"] in people.sellers:
        seller = lead["OwnerId"]
        signs.append("owned by a seller")
    activity = [
        a["OwnerId"]
        for a in (*children(lead, "Tasks"), *children(lead, "Events"))
        if a["OwnerId"] in people.sellers and not a.get(config.key_field)
    ]
    if activity:
        seller = seller or activity[0]
        signs.append("worked by a seller")
    if lead[config.sequenced_field]:
        signs.append("in a sales sequence")
    if not signs:
        return []
    began = _began(lead, config)
    seller_name = people.by_id[seller]["Name"] if seller else None
    owner_of = "marketing" if status == config.statuses.nurture else "the product"
    what = f"{status} lead ({owner_of} owns it) {', '.join(signs)}" + (
        f": {seller_name}" if seller_name else ""
    )
    manager = people.manager(seller)
    found = [
        Finding(
            "plg_taken",
            "Lead",
            lead,
            f"plg_taken {began}",
            what,
            (manager["Id"],) if manager else (),
            "manager",
        )
    ]
    if hand_back is not None and status != config.statuses.nurture:
        why = f"{status}: back to {hand_back['Name']}"
        plan.change(lead, {"OwnerId": (hand_back["Id"], why)})
    return found


def decide(records: Records, ctx: DecideContext[LeadStatusHygieneConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Lead")
    statuses = config.statuses
    rule = f"plays.{ctx.play}.plg_taken"
    people = SalesPeople(records["users"], config.manager_field, config.plg_taken, rule)
    hand_back = hand_back_owner(records, config.plg_taken, rule)
    key = f"plays.{ctx.play}.revops_users"
    revops = active_recipients("RevOps", key, config.revops_users, records["users"])
    findings: list[Finding] = []
    for lead in records.get("leads", []):
        status = lead[config.status_field]
        if status == statuses.remarket:
            findings += _remarket(lead, people, ctx)
        elif status == statuses.working_s:
            findings += _next_step(lead, people, plan, ctx)
        else:
            findings += _plg_taken(lead, people, hand_back, plan, ctx)
    if "opportunities" in records:
        findings += name_findings(records["opportunities"], config.opportunity_names, people, plan)
    reporting = Reporting(
        rules=RULES,
        users=people.by_id,
        revops=revops,
        revops_key=key,
        digest_template=config.template,
        summary_template=config.summary_template,
        about="lead status and opportunity name findings",
    )
    reporting.tell(findings, plan)
    return plan.build()


def requirements(config: LeadStatusHygieneConfig) -> Requirements:
    """For `revsched doctor`: the statuses and reasons the rules act on, the key its Tasks'
    subquery reads, what it writes and creates, RevOps."""
    statuses = config.statuses
    names, plg, next_step = config.opportunity_names, config.plg_taken, config.working_next_step
    return Requirements(
        fields=(("Task", config.key_field),),
        values=(
            *(("Lead", config.status_field, s) for s in statuses.model_dump().values()),
            *(("Lead", config.remarket_reason_field, r) for r in config.remarket_reasons),
            *(
                ("Opportunity", names.opportunity_type_field, kind)
                for kind in (names.duplicate_types if names.enabled else ())
            ),
            *(
                (
                    ("Task", "Status", next_step.task_status),
                    ("Task", "Priority", next_step.task_priority),
                )
                if next_step.enabled
                else ()
            ),
        ),
        users=(
            *config.revops_users,
            *plg.seller_users,
            *((plg.plg_owner,) if plg.enabled and plg.enforce and plg.plg_owner else ()),
        ),
        queues=(plg.plg_queue,) if plg.enabled and plg.enforce and plg.plg_queue else (),
        records=tuple(("Profile", "Name", p) for p in plg.seller_profiles) if plg.enabled else (),
        writes=(
            *((("Opportunity", "Name"),) if names.enabled and names.rename else ()),
            *((("Lead", "OwnerId"),) if plg.enabled and plg.enforce else ()),
        ),
        creates=LeadTask.creates() if next_step.enabled else (),
    )


play = Play(
    name="lead-status-hygiene",
    summary="Police seed 003's PLG+SLG lead statuses and @domain opportunity names",
    config_model=LeadStatusHygieneConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
)
