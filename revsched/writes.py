"""The records a plan's field changes write, built when a call sends them.

A run writes one record per changed record, whatever its fields: `{"Id": ..., field:
new, ...}`. Built all at once, those dicts were a second copy of every change for the
length of the writes (a third of a 100k-record run's memory); here each is made when a
call takes it (a 200-record chunk, a Bulk job's CSV row) and dropped once sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, overload

from revsched.plan import FieldChange
from revsched.play import Record

if TYPE_CHECKING:
    from revsched.bulk_csv import UpdateCsv
    from revsched.state import StateStore

# One record's changes: the change itself when it is the only one (most records).
RecordChanges = FieldChange | list[FieldChange]


def written_record(changes: RecordChanges) -> Record:
    """What a record's changes write: its Id and each field's new value."""
    if isinstance(changes, FieldChange):
        return {"Id": changes.record_id, changes.field: changes.new}
    record: Record = {"Id": changes[0].record_id}
    for change in changes:
        record[change.field] = change.new
    return record


class RecordWrites(Sequence[Record]):
    """One sObject's records to write, in the order of the plan's changes; each access
    builds the record anew from the changes it holds (no copy of them is kept)."""

    __slots__ = ("_changes",)

    def __init__(self, changes: list[RecordChanges]) -> None:
        self._changes = changes

    def __len__(self) -> int:
        return len(self._changes)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [written_record(changes) for changes in self._changes[index]]
        return written_record(self._changes[index])

    def __iter__(self) -> Iterator[Record]:
        return map(written_record, self._changes)

    def fields(self) -> list[str]:
        """Id and the fields the records set, in the order first set."""
        changes = itertools.chain.from_iterable(
            held if isinstance(held, list) else (held,) for held in self._changes
        )
        return ["Id", *dict.fromkeys(change.field for change in changes)]


class StoredWrites:
    """One sObject's records to write, read back from a run's saved plan a chunk at a time
    as they are sent (a play that streams holds none of its changes)."""

    def __init__(
        self,
        store: StateStore,
        run_id: int,
        sobject: str,
        count: int,
        fields: Iterable[str],
        csv: UpdateCsv | None = None,
    ) -> None:
        self._store, self._run_id, self._sobject = store, run_id, sobject
        self._count, self._fields = count, ["Id", *fields]
        self._csv = csv

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Record]:
        return self._store.planned_records(self._run_id, self._sobject)

    def fields(self) -> list[str]:
        """Id and the fields the records set."""
        return self._fields

    def take_csv(self) -> UpdateCsv | None:
        """The records' Bulk CSV when it was written as they were planned (once: whoever
        takes it uploads and closes it)."""
        csv, self._csv = self._csv, None
        return csv


def fields_written(records: Iterable[Record]) -> list[str]:
    """The columns of the records' CSV: asked of the writes when they know them, else
    every key of every record, in the order first seen."""
    if isinstance(records, RecordWrites | StoredWrites):
        return records.fields()
    return list(dict.fromkeys(itertools.chain.from_iterable(records)))
