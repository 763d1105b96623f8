"""SOQL -> SQLite: parse with the lark grammar in soql.lark, resolve names against the
schema, and build a `CompiledQuery` of parameterised SQL plus the shape of the records to
return.

Names resolve case-insensitively and come back in the schema's canonical case. Anything
the grammar or the resolver does not understand is an error, as in Salesforce."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken

from revsched.localorg import ids, schema
from revsched.localorg.errors import SalesforceError
from revsched.localorg.soql_dates import (
    DATE_FUNCTIONS,
    DATETIME_ONLY,
    FiscalYear,
    date_function_sql,
    date_range,
)
from revsched.localorg.storage import q
from revsched.localorg.values import TEXT_TYPES, format_datetime, parse_datetime

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


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "soql.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True)


# -- the compiled query ---------------------------------------------------------------


@dataclass
class Output:
    """One node of a returned record: a field, a parent object, or a child query."""

    key: str
    index: int = 0  # column of the value (field) or of the parent's Id (parent)
    field: schema.Field | None = None
    type_name: str = ""  # parent: the sObject type; "Name" for polymorphic lookups
    children: list[Output] = dataclasses.field(default_factory=list)  # parent: its outputs
    subquery: CompiledQuery | None = None  # a parent-to-child subquery
    # TYPEOF: the outputs for each sObject type the lookup may name ("" for ELSE).
    branches: dict[str, list[Output]] | None = None


@dataclass
class CompiledQuery:
    """A compiled query: SQL pieces over alias t0 plus how to shape each row."""

    sobject: schema.SObject
    prefix: str
    count: bool = False
    columns: list[str] = dataclasses.field(default_factory=list)
    outputs: list[Output] = dataclasses.field(default_factory=list)
    joins: list[str] = dataclasses.field(default_factory=list)
    where: str = ""
    params: list[object] = dataclasses.field(default_factory=list)
    order: list[str] = dataclasses.field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    link: str = ""  # child query: the lookup column to the parent
    # Aggregate queries (aggregate functions or GROUP BY): one AggregateResult per group.
    aggregate: bool = False
    group_by: list[str] = dataclasses.field(default_factory=list)
    having: str = ""

    @property
    def root(self) -> str:
        return f"{self.prefix}t0"

    def from_sql(self) -> str:
        return " ".join([f"{q(self.sobject.name)} {self.root}", *self.joins])

    def where_sql(self, include_deleted: bool) -> str:
        parts = [] if include_deleted else [f"{self.root}.IsDeleted = 0"]
        if self.where:
            parts.append(self.where)
        return " AND ".join(parts) or "1"

    def order_sql(self) -> str:
        return ", ".join([*self.order, f"{self.root}.rowid"])

    def aggregate_sql(self, include_deleted: bool) -> str:
        """The grouped SELECT of an aggregate query (its columns are the outputs)."""
        sql = f"SELECT {', '.join(self.columns) or '1'} FROM {self.from_sql()} "
        sql += f"WHERE {self.where_sql(include_deleted)}"
        if self.group_by:
            sql += f" GROUP BY {', '.join(self.group_by)}"
        if self.having:
            sql += f" HAVING {self.having}"
        if self.order:
            sql += f" ORDER BY {', '.join(self.order)}"
        return sql + f" LIMIT {-1 if self.limit is None else self.limit} OFFSET {self.offset}"


# -- errors -------------------------------------------------------------------------


def _located(soql: str, token: Token | None, code: str, detail: str) -> SalesforceError:
    """Salesforce's query error text: the query line, a caret, the position, the detail."""
    line, column = (token.line or 1, token.column or 1) if token is not None else (1, 1)
    lines = soql.splitlines() or [""]
    text = lines[min(line, len(lines)) - 1]
    message = f"\n{text}\n{' ' * (column - 1)}^\nERROR at Row:{line}:Column:{column}\n{detail}"
    return SalesforceError(400, code, message)


def _syntax_error(soql: str, exc: UnexpectedInput) -> SalesforceError:
    """MALFORMED_QUERY pointing at the first token the grammar cannot take."""
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = soql.splitlines() or [""]
        token = Token("END", "", line=len(lines), column=len(lines[-1]) + 1)
        return _located(soql, token, "MALFORMED_QUERY", "unexpected token: '<EOF>'")
    text = exc.token if isinstance(exc, UnexpectedToken) else soql[exc.pos_in_stream]
    token = Token("BAD", "", line=exc.line, column=exc.column)
    return _located(soql, token, "MALFORMED_QUERY", f"unexpected token: '{text}'")


