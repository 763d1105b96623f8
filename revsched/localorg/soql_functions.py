"""SOQL's function calls -> SQL: aggregate functions, date functions and the functions that
change how a value reads (toLabel, convertCurrency, FORMAT), each checked against the
field it takes and the clause it appears in, as Salesforce checks them."""

from __future__ import annotations

import dataclasses

from lark import Token, Tree

from revsched.localorg import schema
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_dates import (
    DATE_FUNCTIONS,
    DATETIME_ONLY,
    FiscalYear,
    date_function_sql,
)
from revsched.localorg.soql_filters import Resolved
from revsched.localorg.soql_paths import FieldPaths
from revsched.localorg.soql_text import error_token, located_error
from revsched.localorg.values import FORMATTED_TYPES

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


def _named(clause: str) -> str:
    """A clause as the query spells it (group -> GROUP BY)."""
    return _CLAUSE_NAMES.get(clause, clause.upper())


def is_call(node: Tree, names: set[str] | dict[str, object]) -> bool:
    """A call of one of these functions (names upper-case)."""
    return node.data == "call" and str(node.children[0]).upper() in names


def is_aggregate(node: Tree) -> bool:
    """An aggregate function, or FORMAT() of one."""
    if is_call(node, {"FORMAT"}) and isinstance(node.children[1], Tree):
        return is_aggregate(node.children[1])
    return is_call(node, AGGREGATES)


class Calls:
    """The field paths and function calls of one query, as SQL expressions."""

    def __init__(self, soql: str, paths: FieldPaths, fiscal: FiscalYear) -> None:
        self.soql = soql
        self.paths = paths
        self.fiscal = fiscal

    def _error(
        self, node: Tree | Token, detail: str, code: str = "MALFORMED_QUERY"
    ) -> SalesforceError:
        return located_error(self.soql, error_token(node), code, detail)

    def resolve(self, node: Tree, clause: str) -> Resolved:
        """A field path or a function call in `clause` (select, where, group, having, order)."""
        if node.data == "path":
            return self.paths.resolve(node)
        name = str(node.children[0]).upper()
        arg: Tree | None = node.children[1]  # type: ignore[assignment]
        if name in AGGREGATES:
            return self._aggregate(node, name, arg, clause)
        if arg is None or name in ("FIELDS", "CONVERTTIMEZONE", "GROUPING"):
            raise self._error(node, f"{node.children[0]}() is not allowed here")
        if name in DATE_FUNCTIONS:
            return self._date_function(node, name, arg)
        return self._display_function(node, name, arg, clause)

    def _display_function(self, node: Tree, name: str, arg: Tree, clause: str) -> Resolved:
        """toLabel(), convertCurrency(), FORMAT(). The local org's user reads en_US in the
        org's one currency: a picklist's labels are its values and converting a currency
        changes nothing, so those two return the field as stored; FORMAT() marks the value
        for values.display."""
        if clause not in DISPLAY_FUNCTIONS[name]:
            raise self._error(node, f"{node.children[0]}() is not allowed in {_named(clause)}")
        if name == "FORMAT":
            if arg.data == "call" and not is_call(arg, AGGREGATES | {"CONVERTCURRENCY"}):
                raise self._error(
                    arg, "FORMAT() takes a field, an aggregate function or convertCurrency()"
                )
            inner = self.resolve(arg, clause)
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
        inner = self.paths.resolve(arg)
        if name == "CONVERTCURRENCY" and inner.field.type != schema.CURRENCY:
            raise self._error(arg, "convertCurrency() takes a currency field", "INVALID_FIELD")
        return inner

    def _aggregate(self, node: Tree, name: str, arg: Tree | None, clause: str) -> Resolved:
        if clause not in ("select", "having", "order"):
            raise self._error(node, f"Aggregate functions are not allowed in {_named(clause)}")
        if arg is None or arg.data != "path":
            raise self._error(node, f"{node.children[0]}() takes one field")
        inner = self.paths.resolve(arg)
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
        if is_call(arg, {"CONVERTTIMEZONE"}):
            # The local org's user is on UTC: converting to the user's zone changes nothing.
            arg = arg.children[1]  # type: ignore[assignment]
            if arg is None:
                raise self._error(node, "convertTimezone() takes one field")
        if arg.data != "path":
            raise self._error(arg, f"{node.children[0]}() takes one field")
        inner = self.paths.resolve(arg)
        types = (schema.DATETIME,) if name in DATETIME_ONLY else (schema.DATE, schema.DATETIME)
        if inner.field.type not in types:
            raise self._error(
                arg,
                f"field {inner.field.name} does not support date function {name}",
                "INVALID_FIELD",
            )
        sql, result = date_function_sql(name, inner.expr, self.fiscal)
        return Resolved(sql, schema.Field(name, result), (), named=False)
