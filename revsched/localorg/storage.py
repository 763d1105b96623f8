"""SQLite storage of the local org: one table per SObject, its records read, located and
written as the REST API does (each write checked and its derived fields set by
`write_rules`, the records it moves along kept in step by `activities`)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path

from revsched.localorg import ids, schema, standard_objects, tables
from revsched.localorg.activities import ACTIVITY_OBJECTS, after_write
from revsched.localorg.salesforce_errors import SalesforceError, not_found
from revsched.localorg.soql_dates import FiscalYear
from revsched.localorg.sql import cols, q
from revsched.localorg.values import converter, format_datetime, from_db, to_db
from revsched.localorg.write_rules import (
    DERIVED_BY_OBJECT,
    DERIVED_FIELDS,
    check_references,
    check_required,
    check_unique,
    column_values,
    derive,
    opportunity_stages,
)
from revsched.private import private_file

AUDIT_FIELDS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
RUNNING_USER = {
    "Username": "admin@revsched.localorg",
    "FirstName": "Local",
    "LastName": "Admin",
    "Email": "admin@revsched.localorg",
}


class MultipleMatches(SalesforceError):
    """An upsert's external ID matched several records (REST answers 300)."""

    def __init__(self, record_ids: list[str]) -> None:
        super().__init__(300, "MULTIPLE_CHOICES", "Multiple records matched the external ID")
        self.record_ids = record_ids


def external_id_field(sobj: schema.SObject, name: str) -> schema.Field:
    """The external ID field an upsert names; Salesforce's 404 when it is not one."""
    field = sobj.field(name)
    if field is None or not field.external_id:
        raise SalesforceError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name}",
        )
    return field


