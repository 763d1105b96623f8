"""route-leads: give every new MQL its SDR within 15 minutes, as seed 001's LeanData flow did.

A poller: each run reads the unconverted Leads modified since the last fully applied run
(its watermark, minus an overlap) and those that joined a partner campaign since, routes
the ones with a routing event (never routed, or an MQL date or partner campaign membership
later than `Last_Routed_Date__c`, which lives in Salesforce, so a lost local state cannot
route a lead twice), and leaves the rest alone. Validation first (each failure a listed
reason), then the first matching rule: partner, US PubSec, holding queue for non-MQLs,
the account's working BDR, country pool, default pool (both in revsched.lead_routing).
The SDR gets a DM on each MQL assigned; RevOps a daily digest of the leads left unrouted
and why (revsched.routing_digest).

Accounts are matched through an index of account domains and names kept between runs in
the state store (revsched.record_index: built once, then refreshed from the accounts
changed since): a run looks its leads' keys up there, reads just those candidates by Id,
and the shared account matcher decides among them, so a run never reads the whole org.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import Field, field_validator

from revsched.account_matcher import OnTie, account_keys, open_deal_matcher
from revsched.declared_writes import Writes
from revsched.dedupe.lexicon import FREE_EMAIL_DOMAINS, SHARED_HOSTS
from revsched.jobs.queue_recycle import HOLDING_QUEUES
from revsched.lead_routing import (
    Router,
    checked_queues,
    invalid_reason,
    iso_country_pools,
    lead_keys,
    mql_alert_context,
    placeholder_company,
    route_by_rules,
    route_targets,
    routing_event,
)
from revsched.plan import Plan, Recipient
from revsched.plan_builder import PlanBuilder
from revsched.play import (
    DecideContext,
    Play,
    PlayConfig,
    Record,
    RecordIndex,
    Records,
    Requirements,
)
from revsched.roundrobin import members_from_users, round_robin, user_fields
from revsched.routing_digest import digest_due, revops_digest, unrouted_row
from revsched.schedule import ScheduleField
from revsched.soql import MAX_QUERY_URI as MAX_QUERY_URI  # tests check queries against it
from revsched.soql import FieldName, format_soql, id_chunks, relationship_name

# Accounts read per candidate query are named accounts_0, accounts_1, ...
ACCOUNTS = "accounts_"
# Leads whose writes failed in earlier runs, read again by Id: retried_0, retried_1, ...
RETRIED = "retried_"


class RouteLeadsConfig(PlayConfig):
    schedule: ScheduleField = Field("every 15 minutes", validate_default=True)
    # Leads modified since the last fully applied run minus this are read again.
    overlap_minutes: int = Field(5, ge=0)
    # First run, or a new state store: leads modified in these days are read.
    catch_up_days: int = Field(30, ge=1)
    # A lead whose write fails is read again by Id in the next runs (the watermark moves
    # on), this many runs in all; then it is listed unrouted with the error, and routes
    # again when it next changes.
    retry_runs: int = Field(5, ge=1)
    # Adopting the play on an org with history: leads created before this moment count as
    # routed then (LeanData, or people, owned them), so only later MQLs route them.
    live_since: datetime | None = None
    # Lead fields
    status_field: FieldName = "Status"
    country_field: FieldName = "Country"
    mql_date_field: FieldName = "MQL_Date__c"
    last_routed_field: Annotated[FieldName, Writes("Lead")] = "Last_Routed_Date__c"
    routing_reason_field: Annotated[FieldName, Writes("Lead")] = "Routing_Reason__c"
    matched_account_field: Annotated[FieldName, Writes("Lead")] = "Matched_Account__c"
    do_not_route_field: FieldName = "Do_Not_Route__c"
    person_score_field: FieldName = "Person_Score__c"
    sequenced_field: FieldName = "Actively_Being_Sequenced__c"
    moment_field: FieldName = "Last_Interesting_Moment__c"
    # Validation. New leads: created by one of these users, score at least min_score.
    integration_users: list[str] = Field(["integration@demo.revsched.dev"], min_length=1)
    min_person_score: float = 0
    # A blank or placeholder Company (any case) is set to the standard value.
    placeholder_companies: list[str] = ["unknown", "n/a", "na", "none", "-", "?", "[[unknown]]"]
    standard_company: str = "[[unknown]]"
    # Updated leads: statuses of a lead Sales Dev is working, left alone.
    working_statuses: list[str] = ["Accepted", "Qualifying", "Qualified"]
    # Last interesting moment -> "suppress" (not routed) or a queue's DeveloperName.
    moment_rules: dict[str, str] = {
        "Unsubscribed": "suppress",
        "Email Bounced": "suppress",
        "Support Request": "Support_Queue",
    }
    # Moments that are an inbound request: always the SDR path, never the partner's.
    inbound_moments: list[str] = ["Contact Sales", "Demo Request"]
    # Rule 1, partner (Vartopia): campaigns and the fields written.
    mdf_field: FieldName = "Will_there_be_MDF_funding__c"
    joint_event_field: FieldName = "Is_a_Channel_Partner_Involved__c"
    partner_yes: str = "Yes"
    partner_trial_campaigns: list[str] = ["Partner - Trial - Self-managed"]
    partner_account_field: FieldName = "Partner_Account__c"
    share_status_field: Annotated[FieldName, Writes("Lead")] = "Prospect_Share_Status__c"
    share_status_value: str = "Sending to Partner"
    partner_status_field: Annotated[FieldName, Writes("Lead")] = "Partner_Prospect_Status__c"
    partner_status_value: str = "Qualifying"
    partner_queue: str = "Partner_Queue"
    # Rule 2: accounts flagged US PubSec -> this pool, whatever the status.
    pubsec_field: FieldName = "Is_US_PubSec__c"
    pubsec_pool: str = "route-leads-pubsec"
    # Rule 3: non-MQL leads wait in the queue for their status (queue-recycle's table).
    status_queues: dict[str, str] = Field({"Open": "Inquiry_Queue", **HOLDING_QUEUES}, min_length=1)
    # Rule 4: the account's BDR while they actively work it.
    bdr_field: FieldName = "BDR_Assigned__c"
    bdr_status_field: FieldName = "BDR_Prospecting_Status__c"
    bdr_working_value: str = "Actively Working"
    # Rule 5: ISO country code (any spelling in config: "USA" is "US") -> pool; else default.
    country_pools: dict[str, str] = {
        "US": "route-leads-amer",
        "CA": "route-leads-amer",
        "GB": "route-leads-emea",
        "DE": "route-leads-emea",
        "FR": "route-leads-emea",
    }
    default_pool: str = "route-leads-default"
    # Account matching (the people plays' matcher, with the dedupe plays' shared hosts).
    account_type_field: FieldName = "Type"
    customer_types: list[str] = ["Customer"]
    free_mail_domains: list[str] = sorted(FREE_EMAIL_DOMAINS)
    shared_hosts: list[str] = list(SHARED_HOSTS)
    on_tie: OnTie = "ambiguous"
    # Alerts: the SDR's DM on an MQL assigned; RevOps' daily digest from this time on.
    template: str = "route_leads.j2"
    revops_users: list[str] = ["revops@demo.revsched.dev"]
    digest_time: time = time(8)
    digest_template: str = "route_leads_digest.j2"
    digest_rows: int = Field(50, ge=1)

    @field_validator("live_since")
    @classmethod
    def _aware(cls, moment: datetime | None) -> datetime | None:
        """A moment without an offset is UTC, as Salesforce stores datetimes."""
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    @field_validator("country_pools")
    @classmethod
    def _iso_countries(cls, pools: dict[str, str]) -> dict[str, str]:
        """Keys in any spelling we know ("USA", "Germany") become ISO codes."""
        return iso_country_pools(pools)

    def pools_used(self) -> set[str]:
        return {self.pubsec_pool, self.default_pool, *self.country_pools.values()}

    def queues_used(self) -> list[str]:
        special = [q for q in self.moment_rules.values() if q != "suppress"]
        return sorted({self.partner_queue, *self.status_queues.values(), *special})

    def lead_fields(self) -> list[str]:
        """The Lead fields read besides the standard ones."""
        return [
            self.mql_date_field,
            self.last_routed_field,
            self.routing_reason_field,
            self.matched_account_field,
            self.do_not_route_field,
            self.person_score_field,
            self.sequenced_field,
            self.moment_field,
            self.partner_account_field,
            self.share_status_field,
            self.partner_status_field,
        ]


# --- Queries ----------------------------------------------------------------------------


def since(ctx: DecideContext[RouteLeadsConfig]) -> datetime:
    """Where this run reads from: the watermark minus the overlap, else the catch-up window."""
    config = ctx.config
    if ctx.watermark is not None:
        return ctx.watermark.astimezone(UTC) - timedelta(minutes=config.overlap_minutes)
    return datetime.combine(ctx.as_of - timedelta(days=config.catch_up_days), time(), UTC)


def _partner_filter(config: RouteLeadsConfig) -> str:
    """CampaignMember's condition for a partner campaign (MDF, joint event, named trial)."""
    return format_soql(
        f"(Campaign.{config.mdf_field} = {{yes}} OR Campaign.{config.joint_event_field} = {{yes}}"
        " OR Campaign.Name IN {trials})",
        yes=config.partner_yes,
        trials=config.partner_trial_campaigns,
    )


