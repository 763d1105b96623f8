"""queue-recycle: which leads move to which queue, the managers' digests, the demo org."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from harness import RecordingNotifier, run_named
from typer.testing import CliRunner

from revsched.alerts import AlertRenderer
from revsched.cli import app
from revsched.config import ApiSettings, Settings
from revsched.errors import ConfigError
from revsched.jobs.queue_recycle import QueueRecycleConfig, play, queries
from revsched.localorg import FaultProfile, LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.play import DecideContext
from revsched.state import StateStore

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
OMAR, PAULA, FAY, GUS, IVAN, KIM = (f"005{n:015d}" for n in range(1, 7))
MANAGERS = {OMAR: "Omar Haddad", PAULA: "Paula Costa"}


def rep(user_id: str, name: str, manager: str | None) -> dict[str, Any]:
    username = name.lower().replace(" ", ".") + "@demo.revsched.dev"
    return {
        "Id": user_id,
        "Name": name,
        "Username": username,
        "Email": username,
        "IsActive": True,
        "ManagerId": manager,
        "Manager": manager
        and {"Name": MANAGERS[manager], "Email": f"{manager}@x.example", "IsActive": True},
    }


REPS = [
    rep(FAY, "Fay Nguyen", OMAR),
    rep(GUS, "Gus Romero", OMAR),
    rep(IVAN, "Ivan Petrov", None),
    rep(KIM, "Kim Lee", PAULA),
]
STATUSES = ("Recycle", "Bad Data", "Ineligible", "Inquiry", "Disqualified")
QUEUES = [
    {"Id": f"00G{n:015d}", "Name": s + " Queue", "DeveloperName": s.replace(" ", "_") + "_Queue"}
    for n, s in enumerate(STATUSES, start=1)
]
QUEUE_ID = {s: q["Id"] for s, q in zip(STATUSES, QUEUES, strict=True)}


def lead(n: int, status: str, owner: str = FAY, sequenced: bool = False) -> dict[str, Any]:
    return {
        "Id": f"00Q{n:015d}",
        "Name": f"Lead {n}",
        "Company": f"Company {n}",
        "OwnerId": owner,
        "Status": status,
        "Actively_Being_Sequenced__c": sequenced,
    }


def decide(
    leads: list[dict[str, Any]],
    as_of: date = TODAY,
    queues: list[dict[str, Any]] = QUEUES,
    fired: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
    **config: Any,
):
    ctx = DecideContext(as_of=as_of, config=QueueRecycleConfig(**config), fired=frozenset(fired))
    return play.decide({"leads": leads, "sales_dev": REPS, "queues": queues}, ctx)


def test_dead_leads_go_to_the_queue_for_their_status():
    leads = [lead(n, status) for n, status in enumerate(STATUSES, start=1)]
    plan = decide(leads)

    assert [(c.record_id, c.field, c.old, c.new) for c in plan.changes] == [
        (f"00Q{n:015d}", "OwnerId", FAY, QUEUE_ID[status])
        for n, status in enumerate(STATUSES, start=1)
    ]
    assert plan.changes[1].reason == "Bad Data: to Bad Data Queue until it re-MQLs"
    assert {d.outcome for d in plan.decisions} == {"selected"}
    assert plan.decisions[0].reason == (
        "Recycle, not in a sequence, owned by Sales Dev user Fay Nguyen"
    )
    # The manager's digest fires for the week, and covers the leads it lists.
    assert [(f.record_id, f.stage) for f in plan.firings] == [(OMAR, "2026-W48")]
    assert [f.record_id for f in plan.alerts[0].covers] == [c.record_id for c in plan.changes]


def test_lead_in_an_active_sequence_stays_with_its_rep():
    plan = decide([lead(1, "Recycle", sequenced=True)])

    [decision] = plan.decisions
    assert (decision.outcome, decision.reason) == (
        "skipped",
        "Recycle lead of Fay Nguyen is in an active sequence (Actively_Being_Sequenced__c = true)",
    )
    assert plan.is_empty


def test_one_digest_per_manager_counted_by_status():
    plan = decide(
        [
            lead(1, "Recycle"),
            lead(2, "Bad Data"),
            lead(3, "Recycle", owner=GUS),
            lead(4, "Recycle"),
            lead(5, "Recycle", owner=GUS, sequenced=True),
            lead(6, "Inquiry", owner=KIM),
        ]
    )

    assert [(a.record_id, a.stage) for a in plan.alerts] == [
        (OMAR, "2026-W48"),
        (PAULA, "2026-W48"),
    ]
    omar, paula = plan.alerts
    assert [(r.role, r.user_id, r.name) for r in omar.recipients] == [
        ("manager", OMAR, "Omar Haddad")
    ]
    render = AlertRenderer("https://x").render
    assert render(omar).text.split("\n", 1)[1] == (
        "Omar Haddad, 4 leads your team no longer works have moved to the holding queues"
        " until they re-MQL.\n\n*By status*\n- Recycle: 3 -> Recycle Queue"
        "\n- Bad Data: 1 -> Bad Data Queue\n\n*By rep*\n- Fay Nguyen: 3\n- Gus Romero: 1"
    )
    assert "\n*By status*\n- Inquiry: 1 -> Inquiry Queue\n\n" in render(paula).text


def test_leads_a_digest_of_the_week_listed_are_moved_but_not_listed_again():
    listed = {(OMAR, "2026-W48"), (f"00Q{1:015d}", "2026-W48")}

    again = decide([lead(1, "Recycle")], fired=listed)
    more = decide([lead(1, "Recycle"), lead(2, "Bad Data")], fired=listed)

    assert [c.new for c in again.changes] == [QUEUE_ID["Recycle"]]
    assert (again.alerts, again.firings) == ((), ())
    [digest] = more.alerts
    assert digest.stage == "2026-W48 2026-11-23"
    assert ", 1 lead your team no longer works has moved" in AlertRenderer("x").render(digest).text
    assert [f.record_id for f in digest.covers] == [f"00Q{2:015d}"]


def test_lead_of_a_rep_with_no_manager_moves_without_a_digest():
    plan = decide([lead(1, "Disqualified", owner=IVAN)])

    assert plan.changes[0].new == QUEUE_ID["Disqualified"]
    assert plan.decisions[0].reason.endswith("; no active manager to tell")
    assert plan.alerts == ()


def test_digest_text_matches_golden():
    leads = [lead(1, "Recycle"), lead(2, "Bad Data"), lead(3, "Recycle", owner=GUS)]
    [alert] = decide([*leads, lead(4, "Disqualified")]).alerts

    text = AlertRenderer("https://acme.my.salesforce.com").render(alert).text

    assert text == (GOLDEN / "queue_recycle.txt").read_text(encoding="utf-8").rstrip("\n")


def test_digest_of_one_lead_reads_in_the_singular():
    [alert] = decide([lead(1, "Recycle", owner=KIM)]).alerts

    text = AlertRenderer("https://acme.my.salesforce.com").render(alert).text

    assert "Paula Costa, 1 lead your team no longer works has moved" in text
    assert "until it re-MQLs." in text


@pytest.mark.parametrize(
    ("as_of", "week"),
    [
        (date(2026, 11, 29), "2026-W48"),  # a Sunday: still the week of Monday 23 Nov
        (date(2026, 11, 30), "2026-W49"),
        (date(2026, 12, 31), "2026-W53"),
        (date(2027, 1, 1), "2026-W53"),  # ISO weeks belong to the year of their Thursday
        (date(2028, 2, 29), "2028-W09"),
        (date(2028, 3, 1), "2028-W09"),
    ],
)
def test_digest_stage_is_the_iso_week(as_of: date, week: str):
    plan = decide([lead(1, "Recycle")], as_of=as_of)

    assert plan.alerts[0].stage == week
    assert plan.alerts[0].context["week"] == week


def test_missing_queue_is_a_config_error_before_any_lead_is_looked_at():
    queues = [q for q in QUEUES if q["DeveloperName"] != "Bad_Data_Queue"]

    with pytest.raises(ConfigError) as error:
        decide([], queues=queues)

    assert str(error.value) == (
        "plays.queue-recycle.status_queues.Bad Data: no queue with DeveloperName"
        " 'Bad_Data_Queue' in the org"
    )


def test_unknown_sales_dev_username_is_a_config_error():
    with pytest.raises(ConfigError, match=r"plays\.queue-recycle\.sales_dev_users: no user"):
        decide([], sales_dev_users=["nobody@demo.revsched.dev"])


def test_queries_select_sales_dev_by_role_or_username():
    config = QueueRecycleConfig(sales_dev_users=["kim.lee@demo.revsched.dev"])
    soql = queries(DecideContext(as_of=TODAY, config=config))

    sales_dev = (
        "UserRole.Name IN ('Sales Development') OR Username IN ('kim.lee@demo.revsched.dev')"
    )
    assert soql["leads"] == (
        "SELECT Id, Name, Company, OwnerId, Status, Actively_Being_Sequenced__c FROM Lead"
        " WHERE Status IN ('Recycle','Bad Data','Ineligible','Inquiry','Disqualified')"
        f" AND IsConverted = false AND OwnerId IN (SELECT Id FROM User WHERE {sales_dev})"
        " ORDER BY Status, Name, Id"
    )
    assert f"FROM User WHERE {sales_dev} ORDER BY" in soql["sales_dev"]
    assert "Manager.IsActive" in soql["sales_dev"]
    assert "WHERE Type = 'Queue' AND DeveloperName IN ('Bad_Data_Queue'," in soql["queues"]


def test_queries_with_only_usernames_and_quoted_values():
    config = QueueRecycleConfig(
        sales_dev_roles=[], sales_dev_users=["o'neil@x.example"], status_queues={"Dead": "Q"}
    )
    soql = queries(DecideContext(as_of=TODAY, config=config))

    assert "WHERE Username IN ('o\\'neil@x.example')" in soql["sales_dev"]
    assert "UserRole" not in soql["leads"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"sales_dev_roles": []},
            "plays.queue-recycle: set sales_dev_roles or sales_dev_users",
        ),
        ({"status_queues": {}}, "plays.queue-recycle.status_queues: expected at"),
        (
            {"manager_field": "Manager.Id"},
            "plays.queue-recycle.manager_field = 'Manager.Id': expected text matching",
        ),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"queue-recycle": section}))

    assert message in str(error.value)


# --- End to end, on the demo org ---------------------------------------------------------

DEAD = "('Recycle', 'Bad Data', 'Ineligible', 'Inquiry', 'Disqualified')"


def dead_leads(path: Path, owners: str) -> dict[str, dict[str, Any]]:
    """Unconverted leads in a recycled status whose owner matches the User condition."""
    sf = LocalOrg(path).salesforce()
    rows = sf.query_all(
        f"SELECT Id, OwnerId, Actively_Being_Sequenced__c FROM Lead WHERE Status IN {DEAD}"
        f" AND IsConverted = false AND OwnerId IN (SELECT Id FROM User WHERE {owners})"
    )["records"]
    return {row["Id"]: row for row in rows}


def test_dry_run_then_apply_then_a_rerun_that_plans_nothing(
    demo_org: Path,
    run_json: Callable[..., dict[str, Any]],
    org_values: Callable[..., dict[tuple[str, str], Any]],
):
    sales_dev = dead_leads(demo_org, "UserRole.Name = 'Sales Development'")
    others = dead_leads(demo_org, "UserRole.Name != 'Sales Development'")
    sequenced = {i for i, r in sales_dev.items() if r["Actively_Being_Sequenced__c"]}
    free = set(sales_dev) - sequenced
    assert free and sequenced and others, "the demo org has leads to move and leads to leave"

    dry = run_json("queue-recycle", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    by_outcome = {
        outcome: {d["record_id"] for d in plan["decisions"] if d["outcome"] == outcome}
        for outcome in ("selected", "skipped")
    }
    assert by_outcome == {"selected": free, "skipped": sequenced}
    assert {c["record_id"] for c in plan["changes"]} == free
    planned_old = {(c["record_id"], c["field"]): c["old"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_old
    omar = (
        LocalOrg(demo_org)
        .salesforce()
        .query("SELECT Id FROM User WHERE Username = 'omar.haddad@demo.revsched.dev'")["records"][
            0
        ]["Id"]
    )
    [digest] = dry["alerts"]
    assert (digest["record_id"], digest["stage"]) == (omar, "2026-W48")
    assert f"Omar Haddad, {len(free)} leads your team no longer works" in digest["text"]

    applied = run_json("queue-recycle", "--as-of", TODAY.isoformat())

    assert applied["status"] == "succeeded"
    assert applied["plan"]["changes"] == plan["changes"]
    planned_new = {(c["record_id"], c["field"]): c["new"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_new
    assert set(dead_leads(demo_org, "UserRole.Name = 'Sales Development'")) == sequenced
    assert dead_leads(demo_org, "UserRole.Name != 'Sales Development'") == others

    rerun = run_json("queue-recycle", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["changes"] == [] and rerun["alerts"] == []
    assert {d["record_id"] for d in rerun["plan"]["decisions"]} == sequenced


def test_missing_queue_stops_the_run_before_anything_is_written(demo_org: Path, tmp_path: Path):
    (tmp_path / "revsched.toml").write_text(
        '[plays.queue-recycle]\nstatus_queues = { "Recycle" = "Recycle_Queue",'
        ' "Bad Data" = "Bad_Data_Q" }\n',
        encoding="utf-8",
    )
    before = dead_leads(demo_org, "UserRole.Name = 'Sales Development'")

    result = CliRunner().invoke(app, ["run", "queue-recycle", "--as-of", TODAY.isoformat()])

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: plays.queue-recycle.status_queues.Bad Data: no queue with DeveloperName"
        " 'Bad_Data_Q' in the org"
    )
    assert dead_leads(demo_org, "UserRole.Name = 'Sales Development'") == before


def test_a_saved_plan_applied_twice_sends_its_digest_once(
    demo_org: Path, tmp_path: Path, run_json: Callable[..., dict[str, Any]]
):
    plan = tmp_path / "plan.json"
    run_json("queue-recycle", "--dry-run", "--as-of", TODAY.isoformat(), "--out", str(plan))

    first = CliRunner().invoke(app, ["apply", str(plan), "--json"])
    second = CliRunner().invoke(app, ["apply", str(plan), "--json"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    first_run, second_run = json.loads(first.stdout), json.loads(second.stdout)
    assert first_run["counts"]["alerts_sent"] == len(first_run["plan"]["alerts"]) == 1
    # Every lead moved already, and the manager's digest of the week went out.
    assert second_run["counts"]["alerts_sent"] == 0
    assert second_run["counts"]["applied"] == 0


def test_digest_waits_while_every_lead_write_fails_and_goes_out_once_they_are_written(
    tmp_path: Path,
):
    org = build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=7, today=TODAY)
    gateway = OrgGateway(org.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    notifier = RecordingNotifier()
    dry = run_named("queue-recycle", gateway, store, dry_run=True)
    leads = {c.record_id for c in dry.plan.changes}
    [digest] = dry.plan.alerts
    assert leads and {f.record_id for f in digest.covers} == leads
    org.faults = FaultProfile(
        fail_records=dict.fromkeys(leads, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    )

    failed = run_named("queue-recycle", gateway, store, notifier)

    assert notifier.sent == []
    assert failed.status == "partial" and set(failed.failures) == leads
    assert failed.counts["alerts_sent"] == 0 and failed.counts["alerts_held_back"] == 1
    [(key, why)] = failed.alerts_held.items()
    assert key == (digest.record_id, digest.stage)
    assert why.startswith(
        f"not sent: none of the {len(leads)} records it lists that its run writes was written"
    )
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in why

    org.faults = None
    rerun = run_named("queue-recycle", gateway, store, notifier)
    again = run_named("queue-recycle", gateway, store, notifier)

    assert rerun.status == "succeeded" and rerun.counts["applied"] == len(leads)
    assert [alert.key for alert in notifier.sent] == [key]
    assert f"{len(leads)} leads" in notifier.sent[0].text
    assert again.plan.alerts == () and again.counts["applied"] == 0
