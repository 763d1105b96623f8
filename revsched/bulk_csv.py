"""A Bulk API 2.0 update job's CSV, written into a temporary file a batch of rows at a time:
a million records' text is not held in memory to upload it, and a streamed plan adds each
page's rows as the page is decided.

Bulk CSV sets a field to null with `#N/A`; an empty cell means "leave it alone", which is
what a record's row holds in a column it does not change.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from revsched.plan import FieldChange
from revsched.play import Record

NULL = "#N/A"
# Values the CSV writer writes as they are.
_AS_IS = frozenset({str, int, float})


def csv_cell(value: Any) -> Any:
    """A field's new value as its cell."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class UpdateCsv:
    """One update job's CSV: the header (Id and the fields written), then the rows added."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = list(fields)
        self._columns = {field: i for i, field in enumerate(self.fields)}
        self._file = _disk_file()
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="")
        self._writer = csv.writer(self._text, lineterminator="\n")
        self._writer.writerow(self.fields)

    def add(self, records: Iterable[Record]) -> None:
        """A row per record, a blank cell for each field it does not set."""
        fields = self.fields
        self._writer.writerows(
            [csv_cell(record[field]) if field in record else "" for field in fields]
            for record in records
        )

    def holds(self, fields: Iterable[str]) -> bool:
        """Whether the file has a column for each of these fields."""
        return self._columns.keys() >= set(fields)

    def add_changes(self, changes: Iterable[FieldChange]) -> None:
        """A row per record the changes write (a record's changes together, as a page's
        are), each in its field's column: the CSV of a streamed page, cell by cell."""
        columns, blank = self._columns, [""] * len(self.fields)
        rows: dict[str, list[Any]] = {}
        for change in changes:
            row = rows.get(change.record_id)
            if row is None:
                row = rows[change.record_id] = blank.copy()
                row[0] = change.record_id
            new = change.new
            row[columns[change.field]] = new if type(new) in _AS_IS else csv_cell(new)
        self._writer.writerows(rows.values())

    def data(self) -> IO[bytes]:
        """The file, all its text written, to upload and then close."""
        self._text.flush()
        return self._text.detach()

    def close(self) -> None:
        """Drop the file (uploaded, or never to be)."""
        self._file.close()


def _disk_file() -> IO[bytes]:
    """A file with no name on disk, gone once closed (or once the process ends): closed by
    `UpdateCsv.close` or by whoever uploads its data."""
    return tempfile.TemporaryFile()


def written_csv(records: Iterable[Record], fields: Sequence[str]) -> UpdateCsv:
    """The CSV of these records, with these columns."""
    update = UpdateCsv(fields)
    update.add(records)
    return update
