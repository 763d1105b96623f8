"""churn-intake: decisions on plain records, the alert text, and a run on the demo org."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.format import format_soql

from revsched.alerts import AlertRenderer
from revsched.config import Settings
from revsched.errors import ConfigError
from revsched.jobs.churn_intake import ChurnIntakeConfig, play, queries
from revsched.localorg import LocalOrg
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
REVOPS, AVA, ELI, FAY, JADE, LENA = (f"005{n:015d}" for n in range(1, 7))
USERS = {
    REVOPS: ("RevOps Team", "revops@demo.revsched.dev", True),
    AVA: ("Ava Patel", "ava.patel@demo.revsched.dev", True),
    ELI: ("Eli Novak", "eli.novak@demo.revsched.dev", False),
    FAY: ("Fay Nguyen", "fay.nguyen@demo.revsched.dev", True),
    JADE: ("Jade Wilson", "jade.wilson@demo.revsched.dev", True),
    LENA: ("Lena Fischer", "lena.fischer@demo.revsched.dev", True),
}
USER_ROWS = [
    {"Id": i, "Name": n, "Username": u, "Email": u, "IsActive": a} for i, (n, u, a) in USERS.items()
]
LOOKUPS = {
    "OwnerId": "Owner",
    "SDR__c": "SDR__r",
    "AE__c": "AE__r",
    "AM__c": "AM__r",
    "CSM__c": "CSM__r",
    "Solutions_Consultant__c": "Solutions_Consultant__r",
}
TEAM = {"OwnerId": AVA, "SDR__c": FAY, "AE__c": AVA, "AM__c": JADE, "CSM__c": LENA}


def account(n: int, churn: str | None = None, **people: str | None) -> dict[str, Any]:
    """A Former Customer as the accounts query returns it; `people` are lookup -> user Id."""
    record: dict[str, Any] = {"Id": f"001{n:015d}", "Name": f"Account {n}", "Churn_Date__c": churn}
    for lookup, relationship in LOOKUPS.items():
        user_id = {**TEAM, **people}.get(lookup)
        record[lookup] = user_id
        record[relationship] = user_id and dict(
            zip(("Name", "Email", "IsActive"), USERS[user_id], strict=True)
        )
    return record


def decide(accounts: list[dict[str, Any]], as_of: date = TODAY, **config: Any):
    ctx = DecideContext(as_of=as_of, config=ChurnIntakeConfig(**config))
    return play.decide({"accounts": accounts, "users": USER_ROWS}, ctx)


def changes_of(plan) -> dict[str, tuple[Any, Any]]:
    return {c.field: (c.old, c.new) for c in plan.changes}


def test_new_former_customer_goes_to_revops_with_its_team_cleared():
    plan = decide([account(1)])

    [decision] = plan.decisions
    assert decision.outcome == "selected"
    assert decision.reason == "Type = 'Former Customer' with no churn date"
    # Solutions_Consultant__c is already empty: nothing to write there.
    assert changes_of(plan) == {
        "Churn_Date__c": (None, "2026-11-23"),
        "OwnerId": (AVA, REVOPS),
        "SDR__c": (FAY, None),
        "AE__c": (AVA, None),
        "AM__c": (JADE, None),
        "CSM__c": (LENA, None),
    }
    assert {c.field: c.reason for c in plan.changes}["AM__c"] == (
        "churned: AM taken off the account"
    )
    [alert] = plan.alerts
    assert [(r.role, r.user_id) for r in alert.recipients] == [
        ("Owner / AE", AVA),
        ("SDR", FAY),
        ("AM", JADE),
        ("CSM", LENA),
    ]
    assert (alert.record_id, alert.stage) == (account(1)["Id"], "churned")
    assert plan.firings == ()


def test_only_the_configured_assignment_fields_are_cleared():
    config = {"assignment_fields": {"SDR": "SDR__c", "Solutions Consultant": "AE__c"}}
    plan = decide([account(1)], **config)

    assert changes_of(plan) == {
        "Churn_Date__c": (None, "2026-11-23"),
        "OwnerId": (AVA, REVOPS),
        "SDR__c": (FAY, None),
        "AE__c": (AVA, None),
    }
    soql = queries(DecideContext(as_of=TODAY, config=ChurnIntakeConfig(**config)))["accounts"]
    assert "AM__c" not in soql and "CSM__c" not in soql


def test_account_with_a_churn_date_is_left_alone():
    plan = decide([account(1, churn="2026-11-22")])

    [decision] = plan.decisions
    assert (decision.outcome, decision.reason) == (
        "skipped",
        "already has a churn date (2026-11-22): left alone",
    )
    assert plan.is_empty


def test_unstaffed_account_only_gets_its_churn_date_and_no_alert():
    people = dict.fromkeys(TEAM, None) | {"OwnerId": REVOPS}
    plan = decide([account(1, **people)])

    assert changes_of(plan) == {"Churn_Date__c": (None, "2026-11-23")}
    assert plan.decisions[0].reason.endswith("; nobody active on it to alert")
    assert plan.alerts == ()


def test_inactive_people_are_cleared_but_not_alerted():
    plan = decide([account(1, OwnerId=ELI, AE__c=ELI)])

    assert changes_of(plan)["OwnerId"] == (ELI, REVOPS)
    assert changes_of(plan)["AE__c"] == (ELI, None)
    assert ELI not in {r.user_id for r in plan.alerts[0].recipients}


@pytest.mark.parametrize("as_of", [date(2026, 11, 30), date(2026, 12, 1), date(2028, 2, 29)])
def test_churn_date_is_the_run_date(as_of: date):
    plan = decide([account(1)], as_of=as_of)

    assert changes_of(plan)["Churn_Date__c"] == (None, as_of.isoformat())
    assert plan.alerts[0].context["churn_date"] == as_of.isoformat()


@pytest.mark.parametrize(
    ("as_of", "since"),
    [(date(2026, 12, 1), "2026-11-01"), (date(2028, 3, 1), "2028-01-31")],
)
def test_query_reads_new_and_recently_churned_former_customers(as_of: date, since: str):
    ctx = DecideContext(as_of=as_of, config=ChurnIntakeConfig(former_customer_value="Ex'Client"))
    soql = queries(ctx)

    assert (
        f"WHERE Type = 'Ex\\'Client' AND (Churn_Date__c = null OR Churn_Date__c >= {since})"
        in soql["accounts"]
    )
    assert "Solutions_Consultant__r.IsActive" in soql["accounts"]
    assert soql["users"].endswith("WHERE Username = 'revops@demo.revsched.dev'")


def test_unknown_holding_user_is_a_config_error():
    with pytest.raises(ConfigError, match=r"plays\.churn-intake\.holding_user: no user"):
        decide([account(1)], holding_user="ops@demo.revsched.dev")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"assignment_fields": {"Owner": "OwnerId"}},
            "plays.churn-intake.assignment_fields: OwnerId is not a user lookup",
        ),
        (
            {"assignment_fields": {"Tier": "Tier"}},
            "plays.churn-intake.assignment_fields: Tier is not a user lookup",
        ),
        ({"near_miss_days": -1}, "plays.churn-intake.near_miss_days = -1: expected greater"),
        ({"holding_users": ["x"]}, "plays.churn-intake.holding_users: unknown key"),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"churn-intake": section}))

    assert message in str(error.value)


def test_alert_text_matches_golden():
    [alert] = decide([account(1)]).alerts

    text = AlertRenderer("https://acme.my.salesforce.com").render(alert).text

    assert text == (GOLDEN / "churn_intake.txt").read_text(encoding="utf-8").rstrip("\n")


def test_alert_for_an_account_revops_already_held():
    [alert] = decide([account(1, OwnerId=REVOPS, SDR__c=None, AM__c=None, CSM__c=None)]).alerts

    text = AlertRenderer("https://acme.my.salesforce.com").render(alert).text

    assert "It stays with RevOps Team and these assignments are cleared:\n- AE: Ava Patel\n" in text


# --- End to end, on the demo org ---------------------------------------------------------


def former_customers(path: Path, condition: str, *values: Any) -> set[str]:
    sf = LocalOrg(path).salesforce()
    soql = format_soql(
        f"SELECT Id FROM Account WHERE Type = 'Former Customer' AND {condition}", *values
    )
    return {row["Id"] for row in sf.query_all(soql)["records"]}


def test_dry_run_then_apply_then_a_rerun_that_plans_nothing(
    demo_org: Path,
    run_json: Callable[..., dict[str, Any]],
    org_values: Callable[..., dict[tuple[str, str], Any]],
):
    unrecorded = former_customers(demo_org, "Churn_Date__c = null")
    recent = former_customers(demo_org, "Churn_Date__c >= {}", TODAY - timedelta(days=30))
    assert unrecorded and recent, "the demo org has churns to take in and recent ones to skip"

    dry = run_json("churn-intake", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    by_outcome = {
        outcome: {d["record_id"] for d in plan["decisions"] if d["outcome"] == outcome}
        for outcome in ("selected", "skipped")
    }
    assert by_outcome == {"selected": unrecorded, "skipped": recent}
    assert {c["record_id"] for c in plan["changes"]} == unrecorded
    assert len(dry["alerts"]) == len(unrecorded)
    planned_old = {(c["record_id"], c["field"]): c["old"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_old

    applied = run_json("churn-intake", "--as-of", TODAY.isoformat())

    assert applied["status"] == "succeeded"
    assert applied["plan"]["changes"] == plan["changes"]
    planned_new = {(c["record_id"], c["field"]): c["new"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_new
    assert former_customers(demo_org, "Churn_Date__c = null") == set()

    rerun = run_json("churn-intake", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["changes"] == [] and rerun["alerts"] == []
    assert {d["record_id"] for d in rerun["plan"]["decisions"]} == unrecorded | recent


def test_leap_day_run_records_the_leap_day(demo_org: Path, run_json: Callable[..., dict[str, Any]]):
    unrecorded = former_customers(demo_org, "Churn_Date__c = null")

    run_json("churn-intake", "--as-of", "2028-02-29")

    assert former_customers(demo_org, "Churn_Date__c = {}", date(2028, 2, 29)) == unrecorded
