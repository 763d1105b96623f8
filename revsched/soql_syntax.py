"""SOQL's grammar (`soql.lark`), shared: the local org compiles queries with it, and
`revsched doctor` reads from a play's queries which fields they name, so a play never
lists them a second time."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lark import Lark, Tree
from lark.exceptions import UnexpectedInput


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "soql.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True)


def parse(soql: str) -> Tree:
    """The query's syntax tree; lark's `UnexpectedInput` at the first token it cannot take."""
    return _parser().parse(soql)


def fields_read(soql: str) -> list[tuple[str, str]]:
    """(sObject, field or relationship path) for each field the query names, in any clause
    and in its semi-joins (`AccountId IN (SELECT Id FROM Account WHERE ...)`), in order.

    A child subquery's fields are left out: it names a relationship, not an object, and
    only the org's describe says which. A query outside the grammar names none here; the
    org still checks it when doctor runs it."""
    try:
        tree = parse(soql)
    except UnexpectedInput:
        return []
    found: dict[tuple[str, str], None] = {}
    _collect(tree.children[0], found)
    return list(found)


def _collect(query: Tree, found: dict[tuple[str, str], None]) -> None:
    sobject = str(query.children[1])
    todo = [child for child in query.children if isinstance(child, Tree)]
    while todo:
        node = todo.pop(0)
        if node.data == "path":
            found[sobject, ".".join(map(str, node.children))] = None
        elif node.data == "query":  # a semi-join reads its own object
            _collect(node, found)
        elif node.data not in ("subquery", "typeof") and not _is_fields_call(node):
            todo[:0] = [child for child in node.children if isinstance(child, Tree)]


def _is_fields_call(node: Tree) -> bool:
    """FIELDS(ALL) and its kind name a set of fields, not a field."""
    return node.data == "call" and str(node.children[0]).upper() == "FIELDS"
