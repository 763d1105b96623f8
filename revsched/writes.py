"""The records a plan's field changes write, built when a call sends them.

A run writes one record per changed record, whatever its fields: `{"Id": ..., field:
new, ...}`. Built all at once, those dicts were a second copy of every change for the
length of the writes (a third of a 100k-record run's memory); here each is made when a
call takes it (a 200-record chunk, a Bulk job's CSV row) and dropped once sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from revsched.plan import FieldChange
from revsched.play import Record

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
