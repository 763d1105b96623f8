"""account-review: each criterion on its boundary, both phases, the alerts, and the demo org."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.format import format_soql

from revsched.alerts import AlertRenderer
from revsched.config import Settings
from revsched.errors import ConfigError
from revsched.jobs.account_review import AccountReviewConfig, play, queries
from revsched.localorg import LocalOrg
from revsched.localorg.demo import REVIEW_FIXTURES
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
REVOPS, AVA, ELI = (f"005{n:015d}" for n in range(1, 4))
USERS = {
    REVOPS: ("RevOps Team", "revops@demo.revsched.dev", True),
    AVA: ("Ava Patel", "ava.patel@demo.revsched.dev", True),
    ELI: ("Eli Novak", "eli.novak@demo.revsched.dev", False),
}
USER_ROWS = [
    {"Id": i, "Name": n, "Username": u, "Email": u, "IsActive": a} for i, (n, u, a) in USERS.items()
]
ACCOUNT_ID = "001000000000000001"


def ago(days: int, as_of: date = TODAY) -> str:
    return (as_of - timedelta(days=days)).isoformat()


def account(
    *,
    assigned: int = 120,
    stage: str | None = "Awareness",
    last_activity: int | None = 60,
    opportunities: list[dict[str, Any]] | None = None,
    review: int | None = None,
    owner: str = AVA,
    as_of: date = TODAY,
) -> dict[str, Any]:
    """Ava's named account as the query returns it; by default it meets every criterion."""
    name, email, active = USERS[owner]
    return {
        "Id": ACCOUNT_ID,
        "Name": "Acme Co.",
        "OwnerId": owner,
        "Owner": {"Name": name, "Email": email, "IsActive": active},
        "Owner_Assigned_Date__c": ago(assigned, as_of),
        "Buying_Stage__c": stage,
        "LastActivityDate": None if last_activity is None else ago(last_activity, as_of),
        "Add_Drop_Request__c": None if review is None else "Needs Review",
        "Needs_Review_Date__c": None if review is None else ago(review, as_of),
        "AE__c": owner,
        "Opportunities": {"records": opportunities} if opportunities else None,
    }


def task(days_ago: int, *, done: bool = True, subject: str = "Call: Check in") -> dict[str, Any]:
    return {
        "Id": "00T000000000000001",
        "Subject": subject,
        "AccountId": ACCOUNT_ID,
        "ActivityDate": ago(days_ago),
        "IsClosed": done,
    }


def event(days_ago: int, subject: str = "Demo") -> dict[str, Any]:
    return {
        "Id": "00U000000000000001",
        "Subject": subject,
        "AccountId": ACCOUNT_ID,
        "ActivityDate": ago(days_ago),
    }


def decide(
    accounts: list[dict[str, Any]],
    *,
    tasks: Sequence[dict[str, Any]] = (),
    events: Sequence[dict[str, Any]] = (),
    as_of: date = TODAY,
    **config: Any,
):
    ctx = DecideContext(as_of=as_of, config=AccountReviewConfig(**config))
    records = {"accounts": accounts, "tasks": tasks, "events": events, "users": USER_ROWS}
    return play.decide(records, ctx)


def changes_of(plan) -> dict[str, tuple[Any, Any]]:
    return {c.field: (c.old, c.new) for c in plan.changes}


def outcome(plan) -> tuple[str, str | None, str]:
    [decision] = plan.decisions
    return decision.outcome, decision.stage, decision.reason


def render(plan) -> str:
    [alert] = plan.alerts
    return AlertRenderer("https://acme.my.salesforce.com").render(alert).text


# --- Phase 1: flag --------------------------------------------------------------------


def test_account_meeting_every_criterion_is_flagged():
    plan = decide([account()])

    assert outcome(plan) == (
        "selected",
        "needs-review",
        "assigned 120 days, no open opportunity, buying stage Awareness,"
        " no activity in 28 days and none scheduled",
    )
    assert changes_of(plan) == {
        "Add_Drop_Request__c": (None, "Needs Review"),
        "Needs_Review_Date__c": (None, "2026-11-23"),
    }
    assert [c.reason for c in plan.changes] == [
        "needs-review: meets every review criterion",
        "needs-review: the review starts today",
    ]
    [alert] = plan.alerts
    assert (alert.record_id, alert.stage) == (ACCOUNT_ID, "needs-review")
    assert [(r.role, r.user_id) for r in alert.recipients] == [("AE", AVA)]
    assert alert.context["drop_date"] == "2026-12-23"
    assert plan.firings == () and plan.creates == ()


