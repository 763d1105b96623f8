"""What Salesforce checks and computes on every write of a record: the fields exist and
may be written, required ones are set, lookups point at live records of the right type,
unique values stay unique, and the fields derived from others follow them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from revsched.localorg import ids, schema
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.sql import q
from revsched.localorg.values import label, to_db

PERSON_OBJECTS = ("User", "Contact", "Lead")
# Writable fields that derive() may fill in (the non-writable ones are always bound).
DERIVED_FIELDS = {"Probability"}
# The columns derive() may change, per object.
DERIVED_BY_OBJECT = {
    **{name: ("Name",) for name in PERSON_OBJECTS},
    "Opportunity": ("IsClosed", "IsWon", "Probability"),
    "Task": ("IsClosed",),
}


def opportunity_stages(conn: sqlite3.Connection) -> dict[str, tuple[float | None, bool, bool]]:
    """Each stage's (default probability, IsClosed, IsWon), by lowercased API name."""
    rows = conn.execute(
        "SELECT ApiName, DefaultProbability, IsClosed, IsWon FROM OpportunityStage "
        "WHERE IsDeleted = 0"
    )
    return {name.lower(): (prob, bool(closed), bool(won)) for name, prob, closed, won in rows}


def derive(
    sobj: schema.SObject,
    row: dict[str, object],
    changed: dict[str, object],
    stages: dict[str, tuple[float | None, bool, bool]],
) -> None:
    """Fields Salesforce computes from the others on the same record."""
    if sobj.name in PERSON_OBJECTS:
        parts = [row.get("FirstName"), row.get("LastName")]
        row["Name"] = " ".join(str(p) for p in parts if p) or None
    elif sobj.name == "Opportunity":
        stage = stages.get(str(row.get("StageName") or "").lower())
        row["IsClosed"] = int(bool(stage and stage[1]))
        row["IsWon"] = int(bool(stage and stage[2]))
        if stage and "StageName" in changed and "Probability" not in changed:
            row["Probability"] = stage[0]
    elif sobj.name == "Task":
        row["IsClosed"] = int(str(row.get("Status") or "").lower() == "completed")


def column_values(sobj: schema.SObject, values: dict[str, object]) -> dict[str, object]:
    """Canonical field names -> column values; rejects unknown and read-only fields."""
    out: dict[str, object] = {}
    unwritable: list[str] = []
    for key, value in values.items():
        field = sobj.field(key)
        if field is None:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"No such column '{key}' on sobject of type {sobj.name}",
                [key],
            )
        if not field.writable:
            unwritable.append(field.name)
            continue
        out[field.name] = to_db(field, value)
    if unwritable:
        raise SalesforceError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(unwritable)}. Please check the "
            "security settings of this field and verify that it is read/write for your "
            "profile or permission set.",
            unwritable,
        )
    return out


def check_required(
    sobj: schema.SObject, row: dict[str, object], only: Iterable[str] | None = None
) -> None:
    """REQUIRED_FIELD_MISSING for required fields left empty (of `only`, if given: an
    update can only empty the fields it sets)."""
    fields = sobj.fields.values() if only is None else [sobj.fields[n] for n in only]
    missing = [f.name for f in fields if not f.nillable and f.writable and row.get(f.name) is None]
    if missing:
        raise SalesforceError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def check_references(
    conn: sqlite3.Connection,
    org_schema: schema.Schema,
    sobj: schema.SObject,
    changed: dict[str, object],
) -> None:
    """Each lookup set names a live record of an object it may reference."""
    for name, value in changed.items():
        field = sobj.fields[name]
        if field.type != schema.REFERENCE or value is None:
            continue
        canonical = ids.normalize(str(value))
        target = org_schema.key_prefix_owner(canonical) if canonical else None
        if canonical is None or target is None or target.name not in field.reference_to:
            code = "MALFORMED_ID" if canonical is None else "FIELD_INTEGRITY_EXCEPTION"
            raise SalesforceError(
                400, code, f"{label(field)}: id value of incorrect type: {value}", [name]
            )
        found = conn.execute(
            f"SELECT 1 FROM {q(target.name)} WHERE Id = ? AND IsDeleted = 0", (canonical,)
        ).fetchone()
        if not found:
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]
            )
        changed[name] = canonical


def check_unique(
    conn: sqlite3.Connection, sobj: schema.SObject, changed: dict[str, object], own_id: str
) -> None:
    """DUPLICATE_VALUE when a unique field takes a value another record holds (a deleted
    record holds none, as in Salesforce: an upsert does not find it either)."""
    for name, value in changed.items():
        if not sobj.fields[name].unique or value is None:
            continue
        row = conn.execute(
            f"SELECT Id FROM {q(sobj.name)} WHERE {q(name)} = ? AND Id != ? AND IsDeleted = 0",
            (value, own_id),
        ).fetchone()
        if row:
            raise SalesforceError(
                400,
                "DUPLICATE_VALUE",
                f"duplicate value found: {name} duplicates value on record with id: {row[0]}",
                [name],
            )
