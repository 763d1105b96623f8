"""Reading the org: SOQL by REST pages (each retried on its own) or one Bulk query job,
records by Id and the names of the records a plan mentions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import JobState
from simple_salesforce.format import format_soql

from revsched import progress
from revsched.bulk import bulk_query, count_query, top_level_clauses
from revsched.org_calls import COLLECTION_LIMIT, OrgSession
from revsched.org_composite import Read, SideQuery, answer, query_read, together
from revsched.play import Record

# Standard objects a lookup points at, by their Ids' key prefix (the same in every org).
NAMED_KEY_PREFIXES = {
    "005": "User",
    "00G": "Group",
    "001": "Account",
    "003": "Contact",
    "00Q": "Lead",
    "006": "Opportunity",
}
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


T = TypeVar("T")


class OrgReads(OrgSession):
    """The gateway's reads."""

    # The object's describe, cached by the gateway (OrgGateway.describe), carrying a side
    # query when it is fetched.
    describe: Callable[[str, SideQuery | None], dict[str, Any]]

    def iter_query(
        self, soql: str, config_hint: str | None = None, side: SideQuery | None = None
    ) -> Iterator[Record]:
        """Stream a query's rows: by REST pages, each retried on its own, or for large
        results with one Bulk API 2.0 query job. The first page's totalSize tells which (no
        COUNT() call of its own); with bulk_read_threshold 0, Bulk reads every query it can.
        A `side` query is read in the first page's call, or the Bulk read's describe, before
        the first row is given (alone if neither call is made)."""
        clauses = top_level_clauses(soql)
        # The outer FROM names what is read (a subquery's FROM is only part of each row).
        sobject = clauses[1].split()[1] if clauses else "records"
        action = "run a query"
        bulkable = count_query(soql) is not None
        page = None
        if not bulkable or self.api.bulk_read_threshold:
            first = query_read(soql, action, config_hint, self.api.query_batch_size)
            page = self.carrying(first, lambda sf: sf.query(soql), side)
        if bulkable and (page is None or page["totalSize"] > self.api.bulk_read_threshold):
            total = page["totalSize"] if page else None
            with progress.task(f"reading {sobject} by Bulk API", total) as tracker:

                def call(action: str, request: Callable[[Salesforce], T]) -> T:
                    return self.call(action, request, config_hint)

                def on_state(state: str, processed: int | None) -> None:
                    # Once the job is done, the bar counts the rows read.
                    done = state == JobState.job_complete
                    tracker.state(state, 0 if done else processed, "read" if done else "processed")

                def describe(name: str) -> dict[str, Any]:
                    return self.describe(name, side)

                yield from bulk_query(
                    call,
                    soql,
                    self.api.bulk_page_size,
                    describe,
                    on_state=on_state,
                    on_read=tracker,
                )
            return
        assert page is not None
        with progress.task(f"reading {sobject}", page.get("totalSize")) as advance:
            while True:
                yield from (_plain(record) for record in page["records"])
                advance(len(page["records"]))
                if page["done"]:
                    return
                locator = page["nextRecordsUrl"]
                page = self.call(action, functools.partial(_next_page, locator=locator))

    def carrying(self, read: Read, alone: Callable[[Salesforce], T], side: SideQuery | None) -> Any:
        """What `read` answers (made as `alone` when there is nothing to carry), with a side
        query not yet read carried in the same composite call."""
        if side is None or side.settled:
            return self.call(read.action, alone, read.hint)
        beside = query_read(side.soql, side.action, side.hint, self.api.query_batch_size)
        answered, carried = self.call(read.action, together((read, beside)), read.hint)
        self.read_side(side, lambda: answer(beside, carried))
        return answer(read, answered)

    def read_side(
        self, side: SideQuery, first_page: Callable[[], dict[str, Any]] | None = None
    ) -> None:
        """Read a side query: from its first page (answered in a call that carried it) or
        with a call of its own, then the pages after it (each a call of its own, as
        query_all's are)."""

        def rows() -> list[Record]:
            if first_page is not None:
                page = first_page()
            else:
                page = self.call(side.action, lambda sf: sf.query(side.soql), side.hint)
            records = page["records"]
            while not page["done"]:
                locator = page["nextRecordsUrl"]
                page = self.call(
                    side.action, functools.partial(_next_page, locator=locator), side.hint
                )
                records += page["records"]
            return [_plain(record) for record in records]

        side.settle(rows)

    def query(self, soql: str, config_hint: str | None = None) -> list[Record]:
        """All rows of a query; `config_hint` says what to fix if Salesforce refuses it."""
        return list(self.iter_query(soql, config_hint))

    def fetch(self, sobject: str, ids: Sequence[str], fields: Sequence[str]) -> list[Record]:
        """Records by Id (deleted ones are simply absent), 200 Ids per query."""
        records: list[Record] = []
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            soql = format_soql(
                f"SELECT Id, {', '.join(f for f in fields if f != 'Id')} FROM {sobject}"
                " WHERE Id IN {}",
                chunk,
            )
            records.extend(self.query(soql))
        return records

    def names(self, values: Iterable[Any]) -> dict[str, str]:
        """The Name of each record whose Id is among `values` (users, queues, accounts,
        contacts, leads, opportunities), for people reading a plan; one query per object
        and 200 Ids. Anything else, or a record not found, is left out."""
        by_object: dict[str, list[str]] = {}
        for value in dict.fromkeys(values):
            if isinstance(value, str) and RECORD_ID.match(value):
                sobject = NAMED_KEY_PREFIXES.get(value[:3])
                if sobject is not None:
                    by_object.setdefault(sobject, []).append(value)
        return {
            record["Id"]: record["Name"]
            for sobject, ids in by_object.items()
            for record in self.fetch(sobject, ids, ["Name"])
        }


def _plain(value: Any) -> Any:
    """A REST record without the `attributes` plays never read, at any depth (parents,
    subqueries). In place: the page was just decoded and nothing else holds it, and a copy
    of every record cost CPU and memory on large runs."""
    if isinstance(value, dict):
        value.pop("attributes", None)
        for item in value.values():
            if isinstance(item, dict | list):
                _plain(item)
    elif isinstance(value, list):
        for item in value:
            _plain(item)
    return value


def _next_page(sf: Salesforce, locator: str) -> dict[str, Any]:
    return sf.query_more(locator, identifier_is_url=True)
