"""lead-status-hygiene: seed 003's four rules, each switchable, digests per person and rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from harness import RecordingNotifier, demo_runs, doctor_failures, run_named

from revsched.alerts import AlertRenderer, RenderedAlert
from revsched.config import ApiSettings, Settings
from revsched.errors import ConfigError
from revsched.jobs.lead_status_hygiene import (
    LeadStatusHygieneConfig,
    next_business_day,
    play,
    queries,
)
from revsched.localorg import FaultProfile, LocalOrg
from revsched.localorg.demo import LEAD_STATUS_FIXTURES
from revsched.naming import renamed
from revsched.org import OrgGateway
from revsched.play import DecideContext
from revsched.state import StateStore

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)  # a Monday
FAY, OMAR, AVA, NORA, REVOPS, SAM = (f"005{n:015d}" for n in range(1, 7))
QUEUE = "00G000000000000001"
LEAD = "00Q000000000000001"


def user(
    user_id: str, name: str, role: str, manager: str | None, profile: str = "Standard User"
) -> dict[str, Any]:
    username = name.lower().replace(" ", ".") + "@demo.revsched.dev"
    return {
        "Id": user_id,
        "Name": name,
        "Username": username,
        "Email": username,
        "IsActive": True,
        "UserRole": {"Name": role},
        "Profile": {"Name": profile},
        "ManagerId": manager,
        "Manager": {"Name": "Manager", "Email": "m@x.example", "IsActive": True}
        if manager
        else None,
    }


USERS = [
    user(FAY, "Fay Nguyen", "Sales Development", OMAR),
    user(OMAR, "Omar Haddad", "SDR Manager", None),
    user(AVA, "Ava Patel", "Account Executive", NORA),
    user(NORA, "Nora Bennett", "Sales Manager", None),
    user(REVOPS, "RevOps Team", "RevOps", None) | {"Username": "revops@demo.revsched.dev"},
    user(SAM, "Sam Ortiz", "Solutions Engineer", NORA, profile="Sales User"),
]


def lead(
    status: str,
    *,
    since: int = 3,
    owner: str = FAY,
    reason: str | None = None,
    tasks: tuple[dict[str, Any], ...] = (),
    events: tuple[dict[str, Any], ...] = (),
    last_activity: int | None = None,
    sequenced: bool = False,
) -> dict[str, Any]:
    return {
        "Id": LEAD,
        "Name": "Ana Silva",
        "Company": "Acme Co.",
        "Status": status,
        "Remarket_Reason__c": reason,
        "Status_Date__c": (TODAY - timedelta(days=since)).isoformat(),
        "CreatedDate": "2026-01-05T10:00:00.000+0000",
        "LastActivityDate": None
        if last_activity is None
        else (TODAY - timedelta(days=last_activity)).isoformat(),
        "OwnerId": owner,
        "Actively_Being_Sequenced__c": sequenced,
        "Tasks": {"records": list(tasks)} if tasks else None,
        "Events": {"records": list(events)} if events else None,
    }


def task(owner: str = FAY, due: int = 1, closed: bool = False, key: str | None = None):
    return {
        "OwnerId": owner,
        "ActivityDate": (TODAY + timedelta(days=due)).isoformat(),
        "IsClosed": closed,
        "Revsched_Key__c": key,
    }


def opportunity(
    name: str,
    *,
    opp_id: str = "006000000000000001",
    account: str = "001000000000000001",
    website: str | None = "https://www.acme.co.uk",
    kind: str = "New Business",
    owner: str = AVA,
) -> dict[str, Any]:
    return {
        "Id": opp_id,
        "Name": name,
        "Type": kind,
        "AccountId": account,
        "Account": {"Name": f"Account {account[-1]}", "Website": website},
        "OwnerId": owner,
        "CreatedDate": "2026-11-02T09:00:00.000+0000",
    }


def decide(
    leads=(), opportunities=(), fired=frozenset(), queues=None, as_of: date = TODAY, **config: Any
):
    ctx = DecideContext(as_of=as_of, config=LeadStatusHygieneConfig(**config), fired=fired)
    records: dict[str, Any] = {"users": USERS, "leads": list(leads)}
    records["opportunities"] = list(opportunities)
    if queues is not None:
        records["queues"] = queues
    return play.decide(records, ctx)


def findings(plan) -> list[tuple[str, str | None, str]]:
    return [(d.outcome, d.stage, d.reason) for d in plan.decisions]


def digest_for(plan, user_id: str):
    return next(
        a for a in plan.alerts if a.template == "lead_status_hygiene.j2" and a.record_id == user_id
    )


def render(alert) -> str:
    return AlertRenderer("https://acme.my.salesforce.com").render(alert).text


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8").rstrip("\n")


# --- R1 Remarket without a reason -------------------------------------------------------------


def test_remarket_without_a_reason_goes_to_the_owner():
    plan = decide([lead("Remarket", since=6)])

    assert findings(plan) == [
        (
            "selected",
            "remarket_reason 2026-11-17",
            "R1 Remarket without a reason: in Remarket since 2026-11-17 without a reason:"
            " set Remarket_Reason__c",
        )
    ]
    assert [a.record_id for a in plan.alerts if a.template == "lead_status_hygiene.j2"] == [FAY]
    assert plan.changes == () and plan.creates == ()  # never filled in automatically


def test_still_blank_after_seven_days_the_manager_is_told():
    plan = decide([lead("Remarket", since=7)])

    assert [d.stage for d in plan.decisions] == [
        "remarket_reason 2026-11-16",
        "remarket_reason manager 2026-11-16",
    ]
    manager = digest_for(plan, OMAR)
    assert [(r.role, r.user_id) for r in manager.recipients] == [("manager", OMAR)]
    assert render(digest_for(plan, FAY)) == golden("lead_status_hygiene.txt")


def test_status_fixed_before_the_run_plans_nothing():
    plan = decide([lead("Remarket", since=9, reason="Too Small")])

    assert plan.decisions == () and plan.is_empty


def test_queue_owner_goes_to_revops_only():
    plan = decide([lead("Remarket", since=9, owner=QUEUE)])

    assert [a.template for a in plan.alerts] == ["lead_status_hygiene_summary.j2"]
    [summary] = plan.alerts
    assert [(r.role, r.user_id) for r in summary.recipients] == [("RevOps", REVOPS)]
    assert render(summary) == golden("lead_status_hygiene_summary.txt")


def test_finding_reported_once_per_state():
    fired = frozenset(
        {(LEAD, "remarket_reason 2026-11-20"), (LEAD, "remarket_reason 2026-11-20 to RevOps")}
    )
    plan = decide([lead("Remarket", since=3)], fired=fired)

    assert findings(plan)[0][0] == "skipped" and plan.alerts == () and plan.firings == ()
    # Back in Remarket later: a new state, reported again.
    assert decide([lead("Remarket", since=1)], fired=fired).alerts


@pytest.mark.parametrize(
    ("told", "owed"),
    [
        ("remarket_reason 2026-11-20", "lead_status_hygiene_summary.j2"),
        ("remarket_reason 2026-11-20 to RevOps", "lead_status_hygiene.j2"),
    ],
    ids=["owner told", "RevOps told"],
)
def test_the_owner_and_revops_each_hear_of_a_finding_once(told: str, owed: str):
    plan = decide([lead("Remarket", since=3)], fired=frozenset({(LEAD, told)}))

    assert findings(plan)[0][0] == "selected"
    [alert] = plan.alerts
    assert alert.template == owed
    assert [(f.record_id, f.stage) for f in alert.covers] != [(LEAD, told)]


def test_a_queue_owned_finding_with_no_revops_says_nobody_is_told():
    plan = decide([lead("Remarket", since=9, owner=QUEUE)], revops_users=[])

    assert findings(plan) == [
        (
            "skipped",
            "remarket_reason 2026-11-14",
            "R1 Remarket without a reason: in Remarket since 2026-11-14 without a reason: set"
            " Remarket_Reason__c (nobody to tell: no owner, and"
            " plays.lead-status-hygiene.revops_users names nobody active)",
        )
    ]
    assert plan.alerts == ()


# --- R2 Working S without a next step ---------------------------------------------------------


def test_working_s_without_an_open_task_gets_one_due_next_business_day():
    plan = decide([lead("Working S", since=3, last_activity=3)], as_of=date(2026, 11, 27))

    [create] = plan.creates
    assert create.key == f"lead-status-hygiene:working_next_step:{LEAD}:2026-11-20"
    assert create.fields == {
        "Subject": "Set the next follow-up",
        "ActivityDate": "2026-11-30",  # Friday -> Monday
        "OwnerId": FAY,
        "WhoId": LEAD,
        "Status": "Not Started",
        "Priority": "Normal",
    }


@pytest.mark.parametrize(
    ("day", "following"),
    [(date(2026, 11, 23), date(2026, 11, 24)), (date(2026, 11, 28), date(2026, 11, 30))],
)
def test_next_business_day(day: date, following: date):
    assert next_business_day(day) == following


def test_open_task_today_or_later_is_a_next_step():
    plan = decide([lead("Working S", tasks=(task(due=0),))])

    assert findings(plan) == [(
        "skipped", None, "Working S: next step planned on 2026-11-23"
    )]  # fmt: skip
    assert plan.is_empty


def test_overdue_or_closed_tasks_are_no_next_step():
    plan = decide([lead("Working S", tasks=(task(due=-1), task(due=3, closed=True)))])

    assert len(plan.creates) == 1


def test_no_activity_in_fourteen_days_goes_in_the_digest():
    stale = decide([lead("Working S", last_activity=14)])
    fresh = decide([lead("Working S", last_activity=13)])

    assert "working_next_step stale 2026-11-20" in [d.stage for d in stale.decisions]
    assert "working_next_step stale 2026-11-20" not in [d.stage for d in fresh.decisions]


def test_its_task_existing_means_no_second_one_even_with_a_fresh_state_store():
    key = f"lead-status-hygiene:working_next_step:{LEAD}:2026-11-20"
    plan = decide([lead("Working S", last_activity=2, tasks=(task(due=-2, key=key),))])

    assert plan.creates == () and plan.alerts == ()
    assert findings(plan) == [("skipped", None, "Working S: its follow-up Task exists")]


def test_queue_owned_working_lead_gets_no_task():
    plan = decide([lead("Working S", owner=QUEUE)])

    assert plan.creates == ()
    assert findings(plan)[0][2] == (
        "Working S: owned by a queue or an inactive user: nobody to give the Task to"
    )


# --- R3 PLG and Nurture leads worked by sales -------------------------------------------------


def test_plg_lead_owned_by_a_seller_goes_to_the_sellers_manager_and_revops():
    plan = decide([lead("Open PLG", owner=AVA)])

    assert findings(plan)[0][2] == (
        "R3 PLG or Nurture lead worked by sales: Open PLG lead (the product owns it) owned by"
        " a seller: Ava Patel"
    )
    assert digest_for(plan, NORA).recipients[0].role == "manager"
    assert any(a.template == "lead_status_hygiene_summary.j2" for a in plan.alerts)
    assert plan.changes == ()  # report only by default


def test_sellers_can_be_known_by_profile():
    by_role = decide([lead("Open PLG", owner=SAM)])
    by_profile = decide(
        [lead("Open PLG", owner=SAM)], plg_taken={"seller_profiles": ["Sales User"]}
    )

    assert by_role.decisions == ()
    assert findings(by_profile)[0][2].endswith("owned by a seller: Sam Ortiz")


def test_seller_activity_or_a_sequence_counts_as_taken():
    worked = decide([lead("Working P", owner=QUEUE, events=({"OwnerId": FAY},))])
    sequenced = decide([lead("Working P", owner=QUEUE, sequenced=True)])
    untouched = decide([lead("Open PLG", owner=QUEUE, tasks=(task(owner=REVOPS),))])

    assert "worked by a seller: Fay Nguyen" in findings(worked)[0][2]
    assert "in a sales sequence" in findings(sequenced)[0][2]
    assert untouched.decisions == ()


def test_enforce_hands_plg_leads_back_to_the_queue_but_not_nurture():
    queues = [{"Id": QUEUE, "Name": "PLG Queue", "DeveloperName": "PLG_Queue"}]
    config = {"plg_taken": {"enforce": True, "plg_queue": "PLG_Queue"}}
    plan = decide([lead("Open PLG", owner=AVA)], queues=queues, **config)

    assert [(c.field, c.old, c.new, c.reason) for c in plan.changes] == [
        ("OwnerId", AVA, QUEUE, "Open PLG: back to PLG Queue")
    ]
    assert decide([lead("Nurture", owner=AVA)], queues=queues, **config).changes == ()


def test_enforce_can_hand_plg_leads_back_to_a_user():
    config = {"plg_taken": {"enforce": True, "plg_owner": "RevOps@demo.revsched.dev"}}
    plan = decide([lead("Working P", owner=AVA)], **config)

    assert [(c.field, c.old, c.new, c.reason) for c in plan.changes] == [
        ("OwnerId", AVA, REVOPS, "Working P: back to RevOps Team")
    ]
    assert "queues" not in queries(DecideContext(TODAY, LeadStatusHygieneConfig(**config)))


@pytest.mark.parametrize(
    "rule",
    [{"enforce": True}, {"enforce": True, "plg_queue": "PLG_Queue", "plg_owner": "a@x.example"}],
    ids=["neither", "both"],
)
def test_enforce_needs_one_plg_owner(rule: dict[str, Any]):
    with pytest.raises(ConfigError, match="enforce = true needs plg_queue or plg_owner"):
        play.configure(Settings(plays={"lead-status-hygiene": {"plg_taken": rule}}))


def test_enforce_needs_a_plg_owner_that_exists_and_is_active():
    with pytest.raises(ConfigError, match=r"plg_taken\.plg_owner: no user with Username 'a@x'"):
        decide([], plg_taken={"enforce": True, "plg_owner": "a@x"})
    inactive = [u | {"IsActive": False} if u["Id"] == REVOPS else u for u in USERS]
    ctx = DecideContext(
        TODAY,
        LeadStatusHygieneConfig(
            revops_users=[], plg_taken={"enforce": True, "plg_owner": "revops@demo.revsched.dev"}
        ),
    )
    with pytest.raises(ConfigError, match=r"revops@demo\.revsched\.dev is inactive"):
        play.decide({"users": inactive, "leads": []}, ctx)


def test_enforce_needs_a_queue_that_exists():
    with pytest.raises(ConfigError, match=r"plg_taken.plg_queue: no queue with DeveloperName"):
        decide([], queues=[], plg_taken={"enforce": True, "plg_queue": "PLG_Queue"})


# --- R4 Opportunity names ---------------------------------------------------------------------


def test_name_without_the_domain_is_renamed():
    plan = decide(opportunities=[opportunity("Acme Expansion")])

    assert [(c.field, c.old, c.new) for c in plan.changes] == [
        ("Name", "Acme Expansion", "Acme Expansion - @acme.co.uk")
    ]


@pytest.mark.parametrize(
    "name", ["Acme Expansion - @acme.co.uk", "Product XYZ - @acme", "ACME - @Acme.co.uk"]
)
def test_no_double_rename(name: str):
    plan = decide(opportunities=[opportunity(name)])

    assert plan.decisions == () and plan.is_empty


def test_another_domain_or_no_website_is_flagged_not_renamed():
    other = decide(opportunities=[opportunity("Deal - @globex.com")])
    none = decide(opportunities=[opportunity("Deal", website=None)])

    assert other.changes == () and none.changes == ()
    assert findings(other)[0][2].endswith("the name lacks @acme.co.uk and names @globex.com")
    assert findings(none)[0][2].endswith("its account has no website to take the domain from")


def test_rename_off_flags_and_keep_tld_off_uses_the_stem():
    flagged = decide(
        opportunities=[opportunity("Acme Expansion")], opportunity_names={"rename": False}
    )
    stem = decide(
        opportunities=[opportunity("Acme Expansion")], opportunity_names={"keep_tld": False}
    )

    assert flagged.changes == () and findings(flagged)[0][2].endswith("the name lacks @acme.co.uk")
    assert stem.changes[0].new == "Acme Expansion - @acme"


def test_renamed_names_keep_the_suffix_within_120_characters():
    name = renamed("N" * 130, "acme.co.uk")

    assert len(name) == 120 and name.endswith("N - @acme.co.uk")


def test_open_same_type_opportunities_of_different_accounts_sharing_a_domain_are_flagged():
    plan = decide(
        opportunities=[
            opportunity("One - @acme.co.uk"),
            opportunity("Two - @acme.co.uk", opp_id="006000000000000002", account="0010000002"),
            opportunity("Three - @acme.co.uk", opp_id="006000000000000003", kind="Renewal"),
        ]
    )

    assert [(d.record_id, d.stage) for d in plan.decisions] == [
        ("006000000000000001", "duplicate domain acme.co.uk"),
        ("006000000000000002", "duplicate domain acme.co.uk"),
    ]
    assert findings(plan)[0][2].endswith(
        "possible duplicate: open New Business opportunities of other accounts share"
        " @acme.co.uk (Account 2)"
    )


# --- Switches and queries ---------------------------------------------------------------------


def test_each_rule_can_be_switched_off():
    off = {rule: {"enabled": False} for rule in ("remarket_reason", "working_next_step")}
    soql = queries(
        DecideContext(
            as_of=TODAY,
            config=LeadStatusHygieneConfig(
                **off, plg_taken={"enabled": False}, opportunity_names={"enabled": False}
            ),
        )
    )

    assert set(soql) == {"users"}
    only_r1 = queries(
        DecideContext(
            as_of=TODAY, config=LeadStatusHygieneConfig(working_next_step={"enabled": False})
        )
    )
    assert "Status IN ('Remarket','Open PLG','Working P','Nurture')" in only_r1["leads"]


def test_converted_leads_are_never_read():
    soql = queries(DecideContext(as_of=TODAY, config=LeadStatusHygieneConfig()))

    assert "FROM Lead WHERE IsConverted = false AND Status IN" in soql["leads"]


# --- End to end, on the demo org --------------------------------------------------------------


def revsched_tasks(path: Path) -> set[str]:
    sf = LocalOrg(path).salesforce()
    soql = "SELECT Revsched_Key__c FROM Task WHERE Revsched_Key__c LIKE 'lead-status-hygiene:%'"
    return {row["Revsched_Key__c"] for row in sf.query_all(soql)["records"]}


def test_dry_run_apply_rerun_and_a_fresh_state_store_on_the_demo_org(
    demo_org: Path, revsched_home: Path, run_json: Callable[..., dict[str, Any]]
):
    plan = run_json("lead-status-hygiene", "--dry-run", "--as-of", "2026-11-23")["plan"]
    sf = LocalOrg(demo_org).salesforce()
    companies = {
        row["Id"]: row["Company"] for row in sf.query_all("SELECT Id, Company FROM Lead")["records"]
    }
    by_company: dict[str, set[str | None]] = {}
    for decision in plan["decisions"]:
        company = companies.get(decision["record_id"])
        if company:
            by_company.setdefault(company, set()).add(
                decision["outcome"] + " " + (decision["stage"] or "").split(" 2")[0]
            )
    assert {f.company: by_company.get(f.company) for f in LEAD_STATUS_FIXTURES} == {
        "Abbott Fieldworks": {"selected remarket_reason"},
        "Brightwater Kilns": {"selected remarket_reason", "selected remarket_reason manager"},
        "Cobalt Ridge Games": None,
        "Dunmore Bakeries": {"selected remarket_reason"},
        "Eastgate Ledger": {"selected working_next_step", "selected working_next_step stale"},
        "Foxglove Studio": {"skipped "},
        "Glenrock Insights": {"selected plg_taken"},
        "Harbor Lane Apps": {"selected plg_taken"},
        "Ironleaf Trading": None,
        "Juno Parcel": None,
        "Kitefield Media": {"selected plg_taken"},
    }
    renames = [c for c in plan["changes"] if c["field"] == "Name"]
    assert renames and all(c["new"].startswith(c["old"] + " - @") for c in renames)

    applied = run_json("lead-status-hygiene", "--as-of", "2026-11-23")
    assert applied["status"] == "succeeded"
    assert revsched_tasks(demo_org) == {c["key"] for c in plan["creates"]}

    rerun = run_json("lead-status-hygiene", "--as-of", "2026-11-23")["plan"]
    assert (rerun["creates"], rerun["changes"], rerun["alerts"], rerun["firings"]) == (
        [], [], [], []
    )  # fmt: skip

    (revsched_home / "state.sqlite").unlink()
    # A new machine: the org remembers (Task keys, new names, Revsched_Firing__c).
    fresh = run_json("lead-status-hygiene", "--as-of", "2026-11-23")["plan"]
    assert (fresh["creates"], fresh["changes"], fresh["alerts"]) == ([], [], [])


class ChannelDown:
    """Every message fails, as when the webhook or Slack is unreachable."""

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[tuple[str, str], str | None]:
        return {alert.key: "webhook: 503 Service Unavailable" for alert in alerts}


def test_a_digest_that_failed_is_sent_by_the_next_run_and_never_again(
    demo_org: Path, tmp_path: Path
):
    org = OrgGateway(LocalOrg(demo_org, today=lambda: TODAY).salesforce)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    settings = Settings()

    run = partial(
        run_named,
        "lead-status-hygiene",
        org,
        store,
        settings=settings,
        renderer=AlertRenderer("https://x"),
    )

    failed = run(ChannelDown())
    assert failed.status == "partial" and failed.alerts
    # Nothing the undelivered digests list counts as reported.
    assert store.fired("lead-status-hygiene") == frozenset()

    retry, again = RecordingNotifier(), RecordingNotifier()
    retried = run(retry)
    last = run(again)

    assert sorted(a.text for a in retry.sent) == sorted(a.text for a in failed.alerts)
    assert retried.status == "succeeded" and retried.plan.alerts == ()
    assert retried.counts["earlier_alerts_sent"] == len(failed.alerts)
    listed = {(f.record_id, f.stage) for a in failed.alerts for f in a.alert.covers}
    assert listed and listed <= store.fired("lead-status-hygiene")
    assert (last.plan.alerts, again.sent) == ((), [])


def test_a_summary_whose_tasks_all_failed_is_held_back_and_every_finding_reaches_its_owner(
    demo_org: Path, tmp_path: Path
):
    local = LocalOrg(demo_org, today=lambda: TODAY)
    org = OrgGateway(local.salesforce, ApiSettings(retry_base_seconds=0, retry_max_seconds=0))
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    # R2's Tasks are then the run's only writes (R4 would rename opportunities).
    settings = Settings(plays={"lead-status-hygiene": {"opportunity_names": {"enabled": False}}})

    run = partial(
        run_named,
        "lead-status-hygiene",
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

    [task] = failed.plan.creates
    assert set(failed.failures) == {task.parent_id}
    # Held back, with why: R2's summary, and the digest of the owner whose Task failed
    # (it lists her Remarket leads too: they wait with it rather than go out alone).
    [revops] = {a.alert.record_id for a in failed.alerts if a.alert.stage.startswith("summary")}
    r2_summary = (revops, "summary working_next_step 2026-11-23")
    fay_digest = (task.fields["OwnerId"], "digest 2026-11-23")
    assert set(failed.alerts_held) == {r2_summary, fay_digest}
    assert all(
        why.startswith("not sent: none of the 1 records it lists that its run writes was written")
        for why in failed.alerts_held.values()
    )
    # What went out claims no Task; RevOps' summaries of the rules that wrote nothing did.
    assert not any("Set the next follow-up" in a.text for a in failing.sent)
    assert {a.alert.stage for a in failing.sent if a.alert.stage.startswith("summary")} == {
        "summary remarket_reason 2026-11-23",
        "summary plg_taken 2026-11-23",
    }
    held = {a.key: a.text for a in failed.alerts}

    local.faults = None
    told = RecordingNotifier()
    rerun = run(told)
    last = run(RecordingNotifier())

    assert rerun.status == "succeeded" and rerun.counts["created"] == 1
    sent = {a.key: a.text for a in told.sent}
    assert set(sent) == {r2_summary, fay_digest}
    assert sent[r2_summary] == held[r2_summary]
    # Her digest lists every finding it held, her Remarket leads too, though RevOps' R1
    # summary went out with the failed run.
    assert "R1 Remarket without a reason" in sent[fay_digest]
    assert sent[fay_digest] == held[fay_digest]
    assert last.plan.alerts == () and last.plan.creates == ()


def test_doctor_names_each_missing_status_reason_and_type(demo_org: Path, tmp_path: Path):
    config = (
        "[plays.lead-status-hygiene]\nremarket_reasons = ['Unresponsive', 'Too Smal']\n"
        "[plays.lead-status-hygiene.statuses]\nworking_s = 'Working SLG'\n"
        "[plays.lead-status-hygiene.opportunity_names]\nduplicate_types = ['Net New']\n"
        "[plays.lead-status-hygiene.working_next_step]\ntask_status = 'Open'\n"
        "[plays.lead-status-hygiene.plg_taken]\nseller_profiles = ['Sales Usr']\n"
    )

    failed = doctor_failures("lead-status-hygiene", config, tmp_path)

    assert [line.split(";")[0] for line in failed] == [
        "Lead.Status = 'Working SLG': not an active picklist value",
        "Lead.Remarket_Reason__c = 'Too Smal': not an active picklist value",
        "Opportunity.Type = 'Net New': not an active picklist value",
        "Task.Status = 'Open': not an active picklist value",
        "Profile Sales Usr: no Profile with Name 'Sales Usr'",
    ]


def test_a_digest_lists_only_the_renames_written_and_a_later_run_tells_the_failed_one(
    demo_org: Path, tmp_path: Path
):
    local, store, run = demo_runs("lead-status-hygiene", demo_org, tmp_path)
    dry = run(dry_run=True)
    owner_of = {c.record_id: c for c in dry.plan.changes if c.field == "Name"}
    digests = {a.alert.record_id: a.alert for a in dry.alerts if a.alert.stage.startswith("digest")}
    # An owner told of two renames: the first one fails.
    [(owner, listed)] = [
        (user_id, [f.record_id for f in alert.covers])
        for user_id, alert in digests.items()
        if len(alert.covers) == 2 and all(f.record_id in owner_of for f in alert.covers)
    ]
    failing, written = owner_of[listed[0]], owner_of[listed[1]]
    local.faults = FaultProfile(fail_records={failing.record_id: "UNABLE_TO_LOCK_ROW"})

    told = RecordingNotifier()
    failed = run(told)

    assert set(failed.failures) == {failing.record_id}
    sent = {a.key: a.text for a in told.sent}
    digest = sent[owner, "digest 2026-11-23"]
    assert str(written.old) in digest and str(failing.old) not in digest
    note = (
        f"\n\nLeft out: 1 record whose write did not go through (`revsched show"
        f" {failed.run_id}` says why); a later run tries again."
    )
    assert digest.endswith(note)
    [summary] = [t for (_, stage), t in sent.items() if stage.startswith("summary opportunity")]
    assert summary.startswith("*R4 Opportunity names and shared domains, 2026-11-23*: 3 ")
    assert str(failing.old) not in summary and summary.endswith(note)
    assert not any(record == failing.record_id for record, _ in store.fired("lead-status-hygiene"))

    local.faults = None
    again = RecordingNotifier()
    retried = run(again)

    # Renamed now, and told in a second digest of the day (the first's delivery stands
    # for what it listed only); RevOps' summary of the day went out: tomorrow's lists it.
    assert retried.status == "succeeded" and retried.counts["applied"] == 1
    [(key, text)] = [(a.key, a.text) for a in again.sent]
    assert key == (owner, "digest 2026-11-23 (2)")
    assert str(failing.old) in text and str(written.old) not in text
    told_revops = [s for r, s in store.fired("lead-status-hygiene") if r == failing.record_id]
    assert told_revops and not any(s.endswith(" to RevOps") for s in told_revops)
