"""Running compiled SOQL: paging through query locators, child subqueries and the nested
record shapes the REST query resource returns.

A result larger than one batch is materialised once as an ordered list of rowids in a
temporary table; each `nextRecordsUrl` then reads its slice by position. Memory stays
bounded whatever the result size, and later pages need no re-sort. As on Salesforce, a
cursor stays readable (a page can be read again after a dropped response, the last one
too) until it has been idle for 15 minutes or ten newer cursors pushed it out."""

from __future__ import annotations

import itertools
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from revsched.localorg import ids, schema
from revsched.localorg.compiled_query import CompiledQuery, Output
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_compiler import MAX_AGGREGATE_ROWS, compile_soql
from revsched.localorg.sql import q
from revsched.localorg.storage import Storage
from revsched.localorg.values import display, from_db

DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
# Salesforce keeps at most 10 open query cursors per user, dropping the oldest.
MAX_CURSORS = 10
# An idle cursor is deleted after 15 minutes.
CURSOR_IDLE_SECONDS = 15 * 60


def batch_size(header: str | None) -> int:
    """The page size asked for in Sforce-Query-Options (batchSize=200..2000)."""
    for option in (header or "").split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return DEFAULT_BATCH


@dataclass
class _Cursor:
    compiled: CompiledQuery
    include_deleted: bool
    total: int
    used_at: float = field(default_factory=time.monotonic)