@pytest.mark.parametrize(("days", "flagged"), [(89, False), (90, True)])
def test_assigned_90_days_boundary(days: int, flagged: bool):
    plan = decide([account(assigned=days)])

    if flagged:
        assert outcome(plan)[0] == "selected"
    else:
        assert outcome(plan) == (
            "skipped",
            None,
            "assigned 89 days ago (2026-08-26), under 90 days",
        )
        assert plan.is_empty


ACTIVITY_SOURCES = {
    "LastActivityDate": lambda days: {"last_activity": days},
    "completed Task": lambda days: {"tasks": [task(days)]},
    "Event": lambda days: {"events": [event(days)]},
}


@pytest.mark.parametrize("source", ACTIVITY_SOURCES)
@pytest.mark.parametrize(("days", "flagged"), [(27, False), (28, False), (29, True)])
def test_activity_in_the_last_28_days_boundary(source: str, days: int, flagged: bool):
    given = ACTIVITY_SOURCES[source](days)
    last = given.pop("last_activity", None)
    plan = decide([account(last_activity=last)], **given)

    if flagged:
        assert outcome(plan)[0] == "selected"
    else:
        assert outcome(plan) == ("skipped", None, f"activity {days} days ago ({ago(days)})")


def test_open_task_dated_today_is_a_future_activity():
    plan = decide([account()], tasks=[task(0, done=False, subject="Call: Intro")])

    assert outcome(plan) == ("skipped", None, "Task 'Call: Intro' scheduled for 2026-11-23")


def test_overdue_open_task_is_neither_activity_nor_scheduled():
    plan = decide([account()], tasks=[task(1, done=False)])

    assert outcome(plan)[:2] == ("selected", "needs-review")


def test_future_event_keeps_the_account():
    plan = decide([account()], events=[event(-5, "QBR")])

    assert outcome(plan) == ("skipped", None, "Event 'QBR' scheduled for 2026-11-28")


def test_open_opportunity_keeps_the_account():
    opportunity = {"Id": "006000000000000001", "Name": "Acme New Business", "StageName": "Proposal"}
    plan = decide([account(opportunities=[opportunity])])

    assert outcome(plan) == ("skipped", None, "open opportunity 'Acme New Business' (Proposal)")


@pytest.mark.parametrize("stage", ["Purchase", "Decision"])
def test_purchase_or_decision_buying_stage_keeps_the_account(stage: str):
    plan = decide([account(stage=stage)])

    assert outcome(plan) == ("skipped", None, f"buying stage {stage}")


@pytest.mark.parametrize("stage", ["Evaluation", None])
def test_earlier_or_no_buying_stage_is_flagged(stage: str | None):
    assert outcome(decide([account(stage=stage)]))[0] == "selected"


def test_near_miss_lists_every_criterion_it_fails():
    opportunity = {"Id": "006000000000000001", "Name": "Acme Renewal", "StageName": "Prospecting"}
    plan = decide(
        [account(assigned=85, stage="Decision", last_activity=3, opportunities=[opportunity])],
        events=[event(-1, "Pricing review")],
    )

    assert outcome(plan)[2] == (
        "assigned 85 days ago (2026-08-30), under 90 days; open opportunity 'Acme Renewal'"
        " (Prospecting); buying stage Decision; activity 3 days ago (2026-11-20);"
        " Event 'Pricing review' scheduled for 2026-11-24"
    )


def test_thresholds_are_config():
    plan = decide([account(assigned=60, last_activity=15)], assigned_days=60, quiet_days=14)

    assert outcome(plan)[0] == "selected"
    assert plan.alerts[0].context["drop_date"] == "2026-12-23"


def test_inactive_owner_is_flagged_but_not_alerted():
    plan = decide([account(owner=ELI)])

    assert outcome(plan)[2].endswith("; the owner is inactive: nobody to alert")
    assert changes_of(plan)["Add_Drop_Request__c"] == (None, "Needs Review")
    assert plan.alerts == ()


# --- Phase 2: resolve -------------------------------------------------------------------


def test_review_at_29_days_waits():
    plan = decide([account(review=29)])

    assert outcome(plan) == (
        "skipped",
        "needs-review",
        "in review since 2026-10-25 (29 days); dropped on 2026-11-24 unless re-engaged",
    )
    assert plan.is_empty


@pytest.mark.parametrize("days", [30, 31])
def test_review_of_30_days_or_more_drops_the_account(days: int):
    plan = decide([account(review=days)])

    assert outcome(plan) == (
        "selected",
        "dropped",
        f"in review since {ago(days)} ({days} days); still meets every review criterion",
    )
    assert changes_of(plan) == {
        "OwnerId": (AVA, REVOPS),
        "AE__c": (AVA, None),
        "Add_Drop_Request__c": ("Needs Review", None),
        "Needs_Review_Date__c": (ago(days), None),
    }
    reasons = {c.field: c.reason for c in plan.changes}
    assert reasons["OwnerId"] == (
        f"dropped: not worked in {days} days of review: the account goes to RevOps Team"
    )
    assert (
        reasons["AE__c"]
        == f"dropped: not worked in {days} days of review: AE taken off the account"
    )
    [alert] = plan.alerts
    assert (alert.stage, [r.user_id for r in alert.recipients]) == ("dropped", [AVA])


