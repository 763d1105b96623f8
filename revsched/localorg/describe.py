"""What the org says about itself, in Salesforce's shapes: the API versions and resources,
and the describe results of its sObjects and fields (REST API Developer Guide, "Versions",
"Resources by Version", "Describe Global", "sObject Describe")."""

from __future__ import annotations

from revsched.localorg import schema
from revsched.localorg.transport import API_VERSION
from revsched.localorg.values import UNGROUPABLE_TYPES, label, scale

# The versions list starts at 20.0 (Winter '11).
OLDEST_VERSION = 20


def api_versions() -> list[dict[str, str]]:
    """GET /services/data/ (REST API Developer Guide, "Versions"): each version the org
    answers, oldest first, with its release name. Three releases a year: 62.0 is
    Winter '25, 63.0 Spring '25, 64.0 Summer '25."""
    seasons = ("Winter", "Spring", "Summer")
    versions = []
    for number in range(OLDEST_VERSION, int(float(API_VERSION)) + 1):
        release = 3 * 25 + number - 62
        versions.append(
            {
                "label": f"{seasons[release % 3]} '{release // 3:02d}",
                "url": f"/services/data/v{number}.0",
                "version": f"{number}.0",
            }
        )
    return versions


def resources(api: str) -> dict[str, str]:
    """GET /services/data/vXX.X/ (REST API Developer Guide, "Resources by Version"): the
    resources this org serves, by name."""
    names = ("composite", "limits", "query", "queryAll", "sobjects")
    return {name: f"{api}/{name}" for name in names}


def sobject_info(api: str, sobj: schema.SObject) -> dict[str, object]:
    return {"objectDescribe": summary(api, sobj), "recentItems": []}


def summary(api: str, sobj: schema.SObject) -> dict[str, object]:
    """The DescribeGlobalSObjectResult fields (REST API Developer Guide, "Describe
    Global"; SOAP API, "describeGlobal()")."""
    base = f"{api}/sobjects/{sobj.name}"
    custom = sobj.name.endswith("__c")
    return {
        "name": sobj.name,
        "label": sobj.label or sobj.name,
        "labelPlural": (sobj.label or sobj.name) + "s",
        "keyPrefix": sobj.key_prefix,
        "custom": custom,
        "customSetting": False,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "undeletable": True,
        "mergeable": sobj.name in ("Account", "Contact", "Lead"),
        "layoutable": True,
        "triggerable": True,
        "replicateable": True,
        "urls": {
            "sobject": base,
            "describe": f"{base}/describe",
            "rowTemplate": f"{base}/{{ID}}",
        },
    }


def describe_global(api: str, org_schema: schema.Schema, max_batch_size: int) -> dict[str, object]:
    """describeGlobal: every sObject's summary, and how many records a collection takes."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": max_batch_size,
        "sobjects": [summary(api, s) for s in org_schema.sobjects.values()],
    }


def field_describe(sobj: schema.SObject, f: schema.Field) -> dict[str, object]:
    """A DescribeFieldResult (SOAP API Developer Guide, "describeSObjects()" /
    "Field"): the properties revsched and its users' plays rely on."""
    soap_types = {
        schema.ID: "tns:ID",
        schema.REFERENCE: "tns:ID",
        schema.BOOLEAN: "xsd:boolean",
        schema.DATE: "xsd:date",
        schema.DATETIME: "xsd:dateTime",
        schema.INT: "xsd:int",
        schema.DOUBLE: "xsd:double",
        schema.CURRENCY: "xsd:double",
        schema.PERCENT: "xsd:double",
    }
    numeric = f.type in (schema.DOUBLE, schema.CURRENCY, schema.PERCENT)
    return {
        "name": f.name,
        "label": label(f),
        "type": f.type,
        "soapType": soap_types.get(f.type, "xsd:string"),
        "length": f.length if f.length and f.type not in (schema.ID, schema.REFERENCE) else 0,
        "byteLength": (f.length or 0) * 3,
        "precision": 18 if numeric else 0,
        "scale": scale(f),
        "digits": 9 if f.type == schema.INT else 0,
        "custom": f.name.endswith("__c"),
        "calculated": False,
        "autoNumber": False,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "nillable": f.nillable and f.type != schema.BOOLEAN,
        "defaultedOnCreate": f.default is not None or not f.writable,
        "defaultValue": f.default,
        "createable": f.writable,
        "updateable": f.writable,
        "filterable": True,
        "sortable": f.type != schema.TEXTAREA,
        "groupable": f.type not in UNGROUPABLE_TYPES,
        "externalId": f.external_id,
        "idLookup": f.name == "Id" or f.external_id,
        "unique": f.unique,
        "caseSensitive": False,
        "restrictedPicklist": False,
        "picklistValues": [
            {"active": True, "defaultValue": v == f.default, "label": v, "value": v}
            for v in f.picklist_values
        ],
    }


def describe(api: str, sobj: schema.SObject, org_schema: schema.Schema) -> dict[str, object]:
    """sobjects/{type}/describe: DescribeSObjectResult (REST API Developer Guide,
    "sObject Describe")."""
    fields = [field_describe(sobj, f) for f in sobj.fields.values()]
    children = [
        {
            "childSObject": r.child_sobject,
            "field": r.field,
            "relationshipName": r.relationship_name,
            "cascadeDelete": False,
            "restrictedDelete": False,
            "deprecatedAndHidden": False,
        }
        for r in org_schema.children.get(sobj.name, ())
    ]
    return {
        **summary(api, sobj),
        "fields": fields,
        "childRelationships": children,
        "recordTypeInfos": [],
    }
