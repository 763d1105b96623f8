"""Query and decide: read what a play declares and hand it to its pure decide.

The read half of a run, apart from the writes, so a forecast or a dry run needs
nothing of the apply path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from revsched import org_memory, progress, record_index
from revsched.config import Settings
from revsched.config_fields import ConfigNaming, Describes, unknown_field
from revsched.errors import ConfigError, OrgError, RevschedError
from revsched.lease import play_lease
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.play import DecideContext, Play, Record
from revsched.state import StateStore


def plan_play(
    play: Play[Any], settings: Settings, as_of: date, store: StateStore, org: OrgGateway
) -> Plan:
    """Read what the play declares and let it decide; nothing is written."""
    ctx = decide_context(play, settings, as_of, store)
    records = read_queries(play, ctx, org, play.queries(ctx))
    ctx = with_index(play, ctx, store, org)
    if play.follow_ups is not None:
        records |= read_queries(play, ctx, org, play.follow_ups(records, ctx))
    # What fired on another machine (or before the state store was lost) counts too.
    remembered = org_memory.recall(org, play.name, org_memory.records_in_scope(records))
    ctx = replace(ctx, fired=ctx.fired | remembered)
    with progress.status(f"deciding {play.name}"):
        return play.decide(records, ctx)


def decide_context(
    play: Play[Any], settings: Settings, as_of: date, store: StateStore
) -> DecideContext[Any]:
    """What the play decides with besides its records, from the config and the state store."""
    now = datetime.now(settings.zone)
    return DecideContext(
        as_of=as_of,
        config=play.configure(settings),
        play=play.name,
        pools=settings.pools,
        fired=store.fired(play.name),
        cursors=store.cursors(),
        assigned_today=store.assigned_on(as_of),
        # An --as-of run happens at this time of day on that date.
        now=datetime.combine(as_of, now.time(), tzinfo=settings.zone),
        watermark=store.watermark(play.name),
        retries=store.retries(play.name),
    )


def read_queries(
    play: Play[Any], ctx: DecideContext[Any], org: OrgGateway, queries: dict[str, str]
) -> dict[str, list[Record]]:
    """Each named query's records; a query refused for a field the org does not know is
    a config error naming the key to fix."""
    records = {}
    for name, soql in queries.items():
        with explained_errors(play, ctx, org, soql):
            records[name] = org.query(soql, config_hint(play))
    return records


def config_hint(play: Play[Any]) -> str:
    return f"check the field names and values in [plays.{play.name}]"


def with_index(
    play: Play[Any], ctx: DecideContext[Any], store: StateStore, org: OrgGateway
) -> DecideContext[Any]:
    """The context with the play's record index refreshed and looked up, if it has one."""
    index = play.record_index(ctx.config)
    if index is None:
        return ctx
    # Dry runs refresh it too: one process at a time (a second waits for the next cycle).
    with play_lease(store, index.name):
        record_index.refresh(index, store, org, ctx.moment)
    return replace(ctx, lookup=record_index.lookup(index, store))


@contextmanager
def explained_errors(
    play: Play[Any], ctx: DecideContext[Any], org: OrgGateway, soql: str
) -> Iterator[None]:
    """A query refused for a field the org does not know, as the config key to fix and the
    nearest field (one line, a config error); any other refusal as it was."""
    try:
        yield
    except (ConfigError, OrgError) as error:
        raise _explained(error, soql, play.name, ctx.config, org) from None


def _explained(
    error: RevschedError, soql: str, play: str, config: Any, org: OrgGateway
) -> RevschedError:
    """A query refused for a field the org does not know, as the config key to fix and the
    nearest field (one line, a config error); any other refusal as it was."""
    explained = unknown_field(str(error), ConfigNaming.of(play, config), Describes(org), soql)
    return error if explained is None else ConfigError(explained)
