"""`revsched doctor`: everything a scheduled run depends on, checked before it matters.

Config, state store schema, login, then for each enabled play every field (those
its queries read, and any it declares), picklist value, user, pool and queue it uses,
checked against the org's describe and data, the Convert Leads permission and the
object rights convertLead needs of a play that converts, the Outreach sequences and
senders' mailboxes of a play that enrolls through Outreach, and the Slack bot token
(auth.test) when a play uses it. Each check is a line of the checklist; a failing
check never stops the others that do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from revsched import migrate, org_memory
from revsched.bulk import count_query
from revsched.config import Settings, load_settings, secret
from revsched.config_fields import (
    ConfigNaming,
    Describes,
    describe_problem,
    path_problem,
    unknown_field,
)
from revsched.errors import RevschedError
from revsched.org import OrgGateway, connect_org
from revsched.play import DecideContext, Play, Requirements, load_plays
from revsched.session import local_today
from revsched.slack import call, web_client
from revsched.soql import format_soql
from revsched.state import StateStore, open_engine


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # Passes, but says what may go wrong.
    warning: bool = False


def checklist(config: Path | None) -> Iterator[Check]:
    """The whole checklist, config first: a config that does not load is its failed line,
    and nothing that needs it is checked."""
    try:
        settings = load_settings(config)
        plays = load_plays(settings)
        enabled = [name for name, play in plays.items() if play.configure(settings).enabled]
    except RevschedError as error:
        yield Check("config", False, str(error))
        return
    where = settings.source or "defaults (no config file)"
    if enabled:
        yield Check("config", True, f"{where}; enabled plays: {', '.join(enabled)}")
    else:  # a real org's config before its first play is switched on
        off = f"{where}; no play is enabled: set enabled = true in its [plays.<name>]"
        yield Check("config", True, off, warning=True)
    yield from run_checks(settings, plays, local_today(settings))


def run_checks(
    settings: Settings,
    plays: Mapping[str, Play[Any]],
    today: date,
    connect: Callable[[Settings, date], OrgGateway] = connect_org,
) -> Iterator[Check]:
    """Every check after the config's."""
    yield _state_check(settings)
    try:
        org = connect(settings, today)
    except RevschedError as error:
        yield Check("Salesforce login", False, str(error))
        return
    yield Check("Salesforce login", True, f"logged in to {org.instance_url}")
    describes = Describes(org)
    yield _memory_check(settings, describes)
    for play in plays.values():
        config = play.configure(settings)
        if config.enabled:
            ctx = DecideContext(as_of=today, config=config, pools=settings.pools, play=play.name)
            yield from _play_checks(play, ctx, settings, org, describes)
    yield _slack_check(settings, [n for n, p in plays.items() if p.configure(settings).enabled])


def _play_checks(
    play: Play[Any],
    ctx: DecideContext[Any],
    settings: Settings,
    org: OrgGateway,
    describes: Describes,
) -> Iterator[Check]:
    """A play's queries run, then what they read and what it declares is checked."""
    naming = ConfigNaming.of(play.name, ctx.config)
    try:
        queries = play.all_queries(ctx)
    except RevschedError as error:
        yield Check(f"{play.name}: queries", False, str(error))
        queries = {}
    yield from _query_checks(play.name, queries, org, naming, describes)
    needs = play.needs(ctx.config, queries.values())
    yield from _field_checks(naming, needs, describes)
    yield from _write_checks(naming, needs, describes, org.key_field)
    yield from _user_checks(naming, needs, settings, org)
    yield from _record_checks(naming, needs, org)
    yield from _convert_check(naming, needs, org, describes)
    yield from _sequence_checks(naming, needs, settings, org)


def _probe(soql: str) -> str:
    """The cheapest form of a query that still names every field it reads."""
    counted = count_query(soql)
    if counted is not None:
        return counted
    return soql if " LIMIT " in soql.upper() else f"{soql} LIMIT 1"


def _with_nearest(error: str, naming: ConfigNaming, describes: Describes, soql: str) -> str:
    """A query's INVALID_FIELD error, with the config key and the nearest field's name."""
    explained = unknown_field(error, naming, describes, soql)
    return f"{explained} ({error})" if explained else error


