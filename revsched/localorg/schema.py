"""The local org's schema: field types, fields, objects and their child relationships,
and `Schema`, one org's set of them, extended with custom objects and fields from a
mapping (a schema file, or the salesforce/ metadata). The objects every org starts with
are declared in `standard_objects`.

Everything else in the local org (storage, SOQL, describe, REST) is derived from a
`Schema`, so declaring an object or a field is enough to make it queryable and writable.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

# Field types as Salesforce's describe names them.
ID = "id"
STRING = "string"
TEXTAREA = "textarea"
EMAIL = "email"
PHONE = "phone"
URL = "url"
PICKLIST = "picklist"
MULTIPICKLIST = "multipicklist"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
DOUBLE = "double"
CURRENCY = "currency"
PERCENT = "percent"
INT = "int"
REFERENCE = "reference"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int | None = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    nillable: bool = True
    external_id: bool = False
    unique: bool = False
    picklist_values: tuple[str, ...] = ()
    # False for fields Salesforce computes (IsClosed, Name of a person, ...).
    writable: bool = True
    default: object = None


@dataclass(frozen=True)
class ChildRelationship:
    relationship_name: str
    child_sobject: str
    field: str


@dataclass(frozen=True)
class SObject:
    name: str
    key_prefix: str
    fields: dict[str, Field]
    label: str = ""

    def field(self, name: str) -> Field | None:
        """Case-insensitive lookup, as SOQL and the REST API treat field names."""
        return self._by_lower.get(name.lower())

    def lookup(self, relationship_name: str) -> Field | None:
        """The lookup field a relationship name follows (Owner, SDR__r), case-insensitive."""
        return self._lookups.get(relationship_name.lower())

    @cached_property
    def index_of_is_deleted(self) -> int:
        return list(self.fields).index("IsDeleted")

    @cached_property
    def select_list(self) -> str:
        """Every column, quoted, in field order: for SELECTs that must match `fields`."""
        return ", ".join(f'"{name}"' for name in self.fields)

    @cached_property
    def _by_lower(self) -> dict[str, Field]:
        return {f.lower(): fld for f, fld in self.fields.items()}

    @cached_property
    def _lookups(self) -> dict[str, Field]:
        return {
            fld.relationship_name.lower(): fld
            for fld in self.fields.values()
            if fld.type == REFERENCE and fld.relationship_name
        }


def field_map(*items: Field) -> dict[str, Field]:
    """Fields by name, in the order given (the table's column order)."""
    return {f.name: f for f in items}


def reference(
    name: str, to: str | tuple[str, ...], relationship: str | None = None, **kw: object
) -> Field:
    """A lookup to `to` (one object, or several: polymorphic), its relationship named as
    Salesforce names it (Owner for OwnerId, SDR__r for SDR__c) unless given."""
    targets = (to,) if isinstance(to, str) else to
    if relationship is None:
        relationship = name[:-3] + "__r" if name.endswith("__c") else name.removesuffix("Id")
    return Field(name, REFERENCE, 18, targets, relationship, **kw)  # type: ignore[arg-type]


def audit_fields() -> tuple[Field, ...]:
    """The fields every object has: Id, the audit dates and IsDeleted."""
    return (
        Field("Id", ID, 18, nillable=False, writable=False),
        Field("CreatedDate", DATETIME, writable=False),
        Field("LastModifiedDate", DATETIME, writable=False),
        Field("SystemModstamp", DATETIME, writable=False),
        Field("IsDeleted", BOOLEAN, nillable=False, writable=False, default=False),
    )


def picklist(name: str, *values: str, **kw: object) -> Field:
    """A picklist field with its values."""
    return Field(name, PICKLIST, 255, picklist_values=values, **kw)  # type: ignore[arg-type]


# -- custom objects and fields ---------------------------------------------------------

_TYPES = {
    ID,
    STRING,
    TEXTAREA,
    EMAIL,
    PHONE,
    URL,
    PICKLIST,
    MULTIPICKLIST,
    BOOLEAN,
    DATE,
    DATETIME,
    DOUBLE,
    CURRENCY,
    PERCENT,
    INT,
    REFERENCE,
}
_DEFAULT_LENGTHS = {
    STRING: 255,
    TEXTAREA: 32768,
    EMAIL: 80,
    PHONE: 40,
    URL: 255,
    PICKLIST: 255,
    MULTIPICKLIST: 4099,
}


def _custom_field(
    sobject: str, name: str, spec: dict[str, Any], known: Mapping[str, SObject]
) -> Field:
    if not name.endswith("__c"):
        raise ValueError(f"{sobject}.{name}: custom field names end in __c")
    kind = spec.get("type")
    if kind not in _TYPES or kind == ID:
        raise ValueError(f"{sobject}.{name}: unknown type {kind!r}")
    unknown = set(spec) - {
        "type",
        "length",
        "to",
        "relationship_name",
        "child_relationship",
        "required",
        "external_id",
        "unique",
        "values",
        "default",
        "label",
    }
    if unknown:
        raise ValueError(f"{sobject}.{name}: unknown settings {sorted(unknown)}")
    common = {
        "nillable": not spec.get("required", False),
        "external_id": bool(spec.get("external_id", False)),
        "unique": bool(spec.get("unique", False)),
        "default": spec.get("default"),
    }
    if kind == REFERENCE:
        targets = spec.get("to")
        targets = (targets,) if isinstance(targets, str) else tuple(targets or ())
        if not targets or any(t not in known for t in targets):
            raise ValueError(f"{sobject}.{name}: reference needs `to` naming known objects")
        return reference(name, targets, spec.get("relationship_name"), **common)
    if kind in (PICKLIST, MULTIPICKLIST):
        values = tuple(spec.get("values") or ())
        length = _DEFAULT_LENGTHS[kind]
        return Field(name, kind, length, picklist_values=values, **common)  # type: ignore[arg-type]
    return Field(name, kind, spec.get("length", _DEFAULT_LENGTHS.get(kind)), **common)  # type: ignore[arg-type]


class Schema:
    """One org's sObjects and child relationships: the standard objects, the custom
    objects and fields revsched ships, and whatever that org added (`extend`). Each org
    has its own, so one org's custom fields never show in another's describe or SOQL."""

    def __init__(
        self,
        sobjects: Mapping[str, SObject],
        children: Mapping[str, tuple[ChildRelationship, ...]],
    ) -> None:
        self.sobjects: dict[str, SObject] = {}
        self.children = dict(children)
        self._by_lower: dict[str, SObject] = {}
        self._by_prefix: dict[str, SObject] = {}
        for sobj in sobjects.values():
            self._add(sobj)

    def copy(self) -> Schema:
        return Schema(self.sobjects, self.children)

    def _add(self, sobj: SObject) -> None:
        self.sobjects[sobj.name] = sobj
        self._by_lower[sobj.name.lower()] = sobj
        self._by_prefix[sobj.key_prefix] = sobj

    def sobject(self, name: str) -> SObject | None:
        """Look an object up by name, case-insensitively as Salesforce does."""
        return self._by_lower.get(name.lower())

    def key_prefix_owner(self, record_id: str) -> SObject | None:
        """The object whose Ids start with this record Id's 3-character prefix."""
        return self._by_prefix.get(record_id[:3])

    def _next_custom_prefix(self) -> str:
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        for number in range(1, 62 * 62):
            prefix = "a" + digits[number // 62] + digits[number % 62]
            if prefix not in self._by_prefix:
                return prefix
        raise ValueError("no key prefix left for a custom object")

    def extend(self, spec: dict[str, Any]) -> list[str]:
        """Add custom objects and custom fields to this schema from a mapping,
        as a schema file (TOML or JSON) holds it:

            [Project__c]                       # a custom object: name ends in __c
            label = "Project"
            fields.Account__c = { type = "reference", to = "Account" }
            fields.Budget__c = { type = "currency" }
            fields.Code__c = { type = "string", length = 20, external_id = true }

            [Account.fields]                   # custom fields on a standard object
            Tier__c = { type = "picklist", values = ["Gold", "Silver"] }
            Regions__c = { type = "multipicklist", values = ["EMEA", "APAC"] }  # "EMEA;APAC"

        A custom object gets the audit fields, Name (required) and OwnerId. Reference fields
        add a child relationship to their target (`child_relationship`, by default the child
        object's name + "s", with __r for custom objects). Re-adding an identical definition
        is a no-op; a conflicting one raises ValueError. Returns the names of the objects
        added or extended."""
        changed: list[str] = []
        for object_name, body in spec.items():
            if not isinstance(body, dict):
                raise ValueError(f"{object_name}: expected a table")
            existing = self.sobject(object_name)
            field_specs = body.get("fields", {})
            if existing is None:
                if not object_name.endswith("__c"):
                    raise ValueError(f"{object_name}: custom object names end in __c")
                base = field_map(
                    *audit_fields(),
                    Field("Name", STRING, 80, nillable=False),
                    reference("OwnerId", "User", "Owner", nillable=False),
                )
                prefix = body.get("key_prefix") or self._next_custom_prefix()
                existing = SObject(object_name, prefix, base, body.get("label", object_name))
                self._add(existing)
            fields = dict(existing.fields)
            for field_name, field_spec in field_specs.items():
                field = _custom_field(existing.name, field_name, field_spec, self.sobjects)
                if field_name in fields:
                    if fields[field_name] != field:
                        raise ValueError(
                            f"{existing.name}.{field_name} is already defined differently"
                        )
                    continue
                fields[field_name] = field
                if field.type == REFERENCE:
                    plural = (
                        existing.name[:-3] + "s__r"
                        if existing.name.endswith("__c")
                        else (existing.name + "s")
                    )
                    rel = field_spec.get("child_relationship", plural)
                    for target in field.reference_to:
                        self.children[target] = (
                            *self.children.get(target, ()),
                            ChildRelationship(rel, existing.name, field.name),
                        )
            updated = SObject(existing.name, existing.key_prefix, fields, existing.label)
            self._add(updated)
            changed.append(existing.name)
        return changed


def load_schema_file(path: str | Path) -> dict[str, Any]:
    """A schema extension file (TOML, or JSON by its .json suffix) as a mapping."""
    path = Path(path)
    text = path.read_text()
    return json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
