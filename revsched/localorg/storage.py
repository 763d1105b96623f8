"""SQLite storage of the local org: one table per SObject, validated writes and the
fields Salesforce derives on every write (Name, IsClosed/IsWon, activity AccountId,
LastActivityDate, audit dates)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path

from revsched.localorg import ids, schema
from revsched.localorg.salesforce_errors import SalesforceError, not_found
from revsched.localorg.soql_dates import FiscalYear
from revsched.localorg.values import (
    column_type,
    converter,
    format_datetime,
    from_db,
    label,
    to_db,
)
from revsched.private import private_file

AUDIT_FIELDS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
PERSON_OBJECTS = ("User", "Contact", "Lead")
# Writable fields that _derive may fill in (the non-writable ones are always bound).
DERIVED_FIELDS = {"Probability"}
ACTIVITY_OBJECTS = ("Task", "Event")
# Lead field -> Contact field, as Salesforce's standard lead mapping carries them over.
LEAD_TO_CONTACT = {
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Title": "Title",
    "Email": "Email",
    "Phone": "Phone",
    "LeadSource": "LeadSource",
    "Country": "MailingCountry",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
}
# The columns _derive may change, per object.
DERIVED_BY_OBJECT = {
    **{name: ("Name",) for name in PERSON_OBJECTS},
    "Opportunity": ("IsClosed", "IsWon", "Probability"),
    "Task": ("IsClosed",),
}
RUNNING_USER = {
    "Username": "admin@revsched.localorg",
    "FirstName": "Local",
    "LastName": "Admin",
    "Email": "admin@revsched.localorg",
}


def q(name: str) -> str:
    """A quoted SQLite identifier (Group is an SQL keyword)."""
    return f'"{name}"'


def cols(sobj: schema.SObject) -> str:
    """Every column of an object's table, in the schema's field order (a table extended
    later has its new columns last, so SELECT * would not match)."""
    return sobj.select_list


def json_ids(values: Iterable[str | None]) -> str:
    """A set of Ids as one bound parameter, expanded in SQL with json_each."""
    return json.dumps(sorted({v for v in values if v}))


class MultipleMatches(SalesforceError):
    """An upsert's external ID matched several records (REST answers 300)."""

    def __init__(self, record_ids: list[str]) -> None:
        super().__init__(300, "MULTIPLE_CHOICES", "Multiple records matched the external ID")
        self.record_ids = record_ids


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
        self.schema = schema.SHIPPED.copy()
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
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = '_sequence'"
        ).fetchone()
        if exists:
            return False
        with self.transaction():
            for sobj in self.schema.sobjects.values():
                cols = ", ".join(
                    f"{q(f.name)} {column_type(f)}" + (" PRIMARY KEY" if f.name == "Id" else "")
                    for f in sobj.fields.values()
                )
                self.conn.execute(f"CREATE TABLE {q(sobj.name)} ({cols})")
                for f in sobj.fields.values():
                    if f.name == "Id":
                        continue
                    if f.unique:
                        self.conn.execute(
                            f"CREATE UNIQUE INDEX {q(f'ux_{sobj.name}_{f.name}')} "
                            f"ON {q(sobj.name)} ({q(f.name)})"
                        )
                    elif f.type == schema.REFERENCE:
                        # Partial: most lookups are sparse, and `col = ?` implies NOT NULL.
                        self.conn.execute(
                            f"CREATE INDEX {q(f'ix_{sobj.name}_{f.name}')} "
                            f"ON {q(sobj.name)} ({q(f.name)}) WHERE {q(f.name)} IS NOT NULL"
                        )
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
                    schema.OPPORTUNITY_STAGES, start=1
                )
            ],
        )
        self.insert("User", [dict(RUNNING_USER)])
        self.insert("UserPermissionAccess", [{}])

    def ensure_tables(self) -> None:
        """Create the tables and columns of objects and fields added to the schema since
        this database was made (custom objects and fields, newer standard fields)."""
        with self.transaction():
            for sobj in self.schema.sobjects.values():
                existing = {
                    row[1] for row in self.conn.execute(f"PRAGMA table_info({q(sobj.name)})")
                }
                if not existing:
                    columns = ", ".join(
                        f"{q(f.name)} {column_type(f)}" + (" PRIMARY KEY" if f.name == "Id" else "")
                        for f in sobj.fields.values()
                    )
                    self.conn.execute(f"CREATE TABLE {q(sobj.name)} ({columns})")
                    missing = [f for f in sobj.fields.values() if f.name != "Id"]
                else:
                    missing = [f for f in sobj.fields.values() if f.name not in existing]
                    for f in missing:
                        self.conn.execute(
                            f"ALTER TABLE {q(sobj.name)} ADD COLUMN {q(f.name)} {column_type(f)}"
                            + (" DEFAULT 0" if f.type == schema.BOOLEAN else "")
                        )
                for f in missing:
                    if f.unique:
                        self.conn.execute(
                            f"CREATE UNIQUE INDEX IF NOT EXISTS {q(f'ux_{sobj.name}_{f.name}')} "
                            f"ON {q(sobj.name)} ({q(f.name)})"
                        )
                    elif f.type == schema.REFERENCE or f.external_id:
                        self.conn.execute(
                            f"CREATE INDEX IF NOT EXISTS {q(f'ix_{sobj.name}_{f.name}')} "
                            f"ON {q(sobj.name)} ({q(f.name)}) WHERE {q(f.name)} IS NOT NULL"
                        )

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

    def _stages(self) -> dict[str, tuple[float | None, bool, bool]]:
        rows = self.conn.execute(
            "SELECT ApiName, DefaultProbability, IsClosed, IsWon FROM OpportunityStage "
            "WHERE IsDeleted = 0"
        )
        return {name.lower(): (prob, bool(closed), bool(won)) for name, prob, closed, won in rows}

    def _derive(
        self,
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

    def _convert(self, sobj: schema.SObject, values: dict[str, object]) -> dict[str, object]:
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

    def _check_required(
        self, sobj: schema.SObject, row: dict[str, object], only: Iterable[str] | None = None
    ) -> None:
        """REQUIRED_FIELD_MISSING for required fields left empty (of `only`, if given: an
        update can only empty the fields it sets)."""
        fields = sobj.fields.values() if only is None else [sobj.fields[n] for n in only]
        missing = [
            f.name for f in fields if not f.nillable and f.writable and row.get(f.name) is None
        ]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    def _check_references(self, sobj: schema.SObject, changed: dict[str, object]) -> None:
        for name, value in changed.items():
            field = sobj.fields[name]
            if field.type != schema.REFERENCE or value is None:
                continue
            canonical = ids.normalize(str(value))
            target = self.schema.key_prefix_owner(canonical) if canonical else None
            if canonical is None or target is None or target.name not in field.reference_to:
                code = "MALFORMED_ID" if canonical is None else "FIELD_INTEGRITY_EXCEPTION"
                raise SalesforceError(
                    400, code, f"{label(field)}: id value of incorrect type: {value}", [name]
                )
            found = self.conn.execute(
                f"SELECT 1 FROM {q(target.name)} WHERE Id = ? AND IsDeleted = 0", (canonical,)
            ).fetchone()
            if not found:
                raise SalesforceError(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]
                )
            changed[name] = canonical

    def _check_unique(self, sobj: schema.SObject, changed: dict[str, object], own_id: str) -> None:
        for name, value in changed.items():
            if not sobj.fields[name].unique or value is None:
                continue
            row = self.conn.execute(
                f"SELECT Id FROM {q(sobj.name)} WHERE {q(name)} = ? AND Id != ?",
                (value, own_id),
            ).fetchone()
            if row:
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: {row[0]}",
                    [name],
                )

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
        stages = self._stages() if sobj.name == "Opportunity" else {}
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
                    self._derive(sobj, row, record, stages)
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
            self._after_write(sobj, new_ids, [])
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
            changed = self._convert(sobj, values)
            self._check_references(sobj, changed)
            record_id = self._allocate(sobj, 1)[0]
            now = self.now()
            row = {**self._defaults(sobj), **changed, "Id": record_id}
            row.update(dict.fromkeys(AUDIT_FIELDS, now))
            self._check_required(sobj, row)
            self._check_unique(sobj, changed, record_id)
            self._derive(sobj, row, changed, self._stages())
            marks = ", ".join("?" * len(row))
            names = ", ".join(q(c) for c in row)
            self.conn.execute(
                f"INSERT INTO {q(sobj.name)} ({names}) VALUES ({marks})", list(row.values())
            )
            self._after_write(sobj, [record_id], [])
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
            changed = self._convert(sobj, values)
            self._check_references(sobj, changed)
            row = {**old, **changed}
            self._check_required(sobj, row, changed)
            self._check_unique(sobj, changed, str(old["Id"]))
            stages = self._stages() if sobj.name == "Opportunity" else {}
            self._derive(sobj, row, changed, stages)
            now = self.now()
            row["LastModifiedDate"] = row["SystemModstamp"] = now
            # Write only what changed (given, derived, audit): far less to bind and index.
            candidates = (*changed, *DERIVED_BY_OBJECT.get(sobj.name, ()), *AUDIT_FIELDS)
            diff = {c: row[c] for c in candidates if row[c] != old[c]}
            sets = ", ".join(f"{q(c)} = ?" for c in diff)
            self.conn.execute(
                f"UPDATE {q(sobj.name)} SET {sets} WHERE Id = ?", [*diff.values(), old["Id"]]
            )
            self._after_write(sobj, [str(old["Id"])], [old])

    def delete(self, sobj: schema.SObject, record_id: str) -> None:
        """Soft delete of a located record: queryAll still sees it, with IsDeleted = true."""
        with self.transaction():
            before = self.row(sobj, record_id)
            self.conn.execute(
                f"UPDATE {q(sobj.name)} SET IsDeleted = 1, SystemModstamp = ? WHERE Id = ?",
                (self.now(), record_id),
            )
            self._after_write(sobj, [record_id], [before])

    def upsert(
        self, sobject: str, key_field: str, key: object, values: dict[str, object]
    ) -> tuple[str, bool]:
        """Update the record whose external Id field holds `key`, else create it with that
        key; returns (Id, created)."""
        sobj = self.sobject(sobject)
        field = sobj.field(key_field)
        if field is None or not field.external_id:
            raise SalesforceError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {key_field}",
            )
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

    def merge(
        self,
        sobj: schema.SObject,
        master_id: str,
        merge_ids: list[str],
        values: dict[str, object],
    ) -> tuple[str, list[str], list[str]]:
        """SOAP merge() of one MergeRequest, in its own transaction: apply `values` to the
        master, re-parent every record that looks up to a merged record, then delete the
        merged records (IsDeleted, MasterRecordId = master). Returns (master Id, merged
        Ids, Ids of the re-parented related records)."""
        with self.transaction():
            master = self.locate(master_id, sobj)
            merged = [self.locate(record_id, sobj) for record_id in merge_ids]
            if master in merged or len(set(merged)) != len(merged):
                raise SalesforceError(
                    400,
                    "INVALID_ID_FIELD",
                    "Cannot merge a record with itself or name a record twice",
                    ["recordToMergeIds"],
                )
            if values:
                self.update(sobj.name, master, values)
            now = self.now()
            param = json_ids(merged)
            updated: list[str] = []
            for child in self.schema.sobjects.values():
                before: list[dict[str, object]] = []
                for field in child.fields.values():
                    if field.type != schema.REFERENCE or sobj.name not in field.reference_to:
                        continue
                    if not field.writable or field.name == "MasterRecordId":
                        continue
                    where = (
                        f"{q(field.name)} IN (SELECT value FROM json_each(?)) "
                        "AND IsDeleted = 0 AND Id != ?"
                    )
                    rows = self.conn.execute(
                        f"SELECT {cols(child)} FROM {q(child.name)} WHERE {where}", (param, master)
                    ).fetchall()
                    if not rows:
                        continue
                    before += [dict(zip(child.fields, row, strict=True)) for row in rows]
                    self.conn.execute(
                        f"UPDATE {q(child.name)} SET {q(field.name)} = ?, LastModifiedDate = ?, "
                        f"SystemModstamp = ? WHERE {where}",
                        (master, now, now, param, master),
                    )
                    updated += [str(row[0]) for row in rows if str(row[0]) not in updated]
                if child.name in ACTIVITY_OBJECTS:
                    # Activities linked through a contact or opportunity moved with it.
                    moved = self.conn.execute(
                        f"SELECT {cols(child)} FROM {q(child.name)} WHERE AccountId IN "
                        "(SELECT value FROM json_each(?))",
                        (param,),
                    ).fetchall()
                    before += [dict(zip(child.fields, row, strict=True)) for row in moved]
                    if before:
                        self._refresh_activities(child.name, [str(r["Id"]) for r in before], before)
            self.conn.execute(
                f"UPDATE {q(sobj.name)} SET IsDeleted = 1, MasterRecordId = ?, "
                "SystemModstamp = ? WHERE Id IN (SELECT value FROM json_each(?))",
                (master, now, param),
            )
            link = "AccountId" if sobj.name == "Account" else "WhoId"
            self._roll_up(sobj.name, link, {master})
        return master, merged, updated

    def convert_lead(
        self,
        lead_id: str,
        converted_status: str,
        account_id: str | None,
        contact_id: str | None,
        owner_id: str | None,
    ) -> tuple[str, str]:
        """SOAP convertLead() of one LeadConvert without an opportunity, in its own
        transaction: the lead joins the given account (or a new one from its Company) as the
        given contact (or a new one from its fields and the same-named custom fields), its
        activities move to that contact, and it is marked converted. Returns (account Id,
        contact Id)."""
        lead_obj, contact_obj = self.schema.sobjects["Lead"], self.schema.sobjects["Contact"]
        with self.transaction():
            lead = self.locate_row(lead_id, lead_obj)
            if lead["IsConverted"]:
                raise SalesforceError(
                    400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
                )
            owner = owner_id or str(lead["OwnerId"])
            if not owner.startswith(self.schema.sobjects["User"].key_prefix):
                raise SalesforceError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    "Converted objects can only be owned by users. If the lead is not owned by"
                    " a user, you must specify a user for the Owner field.",
                    ["ownerId"],
                )
            lead_values = {n: from_db(f, lead[n]) for n, f in lead_obj.fields.items()}
            if account_id:
                account = self.locate(account_id, self.schema.sobjects["Account"])
            else:
                account = self.create(
                    "Account",
                    {
                        "Name": lead_values["Company"],
                        "Website": lead_values["Website"],
                        "BillingCountry": lead_values["Country"],
                        "BillingState": lead_values["State"],
                        "OwnerId": owner,
                    },
                )
            if contact_id:
                contact = self.locate(contact_id, contact_obj)
                if self.row(contact_obj, contact)["AccountId"] != account:
                    raise SalesforceError(
                        400,
                        "INVALID_CROSS_REFERENCE_KEY",
                        "contactId must belong to the account given by accountId",
                        ["contactId"],
                    )
            else:
                contact = self.create(
                    "Contact",
                    {
                        **_contact_from_lead(lead_values, self.schema),
                        "AccountId": account,
                        "OwnerId": owner,
                    },
                )
            now = self.now()
            converted = {
                "IsConverted": True,
                "ConvertedAccountId": account,
                "ConvertedContactId": contact,
                "ConvertedDate": self.today().isoformat(),
                "Status": converted_status,
            }
            sets = ", ".join(f"{q(n)} = ?" for n in converted)
            self.conn.execute(
                f"UPDATE Lead SET {sets}, LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
                [
                    *(to_db(lead_obj.fields[n], v) for n, v in converted.items()),
                    now,
                    now,
                    lead["Id"],
                ],
            )
            for table in ACTIVITY_OBJECTS:
                moved = [
                    str(row[0])
                    for row in self.conn.execute(
                        f"SELECT Id FROM {q(table)} WHERE WhoId = ?", (lead["Id"],)
                    )
                ]
                if moved:
                    self.conn.execute(
                        f"UPDATE {q(table)} SET WhoId = ?, WhatId = COALESCE(WhatId, ?),"
                        " LastModifiedDate = ?, SystemModstamp = ? WHERE WhoId = ?",
                        (contact, account, now, now, lead["Id"]),
                    )
                    self._refresh_activities(
                        table, moved, [{"AccountId": None, "WhoId": lead["Id"]}]
                    )
        return account, contact

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

    # -- dependent records ------------------------------------------------------

    def _after_write(
        self, sobj: schema.SObject, written: list[str], before: list[dict[str, object]]
    ) -> None:
        """Keep activity AccountIds and LastActivityDate rollups in step with a write. An
        updated Opportunity or Contact may have moved its activities to another account."""
        if sobj.name in ACTIVITY_OBJECTS:
            self._refresh_activities(sobj.name, written, before)
        elif sobj.name in ("Opportunity", "Contact") and before:
            link = "WhatId" if sobj.name == "Opportunity" else "WhoId"
            for activity in ACTIVITY_OBJECTS:
                fields = list(self.schema.sobjects[activity].fields)
                linked = [
                    dict(zip(fields, row, strict=True))
                    for row in self.conn.execute(
                        f"SELECT {cols(self.schema.sobjects[activity])} FROM {q(activity)} "
                        f"WHERE {link} IN "
                        "(SELECT value FROM json_each(?))",
                        (json_ids(written),),
                    )
                ]
                if linked:
                    self._refresh_activities(activity, [str(r["Id"]) for r in linked], linked)

    def _refresh_activities(
        self, table: str, written: list[str], before: list[dict[str, object]]
    ) -> None:
        """Task/Event.AccountId: the account of WhatId (an Account, or an Opportunity's
        account), else the account of WhoId's Contact; then the LastActivityDate rollups."""
        param = json_ids(written)
        self.conn.execute(
            f"UPDATE {q(table)} SET AccountId = COALESCE("
            "CASE substr(WhatId, 1, 3) WHEN '001' THEN WhatId "
            f"WHEN '006' THEN (SELECT AccountId FROM Opportunity o WHERE o.Id = {q(table)}.WhatId)"
            " END, CASE substr(WhoId, 1, 3) "
            f"WHEN '003' THEN (SELECT AccountId FROM Contact c WHERE c.Id = {q(table)}.WhoId) END)"
            " WHERE Id IN (SELECT value FROM json_each(?))",
            (param,),
        )
        after = self.conn.execute(
            f"SELECT AccountId, WhoId FROM {q(table)} WHERE Id IN (SELECT value FROM json_each(?))",
            (param,),
        ).fetchall()
        accounts = {r[0] for r in after} | {str(o["AccountId"]) for o in before if o["AccountId"]}
        whos = {r[1] for r in after} | {str(o["WhoId"]) for o in before if o["WhoId"]}
        self._roll_up("Account", "AccountId", accounts)
        self._roll_up("Contact", "WhoId", {w for w in whos if w and w.startswith("003")})
        self._roll_up("Lead", "WhoId", {w for w in whos if w and w.startswith("00Q")})

    def _roll_up(self, table: str, link: str, record_ids: set[str | None]) -> None:
        """LastActivityDate, as Salesforce defines it: the most recent of the due dates of
        closed tasks and the dates of events associated with the record."""
        if not record_ids:
            return
        self.conn.execute(
            f"UPDATE {q(table)} SET LastActivityDate = (SELECT MAX(d) FROM ("
            f"SELECT ActivityDate AS d FROM Task t WHERE t.{link} = {q(table)}.Id "
            "AND t.IsClosed = 1 AND t.IsDeleted = 0 "
            "UNION ALL SELECT COALESCE(ActivityDate, substr(StartDateTime, 1, 10)) FROM Event e "
            f"WHERE e.{link} = {q(table)}.Id AND e.IsDeleted = 0)) "
            "WHERE Id IN (SELECT value FROM json_each(?))",
            (json_ids(record_ids),),
        )


def _contact_from_lead(lead: dict[str, object], org_schema: schema.Schema) -> dict[str, object]:
    """A converted lead's values for its new contact: the standard mapping, and custom
    fields of the same API name and type on both objects (the mapping an admin sets up in
    Lead Settings, here taken as given)."""
    contact_fields = org_schema.sobjects["Contact"].fields
    values = {target: lead[source] for source, target in LEAD_TO_CONTACT.items()}
    for name, field in org_schema.sobjects["Lead"].fields.items():
        target = contact_fields.get(name)
        if (
            name.endswith("__c")
            and target is not None
            and target.writable
            and target.type == field.type != schema.REFERENCE
        ):
            values[name] = lead[name]
    return values