class QueryEngine:
    """Answers query/ and queryAll/ requests, including their locators."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.conn = storage.conn
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _cursor (locator INTEGER, pos INTEGER, "
            "rid INTEGER, PRIMARY KEY (locator, pos)) WITHOUT ROWID"
        )
        self._cursors: OrderedDict[int, _Cursor] = OrderedDict()
        self._next_locator = itertools.count(1)

    def query(
        self, soql: str, *, include_deleted: bool, batch: int, base: str
    ) -> dict[str, object]:
        """The first page of a query; `base` is /services/data/vXX.X/{query|queryAll}."""
        compiled = compile_soql(
            soql, self.storage.schema, self.storage.today(), self.storage.fiscal_year
        )
        where = compiled.where_sql(include_deleted)
        window = (
            f"LIMIT {-1 if compiled.limit is None else compiled.limit} OFFSET {compiled.offset}"
        )
        if compiled.count:
            counted = (
                compiled.aggregate_sql(include_deleted)
                if compiled.aggregate
                else f"SELECT 1 FROM {compiled.from_sql()} WHERE {where} {window}"
            )
            total = self.conn.execute(f"SELECT COUNT(*) FROM ({counted})", compiled.params)
            return {"totalSize": total.fetchone()[0], "done": True, "records": []}
        if compiled.aggregate:
            records = self._aggregate_records(compiled, include_deleted)
            return {"totalSize": len(records), "done": True, "records": records}
        rows = self.conn.execute(
            f"SELECT {compiled.root}.rowid FROM {compiled.from_sql()} WHERE {where} "
            f"ORDER BY {compiled.order_sql()} {window}",
            compiled.params,
        )
        first = rows.fetchmany(batch + 1)
        if len(first) <= batch:
            records = self.records(compiled, [r[0] for r in first], include_deleted, base)
            return {"totalSize": len(first), "done": True, "records": records}
        locator = next(self._next_locator)
        positions = enumerate(r[0] for r in itertools.chain(first, rows))
        with self.storage.transaction():
            self.conn.executemany(
                "INSERT INTO temp._cursor VALUES (?, ?, ?)",
                ((locator, p, r) for p, r in positions),
            )
        total = self.conn.execute(
            "SELECT COUNT(*) FROM temp._cursor WHERE locator = ?", (locator,)
        ).fetchone()[0]
        self._cursors[locator] = _Cursor(compiled, include_deleted, total)
        while len(self._cursors) > MAX_CURSORS:
            self._close(next(iter(self._cursors)))
        return self._page(locator, 0, batch, base)

    def more(self, locator_text: str, *, batch: int, base: str) -> dict[str, object]:
        """The page a nextRecordsUrl (`01g...-2000`) points at."""
        key, _, start = locator_text.partition("-")
        locator = self._locators().get(key)
        if locator is not None and time.monotonic() - self._cursors[locator].used_at > (
            CURSOR_IDLE_SECONDS
        ):
            self._close(locator)
            locator = None
        if locator is None or not start.isdigit() or int(start) >= self._cursors[locator].total:
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self._cursors[locator].used_at = time.monotonic()
        return self._page(locator, int(start), batch, base)

    def _locators(self) -> dict[str, int]:
        return {ids.make_id("01g", n): n for n in self._cursors}

    def _page(self, locator: int, start: int, batch: int, base: str) -> dict[str, object]:
        cursor = self._cursors[locator]
        rowids = [
            r[0]
            for r in self.conn.execute(
                "SELECT rid FROM temp._cursor WHERE locator = ? AND pos >= ? AND pos < ? "
                "ORDER BY pos",
                (locator, start, start + batch),
            )
        ]
        records = self.records(cursor.compiled, rowids, cursor.include_deleted, base)
        result: dict[str, object] = {"totalSize": cursor.total, "done": True}
        if start + batch < cursor.total:
            result["done"] = False
            result["nextRecordsUrl"] = f"{base}/{ids.make_id('01g', locator)}-{start + batch}"
        result["records"] = records
        return result

    def _close(self, locator: int) -> None:
        self._cursors.pop(locator, None)
        with self.storage.transaction():
            self.conn.execute("DELETE FROM temp._cursor WHERE locator = ?", (locator,))

    def retrieve(
        self, sobject: schema.SObject, record_ids: list[str], fields: list[str], api: str
    ) -> list[dict[str, object] | None]:
        """sObject Collections retrieve: the named fields of each Id, in request order; null
        for an Id that is invalid, deleted or of another type. Field names are checked by
        the SOQL compiler, so a bad one is a 400 INVALID_FIELD."""
        soql = f"SELECT {', '.join(fields)} FROM {sobject.name}"
        compiled = compile_soql(
            soql, self.storage.schema, self.storage.today(), self.storage.fiscal_year
        )
        wanted = [ids.normalize(record_id) for record_id in record_ids]
        found = dict(
            self.conn.execute(
                f"SELECT Id, rowid FROM {q(sobject.name)} WHERE IsDeleted = 0 "
                "AND Id IN (SELECT value FROM json_each(?))",
                (json.dumps([w for w in wanted if w]),),
            ).fetchall()
        )
        present = [w for w in wanted if w in found]
        records = iter(self.records(compiled, [found[w] for w in present], False, f"{api}/query"))
        return [next(records) if w in found else None for w in wanted]

    # -- records ----------------------------------------------------------------------

    def _aggregate_records(
        self, compiled: CompiledQuery, include_deleted: bool
    ) -> list[dict[str, object]]:
        """AggregateResult records (SOQL: "Aggregate Functions"): one per group, keyed by
        field name, alias or exprN; never paged, so more than 2,000 groups is an error."""
        rows = self.conn.execute(
            compiled.aggregate_sql(include_deleted), compiled.params
        ).fetchmany(MAX_AGGREGATE_ROWS + 1)
        if len(rows) > MAX_AGGREGATE_ROWS:
            raise SalesforceError(
                400,
                "MALFORMED_QUERY",
                "Aggregate query does not support queryMore(), use LIMIT to restrict the "
                "results to a single batch",
            )
        outputs = [
            (out.key, out.index, out.field, display if out.formatted else from_db)
            for out in compiled.outputs
        ]
        return [
            {
                "attributes": {"type": "AggregateResult"},
                **{
                    key: row[index] if fld is None else convert(fld, row[index])
                    for key, index, fld, convert in outputs
                },
            }
            for row in rows
        ]

    def records(
        self, compiled: CompiledQuery, rowids: list[int], include_deleted: bool, base: str
    ) -> list[dict[str, object]]:
        if not rowids:
            return []
        api = base.rsplit("/", 1)[0]
        fetched = self.conn.execute(
            f"SELECT {', '.join(compiled.columns)} FROM {compiled.from_sql()} "
            f"WHERE {compiled.root}.rowid IN (SELECT value FROM json_each(?))",
            (json.dumps(rowids),),
        ).fetchall()
        by_rowid = {row[1]: row for row in fetched}
        rows = [by_rowid[r] for r in rowids if r in by_rowid]
        children = {
            out.key: self._children(out.subquery, [row[0] for row in rows], include_deleted, api)
            for out in compiled.outputs
            if out.subquery is not None
        }
        shape = _shaper(compiled.sobject.name, compiled.outputs, api, self.storage.schema)
        return [shape(row, children) for row in rows]

    def _children(
        self, compiled: CompiledQuery, parent_ids: list[str], include_deleted: bool, api: str
    ) -> dict[str, dict[str, object]]:
        """Each parent's child-subquery result, with the subquery's ORDER BY/LIMIT/OFFSET
        applied per parent (a window function numbers the children of each parent)."""
        upper = "" if compiled.limit is None else f"AND _rn <= {compiled.offset + compiled.limit}"
        rows = self.conn.execute(
            f"SELECT * FROM (SELECT {', '.join(compiled.columns)}, {compiled.link} AS _parent, "
            f"ROW_NUMBER() OVER (PARTITION BY {compiled.link} "
            f"ORDER BY {compiled.order_sql()}) AS _rn "
            f"FROM {compiled.from_sql()} WHERE {compiled.where_sql(include_deleted)} "
            f"AND {compiled.link} IN (SELECT value FROM json_each(?))) "
            f"WHERE _rn > {compiled.offset} {upper} ORDER BY _parent, _rn",
            [*compiled.params, json.dumps(parent_ids)],
        ).fetchall()
        grouped: dict[str, dict[str, object]] = {}
        width = len(compiled.columns)
        shape = _shaper(compiled.sobject.name, compiled.outputs, api, self.storage.schema)
        for parent, group in itertools.groupby(rows, key=lambda r: r[width]):
            records = [shape(r, {}) for r in group]
            grouped[parent] = {"totalSize": len(records), "done": True, "records": records}
        return grouped


Shape = Callable[[tuple[object, ...], dict[str, dict[str, dict[str, object]]]], dict[str, object]]


def _shaper(sobject: str, outputs: list[Output], api: str, org_schema: schema.Schema) -> Shape:
    """A function turning one SQL row into a nested record.

    It runs for every row returned, so it is generated once per page as a single dict
    display (like collections.namedtuple generates its class): about four times faster
    than walking the outputs per row. Only schema names and column indexes go into the
    source, through repr()."""

    def polymorphic_url(record_id: str) -> str:
        actual = org_schema.key_prefix_owner(record_id)
        return f"{api}/sobjects/{actual.name if actual else 'Name'}/{record_id}"

    typeofs: list[Callable[[tuple[object, ...]], dict[str, object] | None]] = []
    fields: list[schema.Field | None] = []  # of FORMAT() values, by position

    def typeof(out: Output) -> str:
        """A TYPEOF record: its branch is chosen per row, by the type its Id names."""
        branches = {
            name: [(o.key, o.index, o.field) for o in outs]
            for name, outs in (out.branches or {}).items()
        }

        def shape(row: tuple[object, ...]) -> dict[str, object] | None:
            record_id = row[out.index]
            if record_id is None:
                return None
            actual = org_schema.key_prefix_owner(str(record_id))
            type_name = actual.name if actual else "Name"
            chosen = branches.get(type_name, branches.get("", []))
            url = f"{api}/sobjects/{type_name}/{record_id}"
            record: dict[str, object] = {"attributes": {"type": type_name, "url": url}}
            for key, index, fld in chosen:
                record[key] = row[index] if fld is None else from_db(fld, row[index])
            return record

        typeofs.append(shape)
        return f"_typeof[{len(typeofs) - 1}](row)"

    def record(type_name: str, id_expr: str, outs: list[Output]) -> str:
        if type_name == "Name":
            url = f"_polymorphic_url({id_expr})"
        else:
            url = f"{api + '/sobjects/' + type_name + '/'!r} + {id_expr}"
        items = [f"'attributes': {{'type': {type_name!r}, 'url': {url}}}"]
        for out in outs:
            value = f"row[{out.index}]"
            if out.subquery is not None:
                # An empty child relationship comes back as null, not as an empty result.
                expr = f"children[{out.key!r}].get({value})"
            elif out.branches is not None:
                expr = typeof(out)
            elif out.type_name:
                expr = (
                    f"(None if {value} is None else {record(out.type_name, value, out.children)})"
                )
            elif out.formatted:
                fields.append(out.field)
                expr = f"_display(_fields[{len(fields) - 1}], {value})"
            elif out.field is not None and out.field.type == schema.BOOLEAN:
                expr = f"(None if {value} is None else {value} == 1)"
            else:
                expr = value
            items.append(f"{out.key!r}: {expr}")
        return "{" + ", ".join(items) + "}"

    source = f"lambda row, children: {record(sobject, 'row[0]', outputs)}"
    scope = {"_polymorphic_url": polymorphic_url, "_typeof": typeofs}
    return eval(source, {**scope, "_display": display, "_fields": fields})
