"""Field paths of one SOQL query -> SQL over its joins: each relationship on a path is
joined once (LEFT JOIN; a polymorphic one to every object it can name, seen through
Salesforce's Name entity), and a name the schema lacks is Salesforce's INVALID_FIELD,
with its hint."""

from __future__ import annotations

from lark import Token, Tree

from revsched.localorg import schema
from revsched.localorg.compiled_query import CompiledQuery
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.soql_filters import Resolved
from revsched.localorg.soql_text import located_error
from revsched.localorg.sql import q
from revsched.localorg.values import TEXT_TYPES

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
CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    "custom field name. Please reference your WSDL or the describe call for the appropriate "
    "names."
)
CUSTOM_REL_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after "
    "the custom relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


class FieldPaths:
    """The field paths of one compiled query, and the joins they need."""

    def __init__(
        self, soql: str, org_schema: schema.Schema, compiled: CompiledQuery, prefix: str
    ) -> None:
        self.soql = soql
        self.schema = org_schema
        self.compiled = compiled
        self.prefix = prefix
        self._aliases = 0
        # Relationship path (lowercased) -> the aliases joined for it and their objects.
        self.joins: dict[tuple[str, ...], tuple[list[str], list[schema.SObject]]] = {}

    def new_alias(self) -> str:
        self._aliases += 1
        return f"{self.prefix}t{self._aliases}"

    def field_error(self, token: Token, sobj_name: str) -> SalesforceError:
        return located_error(
            self.soql,
            token,
            "INVALID_FIELD",
            f"No such column '{token}' on entity '{sobj_name}'. {CUSTOM_FIELD_HINT}",
        )

    def resolve(self, path: Tree) -> Resolved:
        """A (possibly dotted) field path -> SQL expression, joining parents as needed."""
        tokens: list[Token] = list(path.children)  # type: ignore[arg-type]
        sobj = self.compiled.sobject
        if (
            len(tokens) > 1
            and tokens[0].lower() == sobj.name.lower()
            and not sobj.lookup(tokens[0])
        ):
            tokens = tokens[1:]
        aliases, targets = [self.compiled.root], [sobj]
        rel_path: tuple[str, ...] = ()
        for token in tokens[:-1]:
            if len(targets) > 1:
                raise self.relationship_error(token)
            ref = targets[0].lookup(token)
            if ref is None:
                raise self.relationship_error(token)
            parent_col = f"{aliases[0]}.{q(ref.name)}"
            rel_path = (*rel_path, ref.relationship_name or "")
            key = tuple(p.lower() for p in rel_path)
            if key not in self.joins:
                new_targets = [self.schema.sobjects[name] for name in ref.reference_to]
                new_aliases = []
                for target in new_targets:
                    alias = self.new_alias()
                    new_aliases.append(alias)
                    self.compiled.joins.append(
                        f"LEFT JOIN {q(target.name)} {alias} ON {alias}.Id = {parent_col}"
                    )
                self.joins[key] = (new_aliases, new_targets)
            aliases, targets = self.joins[key]
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
            raise self.field_error(last, "Name")
        found = [(a, t.field(last)) for a, t in zip(aliases, targets, strict=True)]
        found = [(a, f) for a, f in found if f is not None]
        if not found:
            raise self.field_error(last, targets[0].name if len(targets) == 1 else "Name")
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

    def relationship_error(self, token: Token) -> SalesforceError:
        return located_error(
            self.soql,
            token,
            "INVALID_FIELD",
            f"Didn't understand relationship '{token}' in field path. {CUSTOM_REL_HINT}",
        )
