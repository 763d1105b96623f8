"""overage-upsell: the episode and its clock, the two opportunities, recovery, the digest."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from harness import RecordingNotifier, demo_runs, doctor_failures, run_named
from sqlalchemy import select

from revsched.alerts import AlertRenderer
from revsched.config import ApiSettings, Settings
from revsched.jobs.overage_upsell import OverageUpsellConfig, play, queries
from revsched.localorg import FaultProfile, LocalOrg
from revsched.localorg.demo import OVERAGE_FIXTURES
from revsched.naming import opportunity_name
from revsched.org import OrgGateway
from revsched.play import DecideContext
from revsched.state import StateStore
from revsched.state.models import FiringRow
from revsched.summary import reason_kind

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
PAULA, JADE, KOFI, AVA = (f"005{n:015d}" for n in range(1, 5))
USER_ROWS = [
    {"Id": PAULA, "Name": "Paula Costa", "Username": "paula.costa@demo.revsched.dev",
     "Email": "paula.costa@demo.revsched.dev", "IsActive": True},
]  # fmt: skip
ACCOUNT_ID = "001000000000000001"
STAGES = [{"ApiName": "Prospecting", "SortOrder": 1}]


def person(user_id: str | None, name: str, active: bool = True) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"Name": name, "Email": f"{name.split()[0].lower()}@x.example", "IsActive": active}


def account(
    contract: int | None = 100,
    routed: int | None = 125,
    *,
    since: int | None = None,
    opportunities: tuple[dict[str, Any], ...] = (),
    am: str | None = JADE,
    am_active: bool = True,
    owner_active: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """A customer account; `since`: days ago its overage started (None: no start date)."""
    return {
        "Id": ACCOUNT_ID,
        "Name": "Acme Co.",
        "Type": "Customer",
        "Website": "https://app.acme.co.uk/login",
        "OwnerId": AVA,
        "Owner": person(AVA, "Ava Patel", owner_active),
        "AM__c": am,
        "AM__r": person(am, "Jade Wilson", am_active),
        "Users_In_Contract__c": contract,
        "Users_Routed__c": routed,
        "Overage_Start_Date__c": None if since is None else str(TODAY - timedelta(days=since)),
        "Price_Per_User__c": None,
        "Opportunities": {"records": list(opportunities)} if opportunities else None,
        **fields,
    }  # fmt: skip


def opp(kind: str, key: str | None, *, closed: bool = False, opp_id: str = "006000000000000001"):
    return {
        "Id": opp_id,
        "Name": f"Acme Co. - {kind} - @acme.co.uk",
        "Type": kind,
        "StageName": "Closed Won" if closed else "Prospecting",
        "IsClosed": closed,
        "Revsched_Key__c": key,
    }


def key(step: str, days_ago: int) -> str:
    return f"overage-upsell:{step}:{ACCOUNT_ID}:{(TODAY - timedelta(days=days_ago)).isoformat()}"


def decide(accounts: list[dict[str, Any]], as_of: date = TODAY, fired=frozenset(), **config: Any):
    ctx = DecideContext(as_of=as_of, config=OverageUpsellConfig(**config), fired=fired)
    records = {"accounts": accounts, "users": USER_ROWS, "stages": STAGES}
    return play.decide(records, ctx)


def outcome(plan) -> tuple[str, str | None, str]:
    [decision] = plan.decisions
    return decision.outcome, decision.stage, decision.reason


def am_alerts(plan) -> list:
    return [a for a in plan.alerts if a.template == "overage_upsell.j2"]


def render(alert) -> str:
    return AlertRenderer("https://acme.my.salesforce.com").render(alert).text


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8").rstrip("\n")


# --- Selection --------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", [0, None])
def test_no_users_in_contract_is_skipped(contract: int | None):
    plan = decide([account(contract, 40)])

    assert outcome(plan) == ("skipped", None, "no users in contract to measure usage against")
    assert plan.is_empty


def test_query_reads_customers_with_a_contract_or_an_episode():
    soql = queries(DecideContext(as_of=TODAY, config=OverageUpsellConfig()))["accounts"]

    assert soql.endswith(
        "FROM Account WHERE (Type IN ('Customer') AND Users_In_Contract__c > 0)"
        " OR Overage_Start_Date__c != null ORDER BY Name, Id"
    )
    assert (
        "FROM Opportunities WHERE Type IN ('Overage','Upsell')"
        " AND (IsClosed = false OR Revsched_Key__c != null))"
    ) in soql


@pytest.mark.parametrize(
    ("routed", "reason"),
    [
        (110, "within the 10% allowance: 110 users routed for 100 in contract (over above 110)"),
        (100, "within contract: 100 users routed for 100 in contract"),
    ],
)
def test_exactly_at_the_threshold_is_not_over(routed: int, reason: str):
    plan = decide([account(100, routed)])

    assert outcome(plan) == ("skipped", None, reason)
    assert plan.is_empty and plan.reports == {"overage": []}


def test_skipped_accounts_count_by_why_in_the_runs_summary():
    plan = decide(
        [account(100, 100), account(100, 110), account(0, 40), account(100, 105, since=3)]
    )

    assert [reason_kind(d.reason) for d in plan.decisions] == [
        "within contract",
        "within the N% allowance",
        "no users in contract to measure usage against",
        "over contract within the N% allowance",
    ]


def test_one_user_past_the_threshold_starts_an_episode():
    plan = decide([account(100, 111)])

    assert outcome(plan) == (
        "selected",
        "overage 2026-11-23",
        "111 users routed for 100 in contract (11% over) since 2026-11-23",
    )
    assert [(c.field, c.old, c.new) for c in plan.changes] == [
        ("Overage_Start_Date__c", None, "2026-11-23")
    ]


def test_overage_pct_is_config():
    assert outcome(decide([account(100, 111)], overage_pct=20))[0] == "skipped"
    assert outcome(decide([account(100, 121)], overage_pct=20))[0] == "selected"


# --- The Overage opportunity ------------------------------------------------------------------


def test_overage_opportunity_for_the_am_upserted_on_the_episode_key():
    plan = decide([account(100, 125, Price_Per_User__c=40.0)])

    [create] = plan.creates
    assert (create.sobject, create.key, create.parent_id) == (
        "Opportunity",
        key("overage", 0),
        ACCOUNT_ID,
    )
    assert create.fields == {
        "Name": "Acme Co. - Overage - @acme.co.uk",
        "AccountId": ACCOUNT_ID,
        "OwnerId": JADE,
        "Type": "Overage",
        "StageName": "Prospecting",
        "CloseDate": "2026-12-23",
        "Amount": 1000.0,
    }
    [alert] = am_alerts(plan)
    assert [(r.role, r.user_id) for r in alert.recipients] == [("AM", JADE)]
    assert render(alert) == golden("overage_upsell.txt")


def test_no_price_per_user_leaves_the_amount_out():
    [create] = decide([account()]).creates

    assert "Amount" not in create.fields


def test_first_open_stage_close_days_and_types_are_config():
    plan = decide([account()], open_stage="Qualification", close_days=14, overage_type="Overuse")

    fields = plan.creates[0].fields
    assert (fields["StageName"], fields["CloseDate"], fields["Type"]) == (
        "Qualification",
        "2026-12-07",
        "Overuse",
    )
    assert "stages" not in queries(
        DecideContext(as_of=TODAY, config=OverageUpsellConfig(open_stage="Qualification"))
    )


def test_long_names_are_cut_keeping_the_domain_suffix():
    name = opportunity_name("X" * 200, "Overage", "acme.co.uk")

    assert len(name) == 120 and name.endswith("X - Overage - @acme.co.uk")
    assert opportunity_name("Acme", "Upsell", None) == "Acme - Upsell"


@pytest.mark.parametrize(
    ("am", "am_active", "owner_active", "expected"),
    [
        (None, True, True, ("account owner", AVA)),
        (JADE, False, True, ("account owner", AVA)),
    ],
)
def test_no_active_am_means_the_account_owner(am, am_active, owner_active, expected):
    plan = decide([account(am=am, am_active=am_active, owner_active=owner_active)])

    assert plan.creates[0].fields["OwnerId"] == expected[1]
    assert [(r.role, r.user_id) for r in am_alerts(plan)[0].recipients] == [expected]


def test_nobody_active_to_own_it_is_listed_not_created():
    plan = decide([account(am=None, owner_active=False)])

    assert outcome(plan)[2] == (
        "nobody to give the Overage opportunity to: neither its AM nor its owner is active"
        " (125 users routed for 100 in contract)"
    )
    assert plan.creates == () and am_alerts(plan) == []
    assert plan.reports["overage"][0]["status"] == "no active AM or owner"


def test_hand_set_start_date_keys_the_episode():
    plan = decide([account(since=5)])

    assert plan.changes == ()
    assert [c.key for c in plan.creates] == [key("overage", 5)]
    assert am_alerts(plan)[0].context["since"] == "2026-11-18"


def test_existing_key_means_handled_even_with_a_fresh_state_store():
    plan = decide([account(since=3, opportunities=(opp("Overage", key("overage", 3)),))])

    assert outcome(plan) == (
        "skipped",
        f"overage {(TODAY - timedelta(days=3)).isoformat()}",
        "overage already handled: in overage since 2026-11-20, 3 days",
    )
    assert plan.creates == () and am_alerts(plan) == []
    assert plan.reports["overage"][0]["status"] == "Overage opportunity open"


def test_open_opportunity_not_made_by_revsched_gets_an_alert_only():
    hand_made = opp("Overage", None)
    plan = decide([account(opportunities=(hand_made,))])

    assert outcome(plan)[2].endswith(
        "open Overage opportunity 'Acme Co. - Overage - @acme.co.uk' exists: alert only"
    )
    assert plan.creates == ()
    [alert] = am_alerts(plan)
    assert alert.context["existing"]["id"] == hand_made["Id"]
    assert render(alert) == golden("overage_upsell_alert_only.txt")
    assert (ACCOUNT_ID, "overage 2026-11-23") in {(f.record_id, f.stage) for f in plan.firings}


def test_alert_only_is_sent_once():
    plan = decide(
        [account(opportunities=(opp("Overage", None),))],
        fired=frozenset({(ACCOUNT_ID, "overage 2026-11-23")}),
    )

    assert am_alerts(plan) == [] and plan.creates == ()


# --- The 30-day clock -------------------------------------------------------------------------


def test_twenty_nine_days_in_is_still_the_overage_step():
    plan = decide([account(since=29, opportunities=(opp("Overage", key("overage", 29)),))])

    assert outcome(plan)[0] == "skipped" and plan.creates == ()


def test_thirty_days_still_over_creates_the_upsell():
    overage = opp("Overage", key("overage", 30))
    plan = decide([account(since=30, opportunities=(overage,))])

    assert outcome(plan) == (
        "selected",
        "upsell 2026-10-24",
        "125 users routed for 100 in contract (25% over) since 2026-10-24, 30 days: still over",
    )
    [create] = plan.creates
    assert create.key == key("upsell", 30)
    assert (create.fields["Name"], create.fields["Type"]) == (
        "Acme Co. - Upsell - @acme.co.uk",
        "Upsell",
    )
    assert render(am_alerts(plan)[0]) == golden("overage_upsell_upsell.txt")
    assert plan.changes == ()  # the Overage opportunity stays open


def test_runs_missed_across_day_thirty_create_the_upsell_once():
    overage = opp("Overage", key("overage", 40))
    first = decide([account(since=40, opportunities=(overage,))])
    assert [c.key for c in first.creates] == [key("upsell", 40)]

    upsell = opp("Upsell", key("upsell", 41), opp_id="006000000000000002")
    later = decide(
        [account(since=41, opportunities=(overage, upsell))], as_of=TODAY + timedelta(days=1)
    )
    assert later.creates == () and am_alerts(later) == []


def test_overage_close_stage_moves_revscheds_overage_opportunity_when_the_upsell_is_due():
    overage = opp("Overage", key("overage", 30))
    hand_made = opp("Overage", None, opp_id="006000000000000009")
    plan = decide(
        [account(since=30, opportunities=(overage, hand_made))], overage_close_stage="Closed Lost"
    )

    assert [(c.record_id, c.field, c.old, c.new, c.reason) for c in plan.changes] == [
        (
            overage["Id"],
            "StageName",
            "Prospecting",
            "Closed Lost",
            "the Upsell opportunity takes over the overage since 2026-10-24",
        )
    ]
    assert [c.key for c in plan.creates] == [key("upsell", 30)]
    assert (overage["Id"], "overage closed 2026-10-24") in firings(plan)


def test_overage_close_stage_is_retried_until_written_then_left_alone():
    overage = opp("Overage", key("overage", 31))
    upsell = opp("Upsell", key("upsell", 31), opp_id="006000000000000002")
    episode = [account(since=31, opportunities=(overage, upsell))]

    retried = decide(episode, overage_close_stage="Closed Lost")
    # Written once (fired): a person who reopens it is not overruled.
    reopened = decide(
        episode,
        overage_close_stage="Closed Lost",
        fired=frozenset({(overage["Id"], "overage closed 2026-10-23")}),
    )

    assert [(c.record_id, c.new) for c in retried.changes] == [(overage["Id"], "Closed Lost")]
    assert retried.creates == () and am_alerts(retried) == []
    assert reopened.changes == () and reopened.creates == ()


def test_upsell_after_days_is_config():
    plan = decide([account(since=14)], upsell_after_days=14)

    assert [c.key for c in plan.creates] == [key("upsell", 14)]


# --- Recovery and the next episode ------------------------------------------------------------


def test_back_at_contract_clears_the_start_and_names_the_opportunities_to_close():
    overage = opp("Overage", key("overage", 12))
    plan = decide([account(100, 100, since=12, opportunities=(overage,))])

    assert outcome(plan) == (
        "selected",
        "recovered 2026-11-11",
        "back in compliance: 100 users routed for 100 in contract; the overage clock resets",
    )
    assert [(c.field, c.old, c.new) for c in plan.changes] == [
        ("Overage_Start_Date__c", "2026-11-11", None)
    ]
    [alert] = am_alerts(plan)
    assert alert.context["to_close"] == [
        {"id": overage["Id"], "name": overage["Name"], "type": "Overage"}
    ]
    assert render(alert) == golden("overage_upsell_recovered.txt")


def test_over_contract_within_the_allowance_keeps_the_episode():
    plan = decide([account(100, 105, since=12)])

    assert outcome(plan)[2] == (
        "over contract within the 10% allowance: 105 users routed for 100 in contract;"
        " the overage since 2026-11-11 goes on"
    )
    assert plan.is_empty


def test_second_episode_gets_new_keys():
    old = opp("Overage", key("overage", 60), closed=True)
    plan = decide([account(opportunities=(old,))])

    assert [c.key for c in plan.creates] == [key("overage", 0)]
    assert am_alerts(plan)[0].context["existing"] is None


def test_churned_account_ends_the_episode_quietly():
    plan = decide([account(since=10, Type="Former Customer")])

    assert outcome(plan) == (
        "skipped",
        "recovered 2026-11-13",
        "no longer a customer (Former Customer): overage episode ended",
    )
    assert [(c.field, c.new) for c in plan.changes] == [("Overage_Start_Date__c", None)]
    assert plan.alerts == () and plan.creates == ()


# --- grace_days: how long a dip may last before it resets the clock ----------------------------


def dip(days_ago: int, start_days_ago: int, ended: bool = False) -> tuple[str, str]:
    """The fired stage remembering a dip first seen `days_ago` in an episode begun before."""
    day, start = (TODAY - timedelta(days=n) for n in (days_ago, start_days_ago))
    return ACCOUNT_ID, f"dip {day} of overage {start}" + (" ended" if ended else "")


def firings(plan) -> list[tuple[str, str]]:
    return [(f.record_id, f.stage) for f in plan.firings]


def test_without_grace_days_the_first_run_that_sees_a_dip_resets_the_clock():
    assert OverageUpsellConfig().grace_days == 0
    plan = decide([account(100, 95, since=12)])

    assert outcome(plan)[:2] == ("selected", "recovered 2026-11-11")
    assert [(c.field, c.new) for c in plan.changes] == [("Overage_Start_Date__c", None)]
    assert firings(plan) == [(ACCOUNT_ID, "recovered 2026-11-11")]


def test_a_dip_within_the_grace_days_keeps_the_episode_and_remembers_its_first_day():
    plan = decide([account(100, 95, since=12)], grace_days=3)

    assert outcome(plan) == (
        "skipped",
        "dip 2026-11-23 of overage 2026-11-11",
        "in a dip within the grace days: 95 users routed for 100 in contract, at or under"
        " contract since 2026-11-23 (the 3 days of grace end the episode on 2026-11-26);"
        " the overage since 2026-11-11 goes on",
    )
    assert plan.changes == () and plan.alerts == () and plan.creates == ()
    assert firings(plan) == [dip(0, 12)]


@pytest.mark.parametrize(
    ("dip_days_ago", "ends"),
    [(1, False), (2, False), (3, True), (10, True)],
    ids=["day 1", "day 2", "exactly grace_days", "runs missed past grace_days"],
)
def test_the_dip_ends_the_episode_once_it_has_lasted_grace_days(dip_days_ago: int, ends: bool):
    plan = decide(
        [account(100, 95, since=12)], grace_days=3, fired=frozenset({dip(dip_days_ago, 12)})
    )

    if ends:
        assert outcome(plan)[:2] == ("selected", "recovered 2026-11-11")
        assert [(c.field, c.old, c.new) for c in plan.changes] == [
            ("Overage_Start_Date__c", "2026-11-11", None)
        ]
        assert [a.context["step"] for a in am_alerts(plan)] == ["recovered"]
    else:
        assert outcome(plan)[:2] == ("skipped", dip(dip_days_ago, 12)[1])
        assert plan.is_empty and plan.firings == ()


def test_back_over_within_the_grace_days_the_clock_runs_from_the_episode_start():
    overage = opp("Overage", key("overage", 30))
    plan = decide(
        [account(100, 125, since=30, opportunities=(overage,))],
        grace_days=3,
        fired=frozenset({dip(2, 30)}),
    )

    assert outcome(plan) == (
        "selected",
        "upsell 2026-10-24",
        "125 users routed for 100 in contract (25% over) since 2026-10-24 (over contract again"
        " after a dip on 2026-11-21), 30 days: still over",
    )
    assert [c.key for c in plan.creates] == [key("upsell", 30)]
    assert plan.changes == ()
    assert dip(2, 30, ended=True) in firings(plan)


def test_over_contract_within_the_allowance_ends_the_dip_too():
    plan = decide([account(100, 105, since=12)], grace_days=3, fired=frozenset({dip(2, 12)}))

    assert outcome(plan)[2].endswith(
        "the overage since 2026-11-11 (over contract again after a dip on 2026-11-21) goes on"
    )
    assert firings(plan) == [dip(2, 12, ended=True)] and plan.alerts == ()


def test_a_later_dip_counts_from_its_own_first_day():
    ended = frozenset({dip(10, 30), dip(10, 30, ended=True)})
    plan = decide([account(100, 95, since=30)], grace_days=3, fired=ended)

    assert outcome(plan)[:2] == ("skipped", dip(0, 30)[1])
    assert firings(plan) == [dip(0, 30)] and plan.changes == ()


def test_a_dip_of_an_earlier_episode_does_not_count():
    plan = decide([account(100, 95, since=5)], grace_days=3, fired=frozenset({dip(20, 40)}))

    assert outcome(plan)[:2] == ("skipped", dip(0, 5)[1])


def test_a_churned_account_ends_its_episode_whatever_the_grace_days():
    plan = decide([account(since=10, Type="Former Customer")], grace_days=3)

    assert outcome(plan)[:2] == ("skipped", "recovered 2026-11-13")
    assert [(c.field, c.new) for c in plan.changes] == [("Overage_Start_Date__c", None)]


def test_grace_days_cannot_be_negative():
    with pytest.raises(ValueError, match="grace_days"):
        OverageUpsellConfig(grace_days=-1)


# --- Digest and report ------------------------------------------------------------------------


def test_accounts_in_overage_go_to_leadership_as_one_digest_and_the_report():
    second = account(500, 600, since=3) | {"Id": "001000000000000002", "Name": "Beta Ltd"}
    plan = decide([account(100, 125, Price_Per_User__c=40.0), second, account(100, 90)])

    rows = plan.reports["overage"]
    assert rows[0] == {
        "account": "Acme Co.",
        "account_id": ACCOUNT_ID,
        "owner": "Jade Wilson",
        "users_in_contract": 100,
        "users_routed": 125,
        "pct_over": 25.0,
        "since": "2026-11-23",
        "days_in_overage": 0,
        "status": "Overage opportunity created",
    }
    assert [r["account"] for r in rows] == ["Acme Co.", "Beta Ltd"]
    [digest] = [a for a in plan.alerts if a.template == "overage_upsell_digest.j2"]
    assert (digest.record_id, digest.stage) == (PAULA, "overage 2026-11-23")
    assert render(digest) == golden("overage_upsell_digest.txt")


def test_the_digest_covers_the_accounts_the_run_acts_on():
    new = account() | {"Id": "001000000000000002"}
    handled = account(since=3, opportunities=(opp("Overage", key("overage", 3)),))
    plan = decide([new, handled])

    [digest] = [a for a in plan.alerts if a.template == "overage_upsell_digest.j2"]
    assert len(digest.context["rows"]) == 2
    assert [(f.record_id, f.stage) for f in digest.covers] == [(new["Id"], "overage 2026-11-23")]


def test_digest_once_a_day_report_always():
    plan = decide([account()], fired=frozenset({(PAULA, "overage 2026-11-23")}))

    assert [a.template for a in plan.alerts] == ["overage_upsell.j2"]
    assert len(plan.reports["overage"]) == 1


# --- End to end, on the demo org --------------------------------------------------------------


def revsched_opportunities(path: Path) -> dict[str, dict[str, Any]]:
    sf = LocalOrg(path).salesforce()
    soql = (
        "SELECT Revsched_Key__c, Name, Type, OwnerId, StageName, Account.Name FROM Opportunity"
        " WHERE Revsched_Key__c != null"
    )
    return {row["Revsched_Key__c"]: row for row in sf.query_all(soql)["records"]}


def test_dry_run_apply_rerun_and_a_fresh_state_store_on_the_demo_org(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]], tmp_path: Path
):
    before = revsched_opportunities(demo_org)
    dry = run_json("overage-upsell", "--dry-run", "--as-of", "2026-11-23", "--report-dir", "out")
    plan = dry["plan"]
    by_name = {d["record_name"]: d for d in plan["decisions"]}
    fixtures = {f.name: by_name.get(f.name) for f in OVERAGE_FIXTURES}
    assert {n: d and (d["outcome"], d["stage"]) for n, d in fixtures.items()} == {
        "Kestrel Analytics": ("skipped", None),
        "Larkspur Logistics": ("selected", "upsell 2026-10-23"),
        "Marlow Biotech": ("selected", "recovered 2026-11-11"),
        "Norland Textiles": ("selected", "overage 2026-11-23"),
        "Orchard Point Media": None,
        "Pinecrest Robotics": ("selected", "overage 2026-11-23"),
    }
    with (tmp_path / "out" / "overage-upsell-overage-2026-11-23.csv").open() as stream:
        report = list(csv.DictReader(stream))
    assert len(report) == len(plan["reports"]["overage"]) > 3

    applied = run_json("overage-upsell", "--as-of", "2026-11-23")
    assert applied["status"] == "succeeded"
    created = revsched_opportunities(demo_org)
    assert set(created) - set(before) == {c["key"] for c in plan["creates"]}
    larkspur = next(c for c in plan["creates"] if c["key"].startswith("overage-upsell:upsell:"))
    assert (
        created[larkspur["key"]]["Name"] == "Larkspur Logistics - Upsell - @larkspurlogistics.com"
    )

    rerun = run_json("overage-upsell", "--as-of", "2026-11-23")["plan"]
    assert (rerun["creates"], rerun["changes"], rerun["alerts"], rerun["firings"]) == (
        [],
        [],
        [],
        [],
    )

    (revsched_home / "state.sqlite").unlink()
    # A new machine: the org remembers (keys, start dates, Revsched_Firing__c).
    fresh = run_json("overage-upsell", "--as-of", "2026-11-23")["plan"]
    assert (fresh["creates"], fresh["changes"], fresh["alerts"]) == ([], [], [])
    assert set(revsched_opportunities(demo_org)) == set(created)


def test_a_dip_in_grace_survives_a_lost_state_store_on_the_demo_org(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]], tmp_path: Path
):
    (tmp_path / "revsched.toml").write_text("[plays.overage-upsell]\ngrace_days = 3\n")

    def marlow(as_of: str) -> tuple[str, str | None]:
        plan = run_json("overage-upsell", "--as-of", as_of)["plan"]
        [decision] = [d for d in plan["decisions"] if d["record_name"] == "Marlow Biotech"]
        return decision["outcome"], decision["stage"]

    # Marlow Biotech: 45 users routed for 50 in contract, in an episode since 2026-11-11.
    assert marlow("2026-11-23") == ("skipped", "dip 2026-11-23 of overage 2026-11-11")
    (revsched_home / "state.sqlite").unlink()
    # The org remembers the dip's first day, so day 2 is still in grace and day 3 ends it.
    assert marlow("2026-11-25") == ("skipped", "dip 2026-11-23 of overage 2026-11-11")
    assert marlow("2026-11-26") == ("selected", "recovered 2026-11-11")


def test_doctor_names_a_missing_field_and_opportunity_type(demo_org: Path, tmp_path: Path):
    config = (
        "[plays.overage-upsell]\nupsell_type = 'Expansion'\nprice_per_user_field = 'Price__c'\n"
    )

    failed = doctor_failures("overage-upsell", config, tmp_path)

    assert (
        "Account fields: plays.overage-upsell.price_per_user_field = Price__c: no such field on"
        " Account; did you mean Price_Per_User__c?" in failed
    )
    assert (
        "Opportunity.Type = 'Expansion': not an active picklist value; set"
        " plays.overage-upsell.upsell_type to one of: New Business, Overage, Renewal, Upsell"
    ) in failed


def test_leadership_digest_waits_while_every_write_fails_and_goes_out_once_written(
    demo_org: Path, tmp_path: Path
):
    local = LocalOrg(demo_org, today=lambda: TODAY)
    org = OrgGateway(local.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    settings = Settings()

    run = partial(
        run_named,
        "overage-upsell",
        org,
        store,
        settings=settings,
        renderer=AlertRenderer("https://x"),
    )

    local.faults = FaultProfile(
        record_failure_rate=1.0, record_error="FIELD_CUSTOM_VALIDATION_EXCEPTION"
    )
    failing = RecordingNotifier()
    failed = run(failing)

    [digest] = [a.alert for a in failed.alerts if a.alert.template == "overage_upsell_digest.j2"]
    assert failed.plan.creates and set(failed.failures) >= {
        c.parent_id for c in failed.plan.creates
    }
    # It would say "Overage opportunity created" of accounts none of whose writes went through.
    assert (digest.record_id, digest.stage) not in {a.key for a in failing.sent}
    assert not any(a.alert.template == "overage_upsell_digest.j2" for a in failing.sent)

    local.faults = None
    told = RecordingNotifier()
    rerun = run(told)
    later = RecordingNotifier()
    last = run(later)

    assert rerun.status == "succeeded" and rerun.counts["created"] == len(rerun.plan.creates) > 3
    sent = {a.key: a.text for a in told.sent}
    assert [a.key for a in told.sent].count((digest.record_id, digest.stage)) == 1
    assert sent[digest.record_id, digest.stage].count("Overage opportunity created") >= 3
    assert last.plan.alerts == () and last.plan.creates == () and later.sent == []


def test_an_account_whose_write_failed_is_left_out_of_the_digest_and_its_opportunity_waits(
    demo_org: Path, tmp_path: Path
):
    local, store, run = demo_runs("overage-upsell", demo_org, tmp_path)
    [bluedale] = local.salesforce().query("SELECT Id FROM Account WHERE Name = 'Bluedale Credit'")[
        "records"
    ]
    local.faults = FaultProfile(fail_records={bluedale["Id"]: "FIELD_CUSTOM_VALIDATION_EXCEPTION"})

    told = RecordingNotifier()
    failed = run(told)

    assert set(failed.failures) == {bluedale["Id"]}
    audit = store.run(failed.run_id)
    assert audit is not None
    [waiting] = [c for c in audit.creates if c.parent_id == bluedale["Id"]]
    assert (waiting.status, waiting.error) == (
        "skipped",
        f"not created: the write of {bluedale['Id']} failed (FIELD_CUSTOM_VALIDATION_EXCEPTION:"
        " Record rejected by a validation rule)",
    )
    assert {c.status for c in audit.creates} - {"skipped"} == {"created"}
    # Its own alert is held with why; the digest goes out now, without it.
    assert failed.alerts_held[bluedale["Id"], "overage 2026-11-23"].startswith(
        "not sent: the record was not written (FIELD_CUSTOM_VALIDATION_EXCEPTION"
    )
    [digest] = [a.text for a in told.sent if a.alert.record_id.startswith("005")]
    assert "Bluedale Credit" not in digest and "Clearwave Holdings" in digest
    assert digest.startswith("*Accounts in overage, 2026-11-23*\n7 customers are over")
    assert digest.endswith(
        f"\n\nLeft out: 1 record whose write did not go through (`revsched show"
        f" {failed.run_id}` says why); a later run tries again."
    )
    assert store.plays_owing() == set()

    local.faults = None
    again = RecordingNotifier()
    retried = run(again)

    [create] = retried.plan.creates
    assert create.parent_id == bluedale["Id"] and retried.status == "succeeded"
    assert [c.status for c in (store.run(retried.run_id) or audit).creates] == ["created"]
    assert [a.key for a in again.sent] == [(bluedale["Id"], "overage 2026-11-23")]


class Killed(BaseException):
    """The process dies (as SIGKILL leaves it: nothing after it runs)."""


def test_a_killed_runs_written_close_is_fired_on_settle_and_its_upsell_alerted_once(
    demo_org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Killed right after Salesforce closed the Overage opportunity, before anything was
    recorded (no upsell, no alert yet): the rerun's settle fires the close (a stage with no
    alert) for the opportunity the killed run wrote, before the rerun decides; the rerun
    creates the upsell and its alert goes out once."""
    local, store, run = demo_runs("overage-upsell", demo_org, tmp_path)
    settings = Settings(plays={"overage-upsell": {"overage_close_stage": "Closed Lost"}})
    run(RecordingNotifier(), settings=settings)
    sf = local.salesforce()
    started = sf.query("SELECT Id, Overage_Start_Date__c FROM Account")["records"]
    keys = {f"overage-upsell:overage:{a['Id']}:{a['Overage_Start_Date__c']}" for a in started}
    opened = sf.query(
        "SELECT Id, AccountId, Revsched_Key__c FROM Opportunity WHERE Type = 'Overage'"
        " AND IsClosed = false ORDER BY Id"
    )["records"]
    overage = next(o for o in opened if o["Revsched_Key__c"] in keys)  # an episode now
    start = (TODAY - timedelta(days=30)).isoformat()  # 30 days in: the upsell is due
    sf.Account.update(overage["AccountId"], {"Overage_Start_Date__c": start})
    episode = f"overage-upsell:overage:{overage['AccountId']}:{start}"
    sf.Opportunity.update(overage["Id"], {"Revsched_Key__c": episode})
    update = OrgGateway.update

    def update_then_die(gateway: OrgGateway, sobject: str, records: Any) -> Any:
        outcomes = update(gateway, sobject, records)
        if sobject == "Opportunity":
            raise Killed
        return outcomes

    monkeypatch.setattr(OrgGateway, "update", update_then_die)
    with pytest.raises(Killed):
        run(RecordingNotifier(), settings=settings)
    monkeypatch.undo()
    killed = store.runs("overage-upsell")[0]
    assert sf.Opportunity.get(overage["Id"])["StageName"] == "Closed Lost"

    told = RecordingNotifier()
    rerun = run(told, settings=settings)

    closed = (overage["Id"], f"overage closed {start}")
    assert rerun.settled.interrupted == (killed.id,)
    assert closed in store.fired("overage-upsell")
    with store.session() as session:
        fired_by = select(FiringRow.run_id).where(
            FiringRow.record_id == closed[0], FiringRow.stage == closed[1]
        )
        assert session.scalars(fired_by).all() == [killed.id]
    assert closed not in {(f.record_id, f.stage) for f in rerun.plan.firings}
    assert overage["Id"] not in {c.record_id for c in rerun.plan.changes}
    upsell = (overage["AccountId"], f"upsell {start}")
    assert [c.key for c in rerun.plan.creates if c.parent_id == overage["AccountId"]] == [
        f"overage-upsell:upsell:{overage['AccountId']}:{start}"
    ]
    assert [a.key for a in told.sent].count(upsell) == 1
    later = RecordingNotifier()
    run(later, settings=settings)
    assert upsell not in {a.key for a in later.sent}
