"""The records a write moves along: an activity's AccountId follows what it is linked to,
and LastActivityDate rolls up to the accounts, contacts and leads it concerns."""

from __future__ import annotations

import sqlite3

from revsched.localorg import schema
from revsched.localorg.sql import cols, json_ids, q

ACTIVITY_OBJECTS = ("Task", "Event")


def after_write(
    conn: sqlite3.Connection,
    org_schema: schema.Schema,
    sobj: schema.SObject,
    written: list[str],
    before: list[dict[str, object]],
) -> None:
    """Keep activity AccountIds and LastActivityDate rollups in step with a write. An
    updated Opportunity or Contact may have moved its activities to another account."""
    if sobj.name in ACTIVITY_OBJECTS:
        refresh_activities(conn, sobj.name, written, before)
    elif sobj.name in ("Opportunity", "Contact") and before:
        link = "WhatId" if sobj.name == "Opportunity" else "WhoId"
        for activity in ACTIVITY_OBJECTS:
            fields = list(org_schema.sobjects[activity].fields)
            linked = [
                dict(zip(fields, row, strict=True))
                for row in conn.execute(
                    f"SELECT {cols(org_schema.sobjects[activity])} FROM {q(activity)} "
                    f"WHERE {link} IN "
                    "(SELECT value FROM json_each(?))",
                    (json_ids(written),),
                )
            ]
            if linked:
                refresh_activities(conn, activity, [str(r["Id"]) for r in linked], linked)


def refresh_activities(
    conn: sqlite3.Connection, table: str, written: list[str], before: list[dict[str, object]]
) -> None:
    """Task/Event.AccountId: the account of WhatId (an Account, or an Opportunity's
    account), else the account of WhoId's Contact; then the LastActivityDate rollups."""
    param = json_ids(written)
    conn.execute(
        f"UPDATE {q(table)} SET AccountId = COALESCE("
        "CASE substr(WhatId, 1, 3) WHEN '001' THEN WhatId "
        f"WHEN '006' THEN (SELECT AccountId FROM Opportunity o WHERE o.Id = {q(table)}.WhatId)"
        " END, CASE substr(WhoId, 1, 3) "
        f"WHEN '003' THEN (SELECT AccountId FROM Contact c WHERE c.Id = {q(table)}.WhoId) END)"
        " WHERE Id IN (SELECT value FROM json_each(?))",
        (param,),
    )
    after = conn.execute(
        f"SELECT AccountId, WhoId FROM {q(table)} WHERE Id IN (SELECT value FROM json_each(?))",
        (param,),
    ).fetchall()
    accounts = {r[0] for r in after} | {str(o["AccountId"]) for o in before if o["AccountId"]}
    whos = {r[1] for r in after} | {str(o["WhoId"]) for o in before if o["WhoId"]}
    roll_up(conn, "Account", "AccountId", accounts)
    roll_up(conn, "Contact", "WhoId", {w for w in whos if w and w.startswith("003")})
    roll_up(conn, "Lead", "WhoId", {w for w in whos if w and w.startswith("00Q")})


def roll_up(conn: sqlite3.Connection, table: str, link: str, record_ids: set[str | None]) -> None:
    """LastActivityDate, as Salesforce defines it: the most recent of the due dates of
    closed tasks and the dates of events associated with the record."""
    if not record_ids:
        return
    conn.execute(
        f"UPDATE {q(table)} SET LastActivityDate = (SELECT MAX(d) FROM ("
        f"SELECT ActivityDate AS d FROM Task t WHERE t.{link} = {q(table)}.Id "
        "AND t.IsClosed = 1 AND t.IsDeleted = 0 "
        "UNION ALL SELECT COALESCE(ActivityDate, substr(StartDateTime, 1, 10)) FROM Event e "
        f"WHERE e.{link} = {q(table)}.Id AND e.IsDeleted = 0)) "
        "WHERE Id IN (SELECT value FROM json_each(?))",
        (json_ids(record_ids),),
    )