def _lead_select(config: RouteLeadsConfig) -> str:
    standard = ["Id", "Name", "Company", "Title", "Email", config.country_field]
    standard += [config.status_field, "OwnerId", "Owner.Name", "CreatedById", "CreatedBy.Name"]
    standard += ["CreatedDate", "LastModifiedDate"]
    members = (
        f"(SELECT Id, CampaignId, CreatedDate, Campaign.Name, Campaign.{config.mdf_field},"
        f" Campaign.{config.joint_event_field} FROM CampaignMembers"
        f" WHERE {_partner_filter(config)} ORDER BY CreatedDate DESC, Id)"
    )
    return f"SELECT {', '.join([*standard, *config.lead_fields()])}, {members} FROM Lead"


def queries(ctx: DecideContext[RouteLeadsConfig]) -> dict[str, str]:
    config = ctx.config
    start = since(ctx)
    select = _lead_select(config)
    usernames = {u.lower() for u in (*config.integration_users, *config.revops_users)}
    pools = [ctx.pools[n] for n in sorted(config.pools_used()) if n in ctx.pools]
    for pool in pools:
        usernames.update(u.lower() for u in pool.usernames)
    found = {
        # SystemModstamp, not LastModifiedDate: Salesforce indexes it, and it moves on
        # every change (system ones too), so a selective read of what changed.
        # Built parts go in as literals: a brace in a campaign name is no placeholder.
        "leads": format_soql(
            "{select:literal} WHERE IsConverted = false AND SystemModstamp >= {start}"
            " ORDER BY SystemModstamp, Id",
            select=select,
            start=start,
        ),
        # Joining a campaign does not touch the Lead: its members are read on their own.
        "campaign_leads": format_soql(
            "{select:literal} WHERE IsConverted = false AND Id IN (SELECT LeadId FROM"
            " CampaignMember WHERE CreatedDate >= {start} AND {partner:literal}) ORDER BY Id",
            select=select,
            start=start,
            partner=_partner_filter(config),
        ),
        "users": format_soql(
            f"SELECT {', '.join(user_fields(pools))} FROM User WHERE Username IN {{}}",
            sorted(usernames),
        ),
        "queues": format_soql(
            "SELECT Id, Name, DeveloperName FROM Group"
            " WHERE Type = 'Queue' AND DeveloperName IN {} ORDER BY DeveloperName",
            config.queues_used(),
        ),
    }
    for n, chunk in enumerate(id_chunks(select, ctx.retries)):
        found[f"{RETRIED}{n}"] = format_soql(
            "{:literal} WHERE IsConverted = false AND Id IN {} ORDER BY Id", select, chunk
        )
    if digest_due(ctx):
        # The day's leads still waiting for routing, once a day, for the digest (and a
        # second chance for those no pool member could take earlier).
        day = datetime.combine(ctx.as_of - timedelta(days=1), ctx.config.digest_time, UTC)
        found["unrouted"] = format_soql(
            "{select:literal} WHERE IsConverted = false AND SystemModstamp >= {day} AND"
            f" ({config.last_routed_field} = null OR {config.mql_date_field} >= {{day}})"
            " ORDER BY SystemModstamp, Id",
            select=select,
            day=day,
        )
    return found


