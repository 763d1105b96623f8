"""job-changes: past buyers who changed jobs, matched, routed, tasked, enrolled, announced.

Seed 000, the Repeat Customer Play (LeanData FlowBuilder with UserGems and Outreach):
daily, the Leads and Contacts UserGems created or enriched whose past relationship is
one of the four in the relationship table are matched to the account they work at now.
A matched Lead is converted onto that account (no opportunity); an unassigned account
gets an AE and an SDR by round robin; the SDR (else the AE) gets a Task due in 48 hours;
the person is enrolled in the sequence for their persona (unless in an open deal or
already in a sequence); and the AE and SDR get the seed's Slack alert. Each person's job
change fires once: the key `job-changes:<email or id>:<job start date>` survives the
lead's conversion and is the Task's external key.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import Field

from revsched.account_matcher import (
    OnTie,
    account_keys,
    open_deal_matcher,
    person_keys,
)
from revsched.account_team import Team, account_team, nobody_free, team_recipients
from revsched.changed_person import (
    KEY_PREFIX,
    ChangedPerson,
    enrollment,
    left_to_others,
    match_account,
    persona_of,
    sequence_for,
)
from revsched.declared_writes import Writes
from revsched.dedupe.lexicon import FREE_EMAIL_DOMAINS
from revsched.job_change_alert import (
    alert_context,
    alert_variant,
    conversion,
    follow_up_task,
)
from revsched.ownership import Ownership
from revsched.plan import Plan
from revsched.plan_builder import PlanBuilder
from revsched.play import (
    DecideContext,
    Play,
    Record,
    RecordIndex,
    Records,
    Requirements,
    days_text,
)
from revsched.records import children
from revsched.roundrobin import round_robin, user_fields
from revsched.schedule import ScheduleField
from revsched.soql import FieldName, format_soql, user_lookup_fields
from revsched.task_fields import PersonTask
from revsched.usergems import UserGemsFields


class JobChangesConfig(UserGemsFields):
    schedule: ScheduleField = Field("daily 07:00", validate_default=True)
    # People delivered (created or enriched) this many days back are handled ...
    catch_up_days: int = Field(30, ge=0)
    # ... and those delivered up to this many days earlier are listed, not handled.
    report_missed_days: int = Field(30, ge=0)
    # UserGems' fields besides those of UserGemsFields.
    created_by_field: FieldName = "UserGems__Created_By_UG__c"
    lead_source_value: str = "UserGems"
    past_account_type_field: FieldName = "UserGems__Past_Account_Type__c"
    # The External ID field revsched upserts created records on: [org] key_field.
    key_field: FieldName = "Revsched_Key__c"
    # The past relationships handled, each with the definition the alert quotes (seed 000).
    relationships: dict[str, str] = Field(
        {
            "Past Champion": "A power user or champion identified as a key contact post-sale"
            " who has now moved to a new company.",
            "Closed Won Opp Contact": "Opportunity contacts on closed won opps. They were"
            " part of the buying committee and know the product's value.",
            "Open Opp Contact": "Opportunity contacts on open opps. They were evaluating the"
            " product when they moved.",
            "Closed Lost Opp Contact": "Opportunity contacts on closed lost opps. They were"
            " likely part of the buying committee, have a good understanding of the product"
            " and have already evaluated it.",
        },
        min_length=1,
    )
    # On customer accounts these relationships are people-signals' to handle.
    account_type_field: FieldName = "Type"
    customer_types: list[str] = ["Customer"]
    people_signals_relationships: list[str] = ["Past Champion"]
    # The account matcher: free-mail domains fall back to the company name.
    free_mail_domains: list[str] = sorted(FREE_EMAIL_DOMAINS)
    on_tie: OnTie = "ambiguous"
    # Unassigned: owned by these users, a queue, or an inactive user.
    holding_users: list[str] = ["revops@demo.revsched.dev"]
    integration_users: list[str] = ["integration@demo.revsched.dev"]
    ae_pool: str = "job-changes-ae"
    sdr_pool: str = "job-changes-sdr"
    sdr_field: Annotated[FieldName, Writes("Account")] = "SDR__c"
    assigned_reason_field: Annotated[FieldName, Writes("Account")] = "Account_Assigned_Reason__c"
    assigned_reason_value: str = "UserGems Round Robin"
    # A matched Lead becomes a Contact of the account with this Lead Status.
    converted_status: str = "Qualified"
    # Enrollment through the [enrollment] channel, sent by the SDR (else the AE); never for
    # people opted out, without email, or in a sequence. The salesforce-field channel
    # writes the sequence name into `sequence_field` for an Outreach trigger.
    sequence_field: Annotated[FieldName, Writes("Contact", "Lead")] = "Sequence_To_Enroll__c"
    sequenced_field: FieldName = "Actively_Being_Sequenced__c"
    opted_out_field: FieldName = "HasOptedOutOfEmail"
    # Persona -> sequence; a blank persona is read from the title (keyword -> persona).
    persona_sequences: dict[str, str] = {
        "Sales Leader": "UserGems - Sales Leaders",
        "RevOps": "UserGems - RevOps",
        "Marketing": "UserGems - Marketing",
    }
    title_personas: dict[str, str] = {
        "revenue operations": "RevOps",
        "sales operations": "RevOps",
        "revops": "RevOps",
        "sales": "Sales Leader",
        "revenue": "Sales Leader",
        "marketing": "Marketing",
    }
    default_sequence: str = "UserGems - Job Changers"
    # The SDR's Task: the 48-hour SLA.
    task_due_days: int = Field(2, ge=0)
    task_subject: str = "Follow up on job change: {name}"
    follow_up: list[str] = [
        "Please follow up within 48 hours",
        "Research the Contact's Past Account to see who they have relationships with, and"
        " ask for introductions if appropriate",
    ]
    template: str = "job_changes.j2"

    def pools_used(self) -> set[str]:
        return {self.ae_pool, self.sdr_pool}

    def person_fields(self) -> list[str]:
        """The Lead and Contact fields the play reads besides the standard ones."""
        return [
            self.created_by_field,
            self.relationship_field,
            self.job_start_field,
            self.past_account_field,
            self.past_account_type_field,
            self.past_title_field,
            self.persona_field,
            self.sequenced_field,
            self.opted_out_field,
            self.sequence_field,
        ]


# --- Queries ----------------------------------------------------------------------------


def _person_fields(config: JobChangesConfig) -> list[str]:
    standard = ["Id", "Name", "Email", "Title", *user_lookup_fields("OwnerId"), "LeadSource"]
    return [*standard, "CreatedDate", "LastModifiedDate", *config.person_fields()]


def _account_fields(config: JobChangesConfig, prefix: str = "") -> list[str]:
    return [
        f"{prefix}{name}"
        for name in (
            "Id",
            "Name",
            "Website",
            config.account_type_field,
            *user_lookup_fields("OwnerId"),
            *user_lookup_fields(config.sdr_field),
            config.assigned_reason_field,
            "LastActivityDate",
            "CreatedDate",
        )
    ]


def window_start(as_of: date, days: int) -> datetime:
    """The first moment of the day `days` before `as_of`, as a SOQL datetime bound."""
    return datetime.combine(as_of - timedelta(days=days), time(), tzinfo=UTC)


# Account Ids per follow-up query: its URL stays far below Salesforce's limit.
ACCOUNTS_PER_QUERY = 200
ACCOUNTS = "accounts"


def _accounts_select(config: JobChangesConfig) -> str:
    return (
        f"SELECT {', '.join(_account_fields(config))},"
        " (SELECT Id, Name, OwnerId, Owner.Name, Owner.Email FROM Opportunities"
        " WHERE IsClosed = false ORDER BY CloseDate, Id) FROM Account"
    )


def account_index(config: JobChangesConfig) -> RecordIndex:
    """Every account by website domain and normalized name, kept in the state store: a
    run reads only the candidates of the people it handles, never every account."""
    return RecordIndex(
        name="accounts",
        sobject="Account",
        fields=("Name", "Website"),
        keys=account_keys,
    )


def follow_ups(records: Records, ctx: DecideContext[JobChangesConfig]) -> dict[str, str]:
    """The accounts the people read may work at, fresh, by Id: their contacts' accounts,
    and the candidates the account index finds by email domain (free mail: company)."""
    ids: set[str] = set()
    keys: set[str] = set()
    free_mail = {d.lower() for d in ctx.config.free_mail_domains}
    for person in [*records.get("contacts", []), *records.get("leads", [])]:
        if person.get("AccountId"):
            ids.add(str(person["AccountId"]))
        else:
            keys |= person_keys(person.get("Email"), person.get("Company"), free_mail)
    found = ctx.lookup(keys) if ctx.lookup is not None and keys else {}
    ordered = sorted(ids.union(*found.values()))
    select = _accounts_select(ctx.config)
    queries = {
        f"{ACCOUNTS}{n // ACCOUNTS_PER_QUERY}": format_soql(
            f"{select} WHERE Id IN {{}} ORDER BY Id", ordered[n : n + ACCOUNTS_PER_QUERY]
        )
        for n in range(0, len(ordered), ACCOUNTS_PER_QUERY)
    }
    # No candidates: the query still runs (and doctor checks its fields), reading nothing.
    return queries or {f"{ACCOUNTS}0": f"{select} WHERE Id = null"}


def queries(ctx: DecideContext[JobChangesConfig]) -> dict[str, str]:
    config = ctx.config
    since = window_start(ctx.as_of, config.catch_up_days + config.report_missed_days)
    usergems = format_soql(
        f"({config.created_by_field} = true OR LeadSource = {{}})"
        f" AND {config.relationship_field} != null AND LastModifiedDate >= {{}}",
        config.lead_source_value,
        since,
    )
    person = _person_fields(config)
    pools = [ctx.pools[n] for n in sorted(config.pools_used()) if n in ctx.pools]
    usernames = {u.lower() for u in (*config.holding_users, *config.integration_users)}
    for pool in pools:
        usernames.update(u.lower() for u in pool.usernames)
    return {
        "contacts": f"SELECT {', '.join([*person, 'AccountId'])} FROM Contact"
        f" WHERE {usergems} ORDER BY LastModifiedDate, Id",
        "leads": f"SELECT {', '.join([*person, 'Company'])} FROM Lead"
        f" WHERE IsConverted = false AND {usergems} ORDER BY LastModifiedDate, Id",
        "tasks": format_soql(
            f"SELECT {config.key_field} FROM Task WHERE {config.key_field} LIKE {{}}",
            f"{KEY_PREFIX}:%",
        ),
        "users": format_soql(
            f"SELECT {', '.join(user_fields(pools))} FROM User WHERE Username IN {{}}",
            sorted(usernames),
        ),
    }


# --- Decide -----------------------------------------------------------------------------


def _skip(
    plan: PlanBuilder,
    person: ChangedPerson,
    reason: str,
    stage: str | None = None,
    kind: str | None = None,
) -> None:
    """The person is left alone, and why (None, for `return _skip(...)`)."""
    plan.skip(person.record, reason, stage, sobject=person.sobject, kind=kind)


def _handle(
    person: ChangedPerson,
    account: Record | None,
    how: str,
    relationship: str,
    start: date,
    team: Team,
    plan: PlanBuilder,
    ctx: DecideContext[JobChangesConfig],
) -> None:
    """Plan one selected job change: routing, conversion, Task, enrollment, alert, stage."""
    config = ctx.config
    stage = start.isoformat()
    deals = children(account, "Opportunities") if account else []
    deal = deals[0] if deals else None
    variant = alert_variant(person, deals, team, config)
    prefix = f"job change of {person.record['Name']}: "
    if account is not None:
        plan.change(account, team.changes, prefix, sobject="Account")
    else:
        plan.change(person.record, team.changes, prefix, sobject=person.sobject)
    if account is not None and team.ae is not None and person.sobject == "Lead":
        plan.convert(conversion(person, account, team.ae, how, config))
    elif account is not None and team.ae is not None:
        why = f"contact owner = account owner {team.ae.name}"
        plan.change(person.record, {"OwnerId": (team.ae.user_id, why)}, sobject="Contact")
    follower = team.sdr or team.ae
    assert follower is not None  # a team always has an SDR or an AE
    sequence, sequence_line = sequence_for(person, variant, config)
    # A sequence already asked for (the field holds it) is not asked for again.
    if sequence is not None and person.email and person.record[config.sequence_field] != sequence:
        why = f"{prefix}{persona_of(person, config)[1]}, sent by {follower.name}"
        plan.enroll(enrollment(person, person.email, sequence, follower, why, config))
    plan.create(
        "Task",
        person.key(start),
        follow_up_task(person, account, follower, ctx),
        reason=f"{follower.name} follows up within {days_text(config.task_due_days)}",
        parent_id=person.id,
    )
    plan.alert(
        config.template,
        person.id,
        stage,
        to=team_recipients(team, deal),
        reason=f"{relationship} started at a new company on {stage}",
        context=alert_context(
            person, account, relationship, team, variant, deal, sequence_line, config
        ),
    )
    plan.mark_fired(person.id, stage)
    reason = f"{relationship}, started {stage}; {how}; {variant.replace('_', ' ')}"
    plan.select(person.record, reason, stage, sobject=person.sobject)


def _screen(
    person: ChangedPerson,
    contact_emails: set[str],
    handled: set[str],
    planned: dict[str, str],
    plan: PlanBuilder,
    ctx: DecideContext[JobChangesConfig],
) -> tuple[str, date] | None:
    """(relationship, job start) of a job change to handle now; None when there is none,
    the skip saying why."""
    config = ctx.config
    relationship = person.record.get(config.relationship_field)
    if relationship not in config.relationships:
        why = f"past relationship {relationship!r} is not in the relationship table"
        return _skip(plan, person, why)
    if person.sobject == "Lead" and person.email in contact_emails:
        why = "a Contact with the same email is handled instead (Contact wins)"
        return _skip(plan, person, why)
    started = person.record.get(config.job_start_field)
    if not started:
        return _skip(plan, person, "UserGems gave no job start date")
    start = date.fromisoformat(str(started))
    stage = start.isoformat()
    if start > ctx.as_of:
        return _skip(plan, person, f"starts at the new company on {stage}: waits until then", stage)
    delivered = person.delivered()
    if delivered < ctx.as_of - timedelta(days=config.catch_up_days):
        why = f"delivered {delivered}, before the {config.catch_up_days}-day window: listed only"
        return _skip(plan, person, why, stage)
    key = person.key(start)
    if key in handled or (person.id, stage) in ctx.fired:
        return _skip(plan, person, f"already handled: Task {key} exists", stage)
    if key in planned:
        why = f"same person as {planned[key]} (same email): handled once"
        return _skip(plan, person, why, stage, "same person, handled once")
    planned[key] = str(person.record["Name"])
    return str(relationship), start


def decide(records: Records, ctx: DecideContext[JobChangesConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Contact")
    users = records["users"]
    ownership = Ownership.of(
        f"plays.{ctx.play}", config.holding_users, config.integration_users, users
    )
    robin = round_robin(
        config.pools_used(), ctx.pools, users, ctx.cursors, ctx.assigned_today, ctx.moment
    )
    # The follow-ups' chunks; an account read twice is one (by Id).
    accounts = {
        str(a["Id"]): a for name, rows in records.items() if name.startswith(ACCOUNTS) for a in rows
    }
    # By Id: an account found by two of the accounts queries' terms is one candidate.
    matcher = open_deal_matcher(accounts.values(), config)
    handled = {str(t[config.key_field]) for t in records["tasks"]}
    contacts = [ChangedPerson("Contact", r) for r in records["contacts"]]
    contact_emails = {p.email for p in contacts if p.email}
    # Task key -> whose it is: duplicate records of one person are handled once.
    planned: dict[str, str] = {}
    # Accounts round-robined in this run: a second person there joins the same team.
    assigned: dict[str, Team] = {}
    for person in [*contacts, *(ChangedPerson("Lead", r) for r in records["leads"])]:
        screened = _screen(person, contact_emails, handled, planned, plan, ctx)
        if screened is None:
            continue
        relationship, start = screened
        account, how = match_account(person, accounts, matcher)
        if left := left_to_others(person, account, relationship, config):
            _skip(plan, person, left[1], start.isoformat(), left[0])
            continue
        if account is not None and account["Id"] in assigned:
            team = replace(assigned[account["Id"]], changes={})
        else:
            team = account_team(account, person, ownership, robin, config)
        if team is None:
            _skip(plan, person, nobody_free(account, robin, config), start.isoformat())
            continue
        if account is not None and team.newly_assigned:
            assigned[account["Id"]] = team
        _handle(person, account, how, relationship, start, team, plan, ctx)
    return plan.build(cursors=robin.cursors, assignments=robin.assignments)


def requirements(config: JobChangesConfig) -> Requirements:
    """For `revsched doctor`: the values it selects on, users and pools, the fields it
    writes, the Convert Leads permission, and (with the outreach channel) the sequences and
    senders."""
    return Requirements(
        values=(
            ("Lead", "LeadSource", config.lead_source_value),
            ("Lead", "Status", config.converted_status),
            *(("Lead", config.relationship_field, r) for r in config.relationships),
        ),
        users=(*config.holding_users, *config.integration_users),
        pools=tuple(sorted(config.pools_used())),
        writes=tuple((sobject, "OwnerId") for sobject in ("Account", "Contact", "Lead")),
        creates=PersonTask.creates(),
        converts_leads=True,
        sequences=tuple(
            dict.fromkeys([*config.persona_sequences.values(), config.default_sequence])
        ),
        senders=(config.sdr_pool, config.ae_pool),
    )


play = Play(
    name="job-changes",
    summary="Past buyers who changed jobs: match, convert, route, Task, sequence and Slack",
    config_model=JobChangesConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
    follow_ups=follow_ups,
    index=account_index,
)
