"""The demo org: deterministic, realistic, and containing what every play needs.

Most checks run on the generated plans (no database); the end-to-end ones build a real
local org and read it back through the simple_salesforce client.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from simple_salesforce import Salesforce

from revsched.localorg import standard_objects
from revsched.localorg.demo import (
    ALIGNMENT_FIXTURES,
    DEMO_DOMAIN,
    MAX_ACCOUNTS,
    QUEUES,
    RENEWAL_FIXTURES,
    REVIEW_FIXTURES,
    USERGEMS_ACCOUNTS,
    USERS,
    WIN_BACK_FIXTURES,
    AccountDraft,
    ActivityDraft,
    DemoGenerator,
    Directory,
    LeadDraft,
    build_demo_org,
    churn_date_for_stage,
    fixture_churn_date,
)

TODAY = date(2026, 11, 23)
FIXTURE_NAMES = [f.name for f in WIN_BACK_FIXTURES]
ALL_FIXTURE_NAMES = {
    f.name
    for f in (
        *WIN_BACK_FIXTURES,
        *REVIEW_FIXTURES,
        *RENEWAL_FIXTURES,
        *ALIGNMENT_FIXTURES,
        *USERGEMS_ACCOUNTS,
    )
}
DIRECTORY = Directory(
    users={u.local: f"005FAKE{i:011d}" for i, u in enumerate(USERS)},
    queues={q: f"00GFAKE{i:011d}" for i, q in enumerate(QUEUES)},
)
USER_IDS = DIRECTORY.users
AES = {USER_IDS[u.local] for u in USERS if u.role == "Account Executive" and u.active}
SDRS = {USER_IDS[u.local] for u in USERS if u.role == "Sales Development"}
QUEUE_IDS = set(DIRECTORY.queues.values())


@functools.cache
def generate(
    accounts: int = 300, seed: int = 7, today: date = TODAY
) -> tuple[list[AccountDraft], list[LeadDraft]]:
    """All plans of one demo org, without a database (cached: tests only read them)."""
    generator = DemoGenerator(DIRECTORY, accounts=accounts, seed=seed, today=today)
    account_plans: list[AccountDraft] = []
    lead_plans: list[LeadDraft] = []
    for batch_accounts, batch_leads in generator.batches():
        account_plans += batch_accounts
        lead_plans += batch_leads
    return account_plans, lead_plans


def generated_accounts(kind: str | None = None) -> list[AccountDraft]:
    """The N=300 org's generated accounts (fixtures excluded), optionally of one Type."""
    plans = [p for p in generate()[0] if p.account["Name"] not in ALL_FIXTURE_NAMES]
    return [p for p in plans if kind is None or p.account["Type"] == kind]


def by_name(plans: list[AccountDraft]) -> dict[object, AccountDraft]:
    return {p.account["Name"]: p for p in plans}


def days_from_today(value: object) -> int:
    return (date.fromisoformat(str(value)) - TODAY).days


def lost_renewals(plan: AccountDraft) -> list[dict[str, object]]:
    return [
        o.fields
        for o in plan.opportunities
        if o.fields["StageName"] == "Closed Lost" and o.fields["Type"] == "Renewal"
    ]


# --- Determinism ---------------------------------------------------------------------


def test_same_inputs_give_identical_plans() -> None:
    assert generate.__wrapped__(120, 3, TODAY) == generate.__wrapped__(120, 3, TODAY)


@pytest.mark.parametrize("other", [{"seed": 4}, {"today": TODAY + timedelta(days=1)}])
def test_other_seed_or_day_gives_other_plans(other: dict[str, object]) -> None:
    inputs: dict[str, object] = {"accounts": 120, "seed": 3, "today": TODAY}
    assert generate.__wrapped__(**inputs) != generate.__wrapped__(**{**inputs, **other})


def test_too_many_accounts_is_refused() -> None:
    with pytest.raises(ValueError, match="accounts must be between"):
        DemoGenerator(DIRECTORY, accounts=MAX_ACCOUNTS + 1, seed=7, today=TODAY)


