"""merge() and convertLead(): the two SOAP calls that reshape several records at once,
each in one transaction of the storage."""

from __future__ import annotations

from revsched.localorg import schema
from revsched.localorg.activities import ACTIVITY_OBJECTS, refresh_activities, roll_up
from revsched.localorg.salesforce_errors import SalesforceError
from revsched.localorg.sql import cols, json_ids, q
from revsched.localorg.storage import Storage
from revsched.localorg.values import from_db, to_db

# Lead field -> Contact field, as Salesforce's standard lead mapping carries them over.
LEAD_TO_CONTACT = {
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Title": "Title",
    "Email": "Email",
    "Phone": "Phone",
    "LeadSource": "LeadSource",
    "Country": "MailingCountry",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
}


def merge(
    storage: Storage,
    sobj: schema.SObject,
    master_id: str,
    merge_ids: list[str],
    values: dict[str, object],
) -> tuple[str, list[str], list[str]]:
    """SOAP merge() of one MergeRequest, in its own transaction: apply `values` to the
    master, re-parent every record that looks up to a merged record, then delete the
    merged records (IsDeleted, MasterRecordId = master). Returns (master Id, merged
    Ids, Ids of the re-parented related records)."""
    with storage.transaction():
        master = storage.locate(master_id, sobj)
        merged = [storage.locate(record_id, sobj) for record_id in merge_ids]
        if master in merged or len(set(merged)) != len(merged):
            raise SalesforceError(
                400,
                "INVALID_ID_FIELD",
                "Cannot merge a record with itself or name a record twice",
                ["recordToMergeIds"],
            )
        if values:
            storage.update(sobj.name, master, values)
        now = storage.now()
        param = json_ids(merged)
        updated: list[str] = []
        for child in storage.schema.sobjects.values():
            before: list[dict[str, object]] = []
            for field in child.fields.values():
                if field.type != schema.REFERENCE or sobj.name not in field.reference_to:
                    continue
                if not field.writable or field.name == "MasterRecordId":
                    continue
                where = (
                    f"{q(field.name)} IN (SELECT value FROM json_each(?)) "
                    "AND IsDeleted = 0 AND Id != ?"
                )
                rows = storage.conn.execute(
                    f"SELECT {cols(child)} FROM {q(child.name)} WHERE {where}", (param, master)
                ).fetchall()
                if not rows:
                    continue
                before += [dict(zip(child.fields, row, strict=True)) for row in rows]
                storage.conn.execute(
                    f"UPDATE {q(child.name)} SET {q(field.name)} = ?, LastModifiedDate = ?, "
                    f"SystemModstamp = ? WHERE {where}",
                    (master, now, now, param, master),
                )
                updated += [str(row[0]) for row in rows if str(row[0]) not in updated]
            if child.name in ACTIVITY_OBJECTS:
                # Activities linked through a contact or opportunity moved with it.
                moved = storage.conn.execute(
                    f"SELECT {cols(child)} FROM {q(child.name)} WHERE AccountId IN "
                    "(SELECT value FROM json_each(?))",
                    (param,),
                ).fetchall()
                before += [dict(zip(child.fields, row, strict=True)) for row in moved]
                if before:
                    refresh_activities(
                        storage.conn, child.name, [str(r["Id"]) for r in before], before
                    )
        storage.conn.execute(
            f"UPDATE {q(sobj.name)} SET IsDeleted = 1, MasterRecordId = ?, "
            "SystemModstamp = ? WHERE Id IN (SELECT value FROM json_each(?))",
            (master, now, param),
        )
        link = "AccountId" if sobj.name == "Account" else "WhoId"
        roll_up(storage.conn, sobj.name, link, {master})
    return master, merged, updated


def convert_lead(
    storage: Storage,
    lead_id: str,
    converted_status: str,
    account_id: str | None,
    contact_id: str | None,
    owner_id: str | None,
) -> tuple[str, str]:
    """SOAP convertLead() of one LeadConvert without an opportunity, in its own
    transaction: the lead joins the given account (or a new one from its Company) as the
    given contact (or a new one from its fields and the same-named custom fields), its
    activities move to that contact, and it is marked converted. Returns (account Id,
    contact Id)."""
    lead_obj, contact_obj = storage.schema.sobjects["Lead"], storage.schema.sobjects["Contact"]
    with storage.transaction():
        lead = storage.locate_row(lead_id, lead_obj)
        if lead["IsConverted"]:
            raise SalesforceError(
                400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
            )
        owner = owner_id or str(lead["OwnerId"])
        if not owner.startswith(storage.schema.sobjects["User"].key_prefix):
            raise SalesforceError(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                "Converted objects can only be owned by users. If the lead is not owned by"
                " a user, you must specify a user for the Owner field.",
                ["ownerId"],
            )
        lead_values = {n: from_db(f, lead[n]) for n, f in lead_obj.fields.items()}
        if account_id:
            account = storage.locate(account_id, storage.schema.sobjects["Account"])
        else:
            account = storage.create(
                "Account",
                {
                    "Name": lead_values["Company"],
                    "Website": lead_values["Website"],
                    "BillingCountry": lead_values["Country"],
                    "BillingState": lead_values["State"],
                    "OwnerId": owner,
                },
            )
        if contact_id:
            contact = storage.locate(contact_id, contact_obj)
            if storage.row(contact_obj, contact)["AccountId"] != account:
                raise SalesforceError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    "contactId must belong to the account given by accountId",
                    ["contactId"],
                )
        else:
            contact = storage.create(
                "Contact",
                {
                    **_contact_from_lead(lead_values, storage.schema),
                    "AccountId": account,
                    "OwnerId": owner,
                },
            )
        now = storage.now()
        converted = {
            "IsConverted": True,
            "ConvertedAccountId": account,
            "ConvertedContactId": contact,
            "ConvertedDate": storage.today().isoformat(),
            "Status": converted_status,
        }
        sets = ", ".join(f"{q(n)} = ?" for n in converted)
        storage.conn.execute(
            f"UPDATE Lead SET {sets}, LastModifiedDate = ?, SystemModstamp = ? WHERE Id = ?",
            [
                *(to_db(lead_obj.fields[n], v) for n, v in converted.items()),
                now,
                now,
                lead["Id"],
            ],
        )
        for table in ACTIVITY_OBJECTS:
            moved = [
                str(row[0])
                for row in storage.conn.execute(
                    f"SELECT Id FROM {q(table)} WHERE WhoId = ?", (lead["Id"],)
                )
            ]
            if moved:
                storage.conn.execute(
                    f"UPDATE {q(table)} SET WhoId = ?, WhatId = COALESCE(WhatId, ?),"
                    " LastModifiedDate = ?, SystemModstamp = ? WHERE WhoId = ?",
                    (contact, account, now, now, lead["Id"]),
                )
                refresh_activities(
                    storage.conn, table, moved, [{"AccountId": None, "WhoId": lead["Id"]}]
                )
    return account, contact


def _contact_from_lead(lead: dict[str, object], org_schema: schema.Schema) -> dict[str, object]:
    """A converted lead's values for its new contact: the standard mapping, and custom
    fields of the same API name and type on both objects (the mapping an admin sets up in
    Lead Settings, here taken as given)."""
    contact_fields = org_schema.sobjects["Contact"].fields
    values = {target: lead[source] for source, target in LEAD_TO_CONTACT.items()}
    for name, field in org_schema.sobjects["Lead"].fields.items():
        target = contact_fields.get(name)
        if (
            name.endswith("__c")
            and target is not None
            and target.writable
            and target.type == field.type != schema.REFERENCE
        ):
            values[name] = lead[name]
    return values