def _query_checks(
    name: str,
    queries: Mapping[str, str],
    org: OrgGateway,
    naming: ConfigNaming,
    describes: Describes,
) -> Iterator[Check]:
    """Each of the play's queries runs, in its cheapest form: every object and field it
    names exists (the field checks then list each missing field with its config key)."""
    for query, soql in queries.items():
        try:
            org.query(_probe(soql), f"check the field names in [plays.{name}]")
        except RevschedError as error:
            yield Check(
                f"{name}: {query} query", False, _with_nearest(str(error), naming, describes, soql)
            )
        else:
            yield Check(f"{name}: {query} query", True, "every object and field it reads exists")


def _state_check(settings: Settings) -> Check:
    try:
        level, newest = migrate.current(open_engine(settings.state.database_url())), migrate.head()
    except Exception as error:  # any driver error: the store cannot be reached
        return Check("state store", False, f"cannot open it: {type(error).__name__}: {error}")
    if level == newest:
        return Check("state store", True, f"schema level {level} (current)")
    if level is None:
        return Check("state store", True, f"empty: created at schema level {newest} on first use")
    return Check(
        "state store", False, f"schema level {level}, needs {newest}: run `revsched state upgrade`"
    )


def _slack_check(settings: Settings, enabled: list[str]) -> Check:
    """The bot token works (auth.test), when an enabled play alerts through the Slack bot."""
    users = [name for name in enabled if settings.alerts.for_play(name).kind == "slack"]
    if not users:
        return Check("Slack", True, "no enabled play alerts through the Slack bot (skipped)")
    slack = settings.alerts.slack
    try:
        token = secret("alerts.slack.token", slack.token)
        answer = call("auth.test", lambda: web_client(slack, token).auth_test())
    except RevschedError as error:
        return Check("Slack", False, str(error))
    return Check("Slack", True, f"bot {answer['user']} in workspace {answer['team']}")


def _field_checks(
    naming: ConfigNaming, needs: Requirements, describes: Describes
) -> Iterator[Check]:
    play = naming.play
    for sobject in dict.fromkeys(s for s, _ in needs.fields):
        fields = describes.fields(sobject)
        wanted = [f for s, f in needs.fields if s == sobject]
        name = f"{play}: {sobject} fields"
        if isinstance(fields, str):
            yield Check(name, False, describe_problem(sobject, fields, naming, describes))
            continue
        found = (path_problem(sobject, f, naming, describes) for f in wanted)
        missing = [problem for problem in found if problem is not None]
        yield Check(name, not missing, "; ".join(missing) or f"{len(wanted)} fields exist")
    for sobject, field, value in needs.values:
        fields = describes.fields(sobject)
        described = fields.get(field) if isinstance(fields, dict) else None
        if described is None or described.get("type") != "picklist":
            continue  # a missing field is reported above; free text takes any value
        values = {v["value"] for v in described.get("picklistValues", []) if v.get("active")}
        key = naming.keys.get(value)
        fix = f"set plays.{play}.{key} to one of" if key else "the org has"
        yield Check(
            f"{play}: {sobject}.{field} = {value!r}",
            value in values,
            "an active picklist value"
            if value in values
            else f"not an active picklist value; {fix}: {', '.join(sorted(values))}",
        )


def _write_checks(
    naming: ConfigNaming, needs: Requirements, describes: Describes, key_field: str
) -> Iterator[Check]:
    """The integration user may do what a run does: update the fields it writes, create
    the records it creates (with the key it upserts on), delete what merge() deletes."""
    created = dict.fromkeys(s for s, _ in needs.creates)
    wanted = [
        *((s, f, "updateable") for s, f in needs.writes),
        *((s, f, "createable") for s, f in needs.creates),
        *((s, key_field, "externalId") for s in created),
    ]
    for sobject in dict.fromkeys(s for s, _, _ in wanted):
        fields = describes.fields(sobject)
        name = f"{naming.play}: {sobject} writes"
        if isinstance(fields, str):
            yield Check(name, False, describe_problem(sobject, fields, naming, describes))
            continue
        problems = []
        for field, right in dict.fromkeys((f, r) for s, f, r in wanted if s == sobject):
            described = fields.get(field)
            if described is None:
                problems.append(naming.no_such_field(sobject, field, list(fields)))
            elif not described.get(right):
                what = "an External ID" if right == "externalId" else f"{right} by this user"
                problems.append(
                    f"{naming(field, f'{sobject}.{field}')}: {sobject}.{field} is not {what};"
                    " grant edit on it (permission set Revsched_Integration) or name another field"
                )
        count = len({f for s, f, _ in wanted if s == sobject})
        yield Check(name, not problems, "; ".join(problems) or f"{count} fields writable")
    for sobject in needs.merges:
        described = describes.describe(sobject)
        deletable = isinstance(described, dict) and bool(described.get("deletable"))
        yield Check(
            f"{naming.play}: {sobject} merges",
            deletable,
            f"Delete on {sobject} (merge() deletes the merged records)"
            if deletable
            else f"Salesforce's merge() deletes the merged records: grant Delete on {sobject}"
            f" (permission set Revsched_Integration), or set plays.{naming.play}.merge = false",
        )