def _account_select(config: RouteLeadsConfig) -> str:
    bdr = relationship_name(config.bdr_field)
    fields = ["Id", "Name", "Website", config.account_type_field, "LastActivityDate"]
    fields += ["CreatedDate", config.pubsec_field, config.bdr_field, config.bdr_status_field]
    fields += [f"{bdr}.Name", f"{bdr}.Email", f"{bdr}.IsActive"]
    opportunities = "(SELECT Id FROM Opportunities WHERE IsClosed = false LIMIT 1)"
    return f"SELECT {', '.join(fields)}, {opportunities} FROM Account"


def account_index(config: RouteLeadsConfig) -> RecordIndex:
    shared = frozenset(h.lower() for h in config.shared_hosts)
    return RecordIndex(
        name="accounts",
        sobject="Account",
        fields=("Name", "Website"),
        keys=lambda account: account_keys(account, shared),
    )


def follow_ups(records: Records, ctx: DecideContext[RouteLeadsConfig]) -> dict[str, str]:
    """The candidate accounts of the leads read, by Id from the account index (as few
    queries as fit in a URL), read fresh for their BDR, PubSec flag and type."""
    config = ctx.config
    keys: set[str] = set()
    for lead in _leads_read(records):
        keys |= lead_keys(lead, config)
    found = ctx.lookup(keys) if ctx.lookup is not None and keys else {}
    ids = {record_id for hits in found.values() for record_id in hits}
    select = _account_select(config)
    queries = {
        f"{ACCOUNTS}{n}": format_soql("{:literal} WHERE Id IN {} ORDER BY Id", select, chunk)
        for n, chunk in enumerate(id_chunks(select, ids))
    }
    # No candidates: the query still runs (and doctor checks its fields), reading nothing.
    return queries or {f"{ACCOUNTS}0": f"{select} WHERE Id = null"}