def test_re_engagement_clears_the_review():
    plan = decide([account(review=10)], tasks=[task(3)])

    assert outcome(plan) == (
        "selected",
        "re-engaged",
        "in review since 2026-11-13 (10 days); re-engaged: activity 3 days ago (2026-11-20)",
    )
    assert changes_of(plan) == {
        "Add_Drop_Request__c": ("Needs Review", None),
        "Needs_Review_Date__c": ("2026-11-13", None),
    }


def test_re_engagement_after_30_days_clears_rather_than_drops():
    plan = decide([account(review=31)], events=[event(-2)])

    assert outcome(plan)[1] == "re-engaged"
    assert "OwnerId" not in changes_of(plan)


def test_needs_review_without_a_date_starts_its_30_days_today():
    record = account(review=10) | {"Needs_Review_Date__c": None}
    plan = decide([record])

    assert outcome(plan)[1] == "needs-review"
    assert changes_of(plan) == {"Needs_Review_Date__c": (None, "2026-11-23")}


def test_needs_review_without_a_date_on_a_worked_account_is_cleared():
    record = account(review=10) | {"Needs_Review_Date__c": None}
    plan = decide([record], tasks=[task(2)])

    assert outcome(plan) == (
        "selected",
        "re-engaged",
        "in review with no Needs_Review_Date__c; re-engaged: activity 2 days ago (2026-11-21)",
    )
    assert changes_of(plan) == {"Add_Drop_Request__c": ("Needs Review", None)}


# --- Dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "drop_date"),
    [
        (date(2026, 11, 30), "2026-12-30"),
        (date(2026, 12, 31), "2027-01-30"),
        (date(2028, 2, 29), "2028-03-30"),
        (date(2028, 1, 31), "2028-03-01"),
    ],
)
def test_drop_date_across_month_ends_and_leap_day(as_of: date, drop_date: str):
    plan = decide([account(as_of=as_of)], as_of=as_of)

    assert changes_of(plan)["Needs_Review_Date__c"] == (None, as_of.isoformat())
    assert plan.alerts[0].context["drop_date"] == drop_date


@pytest.mark.parametrize(
    ("flagged", "as_of", "dropped"),
    [
        (date(2028, 1, 30), date(2028, 2, 28), False),
        (date(2028, 1, 30), date(2028, 2, 29), True),
        (date(2027, 1, 30), date(2027, 3, 1), True),
    ],
)
def test_phase_2_counts_calendar_days_over_february(flagged: date, as_of: date, dropped: bool):
    record = account(as_of=as_of) | {
        "Add_Drop_Request__c": "Needs Review",
        "Needs_Review_Date__c": flagged.isoformat(),
    }
    plan = decide([record], as_of=as_of)

    assert (outcome(plan)[1], "OwnerId" in changes_of(plan)) == (
        ("dropped", True) if dropped else ("needs-review", False)
    )


# --- Alerts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("golden", "record", "activities"),
    [
        ("account_review_flagged.txt", account(), {}),
        ("account_review_dropped.txt", account(review=31), {}),
        ("account_review_reengaged.txt", account(review=12), {"events": [event(-3, "QBR")]}),
    ],
)
def test_alert_text_matches_golden(golden: str, record: dict[str, Any], activities: dict):
    text = render(decide([record], **activities))

    assert text == (GOLDEN / golden).read_text(encoding="utf-8").rstrip("\n")


# --- Queries and config -----------------------------------------------------------------


def test_query_reads_named_accounts_listable_or_in_review():
    ctx = DecideContext(
        as_of=date(2026, 12, 1), config=AccountReviewConfig(ae_users=["o'neil@x.dev"])
    )
    soql = queries(ctx)

    accounts = (
        "(Owner.UserRole.Name IN ('Account Executive') OR Owner.Username IN ('o\\'neil@x.dev'))"
        " AND Type IN ('Prospect','Customer')"
        " AND ((Add_Drop_Request__c = null AND Owner_Assigned_Date__c <= 2026-09-09)"
        " OR Add_Drop_Request__c = 'Needs Review')"
    )
    assert f"FROM Account WHERE {accounts} ORDER BY Name, Id" in soql["accounts"]
    assert f"AccountId IN (SELECT Id FROM Account WHERE {accounts})" in soql["tasks"]
    assert "ActivityDate >= 2026-11-03" in soql["tasks"]
    assert "ActivityDate >= 2026-11-03" in soql["events"]
    assert soql["users"].endswith("WHERE Username IN ('o\\'neil@x.dev','revops@demo.revsched.dev')")


