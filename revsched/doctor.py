"""`revsched doctor`: everything a scheduled run depends on, checked before it matters.

Config, state store schema, login, then for each enabled play every field,
picklist value, user, pool and queue it declares it uses, checked against the
org's describe and data, and the Slack bot token (auth.test) when a play uses
it. Each check is a line of the checklist; a failing check never stops the
others that do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from revsched import migrate
from revsched.bulk import count_query
from revsched.config import Settings, secret
from revsched.errors import RevschedError
from revsched.org import OrgGateway, connect_org
from revsched.play import DecideContext, Play, Requirements
from revsched.slack import call, web_client
from revsched.soql import format_soql
from revsched.state import open_engine


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(
    settings: Settings,
    plays: Mapping[str, Play[Any]],
    today: date,
    connect: Callable[[Settings, date], OrgGateway] = connect_org,
) -> Iterator[Check]:
    yield _state_check(settings)
    try:
        org = connect(settings, today)
    except RevschedError as error:
        yield Check("Salesforce login", False, str(error))
        return
    yield Check("Salesforce login", True, f"logged in to {org.instance_url}")
    describes = _Describes(org)
    for name, play in plays.items():
        config = play.configure(settings)
        if not config.enabled:
            continue
        yield from _query_checks(name, play, config, settings, org, today)
        needs = play.requirements(config)
        yield from _field_checks(name, needs, describes)
        yield from _user_checks(name, needs, settings, org)
    yield _slack_check(settings, [n for n, p in plays.items() if p.configure(settings).enabled])


def _probe(soql: str) -> str:
    """The cheapest form of a query that still names every field it reads."""
    counted = count_query(soql)
    if counted is not None:
        return counted
    return soql if " LIMIT " in soql.upper() else f"{soql} LIMIT 1"


def _query_checks(
    name: str, play: Play[Any], config: Any, settings: Settings, org: OrgGateway, today: date
) -> Iterator[Check]:
    """Each of the play's queries runs, in its cheapest form: every object and field its
    config names exists (its declared requirements add values, users and queues)."""
    ctx = DecideContext(as_of=today, config=config, pools=settings.pools)
    try:
        queries = play.queries(ctx)
    except RevschedError as error:
        yield Check(f"{name}: queries", False, str(error))
        return
    for query, soql in queries.items():
        try:
            org.query(_probe(soql), f"check the field names in [plays.{name}]")
        except RevschedError as error:
            yield Check(f"{name}: {query} query", False, str(error))
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


class _Describes:
    """Each sObject's describe, fetched once: field name -> field description."""

    def __init__(self, org: OrgGateway):
        self._org = org
        self._cache: dict[str, dict[str, dict[str, Any]] | str] = {}

    def fields(self, sobject: str) -> dict[str, dict[str, Any]] | str:
        """The fields by name (and by relationship name), or why the object cannot be described."""
        if sobject not in self._cache:
            try:
                described = self._org.call(
                    f"describe {sobject}", lambda sf: getattr(sf, sobject).describe()
                )
            except RevschedError as error:
                self._cache[sobject] = str(error)
            else:
                by_name = {f["name"]: f for f in described["fields"]}
                by_name |= {
                    f["relationshipName"]: f for f in described["fields"] if f["relationshipName"]
                }
                self._cache[sobject] = by_name
        return self._cache[sobject]


def _field_checks(play: str, needs: Requirements, describes: _Describes) -> Iterator[Check]:
    for sobject in dict.fromkeys(s for s, _ in needs.fields):
        fields = describes.fields(sobject)
        wanted = [f for s, f in needs.fields if s == sobject]
        name = f"{play}: {sobject} fields"
        if isinstance(fields, str):
            yield Check(name, False, fields)
            continue
        missing = [f for f in wanted if f.split(".")[0] not in fields]
        yield Check(
            name,
            not missing,
            f"missing: {', '.join(missing)} (check [plays.{play}])"
            if missing
            else f"{len(wanted)} fields exist",
        )
    for sobject, field, value in needs.values:
        fields = describes.fields(sobject)
        described = fields.get(field) if isinstance(fields, dict) else None
        if described is None or described.get("type") != "picklist":
            continue  # a missing field is reported above; free text takes any value
        values = {v["value"] for v in described.get("picklistValues", []) if v.get("active")}
        yield Check(
            f"{play}: {sobject}.{field} = {value!r}",
            value in values,
            "an active picklist value"
            if value in values
            else f"not an active picklist value; the org has: {', '.join(sorted(values))}",
        )


def _user_checks(
    play: str, needs: Requirements, settings: Settings, org: OrgGateway
) -> Iterator[Check]:
    pools = {p: settings.pools.get(p) for p in needs.pools}
    usernames = sorted(
        {*needs.users, *(m for pool in pools.values() if pool for m in pool.usernames)}
    )
    users = _active_by_username(org, usernames)
    for username in needs.users:
        state = users.get(username)
        yield Check(
            f"{play}: user {username}",
            state is True,
            {True: "active", False: "inactive", None: "no such user"}[state],
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
            detail = "exists" if queue in found else "no such queue"
            yield Check(f"{play}: queue {queue}", queue in found, detail)


def _active_by_username(org: OrgGateway, usernames: list[str]) -> dict[str, bool]:
    if not usernames:
        return {}
    rows = org.query(
        format_soql("SELECT Username, IsActive FROM User WHERE Username IN {}", usernames)
    )
    return {row["Username"]: bool(row["IsActive"]) for row in rows}
