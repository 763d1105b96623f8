"""The local org's schema: the standard objects revsched's plays use and their
standard fields, plus the custom objects and fields declared as Salesforce metadata
in the repository's `salesforce/` folder (read by `revsched.localorg.metadata`).

Everything else in the local org (storage, SOQL, describe, REST) is derived
from these declarations, so adding an object or a field here is enough to make
it queryable and writable.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from revsched.localorg import metadata

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


def _fields(*items: Field) -> dict[str, Field]:
    return {f.name: f for f in items}


def _ref(
    name: str, to: str | tuple[str, ...], relationship: str | None = None, **kw: object
) -> Field:
    targets = (to,) if isinstance(to, str) else to
    if relationship is None:
        relationship = name[:-3] + "__r" if name.endswith("__c") else name.removesuffix("Id")
    return Field(name, REFERENCE, 18, targets, relationship, **kw)  # type: ignore[arg-type]


def _audit_fields() -> tuple[Field, ...]:
    return (
        Field("Id", ID, 18, nillable=False, writable=False),
        Field("CreatedDate", DATETIME, writable=False),
        Field("LastModifiedDate", DATETIME, writable=False),
        Field("SystemModstamp", DATETIME, writable=False),
        Field("IsDeleted", BOOLEAN, nillable=False, writable=False, default=False),
    )


def _picklist(name: str, *values: str, **kw: object) -> Field:
    return Field(name, PICKLIST, 255, picklist_values=values, **kw)  # type: ignore[arg-type]


LEAD_SOURCES = (
    "Web",
    "Event",
    "Partner",
    "Outbound",
    "UserGems",
    # UserGems' new-hire and promotion signals (people-signals).
    "UserGems - New Hire",
    "UserGems - Promotion",
)

# UserGems' past relationship types (seed 000's four, and others UserGems reports).
PAST_RELATIONSHIPS = (
    "Past Champion",
    "Closed Won Opp Contact",
    "Open Opp Contact",
    "Closed Lost Opp Contact",
    "Past User",
)


def _usergems_fields() -> tuple[Field, ...]:
    """What the UserGems managed package adds to Leads and Contacts (the org installs the
    package; revsched's salesforce/ metadata does not deploy them)."""
    return (
        Field("UserGems__Created_By_UG__c", BOOLEAN, nillable=False, default=False),
        _picklist("UserGems__Past_Relationship_Type__c", *PAST_RELATIONSHIPS),
        Field("UserGems__Job_Start_Date__c", DATE),
        Field("UserGems__Past_Account__c", STRING, 255),
        Field("UserGems__Past_Account_Type__c", STRING, 255),
        Field("UserGems__Past_Title__c", STRING, 255),
        Field("UserGems__Persona__c", STRING, 255),
    )


LEAD_STATUSES = (
    "Open",
    "Working",
    "Nurture",
    "Remarket",
    "Recycle",
    "Bad Data",
    "Ineligible",
    "Inquiry",
    "Disqualified",
    "Qualified",
)

# Seed 001's statuses of a lead Sales Dev works (route-leads leaves those alone).
SALES_DEV_STATUSES = ("Accepted", "Qualifying")

# Seed 003's PLG + SLG statuses (Remarket and Nurture are in LEAD_STATUSES already).
PLG_SLG_STATUSES = ("Open PLG", "Open SLG", "Working P", "Working S")

OPPORTUNITY_STAGES: tuple[tuple[str, int, bool, bool], ...] = (
    # (name, default probability, is closed, is won) in sort order
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Needs Analysis", 30, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)

_STANDARD_OBJECTS: dict[str, SObject] = {
    s.name: s
    for s in (
        SObject(
            "UserRole",
            "00E",
            _fields(
                *_audit_fields(),
                Field("Name", STRING, 80, nillable=False),
                Field("DeveloperName", STRING, 80, nillable=False),
            ),
        ),
        SObject(
            "User",
            "005",
            _fields(
                *_audit_fields(),
                Field("Username", STRING, 80, nillable=False, unique=True),
                Field("FirstName", STRING, 40),
                Field("LastName", STRING, 80, nillable=False),
                Field("Name", STRING, 121, writable=False),
                Field("Email", EMAIL, 128, nillable=False),
                Field("Title", STRING, 80),
                Field("Department", STRING, 80),
                Field("IsActive", BOOLEAN, nillable=False, default=True),
                Field("TimeZoneSidKey", STRING, 40, default="America/Los_Angeles"),
                _ref("UserRoleId", "UserRole"),
                _ref("ProfileId", "Profile"),
                _ref("ManagerId", "User"),
            ),
        ),
        SObject(
            "Profile",
            "00e",
            _fields(*_audit_fields(), Field("Name", STRING, 255, nillable=False)),
        ),
        SObject(
            "Group",
            "00G",
            _fields(
                *_audit_fields(),
                Field("Name", STRING, 40, nillable=False),
                Field("DeveloperName", STRING, 80, nillable=False, unique=True),
                _picklist("Type", "Queue", "Regular", nillable=False),
            ),
        ),
        # The running user's effective system permissions: one row, read-only.
        SObject(
            "UserPermissionAccess",
            "0UP",
            _fields(
                *_audit_fields(),
                Field("PermissionsConvertLeads", BOOLEAN, writable=False, default=True),
                Field("PermissionsApiEnabled", BOOLEAN, writable=False, default=True),
            ),
        ),
        SObject(
            "Account",
            "001",
            _fields(
                *_audit_fields(),
                _ref("MasterRecordId", "Account", writable=False),
                Field("Name", STRING, 255, nillable=False),
                _picklist("Type", "Prospect", "Customer", "Former Customer", "Partner"),
                _ref("OwnerId", "User", "Owner", nillable=False),
                _ref("ParentId", "Account", "Parent"),
                Field("Website", URL, 255),
                Field("Phone", PHONE, 40),
                _picklist(
                    "Industry", "Software", "Manufacturing", "Healthcare", "Finance", "Retail"
                ),
                Field("NumberOfEmployees", INT),
                Field("AnnualRevenue", CURRENCY),
                Field("BillingCity", STRING, 40),
                Field("BillingState", STRING, 80),
                Field("BillingCountry", STRING, 80),
                Field("LastActivityDate", DATE, writable=False),
            ),
        ),
        SObject(
            "Contact",
            "003",
            _fields(
                *_audit_fields(),
                _ref("MasterRecordId", "Contact", writable=False),
                _ref("AccountId", "Account"),
                Field("FirstName", STRING, 40),
                Field("LastName", STRING, 80, nillable=False),
                Field("Name", STRING, 121, writable=False),
                Field("Title", STRING, 128),
                Field("Email", EMAIL, 80),
                Field("Phone", PHONE, 40),
                Field("MobilePhone", PHONE, 40),
                _ref("OwnerId", "User", "Owner", nillable=False),
                _picklist("LeadSource", *LEAD_SOURCES),
                Field("MailingCountry", STRING, 80),
                Field("LastActivityDate", DATE, writable=False),
                Field("HasOptedOutOfEmail", BOOLEAN, nillable=False, default=False),
                *_usergems_fields(),
                Field("UserGems__No_Longer_at_Company__c", DATE),
            ),
        ),
        SObject(
            "Lead",
            "00Q",
            _fields(
                *_audit_fields(),
                Field("FirstName", STRING, 40),
                Field("LastName", STRING, 80, nillable=False),
                Field("Name", STRING, 121, writable=False),
                _ref("MasterRecordId", "Lead", writable=False),
                Field("Company", STRING, 255, nillable=False),
                Field("Title", STRING, 128),
                Field("Email", EMAIL, 80),
                Field("Phone", PHONE, 40),
                Field("Website", URL, 255),
                Field("Country", STRING, 80),
                Field("State", STRING, 80),
                _picklist(
                    "Status",
                    *LEAD_STATUSES,
                    *PLG_SLG_STATUSES,
                    *SALES_DEV_STATUSES,
                    nillable=False,
                    default="Open",
                ),
                _picklist("LeadSource", *LEAD_SOURCES),
                _ref("OwnerId", ("User", "Group"), "Owner", nillable=False),
                Field("IsConverted", BOOLEAN, nillable=False, default=False),
                Field("LastActivityDate", DATE, writable=False),
                Field("HasOptedOutOfEmail", BOOLEAN, nillable=False, default=False),
                # Set by convertLead(), never by a write.
                _ref("ConvertedAccountId", "Account", writable=False),
                _ref("ConvertedContactId", "Contact", writable=False),
                _ref("ConvertedOpportunityId", "Opportunity", writable=False),
                Field("ConvertedDate", DATE, writable=False),
                _ref("CreatedById", "User", "CreatedBy", writable=False),
                *_usergems_fields(),
            ),
        ),
        SObject(
            "Campaign",
            "701",
            _fields(
                *_audit_fields(),
                Field("Name", STRING, 80, nillable=False),
                _picklist("Type", "Conference", "Webinar", "Partners", "Email", "Other"),
                Field("IsActive", BOOLEAN, nillable=False, default=True),
                _ref("OwnerId", "User", "Owner", nillable=False),
            ),
        ),
        SObject(
            "CampaignMember",
            "00v",
            _fields(
                *_audit_fields(),
                _ref("CampaignId", "Campaign", nillable=False),
                _ref("LeadId", "Lead"),
                _ref("ContactId", "Contact"),
                _picklist("Status", "Sent", "Responded", "Registered", "Attended"),
            ),
        ),
        SObject(
            "OpportunityStage",
            "01J",
            _fields(
                *_audit_fields(),
                Field("MasterLabel", STRING, 255, nillable=False),
                Field("ApiName", STRING, 255, nillable=False),
                Field("SortOrder", INT),
                Field("DefaultProbability", PERCENT),
                Field("IsActive", BOOLEAN, nillable=False, default=True),
                Field("IsClosed", BOOLEAN, nillable=False, default=False),
                Field("IsWon", BOOLEAN, nillable=False, default=False),
            ),
        ),
        SObject(
            "Opportunity",
            "006",
            _fields(
                *_audit_fields(),
                _ref("AccountId", "Account"),
                Field("Name", STRING, 120, nillable=False),
                _picklist("StageName", *(s[0] for s in OPPORTUNITY_STAGES), nillable=False),
                Field("CloseDate", DATE, nillable=False),
                Field("Amount", CURRENCY),
                Field("Probability", PERCENT),
                _picklist("Type", "New Business", "Renewal", "Upsell", "Overage"),
                # Derived from StageName through OpportunityStage.
                Field("IsClosed", BOOLEAN, nillable=False, writable=False, default=False),
                Field("IsWon", BOOLEAN, nillable=False, writable=False, default=False),
                _ref("OwnerId", "User", "Owner", nillable=False),
            ),
        ),
        SObject(
            "Product2",
            "01t",
            _fields(
                *_audit_fields(),
                Field("Name", STRING, 255, nillable=False),
                Field("ProductCode", STRING, 255),
                _picklist("Family", "Platform", "Add-on", "Services"),
                Field("IsActive", BOOLEAN, nillable=False, default=True),
            ),
        ),
        SObject(
            "OpportunityLineItem",
            "00k",
            _fields(
                *_audit_fields(),
                _ref("OpportunityId", "Opportunity", nillable=False),
                _ref("Product2Id", "Product2"),
                Field("Quantity", DOUBLE, nillable=False, default=1),
                Field("UnitPrice", CURRENCY),
                Field("TotalPrice", CURRENCY),
            ),
        ),
        SObject(
            "OpportunityContactRole",
            "00K",
            _fields(
                *_audit_fields(),
                _ref("OpportunityId", "Opportunity", nillable=False),
                _ref("ContactId", "Contact", nillable=False),
                _picklist(
                    "Role",
                    "Decision Maker",
                    "Economic Buyer",
                    "Technical Buyer",
                    "Champion",
                    "Influencer",
                    "Other",
                ),
                Field("IsPrimary", BOOLEAN, nillable=False, default=False),
            ),
        ),
        SObject(
            "Task",
            "00T",
            _fields(
                *_audit_fields(),
                Field("Subject", STRING, 255),
                _picklist(
                    "Status",
                    "Not Started",
                    "In Progress",
                    "Completed",
                    nillable=False,
                    default="Not Started",
                ),
                _picklist("Priority", "High", "Normal", "Low", default="Normal"),
                Field("ActivityDate", DATE),
                # Derived from Status (Completed = closed).
                Field("IsClosed", BOOLEAN, nillable=False, writable=False, default=False),
                _ref("WhatId", ("Account", "Opportunity"), "What"),
                _ref("WhoId", ("Contact", "Lead"), "Who"),
                # Derived from WhatId / WhoId, as Salesforce does.
                _ref("AccountId", "Account", writable=False),
                _ref("OwnerId", "User", "Owner", nillable=False),
                _picklist("Type", "Call", "Email", "Meeting", "Other"),
                Field("Description", TEXTAREA, 32000),
            ),
        ),
        SObject(
            "Event",
            "00U",
            _fields(
                *_audit_fields(),
                Field("Subject", STRING, 255),
                Field("ActivityDate", DATE),
                Field("StartDateTime", DATETIME),
                Field("EndDateTime", DATETIME),
                Field("DurationInMinutes", INT),
                _ref("WhatId", ("Account", "Opportunity"), "What"),
                _ref("WhoId", ("Contact", "Lead"), "Who"),
                _ref("AccountId", "Account", writable=False),
                _ref("OwnerId", "User", "Owner", nillable=False),
                Field("Description", TEXTAREA, 32000),
            ),
        ),
    )
}

# Child relationship names as Salesforce defines them for the standard objects
# (parent object -> relationship name -> child object and its lookup field).
_STANDARD_CHILDREN: dict[str, tuple[ChildRelationship, ...]] = {
    "Account": (
        ChildRelationship("Contacts", "Contact", "AccountId"),
        ChildRelationship("Opportunities", "Opportunity", "AccountId"),
        ChildRelationship("ChildAccounts", "Account", "ParentId"),
        ChildRelationship("Tasks", "Task", "WhatId"),
        ChildRelationship("Events", "Event", "WhatId"),
    ),
    "Opportunity": (
        ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
        ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
        ChildRelationship("Tasks", "Task", "WhatId"),
        ChildRelationship("Events", "Event", "WhatId"),
    ),
    "Contact": (
        ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
        ChildRelationship("Tasks", "Task", "WhoId"),
        ChildRelationship("Events", "Event", "WhoId"),
    ),
    "Lead": (
        ChildRelationship("Tasks", "Task", "WhoId"),
        ChildRelationship("Events", "Event", "WhoId"),
        ChildRelationship("CampaignMembers", "CampaignMember", "LeadId"),
    ),
    "Campaign": (ChildRelationship("CampaignMembers", "CampaignMember", "CampaignId"),),
    "User": (ChildRelationship("ManagedUsers", "User", "ManagerId"),),
}


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
        return _ref(name, targets, spec.get("relationship_name"), **common)
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
                base = _fields(
                    *_audit_fields(),
                    Field("Name", STRING, 80, nillable=False),
                    _ref("OwnerId", "User", "Owner", nillable=False),
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


# The schema every org starts from: the standard objects, and the custom objects and
# fields of the shipped plays (the repository's salesforce/ folder, the metadata an admin
# deploys, is their one source of truth).
SHIPPED = Schema(_STANDARD_OBJECTS, _STANDARD_CHILDREN)
SHIPPED.extend(metadata.read_source())
SOBJECTS = SHIPPED.sobjects

# The demo org's loss reasons: every value the metadata declares.
LOSS_REASONS = SOBJECTS["Opportunity"].fields["Loss_Reason__c"].picklist_values
