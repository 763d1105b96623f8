"""A play's lookup index of org records, kept between runs in the state store.

route-leads matches each changed lead against 1M accounts by website domain and company
name, neither of which Salesforce indexes. Reading every account each quarter-hour would
cost hundreds of calls a run, so the play declares an index (the keys each record is
found by) and the runner keeps it current: the first refresh reads every record once,
each later one only those changed since the last (SystemModstamp, minus an overlap). A
run then looks its keys up locally and reads just the candidate records by Id, fresh. A
deleted record's stale keys do no harm: its Id is simply not returned.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from revsched import progress
from revsched.play import RecordIndex
from revsched.soql import format_soql

if TYPE_CHECKING:  # loading the plays (to list them) loads no client nor database
    from revsched.org import OrgGateway
    from revsched.state import StateStore

# Records changed this long before the last refresh are read again (clock skew, commits
# landing late).
OVERLAP = timedelta(minutes=5)

Lookup = Callable[[Collection[str]], dict[str, set[str]]]


def refresh(index: RecordIndex, store: StateStore, org: OrgGateway, now: datetime) -> int:
    """Bring the index up to date with the org as of `now` (the moment before reading);
    returns how many records were (re)indexed."""
    mark = f"index:{index.name}"
    since = store.watermark(mark)
    soql = f"SELECT Id, {', '.join(index.fields)} FROM {index.sobject}"
    if since is not None:
        soql += format_soql(" WHERE SystemModstamp >= {}", since - OVERLAP)
    rows = org.iter_query(soql, f"check the fields of the {index.name} index")
    with progress.status(f"indexing {index.sobject}"):
        count = store.index_records(
            index.name, ((str(r["Id"]), set(index.keys(r))) for r in rows), rebuild=since is None
        )
    store.save_watermark(mark, now)
    return count


def lookup(index: RecordIndex, store: StateStore) -> Lookup:
    """Key -> the Ids of the records indexed under it."""
    return partial(store.index_lookup, index.name)
