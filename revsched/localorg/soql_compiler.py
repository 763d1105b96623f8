"""SOQL -> SQLite: parse with the lark grammar in soql.lark, resolve names against the
schema, and build a `CompiledQuery` of parameterised SQL plus the shape of the records to
return.

Names resolve case-insensitively and come back in the schema's canonical case. Anything
the grammar or the resolver does not understand is an error, as in Salesforce."""

from __future__ import annotations

import dataclasses
from datetime import date

from lark import Token, Tree

from revsched.localorg import schema
from revsched.localorg.compiled_query import CompiledQuery, Output
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_dates import (
    DATE_FUNCTIONS,
    DATETIME_ONLY,
    FiscalYear,
    date_function_sql,
)
from revsched.localorg.soql_filters import Filters, Resolved
from revsched.localorg.soql_text import error_token, located_error, parse, unknown_type
from revsched.localorg.storage import RUNNING_USER, q
from revsched.localorg.values import FORMATTED_TYPES, TEXT_TYPES, UNGROUPABLE_TYPES

MAX_OFFSET = 2000
# Through a polymorphic lookup (Lead.Owner, Task.What) SOQL sees Salesforce's "Name"
# entity, which has only these fields.
NAME_ENTITY_FIELDS = {
    "id",
    "name",
    "firstname",
    "lastname",
    "email",
    "title",
    "username",
    "isactive",
    "phone",
    "type",
    "alias",
}
_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    "custom field name. Please reference your WSDL or the describe call for the appropriate "
    "names."
)
_CUSTOM_REL_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after "
    "the custom relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"}
# Functions that change how a value reads, not which rows match: the clauses each may be
# used in (SOQL: "toLabel()", "convertCurrency()", "FORMAT()"), and they take an alias
# outside aggregate queries too.
DISPLAY_FUNCTIONS = {
    "TOLABEL": ("select", "where", "having", "group"),
    "CONVERTCURRENCY": ("select",),
    "FORMAT": ("select",),
}
_CLAUSE_NAMES = {"group": "GROUP BY", "order": "ORDER BY"}
NUMERIC = (schema.INT, schema.DOUBLE, schema.CURRENCY, schema.PERCENT)
# FIELDS(ALL) and FIELDS(CUSTOM) need a LIMIT of at most 200 (SOQL: "FIELDS()").
MAX_FIELDS_LIMIT = 200
# Aggregate results cannot be paged: more rows than one batch is an error (SOQL:
# "Considerations for GROUP BY").
MAX_AGGREGATE_ROWS = 2000


def _is_call(node: Tree, names: set[str] | dict[str, object]) -> bool:
    return node.data == "call" and str(node.children[0]).upper() in names


