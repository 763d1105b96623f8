"""people-signals: champions joining and leaving customers, new leaders, the CSM's alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from revsched.alerts import AlertRenderer
from revsched.jobs.people_signals import PeopleSignalsConfig, play, queries
from revsched.localorg import LocalOrg
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
DEMO = "demo.revsched.dev"
LENA, MILO, AVA, PAULA, REVOPS = (f"005{n:015d}" for n in range(1, 6))
NAMES = {
    LENA: "Lena Fischer",
    MILO: "Milo Rossi",
    AVA: "Ava Patel",
    PAULA: "Paula Costa",
    REVOPS: "RevOps Team",
}
USERS = [
    {
        "Id": PAULA,
        "Name": "Paula Costa",
        "Username": f"paula.costa@{DEMO}",
        "Email": f"paula.costa@{DEMO}",
        "IsActive": True,
    }
]


def user(user_id: str | None, active: bool = True) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"Name": NAMES[user_id], "Email": f"{user_id}@x.example", "IsActive": active}


def customer(
    n: int,
    name: str,
    website: str,
    *,
    csm: str | None = LENA,
    csm_active: bool = True,
    owner: str = AVA,
    renewal: str | None = "2027-09-01",
    health: float | None = 80,
    arr: float | None = 120000,
) -> dict[str, Any]:
    return {
        "Id": f"001{n:015d}",
        "Name": name,
        "Website": website,
        "Type": "Customer",
        "OwnerId": owner,
        "Owner": user(owner),
        "CSM__c": csm,
        "CSM__r": user(csm, csm_active),
        "ARR__c": arr,
        "Renewal_Date__c": renewal,
        "Health_Score__c": health,
        "LastActivityDate": None,
        "CreatedDate": "2024-01-01T00:00:00.000+0000",
        "Opportunities": None,
    }


ACME = customer(1, "Acme", "www.acme.com")
GLOBEX = customer(2, "Globex", "globex.com", csm=MILO)


def person(n: int, name: str, email: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "Id": f"003{n:015d}",
        "Name": name,
        "Title": "VP Operations",
        "Email": email,
        "LeadSource": "Web",
        "LastModifiedDate": "2026-11-20T10:00:00.000+0000",
        "LastActivityDate": None,
        "UserGems__Past_Relationship_Type__c": None,
        "UserGems__Job_Start_Date__c": None,
        "UserGems__Past_Account__c": None,
        "UserGems__Past_Title__c": None,
        "UserGems__Persona__c": None,
        "AccountId": ACME["Id"],
        "Champion__c": False,
        "UserGems__No_Longer_at_Company__c": None,
        "OpportunityContactRoles": None,
        **fields,
    }


def won_role(close: str, role: str = "Champion") -> dict[str, Any]:
    return {"records": [{"Role": role, "Opportunity": {"IsWon": True, "CloseDate": close}}]}


def decide(
    contacts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    leads: list[dict[str, Any]] = (),  # type: ignore[assignment]
    accounts: list[dict[str, Any]] = (ACME, GLOBEX),  # type: ignore[assignment]
    tasks: list[str] = (),  # type: ignore[assignment]
    **config: Any,
):
    ctx = DecideContext(as_of=TODAY, config=PeopleSignalsConfig(**config))
    records = {
        "accounts": list(accounts),
        "contacts": list(contacts),
        "leads": list(leads),
        "tasks": [{"Revsched_Key__c": k} for k in tasks],
        "users": USERS,
    }
    return play.decide(records, ctx)


def by_name(plan) -> dict[str, tuple[str, str]]:
    return {d.record_name: (d.outcome, d.reason) for d in plan.decisions}


def test_champion_joins_a_customer_the_csm_hears_of_an_expansion():
    joined = person(
        1,
        "Jo Join",
        "jo@acme.com",
        UserGems__Past_Relationship_Type__c="Past Champion",
        UserGems__Job_Start_Date__c="2026-11-10",
        UserGems__Past_Account__c="Initech",
        UserGems__Past_Title__c="Director of Ops",
    )

    plan = decide(contacts=[joined])

    [alert] = plan.alerts
    assert (alert.record_id, alert.stage) == (joined["Id"], "champion_joins 2026-11-10")
    assert [(r.role, r.name) for r in alert.recipients] == [("CSM", "Lena Fischer")]
    assert alert.context["meaning"] == "Expansion opportunity"
    [task] = plan.creates
    assert task.key == "people-signals:champion_joins:jo@acme.com:2026-11-10"
    assert task.fields["OwnerId"] == LENA
    assert task.fields["ActivityDate"] == "2026-11-30"
    assert task.fields["Subject"] == "Past champion joins: Jo Join"
    assert plan.changes == ()
    text = AlertRenderer("https://acme.my.salesforce.com").render(alert).text
    assert text == (GOLDEN / "people_signals_joins.txt").read_text(encoding="utf-8").rstrip("\n")


def test_champion_leaves_lists_remaining_contacts_and_tells_leadership_when_thin():
    gone = person(
        1,
        "Lee Leaves",
        "lee@acme.com",
        Champion__c=True,
        UserGems__No_Longer_at_Company__c="2026-11-15",
    )
    active = person(
        2,
        "Ann Active",
        "ann@acme.com",
        LastActivityDate="2026-11-01",
        OpportunityContactRoles={"records": [{"Role": "Economic Buyer"}]},
    )
    quiet = person(3, "Quinn Quiet", "quinn@acme.com", LastActivityDate="2026-05-01")

    plan = decide(contacts=[gone, active, quiet])

    [alert] = plan.alerts
    assert alert.context["meaning"] == "Churn risk"
    assert [(r.role, r.name) for r in alert.recipients] == [
        ("CSM", "Lena Fischer"),
        ("CS leadership", "Paula Costa"),
    ]
    assert [o["name"] for o in alert.context["others"]] == ["Ann Active", "Quinn Quiet"]
    assert alert.context["others"][0]["roles"] == "Economic Buyer"
    text = AlertRenderer("https://acme.my.salesforce.com").render(alert).text
    assert text == (GOLDEN / "people_signals_leaves.txt").read_text(encoding="utf-8").rstrip("\n")


def test_champion_leaves_a_well_covered_account_only_the_csm_hears():
    gone = person(
        1,
        "Lee Leaves",
        "lee@acme.com",
        Champion__c=True,
        UserGems__No_Longer_at_Company__c="2026-11-15",
    )
    others = [person(n, f"Active {n}", None, LastActivityDate="2026-11-01") for n in (2, 3)]

    plan = decide(contacts=[gone, *others])

    assert [r.role for r in plan.alerts[0].recipients] == ["CSM"]


def test_champion_was_the_only_contact():
    gone = person(
        1,
        "Solo Champ",
        "solo@acme.com",
        UserGems__No_Longer_at_Company__c="2026-11-15",
        OpportunityContactRoles=won_role("2025-06-30"),
    )

    plan = decide(contacts=[gone])

    [alert] = plan.alerts
    assert alert.context["others"] == []
    assert "CS leadership" in [r.role for r in alert.recipients]
    text = AlertRenderer("https://x.example").render(alert).text
    assert "- Nobody else: the champion was the only contact" in text
    assert "champion (Champion on an opportunity won 2025-06-30)" in plan.decisions[0].reason


def test_leaver_without_a_recent_win_is_no_champion():
    gone = person(
        1,
        "Old Role",
        "old@acme.com",
        UserGems__No_Longer_at_Company__c="2026-11-15",
        OpportunityContactRoles=won_role("2024-11-22"),
    )

    plan = decide(contacts=[gone])

    assert plan.is_empty
    assert by_name(plan)["Old Role"] == ("skipped", "left Acme on 2026-11-15, but was no champion")


def test_leaves_one_customer_joins_another_two_alerts_two_csms():
    left = person(
        1,
        "Max Move",
        "max@acme.com",
        Champion__c=True,
        UserGems__No_Longer_at_Company__c="2026-11-12",
    )
    joined = {
        **person(
            2,
            "Max Move",
            "max@globex.com",
            UserGems__Past_Relationship_Type__c="Past Champion",
            UserGems__Job_Start_Date__c="2026-11-16",
        ),
        "Id": "00Q000000000000002",
        "Company": "Globex",
    }
    del joined["AccountId"]

    plan = decide(contacts=[left], leads=[joined])

    assert [(a.context["signal"], a.recipients[0].name) for a in plan.alerts] == [
        ("champion_leaves", "Lena Fischer"),
        ("champion_joins", "Milo Rossi"),
    ]
    assert len(plan.creates) == 2


@pytest.mark.parametrize(
    ("account", "recipient"),
    [
        (customer(1, "Acme", "acme.com", csm=None), ("Account Owner", "Ava Patel")),
        (
            customer(1, "Acme", "acme.com", csm=MILO, csm_active=False),
            ("Account Owner", "Ava Patel"),
        ),
    ],
)
def test_no_csm_the_account_owner_hears(account: dict[str, Any], recipient: tuple[str, str]):
    joined = person(
        1,
        "Jo Join",
        "jo@acme.com",
        UserGems__Past_Relationship_Type__c="Past Champion",
        UserGems__Job_Start_Date__c="2026-11-10",
    )

    plan = decide(contacts=[joined], accounts=[account])

    assert [(r.role, r.name) for r in plan.alerts[0].recipients] == [recipient]
    assert plan.creates[0].fields["OwnerId"] == AVA


def test_no_csm_and_an_inactive_owner_go_to_the_cs_channel_without_a_task():
    account = {
        **customer(1, "Acme", "acme.com", csm=None),
        "Owner": {"Name": "Gone", "IsActive": False},
    }
    joined = person(
        1,
        "Jo Join",
        "jo@acme.com",
        UserGems__Past_Relationship_Type__c="Past Champion",
        UserGems__Job_Start_Date__c="2026-11-10",
    )

    plan = decide(contacts=[joined], accounts=[account])

    assert [(r.role, r.user_id, r.name) for r in plan.alerts[0].recipients] == [
        ("CS channel", None, "Customer Success")
    ]
    assert plan.creates == ()


@pytest.mark.parametrize(
    ("account", "meaning"),
    [
        (customer(1, "Acme", "acme.com", renewal="2027-03-23"), "Churn risk"),
        (customer(1, "Acme", "acme.com", renewal="2027-03-24"), "Expansion opportunity"),
        (customer(1, "Acme", "acme.com", health=49.5), "Churn risk"),
        (customer(1, "Acme", "acme.com", health=50, renewal=None), "Expansion opportunity"),
    ],
)
def test_new_hire_or_promotion_reads_as_churn_risk_or_expansion(
    account: dict[str, Any], meaning: str
):
    hire = person(
        1,
        "Nia New",
        "nia@acme.com",
        LeadSource="UserGems - New Hire",
        UserGems__Persona__c="Executive",
        UserGems__Job_Start_Date__c="2026-11-02",
    )

    plan = decide(contacts=[hire], accounts=[account])

    assert plan.alerts[0].context["meaning"] == meaning
    assert (
        plan.alerts[0].context["actions"][0]
        == "Congratulate them on their new role and introduce yourself"
    )


def test_untracked_persona_is_a_near_miss():
    hire = person(
        1,
        "Nia New",
        "nia@acme.com",
        LeadSource="UserGems - Promotion",
        UserGems__Persona__c="Intern",
    )

    plan = decide(contacts=[hire])

    assert plan.is_empty
    assert by_name(plan)["Nia New"] == (
        "skipped",
        "UserGems - Promotion at Acme, but persona 'Intern' is not tracked",
    )


def test_already_told_plans_nothing():
    joined = person(
        1,
        "Jo Join",
        "jo@acme.com",
        UserGems__Past_Relationship_Type__c="Past Champion",
        UserGems__Job_Start_Date__c="2026-11-10",
    )

    plan = decide(contacts=[joined], tasks=["people-signals:champion_joins:jo@acme.com:2026-11-10"])

    assert plan.is_empty
    assert by_name(plan)["Jo Join"][0] == "skipped"


def test_left_before_the_window_is_not_a_signal():
    gone = person(
        1,
        "Lee Leaves",
        "lee@acme.com",
        Champion__c=True,
        UserGems__No_Longer_at_Company__c="2026-10-23",
    )

    assert decide(contacts=[gone]).decisions == ()


def test_queries_read_customers_and_their_people():
    soql = queries(DecideContext(as_of=TODAY, config=PeopleSignalsConfig()))

    assert soql["accounts"].endswith("FROM Account WHERE Type IN ('Customer') ORDER BY Id")
    assert "FROM Contact WHERE Account.Type IN ('Customer')" in soql["contacts"]
    assert soql["leads"].endswith(
        "WHERE IsConverted = false AND (UserGems__Past_Relationship_Type__c IN"
        " ('Past Champion') OR LeadSource IN ('UserGems - New Hire','UserGems - Promotion'))"
        " AND LastModifiedDate >= 2026-10-24T00:00:00+00:00 ORDER BY LastModifiedDate, Id"
    )


# --- End to end, on the demo org ---------------------------------------------------------


def test_dry_run_apply_rerun_and_a_fresh_state_store(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]]
):
    dry = run_json("people-signals", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    # The demo's seeded duplicates may add a twin of a person (skipped: one signal).
    selected = {
        d["record_name"]: d["stage"] for d in plan["decisions"] if d["outcome"] == "selected"
    }
    assert (
        selected.items()
        >= {
            "Cyd Champion": "champion_joins 2026-11-03",
            "Lou Gone": "champion_leaves 2026-11-18",
            "Ezra Newman": "new_hire_or_promotion 2026-11-03",
        }.items()
    )
    assert "Ian Tern" not in selected
    assert any(d["record_name"] == "Ian Tern" for d in plan["decisions"])
    assert plan["changes"] == [] and len(plan["creates"]) == len(dry["alerts"])
    leaves = next(a for a in dry["alerts"] if a["stage"].startswith("champion_leaves"))
    assert [r["role"] for r in leaves["recipients"]] == ["CSM", "CS leadership"]

    applied = run_json("people-signals", "--as-of", TODAY.isoformat())
    assert applied["status"] == "succeeded"
    sf = LocalOrg(demo_org).salesforce()
    tasks = sf.query_all(
        "SELECT Revsched_Key__c, OwnerId FROM Task WHERE Revsched_Key__c LIKE 'people-signals:%'"
    )["records"]
    assert {t["Revsched_Key__c"] for t in tasks} == {c["key"] for c in plan["creates"]}

    rerun = run_json("people-signals", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["creates"] == [] and rerun["alerts"] == []
    (revsched_home / "state.sqlite").unlink()
    fresh = run_json("people-signals", "--as-of", TODAY.isoformat())
    assert fresh["plan"]["creates"] == [] and fresh["alerts"] == []


def test_a_past_champion_at_a_customer_gets_one_alert_from_people_signals_only(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
):
    jobs = run_json("job-changes", "--dry-run", "--as-of", TODAY.isoformat())
    signals = run_json("people-signals", "--dry-run", "--as-of", TODAY.isoformat())

    cyd = next(d for d in jobs["plan"]["decisions"] if d["record_name"] == "Cyd Champion")
    assert cyd["outcome"] == "skipped" and cyd["reason"].endswith("left to people-signals")
    assert cyd["record_id"] not in {a["record_id"] for a in jobs["alerts"]}
    assert [a["record_id"] for a in signals["alerts"]].count(cyd["record_id"]) == 1


def test_duplicate_records_of_one_leaver_make_one_signal():
    gone = person(
        1,
        "Lee Leaves",
        "lee@acme.com",
        Champion__c=True,
        UserGems__No_Longer_at_Company__c="2026-11-15",
    )
    twin = {**gone, "Id": "003000000000000009", "Name": "Lee Leavs"}

    plan = decide(contacts=[gone, twin])

    assert len(plan.alerts) == 1 and len(plan.creates) == 1
    assert by_name(plan)["Lee Leavs"] == (
        "skipped",
        "same person as Lee Leaves (same email): one signal",
    )
