"""win-back's decisions at their boundaries, on plain records (no org, no I/O)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from revsched.config import PoolSettings, Settings
from revsched.errors import ConfigError
from revsched.jobs.win_back import WinBackConfig, latest_start, play, queries
from revsched.plan import FieldChange
from revsched.play import DecideContext

REVOPS, AVA, BEN, ELI, FAY, GUS = (f"005{n:015d}" for n in range(1, 7))
USERS = [
    {
        "Id": REVOPS,
        "Name": "RevOps Team",
        "Username": "revops@demo.revsched.dev",
        "Email": "revops@demo.revsched.dev",
        "IsActive": True,
    },
    {
        "Id": AVA,
        "Name": "Ava Patel",
        "Username": "ava.patel@demo.revsched.dev",
        "Email": "ava.patel@demo.revsched.dev",
        "IsActive": True,
    },
    {
        "Id": BEN,
        "Name": "Ben Okafor",
        "Username": "ben.okafor@demo.revsched.dev",
        "Email": "ben.okafor@demo.revsched.dev",
        "IsActive": True,
    },
    {
        "Id": ELI,
        "Name": "Eli Novak",
        "Username": "eli.novak@demo.revsched.dev",
        "Email": "eli.novak@demo.revsched.dev",
        "IsActive": False,
    },
    {
        "Id": FAY,
        "Name": "Fay Nguyen",
        "Username": "fay.nguyen@demo.revsched.dev",
        "Email": "fay.nguyen@demo.revsched.dev",
        "IsActive": True,
    },
    {
        "Id": GUS,
        "Name": "Gus Romero",
        "Username": "gus.romero@demo.revsched.dev",
        "Email": "gus.romero@demo.revsched.dev",
        "IsActive": True,
    },
]


def pool(*names: str) -> PoolSettings:
    return PoolSettings(members=[f"{n}@demo.revsched.dev" for n in names])


POOLS = {
    "win-back-ae": pool("eli.novak", "ava.patel", "ben.okafor"),
    "win-back-sdr": pool("fay.nguyen", "gus.romero"),
}
TODAY = date(2026, 11, 23)


def account(
    n: int, churn: str, owner: str = REVOPS, sdr: str | None = None, campaign: str | None = None
) -> dict[str, Any]:
    owner_row = next(u for u in USERS if u["Id"] == owner)
    sdr_row = next((u for u in USERS if u["Id"] == sdr), None)
    return {
        "Id": f"001{n:015d}",
        "Name": f"Account {n}",
        "OwnerId": owner,
        "Owner": {"Name": owner_row["Name"], "Email": owner_row["Email"]},
        "SDR__c": sdr,
        "SDR__r": sdr_row and {"Name": sdr_row["Name"], "Email": sdr_row["Email"]},
        "Churn_Date__c": churn,
        "Win_Back_Campaign__c": campaign,
        "Owner_Assigned_Date__c": "2025-01-06",
        "Account_Status__c": "Churned",
        "Health_Score__c": 41.5,
        "Industry": "Software",
    }


def lost_renewal(n: int, reason: str | None, primary: bool = True) -> dict[str, Any]:
    roles = (
        {
            "totalSize": 1,
            "done": True,
            "records": [
                {
                    "ContactId": f"003{n:015d}",
                    "Contact": {
                        "Name": f"Pat Doe {n}",
                        "Title": "VP Sales",
                        "Email": f"pat{n}@x.example",
                    },
                }
            ],
        }
        if primary
        else None
    )
    return {
        "Id": f"006{n:015d}",
        "Name": f"Account {n} Renewal",
        "AccountId": f"001{n:015d}",
        "CloseDate": "2026-04-30",
        "Loss_Reason__c": reason,
        "OpportunityContactRoles": roles,
    }


def decide(
    accounts: list[dict[str, Any]],
    opportunities: list[dict[str, Any]] = (),  # type: ignore[assignment]
    as_of: date = TODAY,
    fired: frozenset[tuple[str, str]] = frozenset(),
    cursors: dict[str, int] | None = None,
    **config: Any,
):
    ctx = DecideContext(
        as_of=as_of,
        config=WinBackConfig(**config),
        pools=POOLS,
        fired=fired,
        cursors=cursors or {},
    )
    records = {"accounts": accounts, "lost_renewals": list(opportunities), "users": USERS}
    return play.decide(records, ctx)


def changes_of(plan, record_id: str) -> dict[str, tuple[Any, Any]]:
    return {c.field: (c.old, c.new) for c in plan.changes if c.record_id == record_id}


def test_churned_exactly_six_months_ago_is_routed_and_alerted():
    plan = decide([account(1, "2026-05-23")], [lost_renewal(1, "Price")])

    [decision] = plan.decisions
    assert (decision.outcome, decision.stage) == ("selected", "6-month")
    assert "loss reason 'Price'" in decision.reason
    assert changes_of(plan, account(1, "x")["Id"]) == {
        "Win_Back_Campaign__c": (None, "Win Back - Pricing"),
        "OwnerId": (REVOPS, AVA),
        "Owner_Assigned_Date__c": ("2025-01-06", "2026-11-23"),
        "SDR__c": (None, FAY),
    }
    owner_change = next(c for c in plan.changes if c.field == "OwnerId")
    assert "skipped Eli Novak: inactive" in owner_change.reason
    [alert] = plan.alerts
    assert [(r.role, r.name) for r in alert.recipients] == [
        ("AE", "Ava Patel"),
        ("SDR", "Fay Nguyen"),
    ]
    assert alert.context["primary_contact"]["name"] == "Pat Doe 1"
    assert alert.context["months_since_churn"] == 6
    assert [(f.record_id, f.stage) for f in plan.firings] == [(decision.record_id, "6-month")]
    assert plan.cursors == {"win-back-ae": 2, "win-back-sdr": 1}


def test_one_day_short_is_a_near_miss():
    plan = decide([account(1, "2026-05-24")], [lost_renewal(1, "Price")])

    [decision] = plan.decisions
    assert decision.outcome == "skipped"
    assert decision.reason == (
        "not yet due: churned 2026-05-24, 6-month stage due 2026-11-24 (in 1 day)"
    )
    assert plan.is_empty


@pytest.mark.parametrize(
    ("churn", "as_of", "outcome"),
    [
        ("2026-08-31", date(2027, 2, 28), "selected"),  # 31 Aug + 6 months = 28 Feb
        ("2026-08-28", date(2027, 2, 28), "selected"),
        ("2027-08-31", date(2028, 2, 28), "skipped"),  # leap year: due 29 Feb
        ("2027-08-31", date(2028, 2, 29), "selected"),
        ("2026-09-30", date(2027, 3, 29), "skipped"),
        ("2026-09-30", date(2027, 3, 30), "selected"),
    ],
)
def test_calendar_months_clamp_to_month_end(churn: str, as_of: date, outcome: str):
    plan = decide([account(1, churn)], [lost_renewal(1, "Price")], as_of=as_of)

    assert plan.decisions[0].outcome == outcome


@pytest.mark.parametrize(
    ("due", "months"),
    [(date(2027, 2, 28), 6), (date(2028, 2, 29), 6), (date(2026, 11, 30), 6)],
)
def test_query_bound_includes_every_churn_date_due_by_a_month_end(due: date, months: int):
    from dateutil.relativedelta import relativedelta

    bound = latest_start(due, months)
    assert bound + relativedelta(months=months) <= due
    assert (bound + relativedelta(days=1)) + relativedelta(months=months) > due


def test_already_fired_stage_does_not_fire_again():
    acct = account(1, "2026-05-20")
    plan = decide([acct], [lost_renewal(1, "Price")], fired=frozenset({(acct["Id"], "6-month")}))

    [decision] = plan.decisions
    assert decision.outcome == "skipped"
    assert decision.reason == "6-month stage already fired (due 2026-11-20)"
    assert plan.is_empty


def test_caught_up_inside_window_and_reported_outside_it():
    inside = account(1, "2026-04-23")  # 6-month due 2026-10-23: 31 days ago
    edge = account(2, "2026-04-24")  # due 2026-10-24: 30 days ago
    plan = decide([inside, edge], [lost_renewal(1, "Price"), lost_renewal(2, "Price")])

    by_id = {d.record_id: d for d in plan.decisions}
    assert by_id[inside["Id"]].outcome == "skipped"
    assert by_id[inside["Id"]].reason == (
        "missed: 6-month stage was due 2026-10-23, 31 days ago, outside the 30-day catch-up window"
    )
    assert by_id[edge["Id"]].outcome == "selected"
    assert "(caught up 30 days late)" in by_id[edge["Id"]].reason
    assert not changes_of(plan, inside["Id"])


def test_twelve_month_stage_fires_after_six():
    acct = account(1, "2025-11-23", owner=BEN, sdr=GUS, campaign="Win Back - Pricing")
    plan = decide([acct], [lost_renewal(1, "Price")], fired=frozenset({(acct["Id"], "6-month")}))

    [decision] = plan.decisions
    assert (decision.outcome, decision.stage) == ("selected", "12-month")
    # Already assigned and already in the campaign: nothing to write, alert the owner and SDR.
    assert plan.changes == ()
    [alert] = plan.alerts
    assert [(r.role, r.user_id) for r in alert.recipients] == [("AE", BEN), ("SDR", GUS)]
    assert alert.context["months_since_churn"] == 12
    assert not alert.context["newly_assigned"]


def test_no_lost_renewal_takes_the_default_route():
    plan = decide([account(1, "2026-05-23")], [])

    assert changes_of(plan, account(1, "x")["Id"])["Win_Back_Campaign__c"] == (
        None,
        "Win Back - General",
    )
    assert plan.decisions[0].reason.endswith("; no lost renewal opportunity: default route")
    assert plan.alerts[0].context["lost_renewal"] is None


def test_most_recent_lost_renewal_decides_the_route():
    older = {**lost_renewal(1, "Price"), "Id": "006000000000000099", "CloseDate": "2025-04-30"}
    plan = decide([account(1, "2026-05-23")], [lost_renewal(1, "Competitor"), older])

    assert changes_of(plan, account(1, "x")["Id"])["Win_Back_Campaign__c"][1] == (
        "Win Back - Competitive"
    )
    assert plan.alerts[0].context["loss_reasons"] == ["Competitor", "Price"]


def test_no_primary_contact_is_said_in_the_alert():
    plan = decide([account(1, "2026-05-23")], [lost_renewal(1, "Price", primary=False)])

    assert plan.alerts[0].context["primary_contact"] is None


def test_assigned_account_keeps_its_owner_and_sdr():
    plan = decide([account(1, "2026-05-23", owner=BEN, sdr=GUS)], [lost_renewal(1, "Price")])

    assert changes_of(plan, account(1, "x")["Id"]) == {
        "Win_Back_Campaign__c": (None, "Win Back - Pricing")
    }


def test_round_robin_continues_from_the_saved_cursor_and_spreads_work():
    accounts = [account(n, "2026-05-23") for n in (1, 2, 3)]
    plan = decide(
        accounts, [lost_renewal(n, "Price") for n in (1, 2, 3)], cursors={"win-back-ae": 2}
    )

    owners = [c.new for c in plan.changes if c.field == "OwnerId"]
    assert owners == [BEN, AVA, BEN]  # Eli (inactive) is skipped each time round
    assert plan.cursors["win-back-ae"] == 0


def test_unassigned_account_with_nobody_to_take_it_is_skipped_not_fired():
    pools = {**POOLS, "win-back-ae": pool("eli.novak")}
    ctx = DecideContext(as_of=TODAY, config=WinBackConfig(), pools=pools)
    records = {"accounts": [account(1, "2026-05-23")], "lost_renewals": [], "users": USERS}
    plan = play.decide(records, ctx)

    assert plan.decisions[0].reason == (
        "unassigned and nobody in pool 'win-back-ae' can take it (Eli Novak: inactive)"
    )
    assert plan.is_empty


def test_unknown_pool_member_is_a_config_error():
    pools = {**POOLS, "win-back-sdr": pool("nobody")}
    ctx = DecideContext(as_of=TODAY, config=WinBackConfig(), pools=pools)

    with pytest.raises(ConfigError, match=r"pools\.win-back-sdr\.members: no user with Username"):
        play.decide({"accounts": [], "lost_renewals": [], "users": USERS}, ctx)


def test_queries_quote_values_and_bound_churn_dates():
    ctx = DecideContext(
        as_of=TODAY, config=WinBackConfig(former_customer_value="Ex'Customer"), pools=POOLS
    )
    soql = queries(ctx)

    assert "Type = 'Ex\\'Customer'" in soql["accounts"]
    # near_miss_days (7) ahead is 30 Nov, a month end: 31 May + 6 months is due by then.
    assert "Churn_Date__c <= 2026-05-31" in soql["accounts"]
    # 12 months + catch_up_days (30) + report_missed_days (90) back

    assert "Churn_Date__c >= 2025-07-26" in soql["accounts"]
    assert "'ava.patel@demo.revsched.dev'" in soql["users"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"catch_up_dayz": 3}, "plays.win-back.catch_up_dayz: unknown key"),
        ({"stages_months": [12, 6]}, "plays.win-back.stages_months = [12, 6]: stages must be"),
        (
            {"churn_date_field": "Churn Date"},
            "plays.win-back.churn_date_field = 'Churn Date': expected text matching",
        ),
        (
            {"catch_up_days": "soon"},
            "plays.win-back.catch_up_days = 'soon': expected a whole number",
        ),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"win-back": section}))

    assert message in str(error.value)


def test_field_change_values_are_plain_data():
    plan = decide([account(1, "2026-05-23")], [lost_renewal(1, "Price")])

    assert all(isinstance(c, FieldChange) for c in plan.changes)
    assert type(plan).model_validate_json(plan.model_dump_json()) == plan


def test_route_to_an_undefined_pool_is_a_config_error():
    ctx = DecideContext(
        as_of=TODAY,
        config=WinBackConfig(default_route={"campaign": "X", "ae_pool": "ghosts"}),
        pools=POOLS,
    )

    with pytest.raises(ConfigError, match=r"pools.ghosts: no such pool; define \[pools.ghosts\]"):
        play.decide({"accounts": [], "lost_renewals": [], "users": USERS}, ctx)


@pytest.mark.parametrize(
    ("reason", "campaign", "why"),
    [
        (
            "Champion Left",
            "Win Back - General",
            "loss reason 'Champion Left' has no route: default route",
        ),
        (None, "Win Back - General", "the lost renewal has no loss reason: default route"),
        ("No Budget", "Win Back - Pricing", "loss reason 'No Budget'"),
    ],
)
def test_loss_reason_routes(reason: str | None, campaign: str, why: str):
    plan = decide([account(1, "2026-05-23")], [lost_renewal(1, reason)])

    campaign_change = next(c for c in plan.changes if c.field == "Win_Back_Campaign__c")
    assert campaign_change.new == campaign
    assert campaign_change.reason == f"6-month win-back: {why}"


def test_owner_assigned_for_this_stage_is_still_told_the_account_is_theirs():
    # An interrupted run assigned the account but never sent the alert.
    acct = {**account(1, "2026-05-23", owner=AVA, sdr=FAY), "Owner_Assigned_Date__c": "2026-11-23"}
    plan = decide([acct], [lost_renewal(1, "Price")])

    assert plan.alerts[0].context["newly_assigned"]