# What convertLead needs on each object besides the Convert Leads permission (SOAP API
# Developer Guide, convertLead(): Edit on leads, Create and Edit on the rest).
_CONVERT_RIGHTS = {
    "Lead": ("updateable",),
    "Account": ("createable", "updateable"),
    "Contact": ("createable", "updateable"),
    "Opportunity": ("createable", "updateable"),
}


def _convert_check(
    naming: ConfigNaming, needs: Requirements, org: OrgGateway, describes: Describes
) -> Iterator[Check]:
    """convertLead needs the Convert Leads system permission, which no describe shows, and
    the object rights describe does show."""
    if not needs.converts_leads:
        return
    name = f"{naming.play}: Convert Leads"
    fix = "assign the permission set Revsched_Integration"
    try:
        rows = org.query("SELECT PermissionsConvertLeads FROM UserPermissionAccess")
    except RevschedError as error:
        yield Check(name, False, f"cannot read the integration user's permissions: {error}")
        return
    granted = bool(rows) and bool(rows[0].get("PermissionsConvertLeads"))
    missing = [] if granted else ["the Convert Leads permission"]
    for sobject, rights in _CONVERT_RIGHTS.items():
        described = describes.describe(sobject)
        for right in rights:
            if not (isinstance(described, dict) and described.get(right)):
                missing.append(f"{'Create' if right == 'createable' else 'Edit'} on {sobject}")
    grants = "ConvertLeads" if missing == ["the Convert Leads permission"] else "them"
    yield Check(
        name,
        not missing,
        "the integration user may convert leads"
        if not missing
        else f"the integration user lacks {', '.join(missing)}, so every matched lead would"
        f" fail to convert; {fix} (it grants {grants})",
    )


def _sequence_checks(
    naming: ConfigNaming, needs: Requirements, settings: Settings, org: OrgGateway
) -> Iterator[Check]:
    """With the outreach channel: every sequence the play names exists in Outreach, and
    every member of its sender pools has an Outreach mailbox (by their Salesforce email)."""
    if not needs.sequences or settings.enrollment.kind != "outreach":
        return
    from revsched.enroll import SalesforceFieldChannel
    from revsched.enroll_config import outreach_client
    from revsched.outreach import OutreachCallError, OutreachChannel

    play = naming.play
    outreach = settings.enrollment.outreach
    try:
        client = outreach_client(outreach, lambda: StateStore(settings.state.database_url()))
        channel = OutreachChannel(lambda: client, SalesforceFieldChannel(org))
        for sequence in needs.sequences:
            found = channel.sequence_exists(sequence)
            fix = naming(sequence, sequence)
            yield Check(
                f"{play}: Outreach sequence {sequence!r}",
                found,
                "exists" if found else f"{fix}: no Outreach sequence has this name",
            )
        usernames = sorted(
            {m for p in needs.senders if (pool := settings.pools.get(p)) for m in pool.usernames}
        )
        emails = _emails_by_username(org, usernames)
        for pool_name in needs.senders:
            pool = settings.pools.get(pool_name)
            members = [m for m in pool.usernames if m in emails] if pool else []
            without = [m for m in members if not channel.mailbox_exists(emails[m])]
            yield Check(
                f"{play}: Outreach mailboxes of pool {pool_name}",
                not without,
                f"{len(members) - len(without)} of {len(members)} members have one"
                + (
                    f"; none for {', '.join(without)} (their enrollments write the field)"
                    if without
                    else ""
                ),
            )
    except (RevschedError, OutreachCallError) as error:
        yield Check(f"{play}: Outreach", False, str(error))


