"""SQL text for the org's SQLite tables: quoted names, an object's column list, and a set
of Ids bound as one parameter."""

from __future__ import annotations

import json
from collections.abc import Iterable

from revsched.localorg import schema


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