def test_unknown_ae_user_is_a_config_error():
    with pytest.raises(ConfigError, match=r"plays\.account-review\.ae_users: no user"):
        decide([account()], ae_users=["nobody@demo.revsched.dev"])


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"ae_roles": []}, "set ae_roles or ae_users"),
        ({"near_miss_days": 90}, "near_miss_days must be less than assigned_days"),
        ({"quiet_days": 0}, "plays.account-review.quiet_days = 0: expected greater"),
        ({"account_types": []}, "plays.account-review.account_types = []: expected at least"),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"account-review": section}))

    assert message in str(error.value)


# --- End to end, on the demo org --------------------------------------------------------


def accounts_where(path: Path, condition: str, *values: Any) -> set[str]:
    sf = LocalOrg(path).salesforce()
    soql = format_soql(f"SELECT Id FROM Account WHERE {condition}", *values)
    return {row["Id"] for row in sf.query_all(soql)["records"]}


def stages(plan: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for d in plan["decisions"]:
        if d["outcome"] == "selected":
            found.setdefault(d["stage"], set()).add(d["record_id"])
    return found


def test_demo_org_fixtures_land_on_each_boundary(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
):
    plan = run_json("account-review", "--dry-run", "--as-of", TODAY.isoformat())["plan"]

    by_name = {d["record_name"]: d for d in plan["decisions"]}
    found = {
        fixture.name: (by_name[fixture.name]["outcome"], by_name[fixture.name]["stage"])
        for fixture in REVIEW_FIXTURES
    }
    assert found == {
        "Ashcombe Surveying": ("skipped", None),
        "Bellhaven Optics": ("selected", "needs-review"),
        "Corrigan Tile": ("skipped", None),
        "Delmar Cartage": ("selected", "needs-review"),
        "Everly Upholstery": ("skipped", "needs-review"),
        "Fairbrook Dairy": ("selected", "dropped"),
    }
    assert by_name["Ashcombe Surveying"]["reason"].startswith("assigned 89 days ago")
    assert by_name["Corrigan Tile"]["reason"].startswith("activity 28 days ago")


def test_dry_run_then_apply_then_a_rerun_that_plans_nothing(
    demo_org: Path,
    run_json: Callable[..., dict[str, Any]],
    org_values: Callable[..., dict[tuple[str, str], Any]],
):
    dry = run_json("account-review", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    selected = stages(plan)
    assert set(selected) == {"needs-review", "dropped", "re-engaged"}, selected
    assert any(d["outcome"] == "skipped" for d in plan["decisions"])
    planned_old = {(c["record_id"], c["field"]): c["old"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_old
    assert len(dry["alerts"]) == sum(map(len, selected.values()))

    applied = run_json("account-review", "--as-of", TODAY.isoformat())

    assert applied["status"] == "succeeded"
    assert applied["plan"]["changes"] == plan["changes"]
    planned_new = {(c["record_id"], c["field"]): c["new"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_new
    in_review = accounts_where(
        demo_org, "Add_Drop_Request__c = 'Needs Review' AND Needs_Review_Date__c = {}", TODAY
    )
    assert in_review == selected["needs-review"]
    revops = accounts_where(demo_org, "Owner.Username = 'revops@demo.revsched.dev'")
    assert selected["dropped"] <= revops

    rerun = run_json("account-review", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["changes"] == [] and rerun["alerts"] == []


def test_month_end_run_drops_the_reviews_30_days_old(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
):
    as_of = date(2026, 12, 1)
    due = accounts_where(
        demo_org,
        "Add_Drop_Request__c = 'Needs Review' AND Needs_Review_Date__c <= {}",
        as_of - timedelta(days=30),
    )

    plan = run_json("account-review", "--dry-run", "--as-of", as_of.isoformat())["plan"]

    resolved = stages(plan)
    assert due and due <= resolved["dropped"] | resolved["re-engaged"]
    assert all(
        d["reason"].endswith("unless re-engaged")
        for d in plan["decisions"]
        if d["stage"] == "needs-review" and d["outcome"] == "skipped"
    )


def test_leap_day_run_drops_on_the_30th_day_after(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
):
    dry = run_json("account-review", "--dry-run", "--as-of", "2028-02-29")

    flagged = [a for a in dry["alerts"] if a["stage"] == "needs-review"]
    assert flagged
    assert all("on 2028-03-30." in a["text"] for a in flagged)
