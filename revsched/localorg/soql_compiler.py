"""SOQL -> SQLite: parse with the lark grammar in revsched/soql.lark, resolve names against the
schema, and build a `CompiledQuery` of parameterised SQL plus the shape of the records to
return. The compiler walks a query's clauses; field paths (`soql_paths`), function calls
(`soql_functions`), the SELECT list (`soql_select`) and comparisons (`soql_filters`) are
compiled by modules of their own.

Names resolve case-insensitively and come back in the schema's canonical case. Anything
the grammar or the resolver does not understand is an error, as in Salesforce."""

from __future__ import annotations

from datetime import date

from lark import Token, Tree

from revsched.localorg import schema
from revsched.localorg.compiled_query import CompiledQuery, Output
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_dates import FiscalYear
from revsched.localorg.soql_filters import Filters, Resolved
from revsched.localorg.soql_functions import Calls, is_aggregate
from revsched.localorg.soql_paths import CUSTOM_REL_HINT, FieldPaths
from revsched.localorg.soql_select import SelectList
from revsched.localorg.soql_text import error_token, located_error, parse, unknown_type
from revsched.localorg.sql import q
from revsched.localorg.storage import RUNNING_USER
from revsched.localorg.values import TEXT_TYPES, UNGROUPABLE_TYPES

MAX_OFFSET = 2000
# Aggregate results cannot be paged: more rows than one batch is an error (SOQL:
# "Considerations for GROUP BY").
MAX_AGGREGATE_ROWS = 2000