def decode_string(raw: str) -> tuple[str, str]:
    """A SOQL string literal's value, and its LIKE pattern (where \\% and \\_ stay escaped)."""
    simple = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
    plain: list[str] = []
    like: list[str] = []
    body = raw[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            plain.append(ch)
            like.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            plain.append(simple[nxt])
            like.append(simple[nxt])
        elif nxt == "\\":
            plain.append("\\")
            like.append("\\\\")
        elif nxt in "%_":
            plain.append(nxt)
            like.append("\\" + nxt)
        elif nxt == "u" and len(body) >= i + 6:
            char = chr(int(body[i + 2 : i + 6], 16))
            plain.append(char)
            like.append(char)
            i += 4
        else:
            raise ValueError(
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}'"
            )
        i += 2
    return "".join(plain), "".join(like)


# -- the compiler ------------------------------------------------------------------------


@dataclass
class _Resolved:
    expr: str
    field: schema.Field  # the field, or a stand-in typed as the expression's result
    rel_path: tuple[str, ...]  # canonical relationship names leading to the field
    aggregate: bool = False
    named: bool = True  # a field (keyed by its name) rather than an expression (exprN)


AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"}
NUMERIC = (schema.INT, schema.DOUBLE, schema.CURRENCY, schema.PERCENT)
# FIELDS(ALL) and FIELDS(CUSTOM) need a LIMIT of at most 200 (SOQL: "FIELDS()").
MAX_FIELDS_LIMIT = 200
# Aggregate results cannot be paged: more rows than one batch is an error (SOQL:
# "Considerations for GROUP BY").
MAX_AGGREGATE_ROWS = 2000


def _token(node: Tree | Token) -> Token:
    """The token an error about this expression points at: a path's last name, or a
    function's name."""
    if isinstance(node, Token):
        return node
    if node.data == "call":
        return node.children[0]  # type: ignore[return-value]
    if node.data == "path":
        return node.children[-1]  # type: ignore[return-value]
    return _token(node.children[0])  # type: ignore[arg-type]


def _is_aggregate_call(node: Tree) -> bool:
    return node.data == "call" and str(node.children[0]).upper() in AGGREGATES