# --- Win-back fixtures ---------------------------------------------------------------

# Marlowe (6m due), Fenwick (6m+3d), Quillon (6m-2d), Ostrander (12m), Brackenridge (8m),
# Calloway (6m+5d, no lost renewal), Dunmore (6m+1d, no primary contact role).
CHURN_DATES = {
    date(2026, 11, 23): (
        "2026-05-23", "2026-05-20", "2026-05-25", "2025-11-23", "2026-03-23", "2026-05-18",
        "2026-05-22",
    ),
    # 31 Aug + 6 months = 28 Feb: the latest churn date that is due today is 31 Aug.
    date(2027, 2, 28): (
        "2026-08-31", "2026-08-25", "2026-09-02", "2026-02-28", "2026-06-30", "2026-08-23",
        "2026-08-27",
    ),
    # No date is exactly 6 months before 31 Aug (28 Feb + 6 months = 28 Aug): the 6-month
    # fixture is then 3 days overdue, which the catch-up window still selects.
    date(2026, 8, 31): (
        "2026-02-28", "2026-02-28", "2026-03-02", "2025-08-31", "2025-12-31", "2026-02-26",
        "2026-02-28",
    ),
    date(2028, 2, 29): (
        "2027-08-31", "2027-08-26", "2027-09-02", "2027-02-28", "2027-06-30", "2027-08-24",
        "2027-08-28",
    ),
}  # fmt: skip


@pytest.mark.parametrize("today", CHURN_DATES)
def test_fixture_churn_dates(today: date) -> None:
    accounts = by_name(generate(20, 7, today)[0])
    churn_dates = tuple(accounts[name].account["Churn_Date__c"] for name in FIXTURE_NAMES)
    assert churn_dates == CHURN_DATES[today]


def test_fixture_stage_dates_over_two_years_of_todays() -> None:
    """Every day: the stage anniversary lands `days_past_stage` before today, or (when
    month ends make that date unreachable) at most 3 days earlier."""
    for offset in range(730):
        today = date(2026, 1, 1) + timedelta(days=offset)
        for fixture in WIN_BACK_FIXTURES:
            target = today - timedelta(days=fixture.days_past_stage)
            stage = fixture_churn_date(fixture, today) + relativedelta(months=fixture.months)
            assert target - timedelta(days=3) <= stage <= target, (today, fixture.name)


def test_churn_date_for_stage_clamps_month_ends() -> None:
    assert churn_date_for_stage(date(2027, 2, 28), 6) == date(2026, 8, 31)
    assert churn_date_for_stage(date(2027, 3, 31), 6) == date(2026, 9, 30)
    assert churn_date_for_stage(date(2026, 11, 23), 12) == date(2025, 11, 23)


def test_fixtures_are_former_customers_set_up_for_their_case() -> None:
    accounts = by_name(generate()[0])
    revops = USER_IDS["revops"]
    for fixture in WIN_BACK_FIXTURES:
        plan = accounts[fixture.name]
        assert plan.account["Type"] == "Former Customer"
        assert plan.account["OwnerId"] == USER_IDS[fixture.owner]
        assert [o["Loss_Reason__c"] for o in lost_renewals(plan)] == (
            [fixture.loss_reason] if fixture.loss_reason else []
        )
        won = [o for o in plan.opportunities if o.fields["StageName"] == "Closed Won"]
        assert any(o.fields["Type"] == "Renewal" for o in won)
        lost = [o for o in plan.opportunities if o.fields["StageName"] == "Closed Lost"]
        assert all(o.roles for o in lost)
        assert all(
            any(primary for *_r, primary in o.roles) == fixture.primary_contact for o in lost
        )
    marlowe, ostrander = accounts["Marlowe Biotech"], accounts["Ostrander Medical"]
    assert marlowe.account["OwnerId"] == revops and marlowe.account.get("SDR__c") is None
    assert ostrander.account["SDR__c"] == USER_IDS["gus.romero"]
    assert ostrander.account["OwnerId"] == USER_IDS["ben.okafor"]


