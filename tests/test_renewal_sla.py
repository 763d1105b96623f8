"""renewal-sla: checkpoints and stages, the Task, at-risk rules and digest, and the demo org."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.format import format_soql

from revsched.alerts import AlertRenderer
from revsched.config import Settings
from revsched.errors import ConfigError
from revsched.jobs.renewal_sla import AtRiskRule, RenewalSlaConfig, play, queries
from revsched.localorg import LocalOrg
from revsched.localorg.demo import RENEWAL_FIXTURES, build_demo_org, company_domain
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
PAULA, JADE, KOFI = (f"005{n:015d}" for n in range(1, 4))
USERS = {
    PAULA: ("Paula Costa", "paula.costa@demo.revsched.dev", True),
    JADE: ("Jade Wilson", "jade.wilson@demo.revsched.dev", True),
    KOFI: ("Kofi Mensah", "kofi.mensah@demo.revsched.dev", False),
}
USER_ROWS = [
    {"Id": i, "Name": n, "Username": u, "Email": u, "IsActive": a} for i, (n, u, a) in USERS.items()
]
STAGE_ROWS = [
    {"ApiName": name, "SortOrder": n}
    for n, name in enumerate(
        ["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation"], start=1
    )
]
OPP_ID = "006000000000000001"


def opportunity(
    days: int,
    stage: str = "Prospecting",
    *,
    owner: str = JADE,
    as_of: date = TODAY,
    account_days: int | None = None,
    task_keys: tuple[str, ...] = (),
    **fields: Any,
) -> dict[str, Any]:
    """An open renewal `days` from its renewal date, healthy and quoted unless told otherwise."""
    name, email, active = USERS[owner]
    renewal = (as_of + timedelta(days=days)).isoformat()
    account_renewal = (as_of + timedelta(days=account_days or days)).isoformat()
    return {
        "Id": OPP_ID,
        "Name": "Acme Co. Renewal 2027",
        "StageName": stage,
        "OwnerId": owner,
        "Owner": {"Name": name, "Email": email, "IsActive": active},
        "AccountId": "001000000000000001",
        "Account": {"Name": "Acme Co.", "Renewal_Date__c": account_renewal},
        "Renewal_Date__c": renewal,
        "Amount": 48000.0,
        "Health_Score__c": 80.0,
        "Has_Primary_Quote__c": True,
        "Churn_Risk_Notes__c": None,
        "Tasks": {"records": [{"Revsched_Key__c": k} for k in task_keys]} if task_keys else None,
        **fields,
    }


def decide(
    opportunities: list[dict[str, Any]],
    as_of: date = TODAY,
    fired: frozenset[tuple[str, str]] = frozenset(),
    **config: Any,
):
    ctx = DecideContext(as_of=as_of, config=RenewalSlaConfig(**config), fired=fired)
    records = {"opportunities": opportunities, "users": USER_ROWS, "stages": STAGE_ROWS}
    return play.decide(records, ctx)


def outcome(plan) -> tuple[str, str | None, str]:
    [decision] = plan.decisions
    return decision.outcome, decision.stage, decision.reason


def sla_alerts(plan) -> list:
    return [a for a in plan.alerts if a.template == "renewal_sla.j2"]


def render(alert) -> str:
    return AlertRenderer("https://acme.my.salesforce.com").render(alert).text


# --- Checkpoints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "stage", "fires"),
    [
        (120, "Prospecting", "120-day"),
        (120, "Qualification", None),
        (90, "Qualification", "90-day"),
        (90, "Needs Analysis", None),
        (60, "Needs Analysis", "60-day"),
        (60, "Proposal", None),
        (60, "Negotiation", None),
    ],
)
def test_each_checkpoint_expects_its_stage(days: int, stage: str, fires: str | None):
    plan = decide([opportunity(days, stage)])

    decision, label, reason = outcome(plan)
    assert label == f"{days}-day"
    if fires:
        assert decision == "selected"
        assert [c.key for c in plan.creates] == [f"renewal-sla:{OPP_ID}:{days}"]
        assert [(a.record_id, a.stage) for a in sla_alerts(plan)] == [(OPP_ID, fires)]
    else:
        assert decision == "skipped" and reason.startswith("on track: ")
        assert plan.creates == () and sla_alerts(plan) == []


def test_behind_renewal_reason_names_stage_and_checkpoint():
    assert outcome(decide([opportunity(85)])) == (
        "selected",
        "90-day",
        "Prospecting at 85 days to renewal (2027-02-16), behind Needs Analysis expected by"
        " the 90-day checkpoint",
    )


def test_only_the_tightest_crossed_checkpoint_fires():
    plan = decide([opportunity(85)])

    assert [c.key for c in plan.creates] == [f"renewal-sla:{OPP_ID}:90"]
    assert [(f.record_id, f.stage) for f in plan.firings] == [(OPP_ID, "90-day")]


def test_before_the_first_checkpoint_is_a_near_miss():
    plan = decide([opportunity(121)])

    assert outcome(plan) == (
        "skipped",
        None,
        "121 days to renewal: the 120-day checkpoint is in 1 day",
    )
    assert plan.is_empty


@pytest.mark.parametrize(("days", "fires"), [(30, True), (29, False)])
def test_missed_checkpoints_are_caught_up_within_catch_up_days(days: int, fires: bool):
    plan = decide([opportunity(days, "Needs Analysis")])

    if fires:
        assert outcome(plan)[0] == "selected"
    else:
        assert outcome(plan) == (
            "skipped",
            "60-day",
            "missed: Needs Analysis at 29 days to renewal; the 60-day checkpoint passed"
            " 31 days ago, outside the 30-day catch-up window",
        )


def test_checkpoints_and_expected_stages_are_config():
    checkpoints = [
        {"days": 45, "expected_stage": "Negotiation"},
        {"days": 150, "expected_stage": "Prospecting"},
    ]
    plan = decide([opportunity(44, "Proposal")], checkpoints=checkpoints)

    assert outcome(plan)[:2] == ("selected", "45-day")
    assert plan.creates[0].key == f"renewal-sla:{OPP_ID}:45"


def test_stage_order_from_config_overrides_the_org():
    order = ["Prospecting", "Needs Analysis", "Qualification", "Proposal", "Negotiation"]
    assert outcome(decide([opportunity(120, "Needs Analysis")]))[0] == "skipped"

    plan = decide([opportunity(120, "Needs Analysis")], stage_order=order)

    assert outcome(plan)[0] == "selected"
    soql = queries(DecideContext(as_of=TODAY, config=RenewalSlaConfig(stage_order=order)))
    assert "stages" not in soql


def test_expected_stage_missing_from_the_order_is_a_config_error():
    with pytest.raises(ConfigError, match=r"expected stage 'Proposal' is not in stage_order"):
        decide([opportunity(60)], stage_order=["Prospecting", "Qualification", "Needs Analysis"])


def test_stage_outside_the_order_is_listed():
    plan = decide([opportunity(90, "Verbal")])

    assert outcome(plan) == (
        "skipped",
        "90-day",
        "stage 'Verbal' is not an open stage in the order",
    )


def test_days_to_renewal_can_count_to_the_accounts_date():
    plan = decide([opportunity(150, account_days=88)], renewal_date_field="Account.Renewal_Date__c")

    assert outcome(plan)[1] == "90-day"
    assert sla_alerts(plan)[0].context["days_to_renewal"] == 88
    soql = queries(
        DecideContext(
            as_of=TODAY, config=RenewalSlaConfig(renewal_date_field="Account.Renewal_Date__c")
        )
    )["opportunities"]
    assert "Account.Renewal_Date__c >= 2026-11-23 AND Account.Renewal_Date__c <= 2027-03-30" in soql


# --- The Task and the alert -----------------------------------------------------------------


def test_task_is_created_once_with_the_action_items_due_on_the_offset():
    plan = decide([opportunity(88, "Qualification")], task_due_days=5)

    [task] = plan.creates
    assert (task.sobject, task.key, task.parent_id) == (
        "Task",
        f"renewal-sla:{OPP_ID}:90",
        OPP_ID,
    )
    assert task.fields == {
        "Subject": "Renewal SLA missed at 90 days: move to Needs Analysis",
        "Description": "- Confirm the renewal date and decision maker with the customer\n"
        "- Review usage and health with the CSM\n"
        "- Send the renewal quote and book the renewal call\n"
        "- Move the opportunity to the expected stage or log why not",
        "ActivityDate": "2026-11-28",
        "OwnerId": JADE,
        "WhatId": OPP_ID,
        "Status": "Not Started",
        "Priority": "High",
    }
    assert plan.changes == ()


def test_task_subject_and_action_items_are_config():
    plan = decide(
        [opportunity(88)],
        task_subject="{opportunity}: {stage} -> {expected_stage} ({checkpoint}d)",
        action_items=["Call the champion"],
        task_priority="Normal",
    )

    fields = plan.creates[0].fields
    assert fields["Subject"] == "Acme Co. Renewal 2027: Prospecting -> Needs Analysis (90d)"
    assert (fields["Description"], fields["Priority"]) == ("- Call the champion", "Normal")


def test_existing_task_key_means_fired_even_with_a_fresh_state_store():
    plan = decide([opportunity(85, task_keys=(f"renewal-sla:{OPP_ID}:90",))])

    assert outcome(plan) == (
        "skipped",
        "90-day",
        "90-day checkpoint already fired: its Task exists",
    )
    assert plan.creates == () and sla_alerts(plan) == [] and plan.firings == ()


def test_existing_tasks_are_found_on_the_configured_key_field():
    record = opportunity(85) | {"Tasks": {"records": [{"Ops_Key__c": f"renewal-sla:{OPP_ID}:90"}]}}
    plan = decide([record], key_field="Ops_Key__c")

    assert plan.creates == ()
    soql = queries(DecideContext(as_of=TODAY, config=RenewalSlaConfig(key_field="Ops_Key__c")))
    assert "(SELECT Ops_Key__c FROM Tasks WHERE Ops_Key__c != null)" in soql["opportunities"]


def test_task_of_an_earlier_checkpoint_does_not_stop_the_next():
    plan = decide([opportunity(85, task_keys=(f"renewal-sla:{OPP_ID}:120",))])

    assert [c.key for c in plan.creates] == [f"renewal-sla:{OPP_ID}:90"]


def test_fired_checkpoint_is_not_fired_again():
    plan = decide([opportunity(85)], fired=frozenset({(OPP_ID, "90-day")}))

    assert outcome(plan) == ("skipped", "90-day", "90-day checkpoint already fired")
    assert plan.creates == ()


def test_inactive_owner_gets_no_task():
    plan = decide([opportunity(85, owner=KOFI)])

    assert outcome(plan)[2] == (
        "behind at the 90-day checkpoint, but its owner Kofi Mensah is inactive:"
        " nobody to give the Task to"
    )
    assert plan.creates == ()


def test_missed_sla_alert_goes_to_the_am():
    [alert] = sla_alerts(decide([opportunity(85)]))

    assert [(r.role, r.user_id) for r in alert.recipients] == [("AM", JADE)]
    assert render(alert) == (GOLDEN / "renewal_sla.txt").read_text(encoding="utf-8").rstrip("\n")


@pytest.mark.parametrize(
    ("as_of", "due"),
    [
        (date(2026, 11, 30), "2026-12-03"),
        (date(2026, 12, 31), "2027-01-03"),
        (date(2028, 2, 27), "2028-03-01"),
        (date(2028, 2, 29), "2028-03-03"),
    ],
)
def test_dates_across_month_ends_and_leap_day(as_of: date, due: str):
    plan = decide([opportunity(90, as_of=as_of)], as_of=as_of)

    assert outcome(plan)[1] == "90-day"
    assert plan.creates[0].fields["ActivityDate"] == due
    renewal = (as_of + timedelta(days=90)).isoformat()
    assert sla_alerts(plan)[0].context["renewal_date"] == renewal


# --- At risk ----------------------------------------------------------------------------------

RECORD = {"Health_Score__c": 45.0, "Notes__c": "Budget freeze", "Empty__c": "", "Nothing__c": None}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("Health_Score__c", "<", 50, True),
        ("Health_Score__c", "<", 45, False),
        ("Health_Score__c", "<=", 45, True),
        ("Health_Score__c", ">", 45, False),
        ("Health_Score__c", ">=", 45, True),
        ("Health_Score__c", "=", 45, True),
        ("Health_Score__c", "!=", 45, False),
        ("Notes__c", "contains", "FREEZE", True),
        ("Notes__c", "contains", "churn", False),
        ("Nothing__c", "is_null", None, True),
        ("Empty__c", "is_null", None, True),
        ("Notes__c", "is_null", None, False),
        ("Notes__c", "not_null", None, True),
        ("Nothing__c", "not_null", None, False),
        ("Nothing__c", "<", 50, False),
        ("Nothing__c", "!=", 50, False),
    ],
)
def test_at_risk_rule_operators(field: str, op: str, value: Any, expected: bool):
    rule = AtRiskRule(field=field, operator=op, value=value, label="x")

    assert rule.matches(RECORD, 30) is expected


def test_at_risk_rule_on_a_related_field_and_within_days():
    rule = AtRiskRule(
        field="Account.Name", operator="contains", value="acme", label="x", within_days=60
    )

    assert rule.matches(opportunity(60), 60) is True
    assert rule.matches(opportunity(61), 61) is False


def test_at_risk_rule_comparing_unlike_values_is_a_config_error():
    rule = AtRiskRule(field="Notes__c", operator="<", value=3, label="x")

    with pytest.raises(ConfigError, match=r"at_risk_rules: Notes__c < 3 cannot compare"):
        rule.matches(RECORD, 30)


AT_RISK = [
    opportunity(118, "Qualification", Health_Score__c=35.0) | {"Id": "006000000000000002"},
    opportunity(58, "Proposal", Has_Primary_Quote__c=False) | {"Id": "006000000000000003"},
    opportunity(61, "Needs Analysis", Has_Primary_Quote__c=False) | {"Id": "006000000000000004"},
    opportunity(85, "Needs Analysis", Churn_Risk_Notes__c="Budget freeze", Health_Score__c=20.0)
    | {"Id": "006000000000000005", "Name": "Beta Renewal"},
    opportunity(125, "Prospecting", Health_Score__c=10.0) | {"Id": "006000000000000006"},
]


def test_at_risk_renewals_go_to_leadership_as_one_digest_and_the_report():
    plan = decide(AT_RISK)

    [digest] = [a for a in plan.alerts if a.template == "renewal_sla_digest.j2"]
    assert (digest.record_id, digest.stage) == (PAULA, "at-risk 2026-11-23")
    assert [(r.role, r.user_id) for r in digest.recipients] == [("AM leadership", PAULA)]
    rows = plan.reports["at-risk"]
    assert [(r["opportunity_id"], r["at_risk_because"]) for r in rows] == [
        ("006000000000000002", "health score below 40"),
        ("006000000000000003", "no primary quote 60 days out"),
        ("006000000000000005", "health score below 40; churn risk notes"),
    ]
    assert rows[0] == {
        "opportunity": "Acme Co. Renewal 2027",
        "opportunity_id": "006000000000000002",
        "account": "Acme Co.",
        "owner": "Jade Wilson",
        "amount": 48000.0,
        "stage": "Qualification",
        "renewal_date": "2027-03-21",
        "days_to_renewal": 118,
        "at_risk_because": "health score below 40",
    }
    assert digest.context["rows"] == rows
    assert (PAULA, "at-risk 2026-11-23") in {(f.record_id, f.stage) for f in plan.firings}
    assert render(digest) == (
        (GOLDEN / "renewal_sla_digest.txt").read_text(encoding="utf-8").rstrip("\n")
    )


def test_digest_is_sent_once_a_day_but_the_report_is_always_made():
    plan = decide(AT_RISK, fired=frozenset({(PAULA, "at-risk 2026-11-23")}))

    assert [a.template for a in plan.alerts].count("renewal_sla_digest.j2") == 0
    assert len(plan.reports["at-risk"]) == 3


def test_no_digest_without_at_risk_renewals():
    plan = decide([opportunity(100, "Qualification")])

    assert plan.alerts == () and plan.reports == {"at-risk": []}


def test_at_risk_rules_are_config():
    rules = [{"field": "Health_Score__c", "operator": ">=", "value": 80, "label": "too healthy"}]
    plan = decide([opportunity(100, "Qualification")], at_risk_rules=rules)

    assert [r["at_risk_because"] for r in plan.reports["at-risk"]] == ["too healthy"]


# --- Queries and config -------------------------------------------------------------------------


def test_query_reads_open_renewals_in_the_window_and_their_revsched_tasks():
    soql = queries(DecideContext(as_of=date(2028, 2, 29), config=RenewalSlaConfig()))

    opportunities = soql["opportunities"]
    assert "(SELECT Revsched_Key__c FROM Tasks WHERE Revsched_Key__c != null)" in opportunities
    assert (
        "FROM Opportunity WHERE IsClosed = false AND Type = 'Renewal'"
        " AND Renewal_Date__c >= 2028-02-29 AND Renewal_Date__c <= 2028-07-05"
        " ORDER BY Renewal_Date__c, Id"
    ) in opportunities
    assert "Health_Score__c, Has_Primary_Quote__c, Churn_Risk_Notes__c" in opportunities
    assert soql["stages"].endswith("WHERE IsActive = true AND IsClosed = false ORDER BY SortOrder")
    assert soql["users"].endswith("WHERE Username IN ('paula.costa@demo.revsched.dev')")


def test_unknown_leadership_user_is_a_config_error():
    with pytest.raises(ConfigError, match=r"plays\.renewal-sla\.leadership_users: no user"):
        decide([], leadership_users=["ceo@demo.revsched.dev"])


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"at_risk_rules": [{"field": "X__c", "operator": "<", "label": "x"}]},
            "operator '<' needs a value",
        ),
        (
            {"at_risk_rules": [{"field": "X__c", "operator": "is_null", "value": 1, "label": "x"}]},
            "operator 'is_null' takes no value",
        ),
        (
            {"at_risk_rules": [{"field": "X__c", "operator": "~", "value": 1, "label": "x"}]},
            "plays.renewal-sla.at_risk_rules.0.operator = '~': expected",
        ),
        (
            {
                "checkpoints": [
                    {"days": 60, "expected_stage": "A"},
                    {"days": 60, "expected_stage": "B"},
                ]
            },
            "two checkpoints have the same days",
        ),
        ({"task_subject": "{owner} missed"}, "unknown placeholder 'owner' in the subject"),
        ({"renewal_date_field": "Account..Date"}, "plays.renewal-sla.renewal_date_field"),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"renewal-sla": section}))

    assert message in str(error.value)


# --- End to end, on the demo org ----------------------------------------------------------------


def revsched_tasks(path: Path) -> dict[str, dict[str, Any]]:
    sf = LocalOrg(path).salesforce()
    soql = (
        "SELECT Revsched_Key__c, Subject, ActivityDate, OwnerId, WhatId, Status, Priority"
        " FROM Task WHERE Revsched_Key__c != null"
    )
    return {row["Revsched_Key__c"]: row for row in sf.query_all(soql)["records"]}


def test_dry_run_then_apply_then_reruns_that_create_nothing(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]], tmp_path: Path
):
    dry = run_json(
        "renewal-sla", "--dry-run", "--as-of", TODAY.isoformat(), "--report-dir", "reports"
    )
    plan = dry["plan"]
    selected = {d["record_id"] for d in plan["decisions"] if d["outcome"] == "selected"}
    assert selected and any(d["outcome"] == "skipped" for d in plan["decisions"])
    assert {d["stage"] for d in plan["decisions"] if d["outcome"] == "selected"} == {
        "120-day",
        "90-day",
        "60-day",
    }
    by_name = {d["record_name"]: d for d in plan["decisions"]}
    # Renewals are named "Renewal <year> - @<domain stem>", or "<account> Renewal".
    fixtures = {
        f.name: next(
            n for n in by_name if f.name in n or n.endswith(company_domain(f.name)[: -len(".com")])
        )
        for f in RENEWAL_FIXTURES
    }
    assert {f: (by_name[n]["outcome"], by_name[n]["stage"]) for f, n in fixtures.items()} == {
        "Galloway Freightlines": ("selected", "120-day"),
        "Hollis Ceramics": ("selected", "90-day"),
        "Iverson Mills": ("skipped", "60-day"),
        "Juniper Ridge Dental": ("skipped", None),
    }
    assert {c["parent_id"] for c in plan["creates"]} == selected
    assert revsched_tasks(demo_org) == {}
    assert any(a["stage"] == "at-risk 2026-11-23" for a in dry["alerts"])
    with (tmp_path / "reports" / "renewal-sla-at-risk-2026-11-23.csv").open() as stream:
        report = list(csv.DictReader(stream))
    assert report and len(report) == len(plan["reports"]["at-risk"])

    applied = run_json("renewal-sla", "--as-of", TODAY.isoformat())

    assert applied["status"] == "succeeded"
    assert applied["plan"]["creates"] == plan["creates"]
    tasks = revsched_tasks(demo_org)
    assert set(tasks) == {c["key"] for c in plan["creates"]}
    for create in plan["creates"]:
        row = tasks[create["key"]]
        assert {f: row[f] for f in create["fields"] if f != "Description"} == {
            f: v for f, v in create["fields"].items() if f != "Description"
        }

    rerun = run_json("renewal-sla", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["creates"] == [] and rerun["alerts"] == []
    assert rerun["plan"]["changes"] == [] and rerun["plan"]["firings"] == []

    (revsched_home / "state.sqlite").unlink()
    fresh = run_json("renewal-sla", "--as-of", TODAY.isoformat())
    assert fresh["plan"]["creates"] == []
    assert all(a["stage"].startswith("at-risk") for a in fresh["alerts"])
    assert set(revsched_tasks(demo_org)) == set(tasks)


def test_default_demo_org_has_renewals_behind_at_every_checkpoint(
    revsched_home: Path, run_json: Callable[..., dict[str, Any]]
):
    revsched_home.mkdir()
    build_demo_org(revsched_home / "demo-org.sqlite", accounts=300, seed=7, today=TODAY).close()

    dry = run_json("renewal-sla", "--dry-run", "--as-of", TODAY.isoformat())

    decisions = dry["plan"]["decisions"]
    assert {d["stage"] for d in decisions if d["outcome"] == "selected"} == {
        "120-day",
        "90-day",
        "60-day",
    }
    assert any(d["reason"].startswith("on track: ") for d in decisions)
    assert [a["stage"] for a in dry["alerts"]].count("at-risk 2026-11-23") == 1


def test_month_end_run_fires_the_next_checkpoints(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
):
    plan = run_json("renewal-sla", "--dry-run", "--as-of", "2026-12-01")["plan"]

    creates = plan["creates"]
    assert creates
    assert {c["fields"]["ActivityDate"] for c in creates} == {"2026-12-04"}
    sf = LocalOrg(demo_org).salesforce()
    for create in creates:
        checkpoint = int(create["key"].rsplit(":", 1)[1])
        [opp] = sf.query_all(
            format_soql(
                "SELECT Renewal_Date__c FROM Opportunity WHERE Id = {}", create["parent_id"]
            )
        )["records"]
        days = (date.fromisoformat(opp["Renewal_Date__c"]) - date(2026, 12, 1)).days
        assert checkpoint - 30 <= days <= checkpoint


def test_leap_day_on_an_org_built_for_it(
    revsched_home: Path, run_json: Callable[..., dict[str, Any]]
):
    leap = date(2028, 2, 29)
    revsched_home.mkdir()
    build_demo_org(revsched_home / "demo-org.sqlite", accounts=60, seed=7, today=leap).close()

    dry = run_json("renewal-sla", "--dry-run", "--as-of", leap.isoformat())

    creates = dry["plan"]["creates"]
    assert creates and {c["fields"]["ActivityDate"] for c in creates} == {"2028-03-03"}
    assert all(
        a["text"].startswith("*Renewal SLA missed") or a["stage"] == "at-risk 2028-02-29"
        for a in dry["alerts"]
    )
