"""A streamed plan's Bulk update CSVs, written as its pages are decided.

A streamed run saves each page's field changes in the state store, and once an object's
changed records pass the Bulk threshold it writes them with one update job, whose CSV
holds a row per record. Writing a page's rows while its changes are in hand costs a
third of reading the whole plan back from the store afterwards to write them; only the
pages decided before the object passed the threshold are read back, once, when it does
(at most the threshold and a page of records).

A file is kept only while it holds one row per record with a column for each field set:
a page that changes a record it does not hold (which another page may change too) or a
field the file has no column for drops the object's file, and the upload reads that
object's records back from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

from revsched.bulk_csv import UpdateCsv, written_csv
from revsched.plan import FieldChange
from revsched.play import Record

if TYPE_CHECKING:
    from revsched.state import StateStore

_SOBJECT, _RECORD_ID, _FIELD = attrgetter("sobject"), attrgetter("record_id"), attrgetter("field")


class BulkSpool:
    """The update CSV of each object whose changed records passed `threshold`, by object."""

    def __init__(self, store: StateStore, run_id: int, threshold: int) -> None:
        self._store, self._run_id, self._threshold = store, run_id, threshold
        self._files: dict[str, UpdateCsv] = {}
        self._dropped: set[str] = set()

    def add(
        self,
        changes: Sequence[FieldChange],
        page: Iterable[Record],
        records: Mapping[str, int],
        fields: Mapping[str, Iterable[str]],
    ) -> None:
        """A page's changes, once saved: `page` holds the records decided, `records` counts
        each object's changed records so far and `fields` the fields they set."""
        held = {record.get("Id") for record in page}
        for sobject, changed in _by_object(changes).items():
            if sobject in self._dropped:
                continue
            update = self._files.get(sobject)
            if not held.issuperset(map(_RECORD_ID, changed)) or (
                update and not update.holds(map(_FIELD, changed))
            ):
                self._drop(sobject)
            elif update is not None:
                update.add_changes(changed)
            elif records[sobject] > self._threshold:
                # This page is saved already: read back with the pages before it.
                saved = self._store.planned_records(self._run_id, sobject)
                self._files[sobject] = written_csv(saved, ["Id", *fields[sobject]])

    def take(self, sobject: str) -> UpdateCsv | None:
        """The object's CSV, if it was written whole (the taker uploads and closes it)."""
        return self._files.pop(sobject, None)

    def close(self) -> None:
        """Drop the files not taken (a run stopped before its upload)."""
        for update in self._files.values():
            update.close()
        self._files.clear()

    def _drop(self, sobject: str) -> None:
        self._dropped.add(sobject)
        update = self._files.pop(sobject, None)
        if update is not None:
            update.close()


def _by_object(changes: Sequence[FieldChange]) -> dict[str, Sequence[FieldChange]]:
    """The changes by object (most pages change one)."""
    objects = set(map(_SOBJECT, changes))
    if len(objects) == 1:
        return {objects.pop(): changes}
    by_object: dict[str, list[FieldChange]] = {}
    for change in changes:
        by_object.setdefault(change.sobject, []).append(change)
    return by_object
