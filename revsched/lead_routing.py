"""How route-leads routes one lead, apart from what it reads and when it runs.

When a lead routes (its routing event), whether validation lets it (`invalid_reason`),
where the first matching rule sends it (partner, US PubSec, holding queue, account BDR,
country pool, default pool) and the fields a route writes. Separate from the play so the
play reads as its paragraph in PLAYS.md; the rules read only the settings listed in
`RoutingSettings`, which the play's config provides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from revsched.account_matcher import AccountMatcher, Match, person_keys
from revsched.dedupe.normalize import country_code
from revsched.errors import ConfigError
from revsched.plan import Scalar
from revsched.play import DecideContext, Record, Records
from revsched.records import children
from revsched.roundrobin import RoundRobin
from revsched.soql import relationship_name


class RoutingSettings(Protocol):
    """The settings of route-leads' config the rules read."""

    live_since: datetime | None
    status_field: str
    country_field: str
    mql_date_field: str
    last_routed_field: str
    routing_reason_field: str
    matched_account_field: str
    do_not_route_field: str
    person_score_field: str
    sequenced_field: str
    moment_field: str
    min_person_score: float
    placeholder_companies: Sequence[str]
    standard_company: str
    working_statuses: Sequence[str]
    moment_rules: Mapping[str, str]
    inbound_moments: Sequence[str]
    mdf_field: str
    joint_event_field: str
    partner_yes: str
    partner_trial_campaigns: Sequence[str]
    partner_account_field: str
    share_status_field: str
    share_status_value: str
    partner_status_field: str
    partner_status_value: str
    partner_queue: str
    pubsec_field: str
    pubsec_pool: str
    status_queues: Mapping[str, str]
    bdr_field: str
    bdr_status_field: str
    bdr_working_value: str
    country_pools: Mapping[str, str]
    default_pool: str
    free_mail_domains: Sequence[str]
    shared_hosts: Sequence[str]


def iso_country_pools(pools: Mapping[str, str]) -> dict[str, str]:
    """The pools by ISO country code, from keys in any spelling we know ("USA", "Germany")."""
    known = {}
    for country, pool in pools.items():
        code = country if len(country) == 2 and country.isupper() else country_code(country)
        if code is None:
            raise ValueError(f"{country!r} is not a country we know: use its ISO code")
        known[code] = pool
    return known


def _moment(value: Any) -> datetime | None:
    """A Salesforce datetime (or date) field as an aware datetime."""
    from dateutil.parser import isoparse  # with dateutil.tz: not loaded to list the plays

    if not value:
        return None
    parsed = isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def routing_event(lead: Record, config: RoutingSettings) -> datetime | None:
    """Why the lead routes now: never routed (its latest MQL, membership or creation), or
    an MQL or partner campaign membership later than its last routing; None: nothing new."""
    members = children(lead, "CampaignMembers")
    joined = max((_moment(m["CreatedDate"]) for m in members), default=None)
    events = [e for e in (_moment(lead[config.mql_date_field]), joined) if e is not None]
    last = _moment(lead[config.last_routed_field])
    created = _moment(lead["CreatedDate"])
    if last is None and config.live_since is not None and created and created < config.live_since:
        last = config.live_since
    if last is None:
        return max(events, default=created)
    later = [e for e in events if e > last]
    return max(later) if later else None


def checked_queues(records: Records, ctx: DecideContext[Any]) -> dict[str, Record]:
    """Every queue the rules name; a missing one is a config error, before any write."""
    config = ctx.config
    by_name = {q["DeveloperName"]: q for q in records["queues"]}
    keys = {config.partner_queue: "partner_queue"}
    keys |= {q: f"status_queues.{s}" for s, q in config.status_queues.items()}
    keys |= {q: f"moment_rules.{m}" for m, q in config.moment_rules.items() if q != "suppress"}
    for developer_name, key in sorted(keys.items()):
        if developer_name not in by_name:
            raise ConfigError(
                f"plays.{ctx.play}.{key}: no queue with DeveloperName {developer_name!r} in the org"
            )
    return by_name


