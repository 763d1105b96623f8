"""What each play has fired, remembered in the org as well as in the local state store.

The local state store alone forgets everything on a new machine (a rebuilt server, a
laptop, a CI job), and a play would then send its alerts again. So every stage that
fires is also upserted as a `Revsched_Firing__c` record keyed play:record:stage (the
object ships in salesforce/), and before deciding, the runner reads the firings of the
records in scope with one query (a play that decides a page at a time reads all of its
firings in the call of its first page, `firings_query`). `[state] org_memory = false`
turns this off for orgs that cannot deploy the object.

One window remains: an alert delivered, then the process dies before its firing is
upserted. The local state store has it (the same machine does not repeat it); a new
machine would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from revsched.org import OrgGateway
from revsched.org_composite import SideQuery
from revsched.soql import format_soql

FIRING_OBJECT = "Revsched_Firing__c"
KEY_FIELD = "Revsched_Key__c"
# Up to this many records in scope, their firings are read with one IN list; above it,
# one query for all of the play's firings is cheaper than many.
IDS_PER_QUERY = 300
HINT = (
    f"deploy the {FIRING_OBJECT} object in salesforce/ (README: Setting up your org) and"
    " grant the Revsched_Integration permission set, or set [state] org_memory = false"
)

Fired = tuple[str, str]


def firing_key(play: str, record_id: str, stage: str) -> str:
    return f"{play}:{record_id}:{stage}"


def records_in_scope(records: Mapping[str, list[dict[str, Any]]]) -> set[str]:
    """What a play may fire for: every record its queries returned, and every record they
    point at (`OwnerId`, `ManagerId`, a parent's or a child row's Id): a digest is often
    recorded on a user no query returns as a row, such as a rep's manager."""
    found: set[str] = set()
    for rows in records.values():
        for row in rows:
            _collect_ids(row, found)
    return found


def _collect_ids(record: Mapping[str, Any], found: set[str]) -> None:
    for name, value in record.items():
        if value is None:  # most values: the type checks below cost a 400k-row read seconds
            continue
        if isinstance(value, str):
            if value and (name == "Id" or name.endswith("Id")):
                found.add(value)
        elif isinstance(value, Mapping):  # a parent, or a subquery's {"records": [...]}
            _collect_ids(value, found)
        elif isinstance(value, list):
            for child in value:
                if isinstance(child, Mapping):
                    _collect_ids(child, found)


def recall(org: OrgGateway, play: str, record_ids: Iterable[str]) -> frozenset[Fired]:
    """The (record, stage) pairs the org remembers the play firing for these records, read
    with calls of their own (one per 2,000 firings)."""
    wanted = set(record_ids)
    query = firings_query(org, play, wanted)
    if query is not None:
        org.read_side(query)
    return recalled(query, wanted)


def firings_query(org: OrgGateway, play: str, wanted: set[str] | None = None) -> SideQuery | None:
    """The query of the play's firings the org remembers, for these records (None: for every
    record, as a play that decides a page at a time needs them), to read alone or beside
    another read (`OrgGateway.iter_query`'s side query); None when there is none to read."""
    if not org.org_memory or (wanted is not None and not wanted):
        return None
    select = f"SELECT Record_Id__c, Stage__c FROM {FIRING_OBJECT} WHERE Play__c = {{}}"
    if wanted is None or len(wanted) > IDS_PER_QUERY:
        soql = format_soql(select, play)
    else:
        soql = format_soql(select + " AND Record_Id__c IN {}", play, sorted(wanted))
    # Small rows, no COUNT() to pick a path: one call per 2,000 firings.
    return SideQuery(soql, "read the org's memory of firings", HINT)


def recalled(query: SideQuery | None, wanted: set[str] | None = None) -> frozenset[Fired]:
    """The (record, stage) pairs a firings query read, of the wanted records (None: all);
    its refusal raised here, as one line with HINT."""
    if query is None:
        return frozenset()
    return frozenset(
        (row["Record_Id__c"], row["Stage__c"])
        for row in query.rows()
        if wanted is None or row["Record_Id__c"] in wanted
    )


def remember(
    org: OrgGateway, play: str, fired: Iterable[Fired], as_of: date, run: str
) -> dict[str, str]:
    """Upsert a firing record per (record, stage); returns the errors by firing key."""
    records = [
        {
            KEY_FIELD: firing_key(play, record_id, stage),
            "Name": firing_key(play, record_id, stage)[:80],
            "Play__c": play,
            "Stage__c": stage,
            "Record_Id__c": record_id,
            "Fired_On__c": as_of.isoformat(),
            "Run_Id__c": run,
        }
        for record_id, stage in dict.fromkeys(fired)
    ]
    if not org.org_memory or not records:
        return {}
    outcomes = org.upsert(FIRING_OBJECT, KEY_FIELD, records)
    return {key: error for key, (_id, _created, error) in outcomes.items() if error is not None}


def forget(org: OrgGateway, play: str, fired: Iterable[Fired]) -> dict[str, str]:
    """Delete the firing records of stages a revert un-fired, so they may fire again;
    returns the errors by firing key (such a stage stays fired for every machine)."""
    keys = sorted({firing_key(play, record_id, stage) for record_id, stage in fired})
    if not org.org_memory or not keys:
        return {}
    select = f"SELECT Id, {KEY_FIELD} FROM {FIRING_OBJECT} WHERE {KEY_FIELD} IN {{}}"
    found = {
        row["Id"]: row[KEY_FIELD]
        for i in range(0, len(keys), IDS_PER_QUERY)
        for row in org.query(format_soql(select, keys[i : i + IDS_PER_QUERY]), HINT)
    }
    if not found:
        return {}
    outcomes = org.delete(list(found))
    return {found[record_id]: error for record_id, error in outcomes.items() if error is not None}
