"""The SELECT list of one SOQL query -> the columns SQLite reads and the outputs that shape
each row into the record Salesforce returns: fields under their parents' objects,
FIELDS(...), TYPEOF, COUNT() alone, and an aggregate query's AggregateResult fields.
Child subqueries are the compiler's (it compiles them as queries of their own)."""

from __future__ import annotations

from collections.abc import Callable

from lark import Token, Tree

from revsched.localorg import schema
from revsched.localorg.compiled_query import CompiledQuery, Output
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_filters import Resolved
from revsched.localorg.soql_functions import DISPLAY_FUNCTIONS, is_call
from revsched.localorg.soql_paths import FieldPaths
from revsched.localorg.soql_text import error_token, located_error
from revsched.localorg.sql import q

# FIELDS(ALL) and FIELDS(CUSTOM) need a LIMIT of at most 200 (SOQL: "FIELDS()").
MAX_FIELDS_LIMIT = 200


def is_count(item: Tree) -> bool:
    """A SELECT item that is COUNT() (no field)."""
    expr = item.children[0] if item.data == "selected" else None
    return isinstance(expr, Tree) and is_call(expr, {"COUNT"}) and expr.children[1] is None


class SelectList:
    """Builds one compiled query's columns and outputs from its SELECT items."""

    def __init__(
        self,
        soql: str,
        org_schema: schema.Schema,
        compiled: CompiledQuery,
        paths: FieldPaths,
        operand: Callable[[Tree], Resolved],
    ) -> None:
        self.soql = soql
        self.schema = org_schema
        self.compiled = compiled
        self.paths = paths
        # A field or function call of the SELECT clause, resolved and checked.
        self.operand = operand
        self._seen: set[tuple[str, ...]] = set()  # lowercased paths (or aliases) selected

    def _error(
        self, node: Tree | Token, detail: str, code: str = "MALFORMED_QUERY"
    ) -> SalesforceError:
        return located_error(self.soql, error_token(node), code, detail)

    def count_only(self, items: list[Tree]) -> bool:
        """SELECT COUNT(): the answer is totalSize alone (counting groups under GROUP BY)."""
        counts = [item for item in items if is_count(item)]
        if not counts:
            return False
        if len(items) > 1 or counts[0].children[1] is not None:
            raise self._error(counts[0], "COUNT() must be the only element")
        self.compiled.count = True
        return True

    def aggregates(self, items: list[Tree]) -> None:
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
            if is_count(item):
                raise self._error(expr, "COUNT() must be the only element")  # type: ignore[arg-type]
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
            self.compiled.outputs.append(self._output(key, resolved))

    def add(self, item: Tree) -> None:
        """A SELECT item of a query for records: a field (perhaps through parents, perhaps
        aliased), FIELDS(...), or TYPEOF."""
        if item.data == "typeof":
            self.compiled.outputs.append(self._typeof(item))
            return
        expr, alias = item.children
        if alias is not None and not is_call(expr, DISPLAY_FUNCTIONS):  # type: ignore[arg-type]
            raise self._error(alias, "Only aggregate expressions use field aliasing")  # type: ignore[arg-type]
        for resolved, token in self._selected_fields(expr):  # type: ignore[arg-type]
            # An alias keys the value at the top of the record, wherever the field is.
            path = (*resolved.rel_path, resolved.field.name) if alias is None else (str(alias),)
            key = tuple(name.lower() for name in path)
            if key in self._seen:
                raise self._error(alias or token, f"duplicate field selected: {'.'.join(path)}")  # type: ignore[arg-type]
            self._seen.add(key)
            self._parent_output(path[:-1]).append(self._output(path[-1], resolved))

    def _output(self, key: str, resolved: Resolved) -> Output:
        column = self.compiled.column(resolved.expr)
        return Output(key, column, resolved.field, formatted=resolved.formatted)

    def _parent_output(self, rel_path: tuple[str, ...]) -> list[Output]:
        """The output list a field with this relationship path belongs in (creating parents)."""
        outputs = self.compiled.outputs
        for depth in range(len(rel_path)):
            key = rel_path[depth]
            node = next((o for o in outputs if o.key == key and o.type_name), None)
            if node is None:
                lowered = tuple(p.lower() for p in rel_path[: depth + 1])
                aliases, targets = self.paths.joins[lowered]
                ids_expr = [f"{a}.Id" for a in aliases]
                expr = ids_expr[0] if len(ids_expr) == 1 else f"COALESCE({', '.join(ids_expr)})"
                type_name = targets[0].name if len(targets) == 1 else "Name"
                node = Output(key, self.compiled.column(expr), type_name=type_name)
                outputs.append(node)
            outputs = node.children
        return outputs

    def _typeof(self, node: Tree) -> Output:
        """TYPEOF rel WHEN Type THEN fields ... [ELSE fields] END (SOQL: "TYPEOF"): each row
        gets the fields of the branch for its record's type, ELSE's (Name entity fields)
        otherwise."""
        name: Token = node.children[0]  # type: ignore[assignment]
        ref = self.compiled.sobject.lookup(name)
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
                alias = self.paths.new_alias()
                self.compiled.joins.append(f"LEFT JOIN {q(target)} {alias} ON {alias}.Id = {link}")
                fields = [self._typeof_field(self.schema.sobjects[target], p) for p in paths]  # type: ignore[arg-type]
                branches[target] = [
                    Output(f.name, self.compiled.column(f"{alias}.{q(f.name)}"), f) for f in fields
                ]
            else:
                branches[""] = [
                    self._output(resolved.field.name, resolved)
                    for resolved in (
                        self.paths.resolve(Tree("path", [name, *path.children]))  # type: ignore[union-attr]
                        for path in branch.children
                    )
                ]
        return Output(ref.relationship_name or "", self.compiled.column(link), branches=branches)

    def _typeof_field(self, sobj: schema.SObject, path: Tree) -> schema.Field:
        token: Token = path.children[-1]  # type: ignore[assignment]
        fld = sobj.field(token) if len(path.children) == 1 else None
        if fld is None:
            raise self.paths.field_error(token, sobj.name)
        return fld

    def _selected_fields(self, expr: Tree) -> list[tuple[Resolved, Token]]:
        """The fields one SELECT item stands for: itself, or all FIELDS(...) names."""
        if is_call(expr, {"FIELDS"}):
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