# --- Decide -----------------------------------------------------------------------------


def _leads_read(records: Records) -> Iterator[Record]:
    """The leads every query read: those that changed first, then those read again by Id."""
    retried = sorted(name for name in records if name.startswith(RETRIED))
    for name in ("leads", "campaign_leads", "unrouted", *retried):
        yield from records.get(name, [])


def _given_up(lead: Record, ctx: DecideContext[RouteLeadsConfig]) -> str | None:
    """Why a lead read only to retry its write is left alone: it failed in retry_runs runs."""
    retry = ctx.retries.get(lead["Id"])
    if retry is None or retry.attempts < ctx.config.retry_runs:
        return None
    return (
        f"not written in {retry.attempts} runs ({retry.error}); routed again when it next changes"
    )


def _route_lead(
    lead: Record,
    event: datetime,
    plan: PlanBuilder,
    unrouted: list[tuple[Record, str]],
    org: Router,
) -> None:
    """Route one lead by the rules, or list why not (and, unless a user entered it by hand,
    keep it for RevOps' digest)."""
    config, ctx = org.config, plan.ctx
    stage = event.astimezone(UTC).isoformat(timespec="seconds")
    new = not lead[config.last_routed_field]
    if new and lead["CreatedById"] not in org.integration_ids:
        # Someone entered it by hand: theirs, not routing's (and not the digest's).
        who = (lead["CreatedBy"] or {}).get("Name") or "a user"
        plan.skip(lead, f"new lead not created by an integration user (created by {who})", stage)
        return
    invalid = invalid_reason(lead, new, org)
    company = None if placeholder_company(lead, config) else lead["Company"]
    match = org.matcher.match(lead["Email"], company)
    route, why_not = (None, invalid) if invalid else route_by_rules(lead, match.account, org)
    if route is None:
        plan.skip(lead, why_not, stage)
        unrouted.append((lead, why_not))
        return
    kind = "new lead" if new else "re-routed"
    plan.select(
        lead,
        f"{kind}: {route.reason} ({route.detail}); {match.reason}; event {stage}",
        # Counted by rule in the run's summary; the event keys the SDR's alert.
        route.reason,
    )
    # Never before the event it routes (an --as-of run in the past): it must not route again.
    routed = max(ctx.moment, event)
    plan.change(lead, route_targets(lead, route, match, routed, org))
    if route.user and lead[config.mql_date_field]:
        plan.alert(
            config.template,
            lead["Id"],
            f"{lead['Id']}:{stage}",
            to=(Recipient(role="sdr", user_id=route.owner_id, name=route.owner_name),),
            reason=f"MQL assigned to {route.owner_name} ({route.reason})",
            context=mql_alert_context(lead, route, match, config),
        )


