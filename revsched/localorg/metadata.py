"""Salesforce DX source (the repository's `salesforce/` folder) read into schema extensions.

The custom objects and fields the shipped plays use are declared once, as the
metadata an admin deploys (`sf project deploy start --source-dir salesforce`);
the local org builds its custom schema from the same files, so what the tests run
against is what a real org gets. Only the parts of the Metadata API's CustomObject
and CustomField the local org models are read: type, length, required, unique,
External ID, lookups and picklist values.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import revsched.salesforce

NS = {"md": "http://soap.sforce.com/2006/04/metadata"}

# Metadata API field types -> the type describe reports. Custom Number fields are
# "double" in describe, whatever their scale.
_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Lookup": "reference",
}

# Custom fields of Task and Event are declared once, on Activity.
_SHARED_BY = {"Activity": ("Task", "Event")}


def source_dir() -> Path:
    """The `salesforce/` folder shipped with revsched (installed as revsched.salesforce)."""
    return Path(next(iter(revsched.salesforce.__path__)))


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(f"md:{tag}", NS)
    return None if found is None or found.text is None else found.text.strip()


def _flag(element: ET.Element, tag: str) -> bool:
    return _text(element, tag) == "true"


def read_field(path: Path) -> tuple[str, dict[str, Any]]:
    """A CustomField file as (API name, Schema.extend field settings)."""
    root = ET.parse(path).getroot()
    name = _text(root, "fullName") or path.name.removesuffix(".field-meta.xml")
    kind = _text(root, "type") or ""
    if kind not in _TYPES:
        raise ValueError(f"{path}: field type {kind!r} is not one the local org models")
    spec: dict[str, Any] = {"type": _TYPES[kind]}
    if kind in ("Text", "LongTextArea"):
        spec["length"] = int(_text(root, "length") or 255)
    elif kind == "TextArea":
        spec["length"] = 255
    if _flag(root, "required"):
        spec["required"] = True
    if _flag(root, "externalId"):
        spec["external_id"] = True
    if _flag(root, "unique"):
        spec["unique"] = True
    if kind == "Checkbox":
        spec["default"] = _flag(root, "defaultValue")
    if kind == "Lookup":
        spec["to"] = _text(root, "referenceTo")
        if _text(root, "relationshipName"):
            spec["child_relationship"] = f"{_text(root, 'relationshipName')}__r"
    if kind in ("Picklist", "MultiselectPicklist"):
        values = root.findall("md:valueSet/md:valueSetDefinition/md:value/md:fullName", NS)
        spec["values"] = [v.text for v in values if v.text]
    return name, spec


def read_source(root: Path | None = None) -> dict[str, Any]:
    """Every object folder under `root/objects` as a Schema.extend mapping: a custom
    object (its `<Object>.object-meta.xml`) with its fields, or custom fields on a
    standard object."""
    root = root or source_dir()
    spec: dict[str, Any] = {}
    for folder in sorted((root / "objects").iterdir()):
        if not folder.is_dir():
            continue
        fields = dict(read_field(p) for p in sorted(folder.glob("fields/*.field-meta.xml")))
        object_file = folder / f"{folder.name}.object-meta.xml"
        if object_file.exists():
            label = _text(ET.parse(object_file).getroot(), "label") or folder.name
            spec[folder.name] = {"label": label, "fields": fields}
            continue
        for sobject in _SHARED_BY.get(folder.name, (folder.name,)):
            spec.setdefault(sobject, {}).setdefault("fields", {}).update(fields)
    return spec


def permission_set(name: str = "Revsched_Integration", root: Path | None = None) -> dict[str, Any]:
    """A permission set's grants: {"objects": {sObject: rights of "read", "create", "edit",
    "delete", "view all"}, "fields": {"Object.Field__c": {"read"} or {"read", "edit"}},
    "user": {"ApiEnabled", ...}}."""
    root = root or source_dir()
    tree = ET.parse(root / "permissionsets" / f"{name}.permissionset-meta.xml").getroot()
    objects: dict[str, set[str]] = {}
    for grant in tree.findall("md:objectPermissions", NS):
        rights = {"allowRead": "read", "allowCreate": "create", "allowEdit": "edit"}
        rights |= {"allowDelete": "delete", "viewAllRecords": "view all"}
        objects[_text(grant, "object") or ""] = {v for k, v in rights.items() if _flag(grant, k)}
    fields: dict[str, set[str]] = {}
    for grant in tree.findall("md:fieldPermissions", NS):
        rights = {v for k, v in (("readable", "read"), ("editable", "edit")) if _flag(grant, k)}
        fields[_text(grant, "field") or ""] = rights
    user = {
        _text(grant, "name") or ""
        for grant in tree.findall("md:userPermissions", NS)
        if _flag(grant, "enabled")
    }
    return {"objects": objects, "fields": fields, "user": user}
