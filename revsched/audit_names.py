"""Names the audit keeps beside Ids, so `revsched show` reads like the plan did.

A run's audit outlives the records' names in the org (an owner leaves, an account is
renamed), so the names are kept when the plan is saved: first from what the plan itself
knows (the records it decided on, merged or converted, the people it alerts), then, for
the lookup values it changes (an OwnerId's old and new users), from the org, one query
per object and 200 distinct Ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from revsched.errors import ApiLimitError, OrgError
from revsched.logs import logger

if TYPE_CHECKING:
    from revsched.org import OrgGateway
    from revsched.plan import Plan


def plan_names(plan: Plan) -> Iterator[tuple[str, str]]:
    """(record Id, name) for every record the plan names; a later pair names it better."""
    yield from ((r.user_id, r.name) for a in plan.alerts for r in a.recipients if r.user_id)
    yield from ((c.lead_id, c.lead_name) for c in plan.conversions)
    yield from ((c.account_id, c.account_name) for c in plan.conversions)
    for merge in plan.merges:
        yield merge.master_id, merge.master_name
        yield from ((r.record_id, r.record_name) for r in merge.merged)
    yield from ((c.record_id, c.record_name) for c in plan.changes)
    yield from ((d.record_id, d.record_name) for d in plan.decisions)


def audit_names(
    plan: Plan, org: OrgGateway, looked_up: dict[str, str] | None = None
) -> dict[str, str]:
    """The names of the records the plan's changed values and alerts refer to, and only
    those (not every record it changes: a large run would hold them twice). `looked_up`
    keeps the org's answers across the pages of a streamed plan, so each Id is asked once.

    Names are for people: when the org cannot be asked (refused, out of API calls), the
    run goes on with the names the plan knows and the audit shows the others' bare Ids."""
    values = {v for c in plan.changes for v in (c.old, c.new) if isinstance(v, str)}
    wanted = values | {a.record_id for a in plan.alerts}
    if not wanted:  # a plan setting numbers, dates and flags, alerting nobody
        return {}
    known = {record_id: name for record_id, name in plan_names(plan) if record_id in wanted}
    looked_up = {} if looked_up is None else looked_up
    unknown = values - known.keys() - looked_up.keys()
    if unknown:
        looked_up |= dict.fromkeys(unknown, "") | org_names(org, unknown)
    return known | {v: looked_up[v] for v in values - known.keys() if looked_up.get(v)}


def org_names(org: OrgGateway, values: Iterable[Any]) -> dict[str, str]:
    """The org's names for the record Ids among `values`; none when the org cannot be
    asked (refused, out of API calls): names are for people, the run goes on without."""
    try:
        return org.names(values)
    except (OrgError, ApiLimitError) as error:
        logger.warning("records' names not looked up, their Ids are shown bare: %s", error)
        return {}