def _is_aggregate(node: Tree) -> bool:
    """An aggregate function, or FORMAT() of one."""
    if _is_call(node, {"FORMAT"}) and isinstance(node.children[1], Tree):
        return _is_aggregate(node.children[1])
    return _is_call(node, AGGREGATES)


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
        self._aliases = 0
        self._subqueries = 0
        self._joins: dict[tuple[str, ...], tuple[list[str], list[schema.SObject]]] = {}
        self._clause = "select"
        self.compiled: CompiledQuery
        self.filters: Filters

    def _error(self, node: Tree | Token | None, detail: str, code: str = "MALFORMED_QUERY"):
        return located_error(self.soql, None if node is None else error_token(node), code, detail)

    def _clause_name(self) -> str:
        return _CLAUSE_NAMES.get(self._clause, self._clause.upper())

    # names

    def _new_alias(self) -> str:
        self._aliases += 1
        return f"{self.prefix}t{self._aliases}"

    def _field_error(self, token: Token, sobj_name: str) -> SalesforceError:
        return located_error(
            self.soql,
            token,
            "INVALID_FIELD",
            f"No such column '{token}' on entity '{sobj_name}'. {_CUSTOM_FIELD_HINT}",
        )

    def resolve(self, path: Tree) -> Resolved:
        """A (possibly dotted) field path -> SQL expression, joining parents as needed."""
        tokens: list[Token] = list(path.children)  # type: ignore[arg-type]
        sobj = self.compiled.sobject
        if len(tokens) > 1 and tokens[0].lower() == sobj.name.lower():
            is_rel = any(
                (f.relationship_name or "").lower() == tokens[0].lower()
                for f in sobj.fields.values()
            )
            if not is_rel:
                tokens = tokens[1:]
        aliases, targets = [self.compiled.root], [sobj]
        rel_path: tuple[str, ...] = ()
        for token in tokens[:-1]:
            if len(targets) > 1:
                raise self._relationship_error(token)
            ref = next(
                (
                    f
                    for f in targets[0].fields.values()
                    if f.type == schema.REFERENCE
                    and (f.relationship_name or "").lower() == token.lower()
                ),
                None,
            )
            if ref is None:
                raise self._relationship_error(token)
            parent_col = f"{aliases[0]}.{q(ref.name)}"
            rel_path = (*rel_path, ref.relationship_name or "")
            key = tuple(p.lower() for p in rel_path)
            if key not in self._joins:
                new_targets = [self.schema.sobjects[name] for name in ref.reference_to]
                new_aliases = []
                for target in new_targets:
                    alias = self._new_alias()
                    new_aliases.append(alias)
                    self.compiled.joins.append(
                        f"LEFT JOIN {q(target.name)} {alias} ON {alias}.Id = {parent_col}"
                    )
                self._joins[key] = (new_aliases, new_targets)
            aliases, targets = self._joins[key]
        last = tokens[-1]
        if len(targets) > 1 and last.lower() == "type":
            # The Name entity's Type is the record's sObject type (a queue is "Queue").
            cases = " ".join(
                f"WHEN {a}.Id IS NOT NULL THEN '{'Queue' if t.name == 'Group' else t.name}'"
                for a, t in zip(aliases, targets, strict=True)
            )
            return Resolved(
                f"(CASE {cases} END COLLATE NOCASE)", schema.Field("Type", schema.STRING), rel_path
            )
        if len(targets) > 1 and last.lower() not in NAME_ENTITY_FIELDS:
            raise self._field_error(last, "Name")
        found = [(a, t.field(last)) for a, t in zip(aliases, targets, strict=True)]
        found = [(a, f) for a, f in found if f is not None]
        if not found:
            raise self._field_error(last, targets[0].name if len(targets) == 1 else "Name")
        fld = found[0][1]
        assert fld is not None
        exprs = [f"{a}.{q(f.name)}" for a, f in found if f is not None]
        expr = exprs[0]
        if len(exprs) > 1:
            # A function result loses the columns' NOCASE collation; SOQL text compares
            # case-insensitively whatever the path.
            collate = " COLLATE NOCASE" if fld.type in TEXT_TYPES else ""
            expr = f"(COALESCE({', '.join(exprs)}){collate})"
        return Resolved(expr, fld, rel_path)

    def _relationship_error(self, token: Token) -> SalesforceError:
        return located_error(
            self.soql,
            token,
            "INVALID_FIELD",
            f"Didn't understand relationship '{token}' in field path. {_CUSTOM_REL_HINT}",
        )

    # expressions: fields and function calls

    def operand(self, node: Tree) -> Resolved:
        """A field path or a function call, checked against the clause it appears in."""
        resolved = self._operand(node)
        after_grouping = self._clause in ("having", "order") and self.compiled.aggregate
        if (
            after_grouping
            and not resolved.aggregate
            and resolved.expr not in self.compiled.group_by
        ):
            raise self._error(node, f"Field must be grouped or aggregated: {error_token(node)}")
        return resolved

    def _operand(self, node: Tree) -> Resolved:
        if node.data == "path":
            return self.resolve(node)
        name = str(node.children[0]).upper()
        arg: Tree | None = node.children[1]  # type: ignore[assignment]
        if name in AGGREGATES:
            return self._aggregate(node, name, arg)
        if arg is None or name in ("FIELDS", "CONVERTTIMEZONE", "GROUPING"):
            raise self._error(node, f"{node.children[0]}() is not allowed here")
        if name in DATE_FUNCTIONS:
            return self._date_function(node, name, arg)
        return self._display_function(node, name, arg)

    def _display_function(self, node: Tree, name: str, arg: Tree) -> Resolved:
        """toLabel(), convertCurrency(), FORMAT(). The local org's user reads en_US in the
        org's one currency: a picklist's labels are its values and converting a currency
        changes nothing, so those two return the field as stored; FORMAT() marks the value
        for values.display."""
        if self._clause not in DISPLAY_FUNCTIONS[name]:
            raise self._error(node, f"{node.children[0]}() is not allowed in {self._clause_name()}")
        if name == "FORMAT":
            if arg.data == "call" and not _is_call(arg, AGGREGATES | {"CONVERTCURRENCY"}):
                raise self._error(
                    arg, "FORMAT() takes a field, an aggregate function or convertCurrency()"
                )
            inner = self.operand(arg)
            if inner.field.type not in FORMATTED_TYPES:
                raise self._error(
                    arg,
                    f"FORMAT() takes a number, currency, percent, date or dateTime field, "
                    f"not {inner.field.name} ({inner.field.type})",
                    "INVALID_FIELD",
                )
            return dataclasses.replace(inner, formatted=True)
        if arg.data != "path":
            raise self._error(arg, f"{node.children[0]}() takes one field")
        inner = self.resolve(arg)
        if name == "CONVERTCURRENCY" and inner.field.type != schema.CURRENCY:
            raise self._error(arg, "convertCurrency() takes a currency field", "INVALID_FIELD")
        return inner

    def _aggregate(self, node: Tree, name: str, arg: Tree | None) -> Resolved:
        if self._clause not in ("select", "having", "order"):
            raise self._error(node, f"Aggregate functions are not allowed in {self._clause_name()}")
        if arg is None or arg.data != "path":
            raise self._error(node, f"{node.children[0]}() takes one field")
        outer, self._clause = self._clause, "aggregate"
        try:
            inner = self.resolve(arg)
        finally:
            self._clause = outer
        ftype = inner.field.type
        allowed = {
            "SUM": ftype in NUMERIC,
            "AVG": ftype in NUMERIC,
            "MIN": ftype not in (schema.BOOLEAN, schema.TEXTAREA),
            "MAX": ftype not in (schema.BOOLEAN, schema.TEXTAREA),
        }.get(name, ftype != schema.TEXTAREA)
        if not allowed:
            raise self._error(
                arg,
                f"field {inner.field.name} does not support aggregate operator {name}",
                "INVALID_FIELD",
            )
        x = inner.expr
        sql, result = {
            "COUNT": (f"COUNT({x})", schema.INT),
            "COUNT_DISTINCT": (f"COUNT(DISTINCT {x})", schema.INT),
            "SUM": (f"SUM({x})", ftype),
            "AVG": (f"AVG({x})", schema.DOUBLE),
            "MIN": (f"MIN({x})", ftype),
            "MAX": (f"MAX({x})", ftype),
        }[name]
        field = inner.field if result == ftype else schema.Field(inner.field.name, result)
        return Resolved(sql, field, (), aggregate=True, named=False)

    def _date_function(self, node: Tree, name: str, arg: Tree) -> Resolved:
        if arg.data == "call" and str(arg.children[0]).upper() == "CONVERTTIMEZONE":
            # The local org's user is on UTC: converting to the user's zone changes nothing.
            arg = arg.children[1]  # type: ignore[assignment]
            if arg is None:
                raise self._error(node, "convertTimezone() takes one field")
        if arg.data != "path":
            raise self._error(arg, f"{node.children[0]}() takes one field")
        inner = self.resolve(arg)
        types = (schema.DATETIME,) if name in DATETIME_ONLY else (schema.DATE, schema.DATETIME)
        if inner.field.type not in types:
            raise self._error(
                arg,
                f"field {inner.field.name} does not support date function {name}",
                "INVALID_FIELD",
            )
        sql, result = date_function_sql(name, inner.expr, self.fiscal)
        return Resolved(sql, schema.Field(name, result), (), named=False)

    # query

    def compile(self, query: Tree, sobj: schema.SObject, *, child: bool = False) -> CompiledQuery:
        self.compiled = CompiledQuery(sobj, self.prefix)
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
            item.data == "selected" and _is_aggregate(item.children[0])  # type: ignore[arg-type]
            for item in items
        )
        if limit is not None:
            self.compiled.limit = int(limit.children[0])  # type: ignore[union-attr]
        if group_by is not None:
            self._group_by(group_by)  # type: ignore[arg-type]
        if child and self.compiled.aggregate:
            raise self._error(items[0].children[0], "Aggregate queries are not allowed here")  # type: ignore[arg-type]
        if self._count_only(items):
            self.compiled.aggregate = group_by is not None
        elif self.compiled.aggregate:
            if self.compiled.limit is not None and group_by is None:
                raise self._error(
                    limit.children[0],  # type: ignore[union-attr]
                    "A query with an aggregate function and a LIMIT needs a GROUP BY",
                )
            self._select_aggregates(items)
        else:
            self._column(f"{self.compiled.root}.Id")
            self._column(f"{self.compiled.root}.rowid")
            self._select(items, child)
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

    @staticmethod
    def _is_count(item: Tree) -> bool:
        expr = item.children[0] if item.data == "selected" else None
        return (
            isinstance(expr, Tree)
            and expr.data == "call"
            and str(expr.children[0]).upper() == "COUNT"
            and expr.children[1] is None
        )

    def _count_only(self, items: list[Tree]) -> bool:
        """SELECT COUNT(): the answer is totalSize alone (counting groups under GROUP BY)."""
        counts = [item for item in items if self._is_count(item)]
        if not counts:
            return False
        if len(items) > 1 or counts[0].children[1] is not None:
            raise self._error(counts[0], "COUNT() must be the only element")
        self.compiled.count = True
        return True

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

    def _select_aggregates(self, items: list[Tree]) -> None:
        """The fields of an AggregateResult: grouped fields under their names (or aliases),
        aggregate and date functions as their alias or expr0, expr1, ..."""
        unnamed = 0
        keys: set[str] = set()
        for item in items:
            if item.data != "selected":
                first = item.children[0]
                raise self._error(
                    first if item.data == "typeof" else first.children[1],  # type: ignore[union-attr, arg-type]
                    "Child relationships and TYPEOF are not allowed in an aggregate query",
                )
            expr, alias = item.children
            if isinstance(expr, Tree) and expr.data == "call" and self._is_count(item):
                raise self._error(expr, "COUNT() must be the only element")
            resolved = self.operand(expr)  # type: ignore[arg-type]
            if not resolved.aggregate and resolved.expr not in self.compiled.group_by:
                raise self._error(expr, f"Field must be grouped or aggregated: {error_token(expr)}")  # type: ignore[arg-type]
            if alias is not None:
                key = str(alias)
            elif resolved.named:
                key = resolved.field.name
            else:
                key = f"expr{unnamed}"
                unnamed += 1
            if key.lower() in keys:
                raise self._error(alias or expr, f"duplicate alias: {key}")  # type: ignore[arg-type]
            keys.add(key.lower())
            self.compiled.outputs.append(
                Output(
                    key, self._column(resolved.expr), resolved.field, formatted=resolved.formatted
                )
            )

    def _parent_output(self, outputs: list[Output], rel_path: tuple[str, ...]) -> list[Output]:
        """The output list a field with this relationship path belongs in (creating parents)."""
        for depth in range(len(rel_path)):
            key = rel_path[depth]
            node = next((o for o in outputs if o.key == key and o.type_name), None)
            if node is None:
                lowered = tuple(p.lower() for p in rel_path[: depth + 1])
                aliases, targets = self._joins[lowered]
                ids_expr = [f"{a}.Id" for a in aliases]
                expr = ids_expr[0] if len(ids_expr) == 1 else f"COALESCE({', '.join(ids_expr)})"
                type_name = targets[0].name if len(targets) == 1 else "Name"
                node = Output(key, self._column(expr), type_name=type_name)
                outputs.append(node)
            outputs = node.children
        return outputs

    def _column(self, expr: str) -> int:
        self.compiled.columns.append(expr)
        return len(self.compiled.columns) - 1

    def _select(self, items: list[Tree], child: bool) -> None:
        seen: set[tuple[str, ...]] = set()
        for item in items:
            if item.data == "typeof":
                self.compiled.outputs.append(self._typeof(item))
                continue
            if item.data == "subquery":
                if child:
                    first: Token = item.children[0].children[1]  # type: ignore[union-attr, assignment]
                    raise located_error(
                        self.soql, first, "MALFORMED_QUERY", "nested child subqueries"
                    )
                self.compiled.outputs.append(self._child(item.children[0]))  # type: ignore[arg-type]
                continue
            expr, alias = item.children
            if alias is not None and not _is_call(expr, DISPLAY_FUNCTIONS):  # type: ignore[arg-type]
                raise self._error(alias, "Only aggregate expressions use field aliasing")
            for resolved, token in self._selected_fields(expr):  # type: ignore[arg-type]
                # An alias keys the value at the top of the record, wherever the field is.
                path = (*resolved.rel_path, resolved.field.name) if alias is None else (str(alias),)
                key = tuple(name.lower() for name in path)
                if key in seen:
                    raise located_error(
                        self.soql,
                        alias or token,  # type: ignore[arg-type]
                        "MALFORMED_QUERY",
                        f"duplicate field selected: {'.'.join(path)}",
                    )
                seen.add(key)
                rel_path = path[:-1]
                target = self._parent_output(self.compiled.outputs, rel_path)
                target.append(
                    Output(
                        path[-1],
                        self._column(resolved.expr),
                        resolved.field,
                        formatted=resolved.formatted,
                    )
                )

    def _typeof(self, node: Tree) -> Output:
        """TYPEOF rel WHEN Type THEN fields ... [ELSE fields] END (SOQL: "TYPEOF"): each row
        gets the fields of the branch for its record's type, ELSE's (Name entity fields)
        otherwise."""
        name: Token = node.children[0]  # type: ignore[assignment]
        ref = next(
            (
                f
                for f in self.compiled.sobject.fields.values()
                if f.type == schema.REFERENCE
                and (f.relationship_name or "").lower() == name.lower()
            ),
            None,
        )
        if ref is None or len(ref.reference_to) < 2:
            raise self._error(name, f"TYPEOF needs a polymorphic relationship, not '{name}'")
        link = f"{self.compiled.root}.{q(ref.name)}"
        branches: dict[str, list[Output]] = {}
        for branch in node.children[1:]:
            if branch is None:
                continue
            assert isinstance(branch, Tree)
            if branch.data == "typeof_when":
                type_token, *paths = branch.children
                target = next(
                    (t for t in ref.reference_to if t.lower() == str(type_token).lower()), None
                )
                if target is None:
                    raise self._error(
                        type_token,  # type: ignore[arg-type]
                        f"'{type_token}' is not a type {ref.relationship_name} can refer to",
                        "INVALID_TYPE",
                    )
                alias = self._new_alias()
                self.compiled.joins.append(f"LEFT JOIN {q(target)} {alias} ON {alias}.Id = {link}")
                fields = [self._typeof_field(self.schema.sobjects[target], p) for p in paths]  # type: ignore[arg-type]
                branches[target] = [
                    Output(f.name, self._column(f"{alias}.{q(f.name)}"), f) for f in fields
                ]
            else:
                branches[""] = []
                for path in branch.children:
                    tokens = [name, *path.children]  # type: ignore[union-attr]
                    resolved = self.resolve(Tree("path", tokens))
                    branches[""].append(
                        Output(resolved.field.name, self._column(resolved.expr), resolved.field)
                    )
        return Output(ref.relationship_name or "", self._column(link), branches=branches)

    def _typeof_field(self, sobj: schema.SObject, path: Tree) -> schema.Field:
        token: Token = path.children[-1]  # type: ignore[assignment]
        fld = sobj.field(token) if len(path.children) == 1 else None
        if fld is None:
            raise self._field_error(token, sobj.name)
        return fld

    def _selected_fields(self, expr: Tree) -> list[tuple[Resolved, Token]]:
        """The fields one SELECT item stands for: itself, or all FIELDS(...) names."""
        if expr.data == "call" and str(expr.children[0]).upper() == "FIELDS":
            return self._fields_macro(expr)
        resolved = self.operand(expr)
        if not resolved.named:
            raise self._error(expr, f"{error_token(expr)}() needs a GROUP BY")
        return [(resolved, error_token(expr))]

    def _fields_macro(self, expr: Tree) -> list[tuple[Resolved, Token]]:
        """FIELDS(STANDARD | CUSTOM | ALL) (SOQL: "FIELDS()"): CUSTOM and ALL need a LIMIT
        of at most 200."""
        arg: Tree | None = expr.children[1]  # type: ignore[assignment]
        kind = str(arg.children[0]).upper() if arg is not None and len(arg.children) == 1 else ""
        if kind not in ("STANDARD", "CUSTOM", "ALL"):
            raise self._error(expr, "FIELDS() takes STANDARD, CUSTOM or ALL")
        if kind != "STANDARD" and (
            self.compiled.limit is None or self.compiled.limit > MAX_FIELDS_LIMIT
        ):
            raise self._error(
                expr, f"The SOQL FIELDS function must have a LIMIT of at most {MAX_FIELDS_LIMIT}"
            )
        token = error_token(expr)
        return [
            (Resolved(f"{self.compiled.root}.{q(f.name)}", f, ()), token)
            for f in self.compiled.sobject.fields.values()
            if kind == "ALL" or (kind == "CUSTOM") == f.name.endswith("__c")
        ]

    def _child(self, query: Tree) -> Output:
        name: Token = query.children[1]  # type: ignore[assignment]
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
                f"{_CUSTOM_REL_HINT}",
            )
        self._subqueries += 1
        sub = Compiler(
            self.soql, self.schema, self.today, f"{self.prefix}c{self._subqueries}_", self.fiscal
        )
        subquery = sub.compile(query, self.schema.sobjects[rel.child_sobject], child=True)
        subquery.link = f"{subquery.root}.{q(rel.field)}"
        return Output(
            rel.relationship_name, self._column(f"{self.compiled.root}.Id"), subquery=subquery
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