class Compiler:
    """Compiles one SELECT (and, recursively, its subqueries) against the org's schema."""

    def __init__(
        self,
        soql: str,
        org_schema: schema.Schema,
        today: date,
        prefix: str = "",
        fiscal: FiscalYear | None = None,
    ) -> None:
        self.soql = soql
        self.schema = org_schema
        self.today = today
        self.prefix = prefix
        self.fiscal = fiscal or FiscalYear()
        self._subqueries = 0
        self._clause = "select"
        self.compiled: CompiledQuery
        self.calls: Calls
        self.select: SelectList
        self.filters: Filters

    def _error(self, node: Tree | Token | None, detail: str, code: str = "MALFORMED_QUERY"):
        return located_error(self.soql, None if node is None else error_token(node), code, detail)

    def operand(self, node: Tree) -> Resolved:
        """A field path or a function call, checked against the clause it appears in."""
        resolved = self.calls.resolve(node, self._clause)
        after_grouping = self._clause in ("having", "order") and self.compiled.aggregate
        if (
            after_grouping
            and not resolved.aggregate
            and resolved.expr not in self.compiled.group_by
        ):
            raise self._error(node, f"Field must be grouped or aggregated: {error_token(node)}")
        return resolved

    # query

    def compile(self, query: Tree, sobj: schema.SObject, *, child: bool = False) -> CompiledQuery:
        self.compiled = CompiledQuery(sobj, self.prefix)
        paths = FieldPaths(self.soql, self.schema, self.compiled, self.prefix)
        self.calls = Calls(self.soql, paths, self.fiscal)
        self.select = SelectList(self.soql, self.schema, self.compiled, paths, self.operand)
        self.filters = Filters(self.soql, self.today, self.fiscal, self.compiled.params)
        (
            fields_tree,
            _name,
            scope,
            where,
            _with,  # WITH SECURITY_ENFORCED: the API user sees every field here
            group_by,
            having,
            order_by,
            limit,
            offset,
            _for,  # FOR VIEW/REFERENCE/UPDATE: no record tracking or locking here
        ) = query.children
        items: list[Tree] = fields_tree.children  # type: ignore[union-attr, assignment]
        self.compiled.aggregate = group_by is not None or any(
            item.data == "selected" and is_aggregate(item.children[0])  # type: ignore[arg-type]
            for item in items
        )
        if limit is not None:
            self.compiled.limit = int(limit.children[0])  # type: ignore[union-attr]
        if group_by is not None:
            self._group_by(group_by)  # type: ignore[arg-type]
        if child and self.compiled.aggregate:
            raise self._error(items[0].children[0], "Aggregate queries are not allowed here")  # type: ignore[arg-type]
        if self.select.count_only(items):
            self.compiled.aggregate = group_by is not None
        elif self.compiled.aggregate:
            if self.compiled.limit is not None and group_by is None:
                raise self._error(
                    limit.children[0],  # type: ignore[union-attr]
                    "A query with an aggregate function and a LIMIT needs a GROUP BY",
                )
            self.select.aggregates(items)
        else:
            self.compiled.column(f"{self.compiled.root}.Id")
            self.compiled.column(f"{self.compiled.root}.rowid")
            for item in items:
                if item.data == "subquery":
                    self.compiled.outputs.append(self._child(item, nested=child))
                else:
                    self.select.add(item)
        conditions = [] if scope is None else [self._using_scope(scope.children[0])]  # type: ignore[union-attr, arg-type]
        if where is not None:
            self._clause = "where"
            conditions.append(self._condition(where.children[0]))  # type: ignore[union-attr, arg-type]
        self.compiled.where = " AND ".join(conditions)
        if having is not None:
            if not self.compiled.aggregate:
                raise self._error(having.children[0], "HAVING needs a GROUP BY")  # type: ignore[union-attr]
            self._clause = "having"
            self.compiled.having = self._condition(having.children[0])  # type: ignore[union-attr]
        if order_by is not None:
            self._clause = "order"
            self.compiled.order = [self._order_item(item) for item in order_by.children]  # type: ignore[union-attr]
        if offset is not None:
            self.compiled.offset = int(offset.children[0])  # type: ignore[union-attr]
            if self.compiled.offset > MAX_OFFSET:
                raise SalesforceError(
                    400,
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                )
        return self.compiled

    def _using_scope(self, scope: Token) -> str:
        """USING SCOPE (SOQL: "USING SCOPE"): `everything` is every record, `mine` the ones
        the running user owns. The local org models no teams, territories, delegation or
        queue membership, so it refuses the other scopes rather than answer them wrongly."""
        sobj = self.compiled.sobject
        if scope.lower() == "everything":
            return "1"
        if scope.lower() != "mine" or sobj.field("OwnerId") is None:
            raise self._error(
                scope, f"USING SCOPE {scope} is not supported by the local org for {sobj.name}"
            )
        self.compiled.params.append(RUNNING_USER["Username"])
        return f'({self.compiled.root}.OwnerId = (SELECT Id FROM "User" WHERE Username = ?))'

    def _group_by(self, node: Tree) -> None:
        if node.data != "group_by":
            raise self._error(
                node.children[0], "GROUP BY ROLLUP and CUBE are not supported by the local org"
            )
        self._clause = "group"
        for expr in node.children:
            resolved = self.operand(expr)  # type: ignore[arg-type]
            if resolved.field.type in UNGROUPABLE_TYPES:
                raise self._error(
                    expr,
                    f"field '{resolved.field.name}' can not be grouped in a query call",
                    "INVALID_FIELD",
                )
            self.compiled.group_by.append(resolved.expr)
        self._clause = "select"

    def _child(self, item: Tree, nested: bool) -> Output:
        """A parent-to-child subquery: compiled as a query of its own, over the child
        relationship it names."""
        query: Tree = item.children[0]  # type: ignore[assignment]
        name: Token = query.children[1]  # type: ignore[assignment]
        if nested:
            raise located_error(self.soql, name, "MALFORMED_QUERY", "nested child subqueries")
        rel = next(
            (
                r
                for r in self.schema.children.get(self.compiled.sobject.name, ())
                if r.relationship_name.lower() == name.lower()
            ),
            None,
        )
        if rel is None:
            raise located_error(
                self.soql,
                name,
                "INVALID_TYPE",
                f"Didn't understand relationship '{name}' in FROM part of query call. "
                f"{CUSTOM_REL_HINT}",
            )
        self._subqueries += 1
        sub = Compiler(
            self.soql, self.schema, self.today, f"{self.prefix}c{self._subqueries}_", self.fiscal
        )
        subquery = sub.compile(query, self.schema.sobjects[rel.child_sobject], child=True)
        subquery.link = f"{subquery.root}.{q(rel.field)}"
        return Output(
            rel.relationship_name,
            self.compiled.column(f"{self.compiled.root}.Id"),
            subquery=subquery,
        )

    def _order_item(self, item: Tree) -> str:
        node, direction, nulls = item.children
        resolved = self.operand(node)  # type: ignore[arg-type]
        expr = resolved.expr
        if resolved.field.type in TEXT_TYPES:
            expr += " COLLATE NOCASE"
        desc = direction is not None and direction.upper() == "DESC"
        # Salesforce sorts nulls first unless told otherwise, in either direction.
        nulls_last = nulls is not None and nulls.upper().split()[-1] == "LAST"
        return f"{expr} {'DESC' if desc else 'ASC'} NULLS {'LAST' if nulls_last else 'FIRST'}"

    # WHERE and HAVING

    def _condition(self, node: Tree) -> str:
        kind = node.data
        if kind == "and_":
            return "(" + " AND ".join(self._condition(c) for c in node.children) + ")"  # type: ignore[arg-type]
        if kind == "or_":
            return "(" + " OR ".join(self._condition(c) for c in node.children) + ")"  # type: ignore[arg-type]
        if kind == "not_":
            return f"(NOT {self._condition(node.children[0])})"  # type: ignore[arg-type]
        path: Tree = node.children[0]  # type: ignore[assignment]
        resolved = self.operand(path)
        if kind == "compare":
            op = str(node.children[1])
            value: Tree = node.children[2]  # type: ignore[assignment]
            return self.filters.compare(resolved, "!=" if op == "<>" else op, value, path)
        if kind == "like":
            return self.filters.like(resolved, node.children[1], path)  # type: ignore[arg-type]
        if kind in ("in_", "not_in"):
            return self.filters.in_list(resolved, node.children[1].children, kind == "not_in", path)  # type: ignore[union-attr, arg-type]
        if kind in ("includes", "excludes"):
            return self.filters.includes(
                resolved, node.children[1].children, kind == "excludes", path
            )  # type: ignore[union-attr, arg-type]
        return self._semi_join(resolved, node.children[1], kind == "not_in_query", path)  # type: ignore[arg-type]

    def _semi_join(self, resolved: Resolved, query: Tree, negate: bool, path: Tree) -> str:
        if resolved.field.type not in (schema.ID, schema.REFERENCE):
            raise located_error(
                self.soql,
                error_token(path),
                "INVALID_FIELD",
                "Semi join sub-selects are only allowed with ID fields",
            )
        name: Token = query.children[1]  # type: ignore[assignment]
        sobj = self.schema.sobject(str(name))
        if sobj is None:
            raise unknown_type(self.soql, name)
        self._subqueries += 1
        prefix = f"{self.prefix}s{self._subqueries}_"
        inner = Compiler(self.soql, self.schema, self.today, prefix, self.fiscal).compile(
            query, sobj, child=True
        )
        selected = inner.outputs
        if (
            inner.count
            or inner.aggregate
            or len(selected) != 1
            or selected[0].field is None
            or (selected[0].field.type not in (schema.ID, schema.REFERENCE))
        ):
            raise located_error(
                self.soql,
                name,
                "MALFORMED_QUERY",
                "The selected field in a semi join sub-select must be a single Id or "
                "reference field",
            )
        column = inner.columns[selected[0].index]
        sql = (
            f"SELECT {column} FROM {inner.from_sql()} WHERE {inner.where_sql(False)} "
            f"AND {column} IS NOT NULL"
        )
        if inner.order or inner.limit is not None or inner.offset:
            sql += f" ORDER BY {inner.order_sql()} LIMIT {inner.limit or -1} OFFSET {inner.offset}"
        self.compiled.params.extend(inner.params)
        x = resolved.expr
        if negate:
            return f"({x} IS NULL OR {x} NOT IN ({sql}))"
        return f"({x} IN ({sql}))"


def compile_soql(
    soql: str, org_schema: schema.Schema, today: date, fiscal: FiscalYear | None = None
) -> CompiledQuery:
    """Parse and compile one SOQL query against an org's schema, raising SalesforceError
    as Salesforce would."""
    query: Tree = parse(soql).children[0]  # type: ignore[assignment]
    name: Token = query.children[1]  # type: ignore[assignment]
    sobj = org_schema.sobject(str(name))
    if sobj is None:
        raise unknown_type(soql, name)
    return Compiler(soql, org_schema, today, fiscal=fiscal).compile(query, sobj)
