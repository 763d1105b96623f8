"""partner-overlap: Tasks and one message per open opportunity, the PS alert on a win."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from harness import doctor_failures

from revsched.alerts import AlertRenderer
from revsched.jobs.partner_overlap import PartnerOverlapConfig, play, queries
from revsched.localorg import LocalOrg
from revsched.localorg.demo import OVERLAP_FIXTURES
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
OPP = "006000000000000001"
ACCOUNT = "001000000000000001"
QUILLON, ROOKWOOD = "001000000000000091", "001000000000000092"
JADE, LENA, PIA = "005000000000000002", "005000000000000003", "005000000000000004"
PARTNERS = {
    QUILLON: {"Name": "Quillon Systems", "Partner_Tier__c": "Gold",
              "Owner": {"Name": "Pia Lund", "Email": "pia@x.example"}},
    ROOKWOOD: {"Name": "Rookwood Data", "Partner_Tier__c": None,
               "Owner": {"Name": "Pia Lund", "Email": "pia@x.example"}},
}  # fmt: skip
PS_USERS = [
    {"Id": PIA, "Name": "Pia Lund", "Username": "pia@x.example", "Email": "pia@x.example",
     "IsActive": True},
]  # fmt: skip


def overlap(partner: str | None, population: str, name: str = "", account: str = ACCOUNT):
    return {
        "Id": f"a01{len(population):015d}",
        "Account__c": account,
        "Partner_Name__c": name or (PARTNERS[partner]["Name"] if partner else ""),
        "Partner_Population__c": population,
        "Partner_Account__c": partner,
        "Partner_Account__r": PARTNERS.get(partner) if partner else None,
    }


def opportunity(
    *,
    closed: bool = False,
    tasks: tuple[str, ...] = (),
    recorded: str | None = None,
    owner_active: bool = True,
    consultant: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "Id": OPP,
        "Name": "Acme Co. Expansion - @acme.com",
        "StageName": "Closed Won" if closed else "Needs Analysis",
        "Amount": 48000.0,
        "CloseDate": "2026-11-20" if closed else "2027-01-15",
        "IsClosed": closed,
        "IsWon": closed,
        "OwnerId": JADE,
        "Owner": {"Name": "Jade Wilson", "Email": "jade@x.example", "IsActive": owner_active},
        "AccountId": ACCOUNT,
        "Account": {
            "Name": "Acme Co.",
            "PS_Consultant__c": LENA if consultant else None,
            "PS_Consultant__r": {"Name": "Lena Fischer", "Email": "lena@x.example",
                                 "IsActive": True} if consultant else None,
        },
        "Partner_Account__c": recorded,
        "Tasks": {"records": [{"Revsched_Key__c": k} for k in tasks]} if tasks else None,
        **fields,
    }  # fmt: skip


def decide(opportunities, overlaps, fired=frozenset(), **config: Any):
    ctx = DecideContext(as_of=TODAY, config=PartnerOverlapConfig(**config), fired=fired)
    records = {"opportunities": opportunities, "overlaps": overlaps, "users": PS_USERS}
    return play.decide(records, ctx)


def outcome(plan) -> tuple[str, str | None, str]:
    [decision] = plan.decisions
    return decision.outcome, decision.stage, decision.reason


def render(alert) -> str:
    return AlertRenderer("https://acme.my.salesforce.com").render(alert).text


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8").rstrip("\n")


def key(partner: str) -> str:
    return f"partner-overlap:open:{OPP}:{partner}"


# --- Open opportunities -----------------------------------------------------------------------


def test_each_new_partner_gets_a_task_and_the_owner_one_message():
    plan = decide(
        [opportunity()],
        [
            overlap(QUILLON, "Customers"),
            overlap(QUILLON, "Open Opportunities"),
            overlap(ROOKWOOD, "Open Opportunities"),
        ],
    )

    assert outcome(plan) == (
        "selected",
        f"open {QUILLON}+{ROOKWOOD}",
        "account overlaps with Quillon Systems (Customers, Open Opportunities),"
        " Rookwood Data (Open Opportunities)",
    )
    assert [c.key for c in plan.creates] == [key(QUILLON), key(ROOKWOOD)]
    assert plan.creates[0].fields == {
        "Subject": "Partner overlap: Quillon Systems (Customers, Open Opportunities)",
        "Description": "- Contact the partner manager about this deal\n"
        "- Ask the partner for an introduction to their contacts at the account\n"
        "- Record the partner on the opportunity",
        "ActivityDate": "2026-11-26",
        "OwnerId": JADE,
        "WhatId": OPP,
        "Status": "Not Started",
        "Priority": "Normal",
    }
    [alert] = plan.alerts
    assert [(r.role, r.user_id) for r in alert.recipients] == [("opportunity owner", JADE)]
    assert render(alert) == golden("partner_overlap.txt")


def test_population_outside_the_actionable_ones_is_skipped():
    plan = decide([opportunity()], [overlap(QUILLON, "Prospects")])

    assert outcome(plan) == ("skipped", None, "overlaps only in Prospects: not actionable")
    assert plan.is_empty


def test_actionable_populations_are_config():
    plan = decide(
        [opportunity()], [overlap(QUILLON, "Prospects")], actionable_populations=["Prospects"]
    )

    assert [c.key for c in plan.creates] == [key(QUILLON)]


def test_partner_already_on_the_opportunity_is_skipped():
    plan = decide(
        [opportunity(recorded=QUILLON)],
        [overlap(QUILLON, "Customers"), overlap(ROOKWOOD, "Customers")],
    )

    assert outcome(plan)[2] == (
        "account overlaps with Rookwood Data (Customers); Quillon Systems is recorded on the"
        " opportunity"
    )
    assert [c.key for c in plan.creates] == [key(ROOKWOOD)]


def test_new_partner_on_an_alerted_opportunity_is_sent_alone():
    plan = decide(
        [opportunity(tasks=(key(QUILLON),))],
        [overlap(QUILLON, "Customers"), overlap(ROOKWOOD, "Customers")],
    )

    assert [c.key for c in plan.creates] == [key(ROOKWOOD)]
    [alert] = plan.alerts
    assert [p["name"] for p in alert.context["partners"]] == ["Rookwood Data"]
    assert alert.stage == f"open {ROOKWOOD}"


def test_many_new_partners_keep_the_stage_within_the_stores_limit():
    names = [f"Partner number {n} with a long name" for n in range(6)]
    plan = decide([opportunity()], [overlap(None, "Customers", name=n) for n in names])

    [alert] = plan.alerts
    assert alert.stage.startswith("open #") and len(alert.stage) <= 100
    assert len(plan.creates) == 6
    assert (
        decide([opportunity()], [overlap(None, "Customers", name=n) for n in names]).alerts[0].stage
        == alert.stage
    )


def test_every_partner_told_plans_nothing_even_with_a_fresh_state_store():
    plan = decide([opportunity(tasks=(key(QUILLON),))], [overlap(QUILLON, "Customers")])

    assert outcome(plan) == ("skipped", None, "every partner overlap already told")
    assert plan.is_empty


def test_sharing_revoked_retracts_nothing_and_sends_nothing():
    plan = decide([opportunity(tasks=(key(QUILLON),))], [])

    assert plan.decisions == () and plan.is_empty


def test_unmapped_partner_is_known_by_name():
    plan = decide([opportunity()], [overlap(None, "Customers", name="Northbeam Cloud")])

    assert [c.key for c in plan.creates] == [key("Northbeam Cloud")]
    [alert] = plan.alerts
    assert alert.context["partners"] == [
        {"name": "Northbeam Cloud", "populations": ["Customers"], "tier": None, "manager": None}
    ]
    assert "- Northbeam Cloud: Customers; partner manager not mapped" in render(alert)


def test_inactive_owner_gets_nothing():
    plan = decide([opportunity(owner_active=False)], [overlap(QUILLON, "Customers")])

    assert outcome(plan)[2] == "owner Jade Wilson is inactive"
    assert plan.is_empty


# --- Closed won -------------------------------------------------------------------------------


def line_items(*products: str) -> dict[str, Any]:
    return {"records": [{"Product2": {"Name": name}} for name in products]}


def test_won_deal_tells_the_ps_consultant_the_products_and_partner_technologies():
    won = opportunity(
        closed=True,
        consultant=True,
        OpportunityLineItems=line_items("Lead Routing", "Lead Routing", "Scheduler"),
    )
    plan = decide(
        [won],
        [overlap(QUILLON, "Customers"), overlap(None, "Prospects", name="Northbeam Cloud")],
    )

    assert outcome(plan) == (
        "selected",
        "won",
        "won on 2026-11-20; partners: Quillon Systems, Northbeam Cloud",
    )
    assert plan.creates == ()
    [alert] = plan.alerts
    assert [(r.role, r.user_id) for r in alert.recipients] == [("PS consultant", LENA)]
    assert alert.context["products"] == ["Lead Routing", "Scheduler"]
    assert render(alert) == golden("partner_overlap_won.txt")


def test_won_deal_without_products_says_nothing_of_them():
    plan = decide([opportunity(closed=True, consultant=True)], [overlap(QUILLON, "Customers")])

    assert plan.alerts[0].context["products"] == []
    assert "Products" not in render(plan.alerts[0])


def test_won_without_a_consultant_goes_to_the_ps_users():
    plan = decide(
        [opportunity(closed=True)], [overlap(QUILLON, "Customers")], ps_users=["pia@x.example"]
    )

    assert [(r.role, r.user_id) for r in plan.alerts[0].recipients] == [
        ("Professional Services", PIA)
    ]


def test_won_with_nobody_in_ps_goes_to_the_ps_channel():
    plan = decide([opportunity(closed=True)], [overlap(QUILLON, "Customers")])

    assert outcome(plan)[0] == "selected"
    assert [(r.role, r.user_id, r.name) for r in plan.alerts[0].recipients] == [
        ("PS channel", None, "Professional Services")
    ]


def test_opened_and_won_between_runs_gets_only_the_won_alert():
    plan = decide([opportunity(closed=True, consultant=True)], [overlap(QUILLON, "Customers")])

    assert [a.stage for a in plan.alerts] == ["won"] and plan.creates == ()


def test_re_won_deal_is_not_told_again():
    plan = decide(
        [opportunity(closed=True, consultant=True)],
        [overlap(QUILLON, "Customers")],
        fired=frozenset({(OPP, "won")}),
    )

    assert outcome(plan) == ("skipped", "won", "won: PS already told")
    assert plan.is_empty


def test_queries_read_the_configured_overlap_object():
    soql = queries(
        DecideContext(
            as_of=TODAY,
            config=PartnerOverlapConfig(overlap_object="XB_Overlap__c", account_field="Acct__c"),
        )
    )

    assert (
        "FROM XB_Overlap__c WHERE Acct__c IN (SELECT AccountId FROM Opportunity WHERE"
        in soql["overlaps"]
    )
    assert (
        "(IsClosed = false OR (IsWon = true AND CloseDate >= 2026-10-24))" in soql["opportunities"]
    )
    assert "AccountId IN (SELECT Acct__c FROM XB_Overlap__c)" in soql["opportunities"]


# --- End to end, on the demo org --------------------------------------------------------------


def revsched_tasks(path: Path) -> set[str]:
    sf = LocalOrg(path).salesforce()
    soql = "SELECT Revsched_Key__c FROM Task WHERE Revsched_Key__c LIKE 'partner-overlap:%'"
    return {row["Revsched_Key__c"] for row in sf.query_all(soql)["records"]}


def test_dry_run_apply_rerun_and_a_fresh_state_store_on_the_demo_org(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]]
):
    dry = run_json("partner-overlap", "--dry-run", "--as-of", "2026-11-23")
    plan = dry["plan"]
    names = {f.name for f in OVERLAP_FIXTURES}
    by_account: dict[str, list[tuple[str, str | None]]] = {}
    for decision in plan["decisions"]:
        account = next(
            (
                n
                for n in names
                if n.lower().replace(" ", "") in decision["record_name"].lower().replace(" ", "")
            ),
            None,
        )
        if account:
            by_account.setdefault(account, []).append((decision["outcome"], decision["stage"]))
    assert by_account["Tamarind Health"] == [("skipped", None)]
    assert by_account["Umberfield Labs"] == [("skipped", None)]
    assert ("selected", "open Northbeam Cloud") in by_account["Verdant Bay Foods"]
    assert ("selected", "won") in by_account["Westbrook Audio"]
    assert len(plan["creates"]) >= 4
    [won] = [a for a in plan["alerts"] if a["stage"] == "won"]
    assert won["context"]["products"] == ["Lead Routing", "Scheduler"]

    applied = run_json("partner-overlap", "--as-of", "2026-11-23")
    assert applied["status"] == "succeeded"
    assert revsched_tasks(demo_org) == {c["key"] for c in plan["creates"]}

    rerun = run_json("partner-overlap", "--as-of", "2026-11-23")["plan"]
    assert (rerun["creates"], rerun["alerts"], rerun["firings"]) == ([], [], [])

    (revsched_home / "state.sqlite").unlink()
    # A new machine: the org remembers (Task keys, Revsched_Firing__c).
    fresh = run_json("partner-overlap", "--as-of", "2026-11-23")["plan"]
    assert (fresh["creates"], fresh["alerts"]) == ([], [])


def test_doctor_names_a_missing_population_and_task_priority(demo_org: Path, tmp_path: Path):
    config = (
        "[plays.partner-overlap]\nactionable_populations = ['Customers', 'Open Opps']\n"
        "task_priority = 'Urgent'\n"
    )

    failed = doctor_failures("partner-overlap", config, tmp_path)

    assert [line.split(";")[0] for line in failed] == [
        "Crossbeam_Ecosystem_Overlap__c.Partner_Population__c = 'Open Opps': not an active"
        " picklist value",
        "Task.Priority = 'Urgent': not an active picklist value",
    ]
