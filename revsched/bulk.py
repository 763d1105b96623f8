"""Bulk API 2.0 for large reads and writes: a handful of calls whatever the size.

Bulk results are CSV, so values come back as text; they are typed again from
the org's describe (booleans, numbers, empty = null) and relationship columns
(`Owner.Name`) nested again, so a play sees the same records as from REST.
Writing, Bulk CSV sets a field to null with `#N/A` (an empty cell means
"leave it alone").
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from simple_salesforce import Salesforce

from revsched.play import Record

NULL = "#N/A"
NUMBER_TYPES = {"double", "currency", "percent"}
INTEGER_TYPES = {"int", "long"}


def top_level_clauses(soql: str) -> tuple[str, str] | None:
    """(select list, the rest from FROM on), split at the FROM outside any parentheses."""
    depth, quoted, escaped = 0, False, False
    upper = soql.upper()
    for index, char in enumerate(soql):
        if quoted:
            quoted = escaped or char != "'"
            escaped = not escaped and char == "\\"
        elif char == "'":
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and upper.startswith(" FROM ", index):
            return soql[len("SELECT ") : index].strip(), soql[index + 1 :]
    return None


def count_query(soql: str) -> str | None:
    """The COUNT() form of a query, or None when it has subqueries Bulk cannot read."""
    parts = top_level_clauses(soql)
    if parts is None or "(" in parts[0] or not soql.upper().startswith("SELECT "):
        return None
    rest = parts[1]
    order = rest.upper().find(" ORDER BY ")
    return f"SELECT COUNT() {rest[:order] if order >= 0 else rest}"


def _sobject(soql: str) -> str:
    parts = top_level_clauses(soql)
    assert parts is not None
    return parts[1].split()[1]


class FieldTypes:
    """Field types by relationship path, from the org's describe (cached per object)."""

    def __init__(self, sf: Salesforce):
        self._sf = sf
        self._describes: dict[str, dict[str, Any]] = {}

    def _describe(self, sobject: str) -> dict[str, Any]:
        if sobject not in self._describes:
            self._describes[sobject] = getattr(self._sf, sobject).describe()
        return self._describes[sobject]

    def type_of(self, sobject: str, path: str) -> str:
        *parents, name = path.split(".")
        for relationship in parents:
            field = next(
                f
                for f in self._describe(sobject)["fields"]
                if (f.get("relationshipName") or "").lower() == relationship.lower()
            )
            sobject = field["referenceTo"][0]
        field = next(
            f for f in self._describe(sobject)["fields"] if f["name"].lower() == name.lower()
        )
        return str(field["type"])


def _typed(text: str, field_type: str) -> Any:
    if text == "":
        return None
    if field_type == "boolean":
        return text.lower() == "true"
    if field_type in NUMBER_TYPES:
        return float(text)
    if field_type in INTEGER_TYPES:
        return int(float(text))
    return text


def _nest(row: Mapping[str, Any]) -> Record:
    """Relationship columns back into nested records, as REST returns them."""
    record: Record = {}
    for column, value in row.items():
        *parents, name = column.split(".")
        target = record
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
    return record


def read_csv_pages(pages: Iterator[str], sobject: str, types: FieldTypes) -> Iterator[Record]:
    """Typed, nested records from the CSV pages of a Bulk query."""
    for page in pages:
        reader = csv.DictReader(io.StringIO(page))
        kinds = {column: types.type_of(sobject, column) for column in reader.fieldnames or []}
        for row in reader:
            yield _nest({column: _typed(value, kinds[column]) for column, value in row.items()})


def bulk_query(sf: Salesforce, soql: str, page_size: int) -> Iterator[Record]:
    sobject = _sobject(soql)
    pages = getattr(sf.bulk2, sobject).query(soql, max_records=page_size, wait=1)
    return read_csv_pages(pages, sobject, FieldTypes(sf))


def _csv_cell(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_csv(records: Sequence[Record], path: Path) -> None:
    """The job's CSV, streamed to a file; a field a record does not change stays blank,
    which Bulk reads as "leave it alone"."""
    fields = list(dict.fromkeys(field for record in records for field in record))
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({field: _csv_cell(value) for field, value in record.items()})


def bulk_update(sf: Salesforce, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
    """Update records with one ingest job; returns each record's error, None when it saved."""
    api = getattr(sf.bulk2, sobject)
    outcomes: dict[str, str | None] = {str(r["Id"]): None for r in records}
    with tempfile.TemporaryDirectory(prefix="revsched-bulk-") as tmp:
        upload = Path(tmp) / f"{sobject}.csv"
        _write_csv(records, upload)
        jobs = api.update(csv_file=str(upload), wait=1)
    for job in jobs:
        if (
            not job["numberRecordsFailed"]
            and job["numberRecordsProcessed"] == job["numberRecordsTotal"]
        ):
            continue
        for row in csv.DictReader(io.StringIO(api.get_failed_records(job["job_id"]))):
            outcomes[row["Id"]] = row["sf__Error"]
        for row in csv.DictReader(io.StringIO(api.get_unprocessed_records(job["job_id"]))):
            outcomes[row["Id"]] = "UNPROCESSED: the job ended before this record was processed"
    return outcomes