class Storage:
    """The org's SQLite database. One connection, serialised by `lock`, because SQLite
    allows a single writer and the HTTP server may be threaded."""

    def __init__(self, path: str | Path, today: Callable[[], date]) -> None:
        self.today = today
        self.lock = threading.RLock()
        if str(path) != ":memory:":
            private_file(Path(path))
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-65536")
        self._depth = 0
        self._now_key: tuple[date, int] | None = None
        self._now_text = ""
        self.running_user_id = ""
        # The org's fiscal year, for FISCAL_* date functions and literals.
        self.fiscal_year = FiscalYear()
        # This org's objects: the shipped schema and the custom ones the file remembers.
        self.schema = standard_objects.SHIPPED.copy()
        with self.lock:
            created = self._create_schema()
            self.conn.execute("CREATE TABLE IF NOT EXISTS _schema_extension (spec TEXT)")
            for (spec,) in self.conn.execute("SELECT spec FROM _schema_extension").fetchall():
                self.schema.extend(json.loads(spec))
            self.ensure_tables()
            if created:
                self._seed()
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _usage (day TEXT, kind TEXT, used INTEGER, "
                "PRIMARY KEY (day, kind))"
            )
            self.running_user_id = self.conn.execute(
                'SELECT Id FROM "User" WHERE Username = ?', (RUNNING_USER["Username"],)
            ).fetchone()[0]

    # -- schema -------------------------------------------------------------

    def _create_schema(self) -> bool:
        """The org's own bookkeeping (Id sequences, API usage); True for a new file."""
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = '_sequence'"
        ).fetchone()
        if exists:
            return False
        with self.transaction():
            self.conn.execute("CREATE TABLE _sequence (sobject TEXT PRIMARY KEY, next INTEGER)")
            self.conn.execute("CREATE TABLE _api_usage (day TEXT PRIMARY KEY, used INTEGER)")
        return True

    def _seed(self) -> None:
        """What every org has: its opportunity stages, the user the API runs as and that
        user's permissions."""
        self.insert(
            "OpportunityStage",
            [
                {
                    "MasterLabel": name,
                    "ApiName": name,
                    "SortOrder": order,
                    "DefaultProbability": float(probability),
                    "IsClosed": closed,
                    "IsWon": won,
                }
                for order, (name, probability, closed, won) in enumerate(
                    standard_objects.OPPORTUNITY_STAGES, start=1
                )
            ],
        )
        self.insert("User", [dict(RUNNING_USER)])
        self.insert("UserPermissionAccess", [{}])

    def ensure_tables(self) -> None:
        """Create the tables and columns of objects and fields added to the schema since
        this database was made (all of them in a new file)."""
        with self.transaction():
            tables.ensure(self.conn, self.schema)

    def add_schema(self, spec: dict[str, object]) -> list[str]:
        """Add custom objects and fields (see schema.Schema.extend) to this org, remembered in the
        database so that later opens of the file know them too."""
        with self.lock:
            names = self.schema.extend(spec)
            self.conn.execute("INSERT INTO _schema_extension VALUES (?)", (json.dumps(spec),))
            self.ensure_tables()
        return names

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A (nestable) transaction: an error rolls back exactly this block."""
        name = f"sp{self._depth}"
        self._depth += 1
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    # -- API usage ------------------------------------------------------------

    def count_call(self) -> int:
        """Count one API call against today's allowance; returns the calls used today."""
        day = self.today().isoformat()
        self.conn.execute(
            "INSERT INTO _api_usage VALUES (?, 1) ON CONFLICT(day) DO UPDATE SET used = used + 1",
            (day,),
        )
        return self.calls_today()

    def count_usage(self, kind: str, amount: int = 1) -> None:
        """Count against one of the other daily allowances (bulk batches, query jobs)."""
        self.conn.execute(
            "INSERT INTO _usage VALUES (?, ?, ?) "
            "ON CONFLICT(day, kind) DO UPDATE SET used = used + excluded.used",
            (self.today().isoformat(), kind, amount),
        )

    def usage_today(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT kind, used FROM _usage WHERE day = ?", (self.today().isoformat(),)
        )
        return dict(rows.fetchall())

    def calls_today(self) -> int:
        row = self.conn.execute(
            "SELECT used FROM _api_usage WHERE day = ?", (self.today().isoformat(),)
        ).fetchone()
        return row[0] if row else 0

    # -- writes ---------------------------------------------------------------

    def now(self) -> str:
        """The org clock's current datetime: today's date (from `today`) at the current time.
        Formatted once per millisecond (a collection write asks for it per record)."""
        key = (self.today(), time.time_ns() // 1_000_000)
        if key != self._now_key:
            current = datetime.fromtimestamp(key[1] / 1000, UTC)
            self._now_text = format_datetime(datetime.combine(key[0], current.time(), UTC))
            self._now_key = key
        return self._now_text

    def _allocate(self, sobj: schema.SObject, count: int) -> list[str]:
        row = self.conn.execute(
            "SELECT next FROM _sequence WHERE sobject = ?", (sobj.name,)
        ).fetchone()
        first = row[0] if row else 1
        self.conn.execute(
            "INSERT INTO _sequence VALUES (?, ?) ON CONFLICT(sobject) DO UPDATE SET next = ?",
            (sobj.name, first + count, first + count),
        )
        return [ids.make_id(sobj.key_prefix, n) for n in range(first, first + count)]

    def _defaults(self, sobj: schema.SObject) -> dict[str, object]:
        row: dict[str, object] = {f: None for f in sobj.fields}
        for f in sobj.fields.values():
            if f.default is not None:
                row[f.name] = to_db(f, f.default)
        if "OwnerId" in sobj.fields:
            row["OwnerId"] = self.running_user_id or None
        return row

    def insert(self, sobject: str, records: list[dict[str, object]]) -> list[str]:
        """Bulk load without HTTP: no reference checks, one executemany per call."""
        sobj = self.schema.sobject(sobject)
        if sobj is None:
            raise ValueError(f"sObject type '{sobject}' is not supported")
        stages = opportunity_stages(self.conn) if sobj.name == "Opportunity" else {}
        now = self.now()
        base = self._defaults(sobj)
        required = [f.name for f in sobj.fields.values() if not f.nillable and f.writable]
        # itemgetter of one name returns the value itself: keep it a tuple.
        required_values = itemgetter(*required, "Id") if required else lambda _row: ()
        derives = sobj.name in DERIVED_BY_OBJECT
        resolved: dict[str, schema.Field] = {}
        converters: dict[str, tuple[str, Callable[[object], object]]] = {}
        rows = []
        with self.lock, self.transaction():
            new_ids = self._allocate(sobj, len(records))
            for record_id, record in zip(new_ids, records, strict=True):
                row = dict(base)
                for key, value in record.items():
                    known = converters.get(key)
                    if known is None:
                        field = resolved[key] = self._bulk_field(sobj, key)
                        known = converters[key] = (field.name, converter(field))
                    row[known[0]] = known[1](value)
                row["Id"] = record_id
                created = row["CreatedDate"] or now
                row["CreatedDate"] = created
                row["LastModifiedDate"] = row["LastModifiedDate"] or created
                row["SystemModstamp"] = row["SystemModstamp"] or row["LastModifiedDate"]
                if derives:
                    derive(sobj, row, record, stages)
                if None in required_values(row):
                    missing = [name for name in required if row[name] is None]
                    raise ValueError(
                        f"{sobj.name}: Required fields are missing: [{', '.join(missing)}]"
                    )
                rows.append(row)
            # Binding parameters dominates the load, so bind only the columns that can hold
            # a value: those given, defaulted or derived (the rest default to NULL).
            given = {f.name for f in resolved.values()}
            columns = [
                name
                for name, f in sobj.fields.items()
                if name in given
                or base[name] is not None
                or not f.writable
                or name in DERIVED_FIELDS
            ]
            names = ", ".join(q(c) for c in columns)
            marks = ", ".join("?" * len(columns))
            try:
                self.conn.executemany(
                    f"INSERT INTO {q(sobj.name)} ({names}) VALUES ({marks})",
                    map(itemgetter(*columns), rows),
                )
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"{sobj.name}: {exc}") from None
            after_write(self.conn, self.schema, sobj, new_ids, [])
        return new_ids

    @staticmethod
    def _bulk_field(sobj: schema.SObject, key: str) -> schema.Field:
        """A field insert() may set: any writable one, the audit dates (to backdate) and the
        creator (the org has no sessions of its users to create records with)."""
        field = sobj.field(key)
        if field is None:
            raise ValueError(f"No such column '{key}' on sobject of type {sobj.name}")
        if not field.writable and field.name not in (*AUDIT_FIELDS, "CreatedById"):
            raise ValueError(f"{sobj.name}.{field.name} is computed by the org and cannot be set")
        return field

    def create(self, sobject: str, values: dict[str, object]) -> str:
        """One validated create, as the REST API performs it."""
        sobj = self.sobject(sobject)
        with self.transaction():
            changed = column_values(sobj, values)
            check_references(self.conn, self.schema, sobj, changed)
            record_id = self._allocate(sobj, 1)[0]
            now = self.now()
            row = {**self._defaults(sobj), **changed, "Id": record_id}
            row.update(dict.fromkeys(AUDIT_FIELDS, now))
            check_required(sobj, row)
            check_unique(self.conn, sobj, changed, record_id)
            derive(sobj, row, changed, opportunity_stages(self.conn))
            marks = ", ".join("?" * len(row))
            names = ", ".join(q(c) for c in row)
            self.conn.execute(
                f"INSERT INTO {q(sobj.name)} ({names}) VALUES ({marks})", list(row.values())
            )
            after_write(self.conn, self.schema, sobj, [record_id], [])
        return record_id

    def update(
        self,
        sobject: str,
        record_id: str,
        values: dict[str, object],
        located: dict[str, object] | None = None,
    ) -> None:
        """One validated update; derived fields and dependent records follow. `located`:
        the record's row, when the caller already fetched it (see `locate_row`)."""
        sobj = self.sobject(sobject)
        # Everything is validated before the one UPDATE statement, which is atomic by
        # itself; only objects whose writes touch other records need a savepoint.
        dependent = sobj.name in (*ACTIVITY_OBJECTS, "Opportunity", "Contact")
        with self.transaction() if dependent else nullcontext():
            old = located if located is not None else self.row(sobj, record_id)
            if sobj.name == "Lead" and old["IsConverted"]:
                # As Salesforce answers an update of a lead converted meanwhile.
                raise SalesforceError(
                    400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
                )
            changed = column_values(sobj, values)
            check_references(self.conn, self.schema, sobj, changed)
            row = {**old, **changed}
            check_required(sobj, row, changed)
            check_unique(self.conn, sobj, changed, str(old["Id"]))
            stages = opportunity_stages(self.conn) if sobj.name == "Opportunity" else {}
            derive(sobj, row, changed, stages)
            now = self.now()
            row["LastModifiedDate"] = row["SystemModstamp"] = now
            # Write only what changed (given, derived, audit): far less to bind and index.
            candidates = (*changed, *DERIVED_BY_OBJECT.get(sobj.name, ()), *AUDIT_FIELDS)
            diff = {c: row[c] for c in candidates if row[c] != old[c]}
            sets = ", ".join(f"{q(c)} = ?" for c in diff)
            self.conn.execute(
                f"UPDATE {q(sobj.name)} SET {sets} WHERE Id = ?", [*diff.values(), old["Id"]]
            )
            after_write(self.conn, self.schema, sobj, [str(old["Id"])], [old])

    def delete(self, sobj: schema.SObject, record_id: str) -> None:
        """Soft delete of a located record: queryAll still sees it, with IsDeleted = true."""
        with self.transaction():
            before = self.row(sobj, record_id)
            self.conn.execute(
                f"UPDATE {q(sobj.name)} SET IsDeleted = 1, SystemModstamp = ? WHERE Id = ?",
                (self.now(), record_id),
            )
            after_write(self.conn, self.schema, sobj, [record_id], [before])

    def upsert(
        self, sobject: str, key_field: str, key: object, values: dict[str, object]
    ) -> tuple[str, bool]:
        """Update the record whose external Id field holds `key`, else create it with that
        key; returns (Id, created)."""
        sobj = self.sobject(sobject)
        field = external_id_field(sobj, key_field)
        values = {k: v for k, v in values.items() if k.lower() != field.name.lower()}
        found = self.match_external_id(sobj, field.name, key)
        if len(found) > 1:
            raise MultipleMatches(found)
        if found:
            self.update(sobj.name, found[0], values)
            return found[0], False
        return self.create(sobj.name, {**values, field.name: key}), True

    def match_external_id(self, sobj: schema.SObject, key_field: str, key: object) -> list[str]:
        """The Ids of the live records whose external ID field holds `key`."""
        field = sobj.field(key_field)
        if field is None or not (field.external_id or field.name == "Id"):
            raise SalesforceError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {key_field}",
            )
        if isinstance(key, str) and field.type in (schema.INT, schema.DOUBLE):
            try:
                key = float(key) if field.type == schema.DOUBLE else int(key)
            except ValueError:
                return []
        return [
            r[0]
            for r in self.conn.execute(
                f"SELECT Id FROM {q(sobj.name)} WHERE {q(field.name)} = ? AND IsDeleted = 0 "
                "ORDER BY rowid LIMIT 200",
                (to_db(field, key),),
            )
        ]

    def rows_by_id(self, record_ids: list[str]) -> dict[str, dict[str, object]]:
        """The rows (deleted ones too) of canonical Ids of any objects, in one query each."""
        by_object: dict[str, list[str]] = {}
        for record_id in record_ids:
            owner = self.schema.key_prefix_owner(record_id)
            if owner is not None:
                by_object.setdefault(owner.name, []).append(record_id)
        rows: dict[str, dict[str, object]] = {}
        for name, wanted in by_object.items():
            sobj = self.schema.sobjects[name]
            for found in self.conn.execute(
                f"SELECT {cols(sobj)} FROM {q(name)} WHERE Id IN (SELECT value FROM json_each(?))",
                (json.dumps(wanted),),
            ):
                row = dict(zip(sobj.fields, found, strict=True))
                rows[str(row["Id"])] = row
        return rows

    def locate_row(self, record_id: str, sobj: schema.SObject) -> dict[str, object]:
        """locate() and row() in one query: the live record's columns, or the per-record
        error a collection request reports for it."""
        canonical = ids.normalize(record_id)
        if canonical is None or not canonical.startswith(sobj.key_prefix):
            return {"Id": self.locate(record_id, sobj)}  # raises the right error
        found = self.conn.execute(
            f"SELECT {cols(sobj)} FROM {q(sobj.name)} WHERE Id = ?", (canonical,)
        ).fetchone()
        if found is None or found[sobj.index_of_is_deleted]:
            self.locate(record_id, sobj)  # raises INVALID_CROSS_REFERENCE_KEY / DELETED
        return dict(zip(sobj.fields, found, strict=True))

    def locate(self, record_id: str, sobj: schema.SObject | None) -> str:
        """The canonical Id of a live record named in a collection request, or the
        per-record error Salesforce reports for it."""
        canonical = ids.normalize(record_id)
        owner = self.schema.key_prefix_owner(canonical) if canonical else None
        if canonical is None or owner is None or (sobj is not None and owner is not sobj):
            prefix = f"{sobj.name} ID: id value of incorrect type: " if sobj else "malformed id "
            raise SalesforceError(400, "MALFORMED_ID", prefix + record_id, ["Id"])
        found = self.conn.execute(
            f"SELECT IsDeleted FROM {q(owner.name)} WHERE Id = ?", (canonical,)
        ).fetchone()
        if found is None:
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
            )
        if found[0]:
            raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [])
        return canonical

    # -- reads ----------------------------------------------------------------

    def sobject(self, name: str) -> schema.SObject:
        sobj = self.schema.sobject(name)
        if sobj is None:
            raise not_found()
        return sobj

    def row(self, sobj: schema.SObject, record_id: str) -> dict[str, object]:
        """A live record's columns, or 404 as the sobjects/{type}/{id} resource answers."""
        canonical = ids.normalize(record_id)
        found = None
        if canonical and canonical.startswith(sobj.key_prefix):
            cursor = self.conn.execute(
                f"SELECT {cols(sobj)} FROM {q(sobj.name)} WHERE Id = ? AND IsDeleted = 0",
                (canonical,),
            )
            found = cursor.fetchone()
        if found is None:
            raise not_found()
        return dict(zip(sobj.fields, found, strict=True))

    def retrieve(self, sobject: str, record_id: str, api_path: str) -> dict[str, object]:
        """A record as GET sobjects/{type}/{id} returns it: attributes then every field."""
        sobj = self.sobject(sobject)
        row = self.row(sobj, record_id)
        out: dict[str, object] = {
            "attributes": {"type": sobj.name, "url": f"{api_path}/sobjects/{sobj.name}/{row['Id']}"}
        }
        for name, field in sobj.fields.items():
            out[name] = from_db(field, row[name])
        return out
