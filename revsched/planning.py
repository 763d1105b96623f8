"""Query and decide: read what a play declares and hand it to its pure decide.

The read half of a run, apart from the writes, so a forecast or a dry run needs
nothing of the apply path.
"""

from __future__ import annotations

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
from revsched.play import DecideContext, Play
from revsched.state import StateStore


def plan_play(
    play: Play[Any], settings: Settings, as_of: date, store: StateStore, org: OrgGateway
) -> Plan:
    """Read what the play declares and let it decide; nothing is written."""
    now = datetime.now(settings.zone)
    ctx = DecideContext(
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
    hint = f"check the field names and values in [plays.{play.name}]"
    records = {}
    for name, soql in play.queries(ctx).items():
        try:
            records[name] = org.query(soql, hint)
        except (ConfigError, OrgError) as error:
            raise _explained(error, soql, play.name, ctx.config, org) from None
    if play.index is not None:
        index = play.index(ctx.config)
        # Dry runs refresh it too: one process at a time (a second waits for the next cycle).
        with play_lease(store, index.name):
            record_index.refresh(index, store, org, ctx.moment)
        ctx = replace(ctx, lookup=record_index.lookup(index, store))
    if play.follow_ups is not None:
        more = play.follow_ups(records, ctx).items()
        records |= {name: org.query(soql, hint) for name, soql in more}
    # What fired on another machine (or before the state store was lost) counts too.
    remembered = org_memory.recall(org, play.name, org_memory.records_in_scope(records))
    ctx = replace(ctx, fired=ctx.fired | remembered)
    with progress.status(f"deciding {play.name}"):
        return play.decide(records, ctx)


def _explained(
    error: RevschedError, soql: str, play: str, config: Any, org: OrgGateway
) -> RevschedError:
    """A query refused for a field the org does not know, as the config key to fix and the
    nearest field (one line, a config error); any other refusal as it was."""
    explained = unknown_field(str(error), ConfigNaming.of(play, config), Describes(org), soql)
    return error if explained is None else ConfigError(explained)
