"""Reading the records a query returned, as Salesforce sends them: a child subquery's rows
and a value behind a relationship path, each of which may be null."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revsched.play import Record


def children(record: Record, relationship: str) -> list[Record]:
    """The rows of a child subquery on a record (Salesforce sends null when there are none)."""
    nested = record.get(relationship)
    return list(nested["records"]) if nested else []


def field_value(record: Record, path: str) -> Any:
    """A value by API name or relationship path (`Owner.Name`); None along a null parent."""
    value: Any = record
    for part in path.split("."):
        if value is None:
            return None
        value = value[part]
    return value