def _emails_by_username(org: OrgGateway, usernames: list[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = org.query(
        format_soql("SELECT Username, Email FROM User WHERE Username IN {}", usernames)
    )
    return {row["Username"]: row["Email"] for row in rows if row["Email"]}


# What the org memory writes on each firing.
_FIRING_FIELDS = ("Play__c", "Stage__c", "Record_Id__c", "Fired_On__c", "Run_Id__c")


def _memory_check(settings: Settings, describes: Describes) -> Check:
    """The firing object is there and writable, or (opted out) the risk is said."""
    name = "org memory"
    if not settings.state.org_memory:
        return Check(
            name,
            True,
            "off ([state] org_memory = false): a run on a new machine, with an empty state"
            " store, would repeat the alerts, Tasks and stages already fired",
            warning=True,
        )
    fields = describes.fields(org_memory.FIRING_OBJECT)
    fix = (
        "deploy salesforce/ and assign the Revsched_Integration permission set"
        " (README: Setting up your org), or set [state] org_memory = false"
    )
    if isinstance(fields, str):
        return Check(name, False, f"{org_memory.FIRING_OBJECT} cannot be read: {fix}")
    key = fields.get(org_memory.KEY_FIELD, {})
    unwritable = [
        f
        for f in (*_FIRING_FIELDS, org_memory.KEY_FIELD)
        if not (fields.get(f, {}).get("createable") and fields.get(f, {}).get("updateable"))
    ]
    if unwritable or not key.get("externalId"):
        problem = f"not writable: {', '.join(unwritable)}" if unwritable else "no External ID"
        return Check(name, False, f"{org_memory.FIRING_OBJECT} {problem}; {fix}")
    described = describes.describe(org_memory.FIRING_OBJECT)
    if isinstance(described, dict) and not described.get("deletable"):
        return Check(
            name,
            True,
            f"{org_memory.FIRING_OBJECT} is there and writable, but not deletable:"
            " `revsched revert` cannot forget the firings of what it reverts; grant Delete"
            " on it (permission set Revsched_Integration)",
            warning=True,
        )
    return Check(name, True, f"{org_memory.FIRING_OBJECT} is there and writable")


def _user_checks(
    naming: ConfigNaming, needs: Requirements, settings: Settings, org: OrgGateway
) -> Iterator[Check]:
    play = naming.play
    pools = {p: settings.pools.get(p) for p in needs.pools}
    usernames = sorted(
        {*needs.users, *(m for pool in pools.values() if pool for m in pool.usernames)}
    )
    users = _active_by_username(org, usernames)
    for username in needs.users:
        state = users.get(username)
        key = naming.keys.get(username)
        fix = f"; set plays.{play}.{key} to an active user's Username" if key else ""
        yield Check(
            f"{play}: user {username}",
            state is True,
            "active" if state else ("inactive" if state is False else "no such user") + fix,
        )
    for pool_name, pool in pools.items():
        if pool is None:
            yield Check(f"{play}: pool {pool_name}", False, f"no [pools.{pool_name}] in config")
            continue
        unknown = [m for m in pool.usernames if m not in users]
        active = [m for m in pool.usernames if users.get(m)]
        detail = f"{len(active)} of {len(pool.usernames)} members active"
        if unknown:
            detail += f"; no such user: {', '.join(unknown)}"
        yield Check(f"{play}: pool {pool_name}", bool(active) and not unknown, detail)
    if needs.queues:
        found = {
            row["DeveloperName"]
            for row in org.query(
                format_soql(
                    "SELECT DeveloperName FROM Group WHERE Type = 'Queue' AND DeveloperName IN {}",
                    list(needs.queues),
                )
            )
        }
        for queue in needs.queues:
            key = naming.keys.get(queue)
            fix = f"; set plays.{play}.{key} to a queue's DeveloperName" if key else ""
            detail = "exists" if queue in found else f"no such queue{fix}"
            yield Check(f"{play}: queue {queue}", queue in found, detail)


def _record_checks(naming: ConfigNaming, needs: Requirements, org: OrgGateway) -> Iterator[Check]:
    """The records a play looks for by name (campaigns) exist: a misspelt name matches none."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for sobject, field, value in needs.records:
        wanted.setdefault((sobject, field), []).append(value)
    for (sobject, field), values in wanted.items():
        soql = format_soql(f"SELECT {field} FROM {sobject} WHERE {field} IN {{}}", values)
        found = {str(row[field]) for row in org.query(soql)}
        for value in values:
            key = naming.keys.get(value)
            fix = f"; set plays.{naming.play}.{key} to one that exists" if key else ""
            detail = "exists" if value in found else f"no {sobject} with {field} {value!r}{fix}"
            yield Check(f"{naming.play}: {sobject} {value}", value in found, detail)


def _active_by_username(org: OrgGateway, usernames: list[str]) -> dict[str, bool]:
    if not usernames:
        return {}
    rows = org.query(
        format_soql("SELECT Username, IsActive FROM User WHERE Username IN {}", usernames)
    )
    return {row["Username"]: bool(row["IsActive"]) for row in rows}
