"""A field the org does not know, named by the config key that holds it and the nearest
field the object has: `doctor` checks every field, `run` explains a refused query the
same way, in one line saying what to fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revsched.bulk import top_level_clauses
from revsched.errors import RevschedError
from revsched.play import config_strings

if TYPE_CHECKING:
    from revsched.org import OrgGateway

# INVALID_FIELD errors' text, as Salesforce words it: a field, or a relationship in a path
# (which names no object: the query's is taken).
NO_SUCH_COLUMN = re.compile(r"No such column '(\w+)' on entity '(\w+)'")
NO_SUCH_RELATIONSHIP = re.compile(r"Didn't understand relationship '(\w+)'")
# INVALID_TYPE: an object the org lacks, or the integration user cannot read.
NO_SUCH_OBJECT = re.compile(r"sObject type '(\w+)' is not supported")


class Describes:
    """Each sObject's describe, fetched once, as the integration user sees it."""

    def __init__(self, org: OrgGateway):
        self._org = org
        self._cache: dict[str, dict[str, Any] | str] = {}
        self._objects: list[str] | None = None

    def objects(self) -> list[str]:
        """The names of the objects the user can see (global describe); none if refused."""
        if self._objects is None:
            try:
                found = self._org.call("describe the org's objects", lambda sf: sf.describe())
                self._objects = [o["name"] for o in found["sobjects"]]
            except RevschedError:
                self._objects = []
        return self._objects

    def describe(self, sobject: str) -> dict[str, Any] | str:
        """The object's describe, or why it cannot be described."""
        if sobject not in self._cache:
            try:
                self._cache[sobject] = self._org.describe(sobject)
            except RevschedError as error:
                self._cache[sobject] = str(error)
        return self._cache[sobject]

    def fields(self, sobject: str) -> dict[str, dict[str, Any]] | str:
        """The fields by name (and by relationship name), or why the object cannot be described."""
        described = self.describe(sobject)
        if isinstance(described, str):
            return described
        by_name = {f["name"]: f for f in described["fields"]}
        return by_name | {
            f["relationshipName"]: f for f in described["fields"] if f["relationshipName"]
        }


@dataclass(frozen=True)
class ConfigNaming:
    """How a failure names what to fix: the config key holding a value, else the value."""

    play: str
    keys: Mapping[str, str]

    @classmethod
    def of(cls, play: str, config: Any) -> ConfigNaming:
        """Each string in the play's config -> the first key holding it."""
        keys: dict[str, str] = {}
        for key, value in config_strings(config):
            keys.setdefault(value, key)
        return cls(play, keys)

    def __call__(self, value: str, fallback: str) -> str:
        key = self.keys.get(value)
        return f"plays.{self.play}.{key} = {value}" if key else fallback

    def no_such_object(self, sobject: str, names: Sequence[str]) -> str:
        """One line: the key naming the object, that the user cannot see such an object,
        and the nearest one it can."""
        near = difflib.get_close_matches(sobject, names, n=1, cutoff=0.6)
        fix = f"did you mean {near[0]}?" if near else "deploy it or grant read on it"
        return f"{self(sobject, sobject)}: no such object for the integration user; {fix}"

    def no_such_field(self, sobject: str, field: str, names: Sequence[str]) -> str:
        """One line: the key naming the field (or the relationship path ending in it), that
        the object has no such field, and the nearest one it has."""
        near = difflib.get_close_matches(field, names, n=1, cutoff=0.6)
        fix = f"did you mean {near[0]}?" if near else f"check [plays.{self.play}]"
        value = next((v for v in self.keys if field in v.split(".")), field)
        return f"{self(value, f'{sobject}.{field}')}: no such field on {sobject}; {fix}"


def describe_problem(sobject: str, error: str, naming: ConfigNaming, describes: Describes) -> str:
    """Why `sobject` could not be described: an object the user cannot see, named by its
    config key with the nearest one, else the org's error as it came."""
    names = describes.objects()
    return naming.no_such_object(sobject, names) if names and sobject not in names else error


def path_problem(sobject: str, path: str, naming: ConfigNaming, describes: Describes) -> str | None:
    """Why a field or relationship path (`Churn_Date__c`, `Owner.Name`) read from `sobject`
    does not exist, as one line naming the config key; None when it exists, or when an
    object on the way cannot be described or is polymorphic (nothing certain to say)."""
    *relationships, name = path.split(".")
    for relationship in [*relationships, None]:
        fields = describes.fields(sobject)
        if not isinstance(fields, dict):
            return None
        wanted = name if relationship is None else relationship
        # SOQL reads names in any case.
        field = {key.lower(): value for key, value in fields.items()}.get(wanted.lower())
        if field is None:
            return naming.no_such_field(sobject, wanted, list(fields))
        if relationship is None:
            return None
        targets = field.get("referenceTo") or []
        if len(targets) != 1:
            return None
        sobject = targets[0]
    return None


def unknown_field(error: str, naming: ConfigNaming, describes: Describes, soql: str) -> str | None:
    """The INVALID_FIELD error of the query `soql` as one line naming the key and the
    nearest field; None when the error is another one, or the object cannot be described."""
    missing = NO_SUCH_OBJECT.search(error)
    if missing:
        return naming.no_such_object(missing.group(1), describes.objects())
    column = NO_SUCH_COLUMN.search(error)
    relationship = NO_SUCH_RELATIONSHIP.search(error)
    clauses = top_level_clauses(soql)
    if column:
        field, sobject = column.group(1), column.group(2)
    elif relationship and clauses:
        field, sobject = relationship.group(1), clauses[1].split()[1]
    else:
        return None
    fields = describes.fields(sobject)
    if not isinstance(fields, dict):
        return None
    return naming.no_such_field(sobject, field, list(fields))