@dataclass(frozen=True)
class Route:
    """Where a lead goes: an owner (user or queue), why, and the other fields to write."""

    owner_id: str | None  # None: the owner stays (a partner lead with its partner set)
    owner_name: str
    reason: str
    detail: str
    user: bool = False
    fields: dict[str, tuple[Scalar, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Router:
    """What decide looked up once for all leads."""

    config: RoutingSettings
    queues: dict[str, Record]
    integration_ids: frozenset[str]
    robin: RoundRobin
    matcher: AccountMatcher


def invalid_reason(lead: Record, new: bool, org: Router) -> str | None:
    """Why validation keeps the lead as it is; None when it may route."""
    config = org.config
    if new:
        if lead[config.do_not_route_field]:
            return f"{config.do_not_route_field} is checked"
        score = lead[config.person_score_field]
        if score is None or score < config.min_person_score:
            shown = "blank" if score is None else f"{score:g}"
            return (
                f"{config.person_score_field} is {shown} (needs {config.min_person_score:g} or"
                " more): stays with the integration user"
            )
    else:
        status = lead[config.status_field]
        if status in config.working_statuses:
            return f"Sales Dev is working it (Status {status})"
        if lead[config.sequenced_field]:
            return f"in an active sequence ({config.sequenced_field} = true)"
    moment = lead[config.moment_field]
    if config.moment_rules.get(moment) == "suppress":
        return f"last interesting moment {moment!r} is suppressed"
    return None


def _queue_route(queue: Record, reason: str, detail: str) -> Route:
    return Route(queue["Id"], queue["Name"], reason, detail)


def _partner_route(lead: Record, org: Router) -> tuple[Route | None, str]:
    """Rule 1: a partner campaign's lead goes to the partner (Vartopia). Without a route, a
    note on the joint-event lead Sales Dev works, for the SDR path's explanation."""
    config = org.config
    if lead[config.moment_field] in config.inbound_moments:
        return None, ""
    members = children(lead, "CampaignMembers")
    funded = [
        m
        for m in members
        if m["Campaign"][config.mdf_field] == config.partner_yes
        or m["Campaign"]["Name"] in config.partner_trial_campaigns
    ]
    joint = [m for m in members if m["Campaign"][config.joint_event_field] == config.partner_yes]
    partner_fields = {
        config.share_status_field: (config.share_status_value, "partner lead: shared"),
        config.partner_status_field: (config.partner_status_value, "partner lead: qualifying"),
    }
    queue = org.queues[config.partner_queue]
    if funded:
        name = funded[0]["Campaign"]["Name"]
        kind = (
            "MDF campaign"
            if funded[0]["Campaign"][config.mdf_field] == config.partner_yes
            else "trial"
        )
        reason = f"Partner: {kind} {name}"
        if lead[config.partner_account_field]:
            detail = f"member of {name}; its partner account is set: the owner stays"
            return Route(None, "", reason, detail, fields=partner_fields), ""
        detail = f"member of {name} and no partner account"
        return Route(queue["Id"], queue["Name"], reason, detail, fields=partner_fields), ""
    if joint:
        name = joint[0]["Campaign"]["Name"]
        worked = (
            lead[config.status_field] in config.working_statuses or lead[config.sequenced_field]
        )
        if worked:
            return None, f"joint event {name}, but Sales Dev works the lead"
        reason = f"Partner: joint event {name}"
        route = Route(
            queue["Id"], queue["Name"], reason, "not worked by Sales Dev", fields=partner_fields
        )
        return route, ""
    return None, ""


def _pool_route(pool: str, reason: str, detail: str, org: Router) -> tuple[Route | None, str]:
    """The pool's next member, else (None) why nobody."""
    pick = org.robin.next(pool)
    if pick is None:
        unavailable = "; ".join(org.robin.unavailable(pool))
        return None, f"nobody in pool {pool!r} can take leads now ({unavailable})"
    member = pick.member
    route = Route(member.user_id, member.name, reason, f"{detail}; {pick.explain()}", user=True)
    return route, ""


def route_by_rules(lead: Record, account: Record | None, org: Router) -> tuple[Route | None, str]:
    """Rules 1-5, first match wins; no route: why the lead could not be routed."""
    config = org.config
    notes: list[str] = []
    moment = lead[config.moment_field]
    special = config.moment_rules.get(moment)
    if special and special != "suppress":
        queue = org.queues[special]
        why = f"{moment!r} -> {queue['Name']}"
        return _queue_route(queue, f"Last interesting moment: {moment}", why), ""
    partner, note = _partner_route(lead, org)
    if partner is not None:
        return partner, ""
    if note:
        notes.append(note)
    if account is not None and account[config.pubsec_field]:
        return _pool_route(
            config.pubsec_pool, "US PubSec pool", f"{account['Name']} is US PubSec", org
        )
    status = lead[config.status_field]
    if not lead[config.mql_date_field]:
        developer_name = config.status_queues.get(status)
        if developer_name is None:
            return None, f"not an MQL and no holding queue for Status {status!r} (status_queues)"
        queue = org.queues[developer_name]
        return _queue_route(queue, f"Holding queue: {status}", f"not an MQL ({status})"), ""
    bdr_name = relationship_name(config.bdr_field)
    if account is not None and account[config.bdr_field]:
        bdr = account[bdr_name]
        if account[config.bdr_status_field] != config.bdr_working_value:
            notes.append(f"BDR {bdr['Name']} is not actively working {account['Name']}")
        elif not bdr["IsActive"]:
            notes.append(f"BDR {bdr['Name']} of {account['Name']} is inactive")
        else:
            detail = f"{bdr['Name']} actively works {account['Name']}"
            return Route(
                account[config.bdr_field], bdr["Name"], "Account BDR", detail, user=True
            ), ""
    written = lead[config.country_field]
    code = country_code(written) if written else None
    pool = config.country_pools.get(code or "")
    after = "; ".join(notes) + "; " if notes else ""
    if pool is not None:
        return _pool_route(
            pool, f"Country pool: {code}", f"{after}country {written!r} is {code}", org
        )
    why = (
        f"country {written!r}" + (f" ({code}) has no pool" if code else " unknown")
        if written
        else "no country"
    )
    return _pool_route(config.default_pool, "Default pool", f"{after}{why}", org)


def placeholder_company(lead: Record, config: RoutingSettings) -> bool:
    company = str(lead["Company"] or "").strip().lower()
    return company in {"", *(p.lower() for p in config.placeholder_companies)}


def lead_keys(lead: Record, config: RoutingSettings) -> set[str]:
    """The index keys a lead's account is found by (a placeholder company finds none)."""
    ignored = {d.lower() for d in (*config.free_mail_domains, *config.shared_hosts)}
    company = None if placeholder_company(lead, config) else lead.get("Company")
    return person_keys(lead.get("Email"), company, ignored)


def _salesforce_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def route_targets(
    lead: Record, route: Route, match: Match, moment: datetime, org: Router
) -> dict[str, tuple[Scalar, str]]:
    config = org.config
    targets = dict(route.fields)
    if route.owner_id is not None:
        targets["OwnerId"] = (route.owner_id, f"{route.reason}: {route.owner_name}")
    targets[config.routing_reason_field] = (route.reason, "the rule that routed it")
    if match.account is not None:
        targets[config.matched_account_field] = (match.account["Id"], match.reason)
    targets[config.last_routed_field] = (_salesforce_datetime(moment), "routed now")
    if placeholder_company(lead, config):
        # plan.change drops it when the standard value is there already.
        targets["Company"] = (config.standard_company, "blank or placeholder company")
    return targets


def mql_alert_context(
    lead: Record, route: Route, match: Match, config: RoutingSettings
) -> dict[str, Any]:
    """The SDR's DM on an MQL assigned to them: the lead, its score and moment, its account."""
    account = match.account
    return {
        "sdr": route.owner_name,
        "lead": lead["Name"],
        "lead_id": lead["Id"],
        "company": config.standard_company
        if placeholder_company(lead, config)
        else lead["Company"],
        "title": lead["Title"],
        "score": lead[config.person_score_field],
        "moment": lead[config.moment_field],
        "account": account["Name"] if account else None,
        "account_id": account["Id"] if account else None,
        "reason": route.reason,
    }