@pytest.mark.parametrize("today", [TODAY, date(2028, 2, 29)])
def test_review_and_renewal_fixtures_sit_on_their_boundaries(today: date) -> None:
    accounts = by_name(generate(20, 7, today)[0])

    def days(value: object) -> int:
        return (date.fromisoformat(str(value)) - today).days

    for fixture in REVIEW_FIXTURES:
        account = accounts[fixture.name].account
        assert account["OwnerId"] in AES and account["Type"] == "Prospect"
        assert days(account["Owner_Assigned_Date__c"]) == -fixture.assigned_days
        review = account.get("Needs_Review_Date__c")
        assert (review and -days(review)) == fixture.review_days
        activities = accounts[fixture.name].activities
        assert [-days(a.fields["ActivityDate"]) for a in activities] == (
            [] if fixture.activity_days is None else [fixture.activity_days]
        )
        assert not accounts[fixture.name].opportunities
    for renewal_fixture in RENEWAL_FIXTURES:
        plan = accounts[renewal_fixture.name]
        [renewal] = [o.fields for o in plan.opportunities if o.fields["StageName"] in OPEN]
        assert renewal["StageName"] == renewal_fixture.stage and renewal["Type"] == "Renewal"
        assert days(renewal["Renewal_Date__c"]) == renewal_fixture.days_to_renewal
        assert plan.account["Renewal_Date__c"] == renewal["Renewal_Date__c"]


OPEN = {name for name, _p, closed, _w in standard_objects.OPPORTUNITY_STAGES if not closed}


# --- Realism and proportions (N=300) -------------------------------------------------


def test_account_mix_is_proportionate() -> None:
    shares = Counter(p.account["Type"] for p in generated_accounts())
    expected = {"Prospect": 0.45, "Customer": 0.35, "Former Customer": 0.15, "Partner": 0.05}
    assert {k: v / 300 for k, v in shares.items()} == pytest.approx(expected, abs=0.01)


def test_every_account_has_the_common_fields() -> None:
    required = ("Owner_Assigned_Date__c", "Account_Status__c", "Health_Score__c", "Industry")
    for plan in generate()[0]:
        account = plan.account
        assert all(account.get(f) is not None for f in required), account["Name"]
        assert account["BillingCountry"] and account["NumberOfEmployees"]
        assert str(account["CreatedDate"]) < TODAY.isoformat()
        assert 2 <= len(plan.contacts) <= 6
    assert all(p.account["Buying_Stage__c"] for p in generated_accounts("Prospect"))


def test_names_websites_and_emails_are_realistic_and_unique() -> None:
    account_plans, lead_plans = generate()
    names = [p.account["Name"] for p in account_plans]
    websites = [p.account["Website"] for p in account_plans]
    assert len(set(names)) == len(names) and len(set(websites)) == len(websites)
    emails = [c["Email"] for p in account_plans for c in p.contacts]
    emails += [p.lead["Email"] for p in lead_plans]
    assert len(set(emails)) == len(emails)  # no duplicates until an issue seeds them
    # Leads are new companies, but for job-changes' UserGems leads, at known accounts by design.
    new_leads = [p for p in lead_plans if not p.lead.get("UserGems__Created_By_UG__c")]
    assert set(names).isdisjoint(p.lead["Company"] for p in new_leads)
    for plan in account_plans:
        domain = str(plan.account["Website"]).removeprefix("www.")
        assert all(str(c["Email"]).endswith("@" + domain) for c in plan.contacts)
        assert all(c["Title"] and c["Phone"] for c in plan.contacts)


