"""job-changes: matching, conversion, routing, the four variants, Task, sequence, alert."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from harness import RecordingNotifier, run_named

from revsched.alerts import AlertRenderer
from revsched.config import ApiSettings, Settings
from revsched.jobs.job_changes import (
    JobChangesConfig,
    account_index,
    follow_ups,
    play,
    queries,
)
from revsched.localorg import FaultProfile, LocalOrg, add_custom_fields
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.play import DecideContext
from revsched.runner import RunResult, run_play
from revsched.state import StateStore

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
DEMO = "demo.revsched.dev"
PEOPLE = {
    "ava.patel": ("Ava Patel", True),
    "ben.okafor": ("Ben Okafor", True),
    "carla.mendez": ("Carla Mendez", True),
    "dev.sharma": ("Dev Sharma", True),
    "fay.nguyen": ("Fay Nguyen", True),
    "gus.romero": ("Gus Romero", True),
    "hana.kim": ("Hana Kim", True),
    "ivan.petrov": ("Ivan Petrov", True),
    "revops": ("RevOps Team", True),
    "integration": ("Integration User", True),
    "eli.novak": ("Eli Novak", False),
}
ID = {local: f"005{n:015d}" for n, local in enumerate(PEOPLE, start=1)}
USERS = [
    {
        "Id": ID[local],
        "Name": name,
        "Username": f"{local}@{DEMO}",
        "Email": f"{local}@{DEMO}",
        "IsActive": active,
        "TimeZoneSidKey": "UTC",
    }
    for local, (name, active) in PEOPLE.items()
]


def user(local: str | None) -> dict[str, Any] | None:
    if local is None:
        return None
    name, active = PEOPLE[local]
    return {"Name": name, "Email": f"{local}@{DEMO}", "IsActive": active}


def account(
    n: int,
    name: str,
    website: str | None,
    *,
    kind: str = "Prospect",
    owner: str = "ava.patel",
    sdr: str | None = "fay.nguyen",
    deals: list[dict[str, Any]] | None = None,
    last_activity: str | None = None,
    reason: str | None = "SDR Named",
) -> dict[str, Any]:
    return {
        "Id": f"001{n:015d}",
        "Name": name,
        "Website": website,
        "Type": kind,
        "OwnerId": ID[owner],
        "Owner": user(owner),
        "SDR__c": ID[sdr] if sdr else None,
        "SDR__r": user(sdr),
        "Account_Assigned_Reason__c": reason,
        "LastActivityDate": last_activity,
        "CreatedDate": "2024-01-01T00:00:00.000+0000",
        "Opportunities": {"records": deals} if deals else None,
    }


def deal(n: int, name: str, owner: str = "ben.okafor") -> dict[str, Any]:
    return {"Id": f"006{n:015d}", "Name": name, "OwnerId": ID[owner], "Owner": user(owner)}


def person(
    sobject: str,
    n: int,
    name: str,
    email: str | None,
    *,
    relationship: str | None = "Closed Lost Opp Contact",
    start: str | None = "2026-11-01",
    modified: str = "2026-11-20T10:00:00.000+0000",
    owner: str = "integration",
    **fields: Any,
) -> dict[str, Any]:
    record = {
        "Id": f"{'003' if sobject == 'Contact' else '00Q'}{n:015d}",
        "Name": name,
        "Email": email,
        "Title": "Vice President of Sales",
        "OwnerId": ID[owner],
        "Owner": user(owner),
        "LeadSource": "UserGems",
        "CreatedDate": modified,
        "LastModifiedDate": modified,
        "UserGems__Created_By_UG__c": True,
        "UserGems__Past_Relationship_Type__c": relationship,
        "UserGems__Job_Start_Date__c": start,
        "UserGems__Past_Account__c": None,
        "UserGems__Past_Account_Type__c": None,
        "UserGems__Past_Title__c": None,
        "UserGems__Persona__c": None,
        "Actively_Being_Sequenced__c": False,
        "HasOptedOutOfEmail": False,
        "Sequence_To_Enroll__c": None,
    }
    if sobject == "Contact":
        record["AccountId"] = None
    else:
        record["Company"] = "Unknown Co"
    return {**record, **fields}


def lead(n: int, name: str, email: str | None, **kw: Any) -> dict[str, Any]:
    return person("Lead", n, name, email, **kw)


def contact(n: int, name: str, email: str | None, **kw: Any) -> dict[str, Any]:
    return person("Contact", n, name, email, **kw)


SAMPLECO = account(1, "SampleCo", "https://www.sampleco.com", owner="ava.patel", sdr="fay.nguyen")


def decide(
    *,
    leads: list[dict[str, Any]] = (),  # type: ignore[assignment]
    contacts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    accounts: list[dict[str, Any]] = (SAMPLECO,),  # type: ignore[assignment]
    tasks: list[str] = (),  # type: ignore[assignment]
    as_of: date = TODAY,
    fired: frozenset[tuple[str, str]] = frozenset(),
    **config: Any,
):
    ctx = DecideContext(
        as_of=as_of, config=JobChangesConfig(**config), pools=Settings().pools, fired=fired
    )
    records = {
        "leads": list(leads),
        "contacts": list(contacts),
        "accounts": list(accounts),
        "tasks": [{"Revsched_Key__c": key} for key in tasks],
        "users": USERS,
    }
    return play.decide(records, ctx)


def reasons(plan) -> dict[str, tuple[str, str]]:
    return {d.record_name: (d.outcome, d.reason) for d in plan.decisions}


def test_lead_matched_by_email_domain_is_converted_tasked_enrolled_and_announced():
    plan = decide(leads=[lead(1, "Pat Prospect", "Pat@SampleCo.com")])

    assert reasons(plan) == {
        "Pat Prospect": (
            "selected",
            "Closed Lost Opp Contact, started 2026-11-01; email domain sampleco.com matches"
            " SampleCo; standard",
        )
    }
    [conversion] = plan.conversions
    assert (conversion.lead_id, conversion.account_id, conversion.owner_id) == (
        "00Q000000000000001",
        SAMPLECO["Id"],
        ID["ava.patel"],
    )
    assert conversion.converted_status == "Qualified"
    [task] = plan.creates
    assert task.key == "job-changes:pat@sampleco.com:2026-11-01"
    assert task.fields == {
        "Subject": "Follow up on job change: Pat Prospect",
        "OwnerId": ID["fay.nguyen"],
        "ActivityDate": "2026-11-25",
        "Status": "Not Started",
        "Priority": "High",
        "WhoId": "00Q000000000000001",
        "WhatId": SAMPLECO["Id"],
        "Description": "Pat Prospect changed jobs (UserGems). Follow up within 2 days.",
    }
    assert plan.changes == ()
    [enrollment] = plan.enrollments
    assert enrollment.key == "job-changes:pat@sampleco.com:UserGems - Sales Leaders"
    assert (enrollment.person.sobject, enrollment.person.record_id, enrollment.person.email) == (
        "Lead",
        "00Q000000000000001",
        "pat@sampleco.com",
    )
    assert (enrollment.sequence, enrollment.sender.name, enrollment.field) == (
        "UserGems - Sales Leaders",
        "Fay Nguyen",
        "Sequence_To_Enroll__c",
    )
    [alert] = plan.alerts
    assert (alert.record_id, alert.stage) == ("00Q000000000000001", "2026-11-01")
    assert [(r.role, r.name) for r in alert.recipients] == [
        ("Acct Owner", "Ava Patel"),
        ("Acct SDR", "Fay Nguyen"),
    ]
    assert [(f.record_id, f.stage) for f in plan.firings] == [("00Q000000000000001", "2026-11-01")]


def test_alert_text_matches_golden():
    plan = decide(
        leads=[
            lead(
                1,
                "PastProspectA",
                "PastProspectA@sampleco.com",
                UserGems__Past_Relationship_Type__c="Closed Lost Opp Contact",
                UserGems__Persona__c="RevOps",
            )
        ]
    )

    text = AlertRenderer("https://acme.my.salesforce.com").render(plan.alerts[0]).text

    assert text == (GOLDEN / "job_changes.txt").read_text(encoding="utf-8").rstrip("\n")


def test_contact_keeps_its_account_and_follows_the_account_owner():
    samples = {**SAMPLECO}
    record = contact(
        2, "Cam Contact", "cam@elsewhere.io", owner="ben.okafor", AccountId=SAMPLECO["Id"]
    )

    plan = decide(contacts=[record], accounts=[samples])

    assert plan.conversions == ()
    assert [(c.sobject, c.field, c.old, c.new) for c in plan.changes] == [
        ("Contact", "OwnerId", ID["ben.okafor"], ID["ava.patel"]),
    ]
    assert [(e.person.sobject, e.sequence) for e in plan.enrollments] == [
        ("Contact", "UserGems - Sales Leaders")
    ]
    assert "a contact of SampleCo" in plan.decisions[0].reason


def test_free_mail_address_matches_by_normalized_company_name():
    acme = account(3, "Acme, Inc.", "acme.io")
    record = lead(1, "Gil Gmail", "gil.g@gmail.com", Company="ACME Inc")

    plan = decide(leads=[record], accounts=[SAMPLECO, acme])

    assert plan.conversions[0].account_id == acme["Id"]
    assert "company name 'ACME Inc' (free-mail address gmail.com) matches Acme, Inc." in (
        plan.decisions[0].reason
    )


def test_an_account_read_twice_is_one_candidate():
    acme = account(3, "Acme", "acme.io")

    plan = decide(leads=[lead(1, "Una Acme", "una@acme.io")], accounts=[acme, dict(acme)])

    assert plan.conversions[0].account_id == acme["Id"]


def test_subdomain_website_matches_the_registrable_domain():
    acme = account(3, "Acme UK", "https://app.acme.co.uk/login")

    plan = decide(leads=[lead(1, "Una Uk", "una@acme.co.uk")], accounts=[acme])

    assert plan.conversions[0].account_id == acme["Id"]


@pytest.mark.parametrize(
    ("second", "winner", "why"),
    [
        (dict(kind="Customer"), 2, "only Twin B has a customer"),
        (dict(deals=[deal(9, "Twin B - New")]), 2, "only Twin B has an open opportunity"),
        (dict(last_activity="2026-11-20"), 2, "Twin B has the latest activity (2026-11-20)"),
    ],
)
def test_two_candidate_accounts_tie_break(second: dict[str, Any], winner: int, why: str):
    first = account(1, "Twin A", "twin.com", last_activity="2026-10-01")
    other = account(2, "Twin B", "www.twin.com", **{"last_activity": "2026-09-01", **second})

    plan = decide(leads=[lead(1, "Tia Twin", "tia@twin.com")], accounts=[first, other])

    assert plan.conversions[0].account_id == f"001{winner:015d}"
    assert why in plan.decisions[0].reason


def test_two_candidate_accounts_still_tied_are_ambiguous_and_the_lead_stays_a_lead():
    first = account(1, "Twin A", "twin.com")
    other = account(2, "Twin B", "www.twin.com")

    plan = decide(leads=[lead(1, "Tia Twin", "tia@twin.com")], accounts=[first, other])

    assert plan.conversions == ()
    assert "ambiguous: the email domain twin.com matches 2 accounts (Twin A, Twin B)" in (
        plan.decisions[0].reason
    )
    # Owned by the integration user: the SDR pool takes it, and gets the Task and alert.
    [change] = plan.changes
    assert (change.sobject, change.field, change.new) == ("Lead", "OwnerId", ID["fay.nguyen"])
    assert [e.sender.name for e in plan.enrollments] == ["Fay Nguyen"]
    assert plan.creates[0].fields["OwnerId"] == ID["fay.nguyen"]
    assert plan.creates[0].fields["WhatId"] is None
    assert [(r.role, r.name) for r in plan.alerts[0].recipients] == [("Lead Owner", "Fay Nguyen")]


def test_on_tie_oldest_takes_the_oldest_account():
    first = {**account(1, "Twin A", "twin.com"), "CreatedDate": "2020-01-01T00:00:00.000+0000"}
    other = account(2, "Twin B", "www.twin.com")

    plan = decide(
        leads=[lead(1, "Tia Twin", "tia@twin.com")], accounts=[other, first], on_tie="oldest"
    )

    assert plan.conversions[0].account_id == first["Id"]


def test_unmatched_lead_owned_by_an_sdr_keeps_its_owner():
    record = lead(1, "Ned Nomatch", "ned@nowhere.io", owner="gus.romero")

    plan = decide(leads=[record])

    assert "no account matches the email domain nowhere.io" in plan.decisions[0].reason
    assert plan.changes == ()
    assert [e.sender.name for e in plan.enrollments] == ["Gus Romero"]
    assert plan.creates[0].fields["OwnerId"] == ID["gus.romero"]


def test_unmatched_lead_of_an_inactive_owner_goes_to_the_sdr_pool():
    record = lead(1, "Ina Inactive", "ina@nowhere.io", owner="eli.novak")

    plan = decide(leads=[record])

    assert [(c.field, c.old, c.new) for c in plan.changes] == [
        ("OwnerId", ID["eli.novak"], ID["fay.nguyen"])
    ]
    assert plan.creates[0].fields["OwnerId"] == ID["fay.nguyen"]
    assert [e.sender.name for e in plan.enrollments] == ["Fay Nguyen"]
    assert [(r.role, r.name) for r in plan.alerts[0].recipients] == [("Lead Owner", "Fay Nguyen")]
    assert (
        "Owner.IsActive"
        in queries(DecideContext(as_of=TODAY, config=JobChangesConfig(), pools=Settings().pools))[
            "leads"
        ]
    )


def test_lead_and_contact_for_one_person_the_contact_wins():
    same = "sam@sampleco.com"
    plan = decide(
        leads=[lead(1, "Sam Same", same)],
        contacts=[
            contact(2, "Sam Same", same.upper(), AccountId=SAMPLECO["Id"], owner="ava.patel")
        ],
    )

    outcomes = {d.record_id: (d.outcome, d.reason) for d in plan.decisions}
    assert outcomes["00Q000000000000001"] == (
        "skipped",
        "a Contact with the same email is handled instead (Contact wins)",
    )
    assert outcomes["003000000000000002"][0] == "selected"
    assert len(plan.alerts) == 1 and len(plan.creates) == 1


def test_back_at_the_past_account_is_no_job_change():
    record = lead(1, "Bo Back", "bo@sampleco.com", UserGems__Past_Account__c="SampleCo Inc.")

    plan = decide(leads=[record])

    assert plan.is_empty
    assert reasons(plan)["Bo Back"] == (
        "skipped",
        "back at the past account SampleCo: no new company",
    )


def test_start_date_in_the_future_waits_then_fires():
    record = lead(1, "Fu Future", "fu@sampleco.com", start="2026-12-01")

    waiting = decide(leads=[record])
    started = decide(leads=[record], as_of=date(2026, 12, 1))

    assert waiting.is_empty
    assert (
        waiting.decisions[0].reason == "starts at the new company on 2026-12-01: waits until then"
    )
    assert started.decisions[0].outcome == "selected"


@pytest.mark.parametrize(
    ("modified", "outcome"), [("2026-10-24", "selected"), ("2026-10-23", "skipped")]
)
def test_delivered_before_the_window_is_listed_only(modified: str, outcome: str):
    record = lead(1, "Old Olga", "olga@sampleco.com", modified=f"{modified}T09:00:00.000+0000")

    plan = decide(leads=[record])

    assert plan.decisions[0].outcome == outcome
    if outcome == "skipped":
        assert plan.decisions[0].reason == (
            "delivered 2026-10-23, before the 30-day window: listed only"
        )
        assert plan.is_empty


def test_opted_out_is_routed_and_tasked_but_not_enrolled():
    plan = decide(leads=[lead(1, "Oz Optout", "oz@sampleco.com", HasOptedOutOfEmail=True)])

    assert plan.changes == () and plan.enrollments == ()
    assert plan.creates and plan.conversions
    assert plan.alerts[0].context["sequence"] == (
        "Not enrolled in a sequence: the contact has opted out of email"
    )


def test_no_email_is_not_enrolled_and_keyed_by_id():
    acme = account(3, "Acme", "acme.io")
    record = lead(1, "Nia Noemail", None, Company="Acme")

    plan = decide(leads=[record], accounts=[acme])

    assert plan.creates[0].key == "job-changes:00Q000000000000001:2026-11-01"
    assert plan.enrollments == ()
    assert plan.alerts[0].context["sequence"] == (
        "Not enrolled in a sequence: the contact has no email address"
    )


def test_unknown_relationship_is_a_near_miss():
    plan = decide(leads=[lead(1, "Uma Unknown", "uma@sampleco.com", relationship="Past User")])

    assert plan.is_empty
    assert reasons(plan)["Uma Unknown"] == (
        "skipped",
        "past relationship 'Past User' is not in the relationship table",
    )


def test_already_handled_by_its_task_key_plans_nothing():
    record = contact(2, "Pat Prospect", "pat@sampleco.com", AccountId=SAMPLECO["Id"])

    plan = decide(contacts=[record], tasks=["job-changes:pat@sampleco.com:2026-11-01"])

    assert plan.is_empty
    assert reasons(plan)["Pat Prospect"] == (
        "skipped",
        "already handled: Task job-changes:pat@sampleco.com:2026-11-01 exists",
    )


def test_a_later_job_change_is_a_new_stage():
    record = contact(
        2, "Pat Prospect", "pat@sampleco.com", AccountId=SAMPLECO["Id"], start="2026-11-15"
    )

    plan = decide(contacts=[record], tasks=["job-changes:pat@sampleco.com:2026-11-01"])

    assert plan.creates[0].key == "job-changes:pat@sampleco.com:2026-11-15"


def test_open_deal_alerts_the_deal_owner_and_enrolls_nobody():
    busy = account(4, "Busy Corp", "busy.com", deals=[deal(7, "Busy - New Business")])

    plan = decide(leads=[lead(1, "Dee Deal", "dee@busy.com")], accounts=[busy])

    assert plan.decisions[0].reason.endswith("; open deal")
    assert [c.field for c in plan.changes] == []
    [alert] = plan.alerts
    assert [(r.role, r.name) for r in alert.recipients] == [
        ("Acct Owner", "Ava Patel"),
        ("Acct SDR", "Fay Nguyen"),
        ("Deal Owner", "Ben Okafor"),
    ]
    text = AlertRenderer("https://x.example").render(alert).text
    assert "- Not enrolled in a sequence: an open opportunity is in progress" in text
    assert "coordinate with the deal owner, Ben Okafor" in text


def test_in_sequence_is_an_fyi_without_enrollment():
    plan = decide(leads=[lead(1, "Sy Seq", "sy@sampleco.com", Actively_Being_Sequenced__c=True)])

    assert plan.decisions[0].reason.endswith("; in sequence")
    assert plan.changes == () and plan.enrollments == ()
    text = AlertRenderer("https://x.example").render(plan.alerts[0]).text
    assert "- FYI: already in an active sequence" in text


def test_unassigned_account_gets_an_ae_and_sdr_by_round_robin():
    held = account(5, "Held Co", "held.co", owner="revops", sdr=None, reason=None)

    plan = decide(leads=[lead(1, "Nu New", "nu@held.co")], accounts=[held])

    assert plan.decisions[0].reason.endswith("; new assignment")
    assert [(c.sobject, c.field, c.new) for c in plan.changes] == [
        ("Account", "OwnerId", ID["ava.patel"]),
        ("Account", "Account_Assigned_Reason__c", "UserGems Round Robin"),
        ("Account", "SDR__c", ID["fay.nguyen"]),
    ]
    assert [(e.sequence, e.sender.name) for e in plan.enrollments] == [
        ("UserGems - Sales Leaders", "Fay Nguyen")
    ]
    assert plan.conversions[0].owner_id == ID["ava.patel"]
    assert plan.cursors == {"job-changes-ae": 1, "job-changes-sdr": 1}
    context = plan.alerts[0].context
    assert context["account"]["assigned_reason"] == "UserGems Round Robin"


@pytest.mark.parametrize("owner", ["integration", "eli.novak"])
def test_integration_or_inactive_owner_is_unassigned(owner: str):
    held = account(5, "Held Co", "held.co", owner=owner)

    plan = decide(leads=[lead(1, "Nu New", "nu@held.co")], accounts=[held])

    assert plan.changes[0].new == ID["ava.patel"]
    assert plan.decisions[0].reason.endswith("; new assignment")


@pytest.mark.parametrize(
    ("persona", "title", "sequence"),
    [
        ("Marketing", "CEO", "UserGems - Marketing"),
        (None, "Director of Revenue Operations", "UserGems - RevOps"),
        (None, "Chief Financial Officer", "UserGems - Job Changers"),
        ("Finance", "VP of Sales", "UserGems - Job Changers"),
    ],
)
def test_persona_picks_the_sequence(persona: str | None, title: str, sequence: str):
    record = lead(1, "Pe Persona", "pe@sampleco.com", UserGems__Persona__c=persona, Title=title)

    plan = decide(leads=[record])

    assert [e.sequence for e in plan.enrollments] == [sequence]


def test_past_champion_at_a_customer_is_left_to_people_signals():
    customer = account(6, "Loyal Co", "loyal.co", kind="Customer")
    champion = lead(1, "Cha Champ", "cha@loyal.co", relationship="Past Champion")
    won = lead(2, "Wo Won", "wo@loyal.co", relationship="Closed Won Opp Contact")

    plan = decide(leads=[champion, won], accounts=[customer])

    assert reasons(plan)["Cha Champ"] == (
        "skipped",
        "Past Champion at customer Loyal Co: left to people-signals",
    )
    assert reasons(plan)["Wo Won"][0] == "selected"


def test_nobody_in_the_pool_skips_with_the_reason():
    held = account(5, "Held Co", "held.co", owner="revops")
    pools = {"job-changes-ae": {"members": ["eli.novak@demo.revsched.dev"]}}

    ctx = DecideContext(
        as_of=TODAY,
        config=JobChangesConfig(),
        pools={**Settings().pools, **Settings(pools=pools).pools},
    )
    plan = play.decide(
        {
            "leads": [lead(1, "Nu New", "nu@held.co")],
            "contacts": [],
            "accounts": [held],
            "tasks": [],
            "users": USERS,
        },
        ctx,
    )

    assert plan.is_empty
    assert plan.decisions[0].reason.startswith(
        "account unassigned and nobody in pool 'job-changes-ae' can take it"
    )


def test_queries_read_usergems_people_in_the_window():
    soql = queries(DecideContext(as_of=TODAY, config=JobChangesConfig(), pools=Settings().pools))

    assert soql["leads"].endswith(
        "FROM Lead WHERE IsConverted = false AND (UserGems__Created_By_UG__c = true OR"
        " LeadSource = 'UserGems') AND UserGems__Past_Relationship_Type__c != null"
        " AND LastModifiedDate >= 2026-09-24T00:00:00+00:00"
        " ORDER BY LastModifiedDate, Id"
    )
    assert "AccountId FROM Contact WHERE (UserGems__Created_By_UG__c" in soql["contacts"]
    assert (
        soql["tasks"]
        == "SELECT Revsched_Key__c FROM Task WHERE Revsched_Key__c LIKE 'job-changes:%'"
    )


def test_only_the_accounts_the_people_may_work_at_are_read():
    index = account_index(JobChangesConfig())
    assert index.keys(
        {"Name": "O'Brien Holdings, Inc.", "Website": "https://app.acme.co.uk/x"}
    ) == {
        "domain:acme.co.uk",
        "name:obrien holdings",
    }
    people = {
        "contacts": [
            contact(1, "Cy Contact", "cy@elsewhere.io", AccountId="001000000000000009"),
            contact(2, "Al Alone", "al@acme.co.uk"),
        ],
        "leads": [
            lead(3, "Gi Gmail", "gi@gmail.com", Company="O'Brien Holdings Inc"),
            lead(4, "No Body", None, Company=None),
        ],
    }
    asked: list[set[str]] = []

    def lookup(keys: Collection[str]) -> dict[str, set[str]]:
        asked.append(set(keys))
        return {"domain:acme.co.uk": {"001000000000000007"}, "name:obrien holdings": set()}

    ctx = DecideContext(
        as_of=TODAY, config=JobChangesConfig(), pools=Settings().pools, lookup=lookup
    )

    soql = follow_ups(people, ctx)

    assert asked == [{"domain:acme.co.uk", "name:obrien holdings"}]
    [(name, text)] = soql.items()
    assert name == "accounts0"
    assert text.startswith("SELECT Id, Name, Website, Type, OwnerId,")
    assert "(SELECT Id, Name, OwnerId, Owner.Name, Owner.Email FROM Opportunities" in text
    assert text.endswith(
        " FROM Account WHERE Id IN ('001000000000000007','001000000000000009') ORDER BY Id"
    )
    nobody = follow_ups({"contacts": [], "leads": []}, ctx)
    [(_, text)] = nobody.items()
    assert text.endswith(" FROM Account WHERE Id = null")


def test_two_people_at_one_unassigned_account_share_one_round_robin():
    held = account(5, "Held Co", "held.co", owner="revops", sdr=None)

    plan = decide(
        leads=[lead(1, "Nu New", "nu@held.co"), lead(2, "Ny Next", "ny@held.co")],
        accounts=[held],
    )

    assert [c.field for c in plan.changes if c.sobject == "Account"] == [
        "OwnerId",
        "Account_Assigned_Reason__c",
        "SDR__c",
    ]
    assert {c.owner_id for c in plan.conversions} == {ID["ava.patel"]}
    assert [d.reason.rsplit("; ", 1)[1] for d in plan.decisions] == ["new assignment"] * 2


# --- End to end, on the demo org ---------------------------------------------------------


def usergems_people(path: Path) -> dict[str, dict[str, Any]]:
    """The demo org's UserGems leads and contacts by name (leads suffixed " (lead)")."""
    sf = LocalOrg(path).salesforce()
    fields = "Id, Name, Email, OwnerId, Sequence_To_Enroll__c"
    found = {}
    for row in sf.query_all(
        f"SELECT {fields}, AccountId FROM Contact WHERE UserGems__Created_By_UG__c = true"
    )["records"]:
        found[row["Name"]] = row
    for row in sf.query_all(
        f"SELECT {fields}, IsConverted, ConvertedContactId, ConvertedAccountId FROM Lead"
        " WHERE UserGems__Created_By_UG__c = true"
    )["records"]:
        found[row["Name"] + " (lead)"] = row
    return found


