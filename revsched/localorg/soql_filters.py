"""The comparisons of WHERE and HAVING: literals checked against the field's type (as
Salesforce checks them) and turned into parameterised SQL over the resolved expression."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from lark import Token, Tree

from revsched.localorg import ids, schema
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_dates import FiscalYear, date_range
from revsched.localorg.soql_text import decode_string, error_token, located_error
from revsched.localorg.values import TEXT_TYPES, format_datetime, parse_datetime


@dataclass
class Resolved:
    """A name or expression of the query, resolved to SQL over its joins."""

    expr: str
    field: schema.Field  # the field, or a stand-in typed as the expression's result
    rel_path: tuple[str, ...]  # canonical relationship names leading to the field
    aggregate: bool = False
    named: bool = True  # a field (keyed by its name) rather than an expression (exprN)
    formatted: bool = False  # FORMAT(): returned as the user reads it (values.display)


class Filters:
    """Builds one query's comparisons, adding their values to its parameters."""

    def __init__(self, soql: str, today: date, fiscal: FiscalYear, params: list[object]):
        self.soql = soql
        self.today = today
        self.fiscal = fiscal
        self.params = params

    def like(self, resolved: Resolved, value: Tree, path: Tree) -> str:
        if value.data != "string":
            raise self._value_error(path, resolved.field)
        _plain, pattern = self._decode(value)
        self.params.append(pattern)
        x = resolved.expr
        return f"({x} LIKE ? ESCAPE '\\' AND {x} IS NOT NULL)"

    def includes(self, resolved: Resolved, values: list[Tree], negate: bool, path: Tree) -> str:
        """INCLUDES / EXCLUDES on a multi-select picklist (SOQL: "Querying Multi-Select
        Picklists"): 'a;b' asks for a and b together, a list for any of its entries."""
        if resolved.field.type != schema.MULTIPICKLIST:
            raise located_error(
                self.soql,
                error_token(path),
                "INVALID_FIELD",
                f"INCLUDES and EXCLUDES need a multi-select picklist, and "
                f"'{resolved.field.name}' is of type {resolved.field.type}",
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
                self.params.append(f"%;{escaped};%")
                allof.append(f"((';' || {x} || ';') LIKE ? ESCAPE '\\')")
            anyof.append("(" + " AND ".join(allof or ["0"]) + ")")
        held = "(" + " OR ".join(anyof) + ")"
        return f"({x} IS NULL OR NOT {held})" if negate else f"({x} IS NOT NULL AND {held})"

    def _decode(self, value: Tree) -> tuple[str, str]:
        token: Token = value.children[0]  # type: ignore[assignment]
        try:
            return decode_string(str(token))
        except ValueError as exc:
            raise located_error(self.soql, token, "MALFORMED_QUERY", str(exc)) from None

    def _value_error(self, path: Tree, fld: schema.Field) -> SalesforceError:
        quoted = fld.type in TEXT_TYPES or fld.type in (schema.ID, schema.REFERENCE)
        kind = {
            schema.ID: "id",
            schema.REFERENCE: "reference",
            schema.DATETIME: "dateTime",
        }.get(fld.type, "string" if fld.type in TEXT_TYPES else fld.type)
        enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return located_error(
            self.soql,
            error_token(path),
            "INVALID_FIELD",
            f"value of filter criterion for field '{error_token(path)}' must be of type "
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
                    raise located_error(
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

    def compare(self, resolved: Resolved, op: str, value: Tree, path: Tree) -> str:
        x = resolved.expr
        literal = self._scalar(value, resolved.field, path)
        if literal is None:
            if op not in ("=", "!="):
                raise located_error(
                    self.soql,
                    error_token(path),
                    "MALFORMED_QUERY",
                    f"invalid operator on null for field '{error_token(path)}'",
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
            self.params.extend(sql[1])
            return sql[0]
        self.params.append(literal)
        if op == "!=":
            return f"({x} != ? OR {x} IS NULL)"
        return f"({x} {op} ? AND {x} IS NOT NULL)"

    def in_list(self, resolved: Resolved, values: list[Tree], negate: bool, path: Tree) -> str:
        x = resolved.expr
        literals = [self._scalar(v, resolved.field, path) for v in values]
        ranges = [lit for lit in literals if isinstance(lit, tuple)]
        scalars = [lit for lit in literals if lit is not None and not isinstance(lit, tuple)]
        has_null = any(lit is None for lit in literals)
        terms = []
        if scalars:
            self.params.extend(scalars)
            terms.append(f"({x} IN ({', '.join('?' * len(scalars))}) AND {x} IS NOT NULL)")
        for low, high in ranges:
            self.params.extend([low, high])
            terms.append(f"({x} >= ? AND {x} < ?)")
        if has_null:
            terms.append(f"({x} IS NULL)")
        positive = "(" + " OR ".join(terms) + ")"
        return f"(NOT {positive})" if negate else positive