def test_churned_former_customers_are_held_by_revops_with_a_lost_renewal() -> None:
    cleared = ("SDR__c", "AE__c", "AM__c", "CSM__c", "Solutions_Consultant__c")
    churned = [p for p in generated_accounts("Former Customer") if p.account.get("Churn_Date__c")]
    assert len(churned) >= 30
    for plan in churned:
        assert plan.account["OwnerId"] == USER_IDS["revops"]
        assert all(plan.account.get(f) is None for f in cleared)
        churn = days_from_today(plan.account["Churn_Date__c"])
        assert -548 <= churn <= 0
        [lost] = lost_renewals(plan)
        assert -14 <= churn - days_from_today(lost["CloseDate"]) <= 14
        [lost_plan] = [o for o in plan.opportunities if o.fields is lost]
        assert 1 <= len(lost_plan.roles) <= 3
        assert sum(primary for *_r, primary in lost_plan.roles) == 1
    reasons = {lost_renewals(p)[0]["Loss_Reason__c"] for p in churned}
    assert reasons == set(standard_objects.LOSS_REASONS)


def test_some_former_customers_await_churn_intake() -> None:
    pending = [
        p for p in generated_accounts("Former Customer") if not p.account.get("Churn_Date__c")
    ]
    assert 1 <= len(pending) <= 15
    for plan in pending:
        assert all(plan.account.get(f) for f in ("AE__c", "SDR__c", "CSM__c", "AM__c"))


def test_customers_have_open_renewals_around_the_sla_checkpoints() -> None:
    customers = generated_accounts("Customer")
    open_stages = [s for s, _p, closed, _w in standard_objects.OPPORTUNITY_STAGES if not closed]
    renewals = []
    for plan in customers:
        account = plan.account
        assert all(account.get(f) for f in ("AE__c", "AM__c", "CSM__c", "SDR__c"))
        [renewal] = [o.fields for o in plan.opportunities if o.fields["StageName"] in open_stages]
        assert renewal["Type"] == "Renewal"
        assert renewal["CloseDate"] == renewal["Renewal_Date__c"] == account["Renewal_Date__c"]
        assert any(o.fields["StageName"] == "Closed Won" for o in plan.opportunities)
        renewals.append(renewal)
    days = [days_from_today(r["CloseDate"]) for r in renewals]
    for checkpoint in (120, 90, 60):
        assert any(checkpoint - 5 <= d <= checkpoint for d in days), checkpoint
    assert any(
        r["StageName"] == "Prospecting" and d <= 90 for r, d in zip(renewals, days, strict=True)
    )
    assert any(r["Churn_Risk_Notes__c"] for r in renewals)
    assert {r["Has_Primary_Quote__c"] for r in renewals} == {True, False}


def test_prospects_cover_the_account_review_cases() -> None:
    owned = [p for p in generated_accounts("Prospect") if p.account["OwnerId"] in AES]
    assert sum(map(is_review_candidate, owned)) >= 10
    assert any(p.account["OwnerId"] == USER_IDS["revops"] for p in generated_accounts("Prospect"))
    assert any(has_open_opportunity(p) for p in owned)
    reviews = [p.account for p in owned if p.account.get("Add_Drop_Request__c") == "Needs Review"]
    assert reviews
    assert all(-40 <= days_from_today(a["Needs_Review_Date__c"]) <= -10 for a in reviews)
    requests = [
        p.account
        for p in generated_accounts("Prospect")
        if p.account.get("Add_Drop_Request__c") not in (None, "Needs Review")
    ]
    kinds = {a["Add_Drop_Request__c"] for a in requests}
    assert kinds == {"Add as Named", "Keep Account", "Drop Account"}
    assert {a["Add_Drop_Approval__c"] for a in requests} == {"Approved", "Rejected", "Pending"}
    assert all(a["Add_Drop_Requested_By__c"] in AES for a in requests)


def is_review_candidate(plan: AccountDraft) -> bool:
    """The account-review play's phase-1 criteria, evaluated on a plan."""
    return (
        days_from_today(plan.account["Owner_Assigned_Date__c"]) <= -90
        and plan.account["Buying_Stage__c"] not in ("Purchase", "Decision")
        and not has_open_opportunity(plan)
        and not any(map(keeps_account_active, plan.activities))
    )