def test_dry_run_apply_rerun_and_a_fresh_state_store(
    demo_org: Path,
    revsched_home: Path,
    run_json: Callable[..., dict[str, Any]],
    org_values: Callable[..., dict[tuple[str, str], Any]],
):
    before = usergems_people(demo_org)

    dry = run_json("job-changes", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    outcome = {d["record_name"]: d["outcome"] for d in plan["decisions"]}
    variants = {
        d["record_name"]: d["reason"].rsplit("; ", 1)[1]
        for d in plan["decisions"]
        if d["outcome"] == "selected"
    }
    # The demo's seeded duplicates may add a typo twin of a contact ("Sam Twwice").
    assert (
        variants.items()
        >= {
            "Rhea Quill": "new assignment",
            "Gwen Free": "new assignment",
            "Dario Vance": "open deal",
            "Mina Sol": "standard",
            "Sam Twice": "standard",
            "Theo Brandt": "in sequence",
            "Opal Reyes": "standard",
            "Nate Nomatch": "standard",
        }.items()
    )
    assert {n for n, o in outcome.items() if o == "skipped"} >= {
        "Ivy Later",
        "Walt Early",
        "Una Known",
        "Bea Return",
        "Cyd Champion",
    }
    converted = {c["lead_name"] for c in plan["conversions"]}
    assert converted >= {"Rhea Quill", "Gwen Free", "Dario Vance", "Theo Brandt", "Opal Reyes"}
    assert org_values(plan["changes"]) == {
        (c["record_id"], c["field"]): c["old"] for c in plan["changes"]
    }
    assert usergems_people(demo_org) == before
    texts = {a["record_id"]: a["text"] for a in dry["alerts"]}
    assert len(texts) == len(variants)
    rhea = before["Rhea Quill (lead)"]
    assert texts[rhea["Id"]].startswith("*New UserGems Contact Alert for Rhea Quill <")

    applied = run_json("job-changes", "--as-of", TODAY.isoformat())

    assert applied["status"] == "succeeded"
    assert applied["counts"]["converted"] == len(converted)
    after = usergems_people(demo_org)
    lead_row = after["Rhea Quill (lead)"]
    assert lead_row["IsConverted"] is True
    contact_row = after["Rhea Quill"]
    assert contact_row["Id"] == lead_row["ConvertedContactId"]
    assert contact_row["AccountId"] == lead_row["ConvertedAccountId"]
    assert contact_row["Sequence_To_Enroll__c"] == "UserGems - Sales Leaders"
    sf = LocalOrg(demo_org).salesforce()
    tamsin = sf.query(
        "SELECT OwnerId, SDR__c, Account_Assigned_Reason__c FROM Account"
        " WHERE Name = 'Tamsin Robotics'"
    )["records"][0]
    assert tamsin["Account_Assigned_Reason__c"] == "UserGems Round Robin"
    assert contact_row["OwnerId"] == tamsin["OwnerId"]
    tasks = {
        t["Revsched_Key__c"]: t
        for t in sf.query_all(
            "SELECT Revsched_Key__c, WhoId, OwnerId, ActivityDate FROM Task"
            " WHERE Revsched_Key__c LIKE 'job-changes:%'"
        )["records"]
    }
    assert len(tasks) == len(variants)
    rhea_task = tasks["job-changes:rhea.quill@tamsinrobotics.com:2026-11-03"]
    assert (rhea_task["WhoId"], rhea_task["OwnerId"], rhea_task["ActivityDate"]) == (
        contact_row["Id"],
        tamsin["SDR__c"],
        "2026-11-25",
    )
    sent = {a["record_id"]: a["text"] for a in applied["alerts"]}
    assert f"/lightning/r/Contact/{contact_row['Id']}/view" in sent[contact_row["Id"]]
    assert after["Opal Reyes"]["Sequence_To_Enroll__c"] is None
    assert after["Nate Nomatch (lead)"]["IsConverted"] is False

    rerun = run_json("job-changes", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["changes"] == [] and rerun["plan"]["creates"] == []
    assert rerun["plan"]["conversions"] == [] and rerun["alerts"] == []

    (revsched_home / "state.sqlite").unlink()
    fresh = run_json("job-changes", "--as-of", TODAY.isoformat())
    assert fresh["plan"]["changes"] == [] and fresh["plan"]["creates"] == []
    assert fresh["plan"]["conversions"] == [] and fresh["alerts"] == []


def test_a_lead_that_fails_to_convert_is_left_for_the_next_run(tmp_path: Path):
    org = build_demo_org(tmp_path / "org.sqlite", accounts=20, seed=7, today=TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    gateway = OrgGateway(org.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    settings = Settings()
    notifier = RecordingNotifier()

    def run() -> RunResult:
        return run_play(
            play,
            settings,
            as_of=TODAY,
            dry_run=False,
            store=store,
            org=gateway,
            renderer=AlertRenderer(gateway.instance_url),
            notifier=notifier,
        )

    rhea = org.salesforce().query("SELECT Id FROM Lead WHERE Name = 'Rhea Quill'")["records"][0]
    org.faults = FaultProfile(fail_records={rhea["Id"]: "UNABLE_TO_LOCK_ROW"})

    first = run()

    assert first.status == "partial"
    assert first.failures[rhea["Id"]].startswith("UNABLE_TO_LOCK_ROW")
    sent = {a.alert.record_id for a in notifier.sent}
    assert sent and rhea["Id"] not in sent
    sf = org.salesforce()
    assert sf.Lead.get(rhea["Id"])["IsConverted"] is False
    tasks = sf.query("SELECT COUNT() FROM Task WHERE Revsched_Key__c LIKE 'job-changes:rhea%'")
    assert tasks["totalSize"] == 0
    org.faults = None

    second = run()

    assert second.status == "succeeded"
    assert [c.lead_name for c in second.plan.conversions] == ["Rhea Quill"]
    converted = sf.Lead.get(rhea["Id"])
    assert converted["IsConverted"] is True
    assert converted["ConvertedContactId"] in {a.alert.record_id for a in notifier.sent}


def test_conversions_a_killed_run_never_recorded_are_read_back_not_repeated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    org = build_demo_org(tmp_path / "org.sqlite", accounts=20, seed=7, today=TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    gateway = OrgGateway(org.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))

    def run() -> RunResult:
        return run_named("job-changes", gateway, store)

    recorded = store.record_conversions

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt("killed after convertLead, before its outcome was saved")

    monkeypatch.setattr(store, "record_conversions", killed)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(store, "record_conversions", recorded)
    [killed_run] = store.runs("job-changes")
    assert {c.status for c in store.run(killed_run.id).conversions} == {"planned"}  # type: ignore[union-attr]

    second = run()

    assert second.interrupted == (killed_run.id,)
    assert second.plan.conversions == ()
    conversions = store.run(killed_run.id).conversions  # type: ignore[union-attr]
    sf = org.salesforce()
    assert conversions and second.settled.reconciled >= len(conversions)
    for conversion in conversions:
        lead = sf.Lead.get(conversion.lead_id)
        assert lead["IsConverted"] is True
        assert (conversion.status, conversion.contact_id) == (
            "converted",
            lead["ConvertedContactId"],
        )
    assert store.unsettled_conversions("job-changes") == {}


def test_duplicate_records_of_one_person_are_handled_once():
    first = contact(2, "Dee Dup", "dee@sampleco.com", AccountId=SAMPLECO["Id"])
    twin = contact(3, "Dee Dupp", "Dee@SampleCo.com", AccountId=SAMPLECO["Id"])

    plan = decide(contacts=[first, twin])

    assert len(plan.creates) == 1 and len(plan.alerts) == 1
    assert reasons(plan)["Dee Dupp"] == (
        "skipped",
        "same person as Dee Dup (same email): handled once",
    )


def test_doctor_checks_the_convert_leads_permission(demo_org: Path):
    import sqlite3

    from typer.testing import CliRunner

    from revsched.cli import app

    ok = "job-changes: Convert Leads: the integration user may convert leads"
    assert f" ok  {ok}" in CliRunner().invoke(app, ["doctor"]).stdout.splitlines()
    with sqlite3.connect(demo_org) as db:
        db.execute('UPDATE "UserPermissionAccess" SET "PermissionsConvertLeads" = 0')

    refused = CliRunner().invoke(app, ["doctor"])

    assert refused.exit_code == 1
    assert (
        "FAIL job-changes: Convert Leads: the integration user lacks the Convert Leads"
        " permission, so every matched lead would fail to convert; assign the permission set"
        " Revsched_Integration (it grants ConvertLeads)" in refused.stdout.splitlines()
    )


@pytest.mark.parametrize("play_name", ["job-changes", "people-signals"])
def test_tasks_are_found_again_on_the_configured_key_field(
    demo_org: Path, tmp_path: Path, play_name: str
):
    """With [org] key_field (and the play's key_field) set to another External ID field, the
    Tasks are upserted on it and found again by it: a rerun with an empty state store (and
    no firings kept in the org) creates none of them twice."""
    local = LocalOrg(demo_org, today=lambda: TODAY)
    key = {"type": "string", "length": 255, "external_id": True}
    add_custom_fields(local, {"Task": {"fields": {"Ops_Key__c": key}}})
    org = OrgGateway(local.salesforce, key_field="Ops_Key__c", org_memory=False)
    settings = Settings(plays={play_name: {"key_field": "Ops_Key__c"}})

    def run(state: str, dry_run: bool = False) -> RunResult:
        store = StateStore(f"sqlite:///{tmp_path / state}")
        return run_named(play_name, org, store, settings=settings, dry_run=dry_run)

    first = run("a.sqlite")
    assert first.status == "succeeded" and first.plan.creates
    keys = {c.key for c in first.plan.creates}
    tasks = local.salesforce().query("SELECT Ops_Key__c, Revsched_Key__c FROM Task")["records"]
    assert keys <= {t["Ops_Key__c"] for t in tasks}
    assert not any(t["Revsched_Key__c"] for t in tasks if t["Ops_Key__c"] in keys)

    rerun = run("b.sqlite", dry_run=True)

    assert rerun.plan.creates == ()
