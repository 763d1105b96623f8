"""What a report page holds: a header, totals, charts and tables of rows with links to
Salesforce; and how its tables are written as CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from revsched.plan import Scalar
from revsched.reports.charts import Chart

Row = dict[str, Scalar]


def record_url(instance_url: str, record_id: str, sobject: str | None = None) -> str:
    """The Lightning URL of a record; by Id alone (Salesforce redirects `/<Id>` to the
    record, whatever its object) when the object is not known."""
    base = instance_url.rstrip("/")
    if sobject:
        return f"{base}/lightning/r/{sobject}/{record_id}/view"
    return f"{base}/{record_id}"


def label(column: str) -> str:
    """A column as people read it: `days_to_renewal` -> "Days to renewal",
    `Win_Back_Campaign__c` -> "Win Back Campaign", `OwnerId` -> "Owner"."""
    if column.endswith(" was"):
        return f"{label(column.removesuffix(' was'))} (was)"
    text = re.sub(r"__c$", "", column)
    text = re.sub(r"(?<=[a-z])Id$", "", text)
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class RecordLink:
    """A column whose value links to a record: the column holding its Id, and its object
    (a literal name, or None to link by Id alone)."""

    id_column: str
    sobject: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    rows: Sequence[Row]
    columns: Sequence[str] = ()
    links: Mapping[str, RecordLink] = field(default_factory=dict)

    def all_columns(self) -> list[str]:
        """The columns given, else every column any row has, in the order they appear."""
        if self.columns:
            return list(self.columns)
        return list(dict.fromkeys(column for row in self.rows for column in row))

    def shown_columns(self) -> list[str]:
        """The page shows a linked name in place of the Id column it links with."""
        hidden = {link.id_column for column, link in self.links.items() if column != link.id_column}
        return [c for c in self.all_columns() if c not in hidden]

    def url(self, instance_url: str, row: Row, column: str) -> str | None:
        link = self.links.get(column)
        if link is None or not row.get(link.id_column):
            return None
        sobject = link.sobject or row.get("sobject")
        return record_url(instance_url, str(row[link.id_column]), str(sobject) if sobject else None)


@dataclass(frozen=True)
class Header:
    """Who ran what, when and where: the first lines of every report."""

    title: str
    play: str
    as_of: str
    mode: str
    org: str
    run_id: int | None = None
    # What the reader must know to read the figures right (a forecast's approximation).
    note: str | None = None


@dataclass(frozen=True)
class Report:
    header: Header
    instance_url: str
    # Record Id -> Name: an Id in a table shows as the record's name.
    names: Mapping[str, str] = field(default_factory=dict)
    totals: Sequence[tuple[str, Scalar]] = ()
    charts: Sequence[Chart] = ()
    tables: Sequence[Table] = ()


# What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Scalar) -> Scalar:
    """A text cell a spreadsheet would run as a formula, made plain text with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=table.all_columns(), restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: _inert(v) for c, v in row.items()} for row in table.rows)
    return out.getvalue()