def keeps_account_active(activity: ActivityDraft) -> bool:
    """Activity in the last 28 days (completed task or event), or any activity ahead."""
    day = days_from_today(activity.fields["ActivityDate"])
    done = activity.sobject == "Event" or activity.fields["Status"] == "Completed"
    return day >= 0 or (done and day >= -28)


def has_open_opportunity(plan: AccountDraft) -> bool:
    return any(not str(o.fields["StageName"]).startswith("Closed") for o in plan.opportunities)


def test_activities_span_past_and_future() -> None:
    activities = [a for p in generate()[0] for a in p.activities]
    tasks = [
        (a.fields["Status"], days_from_today(a.fields["ActivityDate"]))
        for a in activities
        if a.sobject == "Task"
    ]
    assert any(s == "Completed" and d < 0 for s, d in tasks)
    assert any(s != "Completed" and d < 0 for s, d in tasks)
    assert any(s != "Completed" and d >= 0 for s, d in tasks)
    events = [days_from_today(a.fields["ActivityDate"]) for a in activities if a.sobject == "Event"]
    assert min(events) < 0 <= max(events)


def test_leads_cover_every_status_and_owner_kind() -> None:
    leads = [p.lead for p in generate()[1]]
    assert 1.2 <= len(leads) / 300 <= 1.8
    assert {lead["Status"] for lead in leads} == set(standard_objects.LEAD_STATUSES)
    owners = [lead["OwnerId"] for lead in leads]
    assert sum(o in SDRS for o in owners) > len(leads) / 2
    assert any(o in QUEUE_IDS for o in owners)
    assert any(lead["Actively_Being_Sequenced__c"] for lead in leads)


def test_tiny_org_still_has_every_lead_status() -> None:
    leads = [p.lead for p in generate(10)[1]]
    assert {lead["Status"] for lead in leads} == set(standard_objects.LEAD_STATUSES)


# --- End to end, through the local org's simple_salesforce client --------------------

COMPUTED = ("LastModifiedDate", "SystemModstamp")


def dump(path: Path, seed: int) -> dict[str, list[dict[str, object]]]:
    """Every record of a small demo org, as the client returns it, minus what the org
    itself creates at wall-clock time (its running user, its permissions and opportunity
    stages)."""
    sf = build_demo_org(path, accounts=40, seed=seed, today=TODAY).salesforce()
    records = {}
    for name, sobj in standard_objects.SOBJECTS.items():
        fields = ", ".join(f for f in sobj.fields if f not in COMPUTED)
        rows = sf.query_all(f"SELECT {fields} FROM {name} ORDER BY Id")["records"]
        records[name] = [{k: v for k, v in r.items() if k != "attributes"} for r in rows]
    records["User"] = [u for u in records["User"] if str(u["Username"]).endswith(DEMO_DOMAIN)]
    del records["OpportunityStage"], records["UserPermissionAccess"]
    return records


def test_org_is_deterministic(tmp_path: Path) -> None:
    first = dump(tmp_path / "a.db", seed=7)
    assert first == dump(tmp_path / "b.db", seed=7)
    assert first["Account"] != dump(tmp_path / "c.db", seed=8)["Account"]


@pytest.fixture(scope="module")
def demo_sf(tmp_path_factory: pytest.TempPathFactory) -> Salesforce:
    path = tmp_path_factory.mktemp("demo") / "org.db"
    return build_demo_org(path, accounts=300, seed=7, today=date(2027, 2, 28)).salesforce()