def decide(records: Records, ctx: DecideContext[RouteLeadsConfig]) -> Plan:
    config, plan = ctx.config, PlanBuilder(ctx, "Lead")
    org = _org(records, ctx)
    unrouted: list[tuple[Record, str]] = []
    seen: set[str] = set()
    changed = {lead["Id"] for name in ("leads", "campaign_leads") for lead in records[name]}
    for lead in _leads_read(records):
        if lead["Id"] in seen:
            continue
        seen.add(lead["Id"])
        event = routing_event(lead, config)
        given_up = None if lead["Id"] in changed else _given_up(lead, ctx)
        if event is not None and given_up is not None:
            plan.skip(lead, given_up)
            unrouted.append((lead, given_up))
        elif event is not None:
            _route_lead(lead, event, plan, unrouted, org)
    if "unrouted" in records:
        revops_digest(unrouted, records["users"], plan, ctx)
    return plan.build(
        cursors=org.robin.cursors,
        assignments=org.robin.assignments,
        reports={"unrouted": [unrouted_row(lead, why) for lead, why in unrouted]},
        watermark=ctx.moment,
    )


def _org(records: Records, ctx: DecideContext[RouteLeadsConfig]) -> Router:
    """What decide looks up once for all leads: the queues (a missing one is an error),
    the integration users, the pools' round robin, the candidate accounts."""
    config, users = ctx.config, records["users"]
    integration = members_from_users(
        f"plays.{ctx.play}.integration_users", config.integration_users, users
    )
    return Router(
        config=config,
        queues=checked_queues(records, ctx),
        integration_ids=frozenset(m.user_id for m in integration),
        robin=round_robin(
            config.pools_used(), ctx.pools, users, ctx.cursors, ctx.assigned_today, ctx.moment
        ),
        # The candidate accounts the follow-ups read.
        matcher=open_deal_matcher(
            [a for name, rows in records.items() if name.startswith(ACCOUNTS) for a in rows],
            config,
            config.shared_hosts,
        ),
    )


def requirements(config: RouteLeadsConfig) -> Requirements:
    """For `revsched doctor`: the statuses and partner values, users, pools, queues (by
    DeveloperName), partner campaigns and the fields it writes."""
    return Requirements(
        values=(
            *(
                ("Lead", config.status_field, s)
                for s in (*config.status_queues, *config.working_statuses)
            ),
            ("Lead", config.share_status_field, config.share_status_value),
            ("Lead", config.partner_status_field, config.partner_status_value),
            ("Account", config.bdr_status_field, config.bdr_working_value),
            ("Campaign", config.mdf_field, config.partner_yes),
            ("Campaign", config.joint_event_field, config.partner_yes),
        ),
        users=(*config.integration_users, *config.revops_users),
        pools=tuple(sorted(config.pools_used())),
        queues=tuple(config.queues_used()),
        records=tuple(("Campaign", "Name", name) for name in config.partner_trial_campaigns),
        writes=(("Lead", "OwnerId"), ("Lead", "Company")),
    )


play = Play(
    name="route-leads",
    summary="Route new MQLs and re-MQLs: validation, account match, partner, PubSec, countries",
    config_model=RouteLeadsConfig,
    queries=queries,
    decide=decide,
    requirements=requirements,
    follow_ups=follow_ups,
    index=account_index,
)
