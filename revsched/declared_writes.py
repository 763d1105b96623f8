"""The config keys that name a field a play writes, marked where they are declared, so
the field is said once: `campaign_field: Annotated[FieldName, Writes("Account")]`.

`Play.declared` adds the fields these keys hold (as configured) to what the play's
requirements list, so doctor and the permission set check the field a run really
writes, and `PlanBuilder` refuses a change or create the play has not declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


class _FieldsOn:
    """A key (a list or table of them: each value) naming fields on records of `sobjects`;
    an empty value ("" leaves the field alone) names none."""

    def __init__(self, *sobjects: str) -> None:
        self.sobjects = sobjects

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.sobjects))})"


class Writes(_FieldsOn):
    """The key names a field the play updates on existing records of these objects."""


class Creates(_FieldsOn):
    """The key names a field the play sets on the records of these objects it creates."""


def marked_fields(config: BaseModel, marker: type[_FieldsOn]) -> tuple[tuple[str, str], ...]:
    """(sObject, field) for each field the keys marked `marker` hold, once, in the order
    the config model declares the keys."""
    found = [
        (sobject, name)
        for key, info in type(config).model_fields.items()
        for mark in info.metadata
        if isinstance(mark, marker)
        for sobject in mark.sobjects
        for name in _names(getattr(config, key))
    ]
    return tuple(dict.fromkeys(found))


def _names(value: Any) -> Iterable[str]:
    """The field names a key holds: itself, each item of a list, each value of a table."""
    if isinstance(value, str):
        return [value] if value else []
    items = value.values() if isinstance(value, dict) else value
    return [name for name in items if name]