def test_org_has_every_user_and_queue(demo_sf: Salesforce) -> None:
    users = demo_sf.query_all(
        "SELECT Id, Username, Email, FirstName, LastName, Name, IsActive, ManagerId, "
        "UserRole.Name FROM User"
    )["records"]
    by_username = {u["Username"]: u for u in users}
    ids = {u["Id"]: u["Username"] for u in users}
    for user in USERS:
        record = by_username[user.username]
        assert record["Email"] == user.username
        assert record["UserRole"]["Name"] == user.role
        assert record["IsActive"] is user.active
        manager = f"{user.manager}@{DEMO_DOMAIN}" if user.manager else None
        assert ids.get(record["ManagerId"]) == manager
    assert by_username[f"ava.patel@{DEMO_DOMAIN}"]["Name"] == "Ava Patel"
    assert by_username[f"revops@{DEMO_DOMAIN}"]["Name"] == "RevOps Team"
    assert by_username[f"integration@{DEMO_DOMAIN}"]["Name"] == "Integration User"
    queues = demo_sf.query_all("SELECT DeveloperName, Name FROM Group WHERE Type = 'Queue'")
    assert {(q["DeveloperName"], q["Name"]) for q in queues["records"]} >= {
        ("Recycle_Queue", "Recycle Queue"),
        ("Bad_Data_Queue", "Bad Data Queue"),
        ("Ineligible_Queue", "Ineligible Queue"),
        ("Inquiry_Queue", "Inquiry Queue"),
        ("Disqualified_Queue", "Disqualified Queue"),
        ("RevOps_Holding", "RevOps Holding"),
    }


def test_org_win_back_fixtures(demo_sf: Salesforce) -> None:
    names = ", ".join(f"'{n}'" for n in FIXTURE_NAMES)
    accounts = demo_sf.query_all(
        f"SELECT Id, Name, Churn_Date__c, Owner.Username, SDR__c FROM Account "
        f"WHERE Type = 'Former Customer' AND Name IN ({names})"
    )["records"]
    churn = {a["Name"]: a["Churn_Date__c"] for a in accounts}
    assert tuple(churn[n] for n in FIXTURE_NAMES) == CHURN_DATES[date(2027, 2, 28)]
    for account in accounts:
        fixture = next(f for f in WIN_BACK_FIXTURES if f.name == account["Name"])
        assert account["Owner"]["Username"] == f"{fixture.owner}@{DEMO_DOMAIN}"
        assert (account["SDR__c"] is not None) == (fixture.sdr is not None)
        lost = demo_sf.query_all(
            "SELECT Id, Loss_Reason__c FROM Opportunity WHERE IsClosed = true AND "
            f"IsWon = false AND Type = 'Renewal' AND AccountId = '{account['Id']}'"
        )["records"]
        assert [o["Loss_Reason__c"] for o in lost] == (
            [fixture.loss_reason] if fixture.loss_reason else []
        )
        for opportunity in lost:
            roles = demo_sf.query_all(
                "SELECT IsPrimary, Contact.Email, Contact.Title FROM OpportunityContactRole "
                f"WHERE OpportunityId = '{opportunity['Id']}'"
            )["records"]
            assert roles and all(r["Contact"]["Email"] and r["Contact"]["Title"] for r in roles)
            assert sum(r["IsPrimary"] for r in roles) == int(fixture.primary_contact)


def test_org_counts_and_statuses(demo_sf: Salesforce) -> None:
    accounts = demo_sf.query_all("SELECT Type FROM Account")["records"]
    types = Counter(a["Type"] for a in accounts)
    # 141 generated prospects + 8 seeded duplicate accounts + seed 004's five IBM records
    # + contact-alignment's two fixtures + job-changes' three prospects and one customer;
    # customers include the six overage-upsell and five partner-overlap fixtures, partners
    # partner-overlap's two; route-leads adds five prospects and a partner.
    assert types == {"Prospect": 164, "Customer": 121, "Former Customer": 52, "Partner": 18}
    statuses = {r["Status"] for r in demo_sf.query_all("SELECT Status FROM Lead")["records"]}
    # The lead-status-hygiene fixtures add seed 003's PLG + SLG statuses, route-leads'
    # a lead Sales Dev qualifies.
    assert statuses == {
        *standard_objects.LEAD_STATUSES,
        *standard_objects.PLG_SLG_STATUSES,
        "Qualifying",
    }
    closed = demo_sf.query_all(
        "SELECT StageName, IsClosed, IsWon FROM Opportunity WHERE StageName = 'Closed Won'"
    )["records"]
    assert closed and all(o["IsClosed"] and o["IsWon"] for o in closed)
