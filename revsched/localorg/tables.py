"""The org's SQLite tables: one per object, with a column per field, a unique index per
unique field and a partial index per lookup and external ID; created or extended to match
the schema as it grows (custom objects and fields, newer standard fields)."""

from __future__ import annotations

import sqlite3

from revsched.localorg import schema
from revsched.localorg.sql import q
from revsched.localorg.values import column_type


def ensure(conn: sqlite3.Connection, org_schema: schema.Schema) -> None:
    """Create what the schema has and the database lacks: tables, columns, their indexes."""
    for sobj in org_schema.sobjects.values():
        existing = {row[1] for row in conn.execute(f"PRAGMA table_info({q(sobj.name)})")}
        if not existing:
            columns = ", ".join(
                f"{q(f.name)} {column_type(f)}" + (" PRIMARY KEY" if f.name == "Id" else "")
                for f in sobj.fields.values()
            )
            conn.execute(f"CREATE TABLE {q(sobj.name)} ({columns})")
            missing = [f for f in sobj.fields.values() if f.name != "Id"]
        else:
            missing = [f for f in sobj.fields.values() if f.name not in existing]
            for f in missing:
                conn.execute(
                    f"ALTER TABLE {q(sobj.name)} ADD COLUMN {q(f.name)} {column_type(f)}"
                    + (" DEFAULT 0" if f.type == schema.BOOLEAN else "")
                )
        for f in missing:
            if f.unique:
                conn.execute(
                    f"CREATE UNIQUE INDEX IF NOT EXISTS {q(f'ux_{sobj.name}_{f.name}')} "
                    f"ON {q(sobj.name)} ({q(f.name)}) WHERE IsDeleted = 0"
                )
            elif f.type == schema.REFERENCE or f.external_id:
                # Partial: most lookups are sparse, and `col = ?` implies NOT NULL.
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {q(f'ix_{sobj.name}_{f.name}')} "
                    f"ON {q(sobj.name)} ({q(f.name)}) WHERE {q(f.name)} IS NOT NULL"
                )