class Compiler:
    """Compiles one SELECT (and, recursively, its subqueries) against the schema."""

    def __init__(
        self, soql: str, today: date, prefix: str = "", fiscal: FiscalYear | None = None
    ) -> None:
        self.soql = soql
        self.today = today
        self.prefix = prefix
        self.fiscal = fiscal or FiscalYear()
        self._aliases = 0
        self._subqueries = 0
        self._joins: dict[tuple[str, ...], tuple[list[str], list[schema.SObject]]] = {}
        self._clause = "select"
        self.compiled: CompiledQuery

    def _error(self, node: Tree | Token | None, detail: str, code: str = "MALFORMED_QUERY"):
        return _located(self.soql, None if node is None else _token(node), code, detail)

    # names

    def _new_alias(self) -> str:
        self._aliases += 1
        return f"{self.prefix}t{self._aliases}"

    def _field_error(self, token: Token, sobj_name: str) -> SalesforceError:
        return _located(
            self.soql,
            token,
            "INVALID_FIELD",
            f"No such column '{token}' on entity '{sobj_name}'. {_CUSTOM_FIELD_HINT}",
        )

    def resolve(self, path: Tree) -> _Resolved:
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
                new_targets = [schema.SOBJECTS[name] for name in ref.reference_to]
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
            return _Resolved(
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
        return _Resolved(expr, fld, rel_path)

    def _relationship_error(self, token: Token) -> SalesforceError:
        return _located(
            self.soql,
            token,
            "INVALID_FIELD",
            f"Didn't understand relationship '{token}' in field path. {_CUSTOM_REL_HINT}",
        )

    # expressions: fields and function calls

    def operand(self, node: Tree) -> _Resolved:
        """A field path or a function call, checked against the clause it appears in."""
        resolved = self._operand(node)
        after_grouping = self._clause in ("having", "order") and self.compiled.aggregate
        if (
            after_grouping
            and not resolved.aggregate
            and resolved.expr not in self.compiled.group_by
        ):
            raise self._error(node, f"Field must be grouped or aggregated: {_token(node)}")
        return resolved

    def _operand(self, node: Tree) -> _Resolved:
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
        inner = self.operand(arg)
        if name == "CONVERTCURRENCY" and inner.field.type != schema.CURRENCY:
            raise self._error(arg, "convertCurrency() takes a currency field", "INVALID_FIELD")
        # toLabel(): picklist labels are their values here; convertCurrency(): the org has
        # one currency, the user's.
        return inner

    def _aggregate(self, node: Tree, name: str, arg: Tree | None) -> _Resolved:
        if self._clause not in ("select", "having", "order"):
            clause = "GROUP BY" if self._clause == "group" else self._clause.upper()
            raise self._error(node, f"Aggregate functions are not allowed in {clause}")
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
        return _Resolved(sql, field, (), aggregate=True, named=False)

    def _date_function(self, node: Tree, name: str, arg: Tree) -> _Resolved:
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
        return _Resolved(sql, schema.Field(name, result), (), named=False)

    # query

    def compile(self, query: Tree, sobj: schema.SObject, *, child: bool = False) -> CompiledQuery:
        self.compiled = CompiledQuery(sobj, self.prefix)
        (
            fields_tree,
            _name,
            _scope,  # USING SCOPE: every scope sees every record here
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
            item.data == "selected" and _is_aggregate_call(item.children[0])  # type: ignore[arg-type]
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
        if where is not None:
            self._clause = "where"
            self.compiled.where = self._condition(where.children[0])  # type: ignore[union-attr]
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
            if resolved.field.type in (schema.TEXTAREA, schema.DOUBLE):
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
                raise self._error(expr, f"Field must be grouped or aggregated: {_token(expr)}")  # type: ignore[arg-type]
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
            self.compiled.outputs.append(Output(key, self._column(resolved.expr), resolved.field))

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
                    raise _located(self.soql, first, "MALFORMED_QUERY", "nested child subqueries")
                self.compiled.outputs.append(self._child(item.children[0]))  # type: ignore[arg-type]
                continue
            expr, alias = item.children
            if alias is not None:
                raise self._error(alias, "Only aggregate expressions use field aliasing")
            for resolved, token in self._selected_fields(expr):  # type: ignore[arg-type]
                key = (*resolved.rel_path, resolved.field.name)
                if key in seen:
                    raise _located(
                        self.soql,
                        token,
                        "MALFORMED_QUERY",
                        f"duplicate field selected: {'.'.join(key)}",
                    )
                seen.add(key)
                target = self._parent_output(self.compiled.outputs, resolved.rel_path)
                target.append(
                    Output(resolved.field.name, self._column(resolved.expr), resolved.field)
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
                fields = [self._typeof_field(schema.SOBJECTS[target], p) for p in paths]  # type: ignore[arg-type]
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

    def _selected_fields(self, expr: Tree) -> list[tuple[_Resolved, Token]]:
        """The fields one SELECT item stands for: itself, or all FIELDS(...) names."""
        if expr.data == "call" and str(expr.children[0]).upper() == "FIELDS":
            return self._fields_macro(expr)
        resolved = self.operand(expr)
        if not resolved.named:
            raise self._error(expr, f"{_token(expr)}() needs a GROUP BY")
        return [(resolved, _token(expr))]

    def _fields_macro(self, expr: Tree) -> list[tuple[_Resolved, Token]]:
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
        token = _token(expr)
        return [
            (_Resolved(f"{self.compiled.root}.{q(f.name)}", f, ()), token)
            for f in self.compiled.sobject.fields.values()
            if kind == "ALL" or (kind == "CUSTOM") == f.name.endswith("__c")
        ]

    def _child(self, query: Tree) -> Output:
        name: Token = query.children[1]  # type: ignore[assignment]
        rel = next(
            (
                r
                for r in schema.CHILD_RELATIONSHIPS.get(self.compiled.sobject.name, ())
                if r.relationship_name.lower() == name.lower()
            ),
            None,
        )
        if rel is None:
            raise _located(
                self.soql,
                name,
                "INVALID_TYPE",
                f"Didn't understand relationship '{name}' in FROM part of query call. "
                f"{_CUSTOM_REL_HINT}",
            )
        self._subqueries += 1
        sub = Compiler(self.soql, self.today, f"{self.prefix}c{self._subqueries}_", self.fiscal)
        subquery = sub.compile(query, schema.SOBJECTS[rel.child_sobject], child=True)
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
            return self._compare(resolved, "!=" if op == "<>" else op, node.children[2], path)  # type: ignore[arg-type]
        if kind == "like":
            value: Tree = node.children[1]  # type: ignore[assignment]
            if value.data != "string":
                raise self._value_error(path, resolved.field)
            _plain, pattern = self._decode(value)
            self.compiled.params.append(pattern)
            x = resolved.expr
            return f"({x} LIKE ? ESCAPE '\\' AND {x} IS NOT NULL)"
        if kind in ("in_", "not_in"):
            return self._in_list(resolved, node.children[1].children, kind == "not_in", path)  # type: ignore[union-attr, arg-type]
        if kind in ("includes", "excludes"):
            return self._includes(resolved, node.children[1].children, kind == "excludes", path)  # type: ignore[union-attr, arg-type]
        return self._semi_join(resolved, node.children[1], kind == "not_in_query", path)  # type: ignore[arg-type]

    def _includes(self, resolved: _Resolved, values: list[Tree], negate: bool, path: Tree) -> str:
        """INCLUDES / EXCLUDES on a multi-select picklist (SOQL: "Querying Multi-Select
        Picklists"): 'a;b' asks for a and b together, a list for any of its entries."""
        if resolved.field.type != schema.MULTIPICKLIST:
            raise self._error(
                path,
                f"INCLUDES and EXCLUDES need a multi-select picklist, and "
                f"'{resolved.field.name}' is of type {resolved.field.type}",
                "INVALID_FIELD",
            )
        x = resolved.expr
        anyof = []
        for value in values:
            if value.data != "string":
                raise self._value_error(path, resolved.field)
            plain, _ = self._decode(value)
            wanted = [part.strip() for part in plain.split(";") if part.strip()]
            allof = []
            for part in wanted:
                escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                self.compiled.params.append(f"%;{escaped};%")
                allof.append(f"((';' || {x} || ';') LIKE ? ESCAPE '\\')")
            anyof.append("(" + " AND ".join(allof or ["0"]) + ")")
        held = "(" + " OR ".join(anyof) + ")"
        return f"({x} IS NULL OR NOT {held})" if negate else f"({x} IS NOT NULL AND {held})"

    def _decode(self, value: Tree) -> tuple[str, str]:
        token: Token = value.children[0]  # type: ignore[assignment]
        try:
            return decode_string(str(token))
        except ValueError as exc:
            raise _located(self.soql, token, "MALFORMED_QUERY", str(exc)) from None

    def _value_error(self, path: Tree, fld: schema.Field) -> SalesforceError:
        quoted = fld.type in TEXT_TYPES or fld.type in (schema.ID, schema.REFERENCE)
        kind = {
            schema.ID: "id",
            schema.REFERENCE: "reference",
            schema.DATETIME: "dateTime",
        }.get(fld.type, "string" if fld.type in TEXT_TYPES else fld.type)
        enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return _located(
            self.soql,
            _token(path),
            "INVALID_FIELD",
            f"value of filter criterion for field '{_token(path)}' must be of type "
            f"{kind} and {enclosed}",
        )

    def _scalar(self, value: Tree, fld: schema.Field, path: Tree) -> object:
        """A literal as the column stores it, or a (low, high-exclusive) pair for ranges."""
        kind = value.data
        ftype = fld.type
        if kind == "null":
            return None
        token = str(value.children[0]) if value.children else ""
        if kind == "string" and (ftype in TEXT_TYPES or ftype in (schema.ID, schema.REFERENCE)):
            plain, _ = self._decode(value)
            if ftype in (schema.ID, schema.REFERENCE):
                canonical = ids.normalize(plain)
                if canonical is None:
                    raise _located(
                        self.soql,
                        value.children[0],  # type: ignore[arg-type]
                        "INVALID_QUERY_FILTER_OPERATOR",
                        f"invalid ID field: {plain}",
                    )
                return canonical
            return plain
        if kind in ("true", "false") and ftype == schema.BOOLEAN:
            return int(kind == "true")
        if kind == "number" and ftype in (
            schema.INT,
            schema.DOUBLE,
            schema.CURRENCY,
            schema.PERCENT,
        ):
            return float(token) if "." in token else int(token)
        if kind == "date" and ftype == schema.DATE:
            return token
        if kind == "datetime" and ftype == schema.DATETIME:
            parsed = parse_datetime(token)
            assert parsed is not None
            return format_datetime(parsed)
        if kind == "date_literal" and ftype in (schema.DATE, schema.DATETIME):
            start, end = date_range(token, self.today, self.fiscal)
            if ftype == schema.DATE:
                return (start.isoformat(), (end + timedelta(1)).isoformat())
            return (
                start.isoformat() + "T00:00:00.000+0000",
                (end + timedelta(1)).isoformat() + "T00:00:00.000+0000",
            )
        raise self._value_error(path, fld)

    def _compare(self, resolved: _Resolved, op: str, value: Tree, path: Tree) -> str:
        x = resolved.expr
        literal = self._scalar(value, resolved.field, path)
        if literal is None:
            if op not in ("=", "!="):
                raise _located(
                    self.soql,
                    _token(path),
                    "MALFORMED_QUERY",
                    f"invalid operator on null for field '{_token(path)}'",
                )
            if resolved.field.type == schema.BOOLEAN:
                # SOQL documents `checkbox = null` as `= false`, `!= null` as `= true`.
                return f"({x} = 0 OR {x} IS NULL)" if op == "=" else f"({x} = 1)"
            return f"({x} IS {'' if op == '=' else 'NOT '}NULL)"
        if isinstance(literal, tuple):
            low, high = literal
            sql = {
                "=": (f"({x} >= ? AND {x} < ?)", [low, high]),
                "!=": (f"({x} < ? OR {x} >= ? OR {x} IS NULL)", [low, high]),
                "<": (f"({x} < ?)", [low]),
                "<=": (f"({x} < ?)", [high]),
                ">": (f"({x} >= ?)", [high]),
                ">=": (f"({x} >= ?)", [low]),
            }[op]
            self.compiled.params.extend(sql[1])
            return sql[0]
        self.compiled.params.append(literal)
        if op == "!=":
            return f"({x} != ? OR {x} IS NULL)"
        return f"({x} {op} ? AND {x} IS NOT NULL)"

    def _in_list(self, resolved: _Resolved, values: list[Tree], negate: bool, path: Tree) -> str:
        x = resolved.expr
        literals = [self._scalar(v, resolved.field, path) for v in values]
        ranges = [lit for lit in literals if isinstance(lit, tuple)]
        scalars = [lit for lit in literals if lit is not None and not isinstance(lit, tuple)]
        has_null = any(lit is None for lit in literals)
        terms = []
        if scalars:
            self.compiled.params.extend(scalars)
            terms.append(f"({x} IN ({', '.join('?' * len(scalars))}) AND {x} IS NOT NULL)")
        for low, high in ranges:
            self.compiled.params.extend([low, high])
            terms.append(f"({x} >= ? AND {x} < ?)")
        if has_null:
            terms.append(f"({x} IS NULL)")
        positive = "(" + " OR ".join(terms) + ")"
        return f"(NOT {positive})" if negate else positive

    def _semi_join(self, resolved: _Resolved, query: Tree, negate: bool, path: Tree) -> str:
        if resolved.field.type not in (schema.ID, schema.REFERENCE):
            raise _located(
                self.soql,
                _token(path),
                "INVALID_FIELD",
                "Semi join sub-selects are only allowed with ID fields",
            )
        name: Token = query.children[1]  # type: ignore[assignment]
        sobj = schema.sobject(str(name))
        if sobj is None:
            raise _unknown_type(self.soql, name)
        self._subqueries += 1
        prefix = f"{self.prefix}s{self._subqueries}_"
        inner = Compiler(self.soql, self.today, prefix, self.fiscal).compile(
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
            raise _located(
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


def _unknown_type(soql: str, name: Token) -> SalesforceError:
    return _located(
        soql,
        name,
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


def compile_soql(soql: str, today: date, fiscal: FiscalYear | None = None) -> CompiledQuery:
    """Parse and compile one SOQL query, raising SalesforceError as Salesforce would."""
    try:
        tree = _parser().parse(soql)
    except UnexpectedInput as exc:
        raise _syntax_error(soql, exc) from None
    query: Tree = tree.children[0]  # type: ignore[assignment]
    name: Token = query.children[1]  # type: ignore[assignment]
    sobj = schema.sobject(str(name))
    if sobj is None:
        raise _unknown_type(soql, name)
    return Compiler(soql, today, fiscal=fiscal).compile(query, sobj)
