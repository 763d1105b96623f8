"""route-leads: which leads route where and why, the alerts, and runs against a local org
(dry run, apply, rerun, lost state, overlapping runs, a lead converted before apply)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from harness import RecordingNotifier
from typer.testing import CliRunner

from revsched.alerts import AlertRenderer
from revsched.cli import app
from revsched.config import PoolSettings, Settings
from revsched.errors import ConfigError, LockedError
from revsched.jobs.route_leads import (
    MAX_QUERY_URI,
    RouteLeadsConfig,
    account_keys,
    follow_ups,
    lead_keys,
    play,
    queries,
    routing_event,
    since,
)
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.localorg.merge_convert import convert_lead
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.play import DecideContext, load_plays
from revsched.runner import RunResult, play_lease, run_play
from revsched.state import StateStore

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
YESTERDAY = "2026-11-22T10:00:00.000+0000"
INTEGRATION, REVOPS, FAY, GUS, HANA, IVAN, ELI = (f"005{n:015d}" for n in range(1, 8))
NAMES = {
    INTEGRATION: "Integration User",
    REVOPS: "RevOps Team",
    FAY: "Fay Nguyen",
    GUS: "Gus Romero",
    HANA: "Hana Kim",
    IVAN: "Ivan Petrov",
    ELI: "Eli Novak",
}
QUEUES = {
    name: {"Id": f"00G{n:015d}", "Name": name.replace("_", " "), "DeveloperName": name}
    for n, name in enumerate(RouteLeadsConfig().queues_used(), start=1)
}


def user(user_id: str, active: bool = True) -> dict[str, Any]:
    username = NAMES[user_id].lower().split(" ")[0] + "@x.example"
    return {
        "Id": user_id,
        "Name": NAMES[user_id],
        "Username": username,
        "Email": username,
        "IsActive": active,
        "TimeZoneSidKey": "UTC",
    }


def pools(**members: list[str]) -> dict[str, PoolSettings]:
    found = {
        "route-leads-amer": ["fay@x.example", "gus@x.example"],
        "route-leads-emea": ["hana@x.example", "ivan@x.example"],
        "route-leads-pubsec": ["ivan@x.example"],
        "route-leads-default": ["hana@x.example"],
    }
    found |= {name.replace("_", "-"): usernames for name, usernames in members.items()}
    return {name: PoolSettings(members=usernames) for name, usernames in found.items()}


CONFIG = {"integration_users": ["integration@x.example"], "revops_users": ["revops@x.example"]}


def lead(n: int = 1, **fields: Any) -> dict[str, Any]:
    """A new MQL from the integration user: it routes by country unless a test changes it."""
    record = {
        "Id": f"00Q{n:015d}",
        "Name": f"Lead {n}",
        "Company": f"Company {n}",
        "Title": "CTO",
        "Email": f"lead{n}@gmail.com",
        "Country": "Germany",
        "Status": "Open",
        "OwnerId": INTEGRATION,
        "Owner": {"Name": "Integration User"},
        "CreatedById": INTEGRATION,
        "CreatedBy": {"Name": "Integration User"},
        "CreatedDate": "2026-11-22T09:00:00.000+0000",
        "LastModifiedDate": YESTERDAY,
        "MQL_Date__c": YESTERDAY,
        "Last_Routed_Date__c": None,
        "Routing_Reason__c": None,
        "Matched_Account__c": None,
        "Do_Not_Route__c": False,
        "Person_Score__c": 40,
        "Actively_Being_Sequenced__c": False,
        "Last_Interesting_Moment__c": "Web Form",
        "Partner_Account__c": None,
        "Prospect_Share_Status__c": None,
        "Partner_Prospect_Status__c": None,
        "CampaignMembers": None,
    }
    return record | fields


def member(name: str, mdf: str = "No", joint: str = "No", joined: str = YESTERDAY) -> dict:
    campaign = {
        "Name": name,
        "Will_there_be_MDF_funding__c": mdf,
        "Is_a_Channel_Partner_Involved__c": joint,
    }
    return {"records": [{"Id": "00v1", "CreatedDate": joined, "Campaign": campaign}]}


def account(n: int = 1, **fields: Any) -> dict[str, Any]:
    record = {
        "Id": f"001{n:015d}",
        "Name": f"Acme {n}",
        "Website": f"https://www.acme{n}.com",
        "Type": "Prospect",
        "LastActivityDate": None,
        "CreatedDate": "2024-01-01T00:00:00.000+0000",
        "Is_US_PubSec__c": False,
        "BDR_Assigned__c": None,
        "BDR_Assigned__r": None,
        "BDR_Prospecting_Status__c": None,
        "Opportunities": None,
    }
    return record | fields


def bdr(user_id: str, active: bool = True, status: str = "Actively Working") -> dict[str, Any]:
    return {
        "BDR_Assigned__c": user_id,
        "BDR_Assigned__r": {"Name": NAMES[user_id], "Email": None, "IsActive": active},
        "BDR_Prospecting_Status__c": status,
    }


def decide(
    leads: list[dict[str, Any]],
    accounts: tuple[dict[str, Any], ...] = (),
    *,
    inactive: tuple[str, ...] = (),
    queues: dict[str, dict[str, Any]] = QUEUES,
    now: datetime = NOW,
    fired: frozenset[tuple[str, str]] = frozenset(),
    unrouted: list[dict[str, Any]] | None = None,
    amer: dict[str, Any] | None = None,
    **config: Any,
) -> Plan:
    found = pools()
    if amer is not None:
        found["route-leads-amer"] = PoolSettings.model_validate(amer)
    ctx = DecideContext(
        as_of=now.date(),
        config=RouteLeadsConfig(**(CONFIG | config)),
        pools=found,
        now=now,
        fired=fired,
    )
    records: dict[str, list[dict[str, Any]]] = {
        "leads": leads,
        "campaign_leads": [],
        "users": [user(i, active=i not in inactive) for i in NAMES],
        "queues": list(queues.values()),
        "accounts_0": list(accounts),
    }
    if unrouted is not None:
        records["unrouted"] = unrouted
    return play.decide(records, ctx)


def changes(plan: Plan, record_id: str | None = None) -> dict[str, Any]:
    return {c.field: c.new for c in plan.changes if record_id in (None, c.record_id)}


def reason(plan: Plan) -> tuple[str, str]:
    [decision] = plan.decisions
    return decision.outcome, decision.reason


# --- Validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "routed", "why"),
    [
        (
            None,
            False,
            "Person_Score__c is blank (needs 0 or more): stays with the integration user",
        ),
        (-1, False, "Person_Score__c is -1 (needs 0 or more): stays with the integration user"),
        (0, True, None),
    ],
)
def test_new_lead_routes_only_with_a_person_score_of_zero_or_more(
    score: int | None, routed: bool, why: str | None
):
    plan = decide([lead(Person_Score__c=score)])

    outcome, text = reason(plan)
    assert outcome == ("selected" if routed else "skipped")
    if routed:
        assert changes(plan)["Routing_Reason__c"] == "Country pool: DE"
    else:
        assert text == why
        assert plan.changes == ()


def test_placeholder_company_gets_the_standard_value_and_matches_no_account():
    accounts = (account(1, Name="N/A"),)
    plan = decide([lead(Company="n/a")], accounts)

    assert changes(plan)["Company"] == "[[unknown]]"
    assert plan.alerts[0].context["company"] == "[[unknown]]"
    assert "Matched_Account__c" not in changes(plan)
    assert "; free-mail address gmail.com and no company name to match;" in plan.decisions[0].reason


def test_standard_company_value_is_not_written_again():
    plan = decide([lead(Company="[[unknown]]")])

    assert "Company" not in changes(plan)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"Do_Not_Route__c": True}, "Do_Not_Route__c is checked"),
        (
            {"Last_Interesting_Moment__c": "Unsubscribed"},
            "last interesting moment 'Unsubscribed' is suppressed",
        ),
    ],
)
def test_new_lead_failing_validation_stays_with_the_reason(fields: dict[str, Any], why: str):
    plan = decide([lead(**fields)], unrouted=[])

    assert reason(plan) == ("skipped", why)
    assert plan.changes == ()
    assert plan.reports["unrouted"] == [
        {"lead_id": "00Q000000000000001", "lead": "Lead 1", "company": "Company 1", "reason": why}
    ]


def test_lead_entered_by_a_person_is_theirs_and_not_in_the_digest():
    plan = decide([lead(CreatedById=FAY, CreatedBy={"Name": "Fay Nguyen"})], unrouted=[])

    assert reason(plan) == (
        "skipped",
        "new lead not created by an integration user (created by Fay Nguyen)",
    )
    assert plan.reports["unrouted"] == []
    assert plan.alerts == ()


RE_MQL = {"Last_Routed_Date__c": "2026-11-01T10:00:00.000+0000", "OwnerId": FAY}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"Status": "Accepted"}, "Sales Dev is working it (Status Accepted)"),
        ({"Status": "Qualifying"}, "Sales Dev is working it (Status Qualifying)"),
        ({"Status": "Qualified"}, "Sales Dev is working it (Status Qualified)"),
        (
            {"Actively_Being_Sequenced__c": True},
            "in an active sequence (Actively_Being_Sequenced__c = true)",
        ),
    ],
)
def test_updated_lead_sales_dev_works_is_left_alone(fields: dict[str, Any], why: str):
    plan = decide([lead(**RE_MQL, **fields)])

    assert reason(plan) == ("skipped", why)


def test_blank_score_does_not_stop_a_re_mql():
    plan = decide([lead(**RE_MQL, Person_Score__c=None)])

    assert changes(plan)["Routing_Reason__c"] == "Country pool: DE"
    assert plan.decisions[0].reason.startswith("re-routed: Country pool: DE")


def test_moment_with_a_special_queue_goes_there_first():
    partner = member("Partner - Trial - Self-managed")
    plan = decide([lead(Last_Interesting_Moment__c="Support Request", CampaignMembers=partner)])

    assert changes(plan)["OwnerId"] == QUEUES["Support_Queue"]["Id"]
    assert changes(plan)["Routing_Reason__c"] == "Last interesting moment: Support Request"


# --- Routing events ---------------------------------------------------------------------


def test_lead_routed_after_its_mql_has_no_event_and_is_not_looked_at():
    plan = decide([lead(Last_Routed_Date__c="2026-11-22T11:00:00.000+0000")])

    assert plan.decisions == () and plan.is_empty


def test_re_mql_later_than_the_last_routing_routes_again_keyed_on_the_event():
    plan = decide([lead(**RE_MQL)])

    assert plan.decisions[0].stage == "Country pool: DE"
    assert plan.decisions[0].reason.endswith("; event 2026-11-22T10:00:00+00:00")
    assert [(a.record_id, a.stage) for a in plan.alerts] == [
        ("00Q000000000000001", "00Q000000000000001:2026-11-22T10:00:00+00:00")
    ]
    assert changes(plan)["Last_Routed_Date__c"] == "2026-11-23T09:30:00.000Z"


def test_a_run_as_of_an_earlier_day_records_the_event_it_routed_not_before():
    plan = decide([lead(**RE_MQL)], now=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))

    assert changes(plan)["Last_Routed_Date__c"] == "2026-11-22T10:00:00.000Z"


@pytest.mark.parametrize(
    ("mql", "routed"),
    [(YESTERDAY, False), ("2026-11-23T08:00:00.000+0000", True)],
    ids=["MQL before going live", "MQL after"],
)
def test_leads_created_before_going_live_route_only_on_a_later_mql(mql: str, routed: bool):
    plan = decide([lead(MQL_Date__c=mql)], live_since="2026-11-23T00:00:00")  # UTC

    assert bool(plan.changes) is routed


def test_partner_campaign_joined_after_the_last_routing_routes_again():
    joined = member("Partner MDF - DevOps Days", mdf="Yes", joined="2026-11-23T08:00:00.000+0000")
    plan = decide([lead(**RE_MQL, CampaignMembers=joined)])

    assert plan.decisions[0].reason.endswith("; event 2026-11-23T08:00:00+00:00")
    assert changes(plan)["Routing_Reason__c"] == "Partner: MDF campaign Partner MDF - DevOps Days"


# --- Rules, in order --------------------------------------------------------------------


PARTNER_FIELDS = {
    "Prospect_Share_Status__c": "Sending to Partner",
    "Partner_Prospect_Status__c": "Qualifying",
}


def test_mdf_campaign_lead_goes_to_the_partner_queue_even_from_a_pubsec_account():
    pubsec = account(1, Is_US_PubSec__c=True)
    plan = decide(
        [lead(Email="a@acme1.com", CampaignMembers=member("Partner MDF", mdf="Yes"))], (pubsec,)
    )

    assert changes(plan) == {
        **PARTNER_FIELDS,
        "OwnerId": QUEUES["Partner_Queue"]["Id"],
        "Routing_Reason__c": "Partner: MDF campaign Partner MDF",
        "Matched_Account__c": pubsec["Id"],
        "Last_Routed_Date__c": "2026-11-23T09:30:00.000Z",
    }
    assert plan.alerts == ()  # a queue gets no DM


def test_trial_campaign_lead_with_a_partner_account_keeps_its_owner():
    trial = member("Partner - Trial - Self-managed")
    plan = decide([lead(CampaignMembers=trial, Partner_Account__c="001000000000000009")])

    assert "OwnerId" not in changes(plan)
    assert changes(plan)["Routing_Reason__c"] == "Partner: trial Partner - Trial - Self-managed"
    assert {k: changes(plan)[k] for k in PARTNER_FIELDS} == PARTNER_FIELDS


def test_campaign_that_is_neither_funded_nor_named_is_no_partner_campaign():
    plan = decide([lead(CampaignMembers=member("Partner - Trial - SaaS", mdf="No"))])

    assert changes(plan)["Routing_Reason__c"] == "Country pool: DE"


def test_joint_event_lead_not_worked_goes_to_the_partner_queue():
    plan = decide([lead(CampaignMembers=member("Cloud Summit", joint="Yes"))])

    assert changes(plan)["OwnerId"] == QUEUES["Partner_Queue"]["Id"]
    assert changes(plan)["Routing_Reason__c"] == "Partner: joint event Cloud Summit"


def test_joint_event_lead_sales_dev_works_takes_the_sdr_path():
    joint = member("Cloud Summit", joint="Yes")
    plan = decide([lead(CampaignMembers=joint, Actively_Being_Sequenced__c=True)])

    assert changes(plan)["Routing_Reason__c"] == "Country pool: DE"
    assert "joint event Cloud Summit, but Sales Dev works the lead" in plan.decisions[0].reason


def test_inbound_request_always_takes_the_sdr_path():
    funded = member("Partner MDF", mdf="Yes")
    plan = decide([lead(CampaignMembers=funded, Last_Interesting_Moment__c="Demo Request")])

    assert changes(plan)["Routing_Reason__c"] == "Country pool: DE"
    assert "Prospect_Share_Status__c" not in changes(plan)


def test_pubsec_lead_that_is_not_an_mql_goes_to_the_pubsec_pool():
    pubsec = account(1, Is_US_PubSec__c=True)
    plan = decide([lead(Email="a@acme1.com", MQL_Date__c=None, Status="Inquiry")], (pubsec,))

    assert changes(plan)["OwnerId"] == IVAN
    assert changes(plan)["Routing_Reason__c"] == "US PubSec pool"
    assert plan.alerts == ()  # not an MQL: no DM


def test_non_mql_goes_to_the_holding_queue_for_its_status_before_the_account_bdr():
    working = account(1, **bdr(GUS))
    plan = decide([lead(Email="a@acme1.com", MQL_Date__c=None, Status="Recycle")], (working,))

    assert changes(plan)["OwnerId"] == QUEUES["Recycle_Queue"]["Id"]
    assert changes(plan)["Routing_Reason__c"] == "Holding queue: Recycle"


def test_non_mql_in_a_status_without_queue_is_left_with_the_reason():
    plan = decide([lead(MQL_Date__c=None, Status="Working")])

    assert reason(plan) == (
        "skipped",
        "not an MQL and no holding queue for Status 'Working' (status_queues)",
    )


def test_account_bdr_actively_working_gets_the_mql_before_the_country_pool():
    plan = decide([lead(Email="a@acme1.com")], (account(1, **bdr(GUS)),))

    assert changes(plan)["OwnerId"] == GUS
    assert changes(plan)["Routing_Reason__c"] == "Account BDR"
    assert changes(plan)["Matched_Account__c"] == "001000000000000001"


@pytest.mark.parametrize(
    ("bdr_fields", "note"),
    [
        (bdr(ELI, active=False), "BDR Eli Novak of Acme 1 is inactive"),
        (bdr(GUS, status="Paused"), "BDR Gus Romero is not actively working Acme 1"),
    ],
)
def test_account_bdr_deactivated_or_not_working_falls_to_the_country_pool(
    bdr_fields: dict[str, Any], note: str
):
    plan = decide([lead(Email="a@acme1.com")], (account(1, **bdr_fields),), inactive=(ELI,))

    assert changes(plan)["Routing_Reason__c"] == "Country pool: DE"
    assert note in plan.decisions[0].reason


@pytest.mark.parametrize(
    "country", ["USA", "United States", "U.S.", "us", "United States of America"]
)
def test_country_spellings_are_one_iso_code(country: str):
    plan = decide([lead(Country=country)])

    assert changes(plan)["Routing_Reason__c"] == "Country pool: US"
    assert changes(plan)["OwnerId"] == FAY


@pytest.mark.parametrize(
    ("country", "why"),
    [
        ("Brazil", "country 'Brazil' (BR) has no pool"),
        ("Narnia", "country 'Narnia' unknown"),
        (None, "no country"),
    ],
)
def test_country_without_a_pool_goes_to_the_default_pool(country: str | None, why: str):
    plan = decide([lead(Country=country)])

    assert changes(plan)["Routing_Reason__c"] == "Default pool"
    assert why in plan.decisions[0].reason


def test_round_robin_skips_a_deactivated_sdr_and_turns():
    plan = decide([lead(1, Country="US"), lead(2, Country="US")], inactive=(FAY,))

    assert [c.new for c in plan.changes if c.field == "OwnerId"] == [GUS, GUS]
    assert "skipped Fay Nguyen: inactive" in plan.decisions[0].reason
    assert plan.assignments == {"route-leads-amer": {"gus@x.example": 2}}


FAY_AND_GUS = ["fay@x.example", "gus@x.example"]


@pytest.mark.parametrize(
    ("amer", "owners_or_why"),
    [
        (
            {"members": [{"username": "fay@x.example", "weight": 2}, "gus@x.example"]},
            [FAY, GUS, FAY],
        ),
        (
            {"members": FAY_AND_GUS, "daily_cap": 1},
            [FAY, GUS, "Fay Nguyen: reached the daily cap of 1"],
        ),
        (
            {
                "members": [
                    {
                        "username": "fay@x.example",
                        "out_of_office": [{"start": "2026-11-20", "end": "2026-11-27"}],
                    },
                    "gus@x.example",
                ]
            },
            [GUS, GUS, GUS],
        ),
        (
            {"members": FAY_AND_GUS, "working_hours": {"start": "10:00", "end": "18:00"}},
            [
                "Fay Nguyen: outside working hours (Mon 09:30 in UTC)",
                "Fay Nguyen: outside working hours (Mon 09:30 in UTC)",
                "Fay Nguyen: outside working hours (Mon 09:30 in UTC)",
            ],
        ),
    ],
    ids=["weights", "daily cap", "out of office", "working hours"],
)
def test_country_pool_round_robin_keeps_weights_caps_absences_and_hours(
    amer: dict[str, Any], owners_or_why: list[str]
):
    plan = decide([lead(n, Country="US") for n in (1, 2, 3)], amer=amer)

    got = []
    for decision in plan.decisions:
        if decision.outcome == "selected":
            got.append(changes(plan, decision.record_id)["OwnerId"])
        else:
            got.append(decision.reason.split("(", 1)[1].split(";")[0])
    assert got == owners_or_why


def test_nobody_in_the_pool_available_leaves_the_lead_unrouted():
    plan = decide([lead(Country="US")], inactive=(FAY, GUS))

    assert reason(plan) == (
        "skipped",
        "nobody in pool 'route-leads-amer' can take leads now"
        " (Fay Nguyen: inactive; Gus Romero: inactive)",
    )


# --- Account matching -------------------------------------------------------------------


def test_two_accounts_on_one_domain_are_ambiguous_and_reported():
    twins = (account(1, Name="Twin A"), account(2, Name="Twin B", Website="acme1.com"))
    plan = decide([lead(Email="a@acme1.com")], twins)

    assert "Matched_Account__c" not in changes(plan)
    assert (
        "; ambiguous: the email domain acme1.com matches 2 accounts (Twin A, Twin B)"
        " and nothing breaks the tie;" in plan.decisions[0].reason
    )


def test_tie_broken_by_the_customer():
    twins = (account(1), account(2, Website="acme1.com", Type="Customer"))
    plan = decide([lead(Email="a@acme1.com")], twins)

    assert changes(plan)["Matched_Account__c"] == "001000000000000002"


def test_account_on_a_shared_host_never_matches():
    shared = account(1, Name="Company 1", Website="https://sites.google.com/view/company1")
    plan = decide([lead(Email="a@sites.google.com")], (shared,))

    assert "Matched_Account__c" not in changes(plan)


def test_free_mail_lead_matches_by_normalized_company_name():
    plan = decide([lead(Company="Acme 1, Inc.")], (account(1),))

    assert changes(plan)["Matched_Account__c"] == "001000000000000001"


def test_account_and_lead_keys_agree_and_skip_shared_hosts_and_placeholders():
    config = RouteLeadsConfig(**CONFIG)

    shared = frozenset(config.shared_hosts)
    assert account_keys(account(1, Name="Acme 1, Inc."), shared) == {
        "domain:acme1.com",
        "name:acme 1",
    }
    assert account_keys(account(2, Website="https://sites.google.com/view/x"), shared) == {
        "name:acme 2"
    }
    assert lead_keys(lead(Email="jo@app.acme1.com"), config) == {"domain:acme1.com"}
    assert lead_keys(lead(Email="jo@gmail.com", Company="Acme 1 Inc"), config) == {"name:acme 1"}
    assert lead_keys(lead(Email=None, Company="n/a"), config) == set()


def test_candidate_accounts_are_read_by_id_from_the_account_index():
    index = {"domain:acme1.com": {"001000000000000001"}, "name:beta": {"001000000000000002"}}
    looked_up: list[set[str]] = []

    def lookup(keys):
        looked_up.append(set(keys))
        return {k: index[k] for k in keys if k in index}

    ctx = DecideContext(as_of=TODAY, config=RouteLeadsConfig(**CONFIG), lookup=lookup)
    leads = [lead(1, Email="a@app.acme1.com"), lead(2, Company="Beta, Inc."), lead(3)]

    found = follow_ups({"leads": leads}, ctx)

    assert looked_up == [{"domain:acme1.com", "name:beta", "name:3"}]  # "Company" is a legal word
    assert list(found) == ["accounts_0"]
    assert found["accounts_0"].endswith(
        " FROM Account WHERE Id IN ('001000000000000001','001000000000000002') ORDER BY Id"
    )
    assert follow_ups({"leads": []}, ctx)["accounts_0"].endswith("WHERE Id = null")


def test_candidate_queries_each_fit_in_a_salesforce_request_uri():
    """Salesforce refuses a URI over 16,384 bytes: 2,000 candidates split across queries."""
    ids = {f"001{n:015d}" for n in range(2000)}
    ctx = DecideContext(
        as_of=TODAY, config=RouteLeadsConfig(**CONFIG), lookup=lambda keys: {"k": ids}
    )

    found = follow_ups({"leads": [lead()]}, ctx)

    assert len(found) > 1
    assert all(len(quote_plus(soql)) <= MAX_QUERY_URI for soql in found.values())
    assert all(f"'{i}'" in "".join(found.values()) for i in ids)


# --- Config -----------------------------------------------------------------------------


def test_missing_queue_is_a_config_error_before_any_lead_is_looked_at():
    queues = {k: v for k, v in QUEUES.items() if k != "Partner_Queue"}

    with pytest.raises(ConfigError) as error:
        decide([lead()], queues=queues)

    assert str(error.value) == (
        "plays.route-leads.partner_queue: no queue with DeveloperName 'Partner_Queue' in the org"
    )


def test_country_pools_take_any_spelling_and_refuse_unknown_countries():
    config = RouteLeadsConfig(country_pools={"USA": "a", "Germany": "b", "FR": "c"})
    assert config.country_pools == {"US": "a", "DE": "b", "FR": "c"}

    with pytest.raises(ValueError, match="'Narnia' is not a country we know"):
        RouteLeadsConfig(country_pools={"Narnia": "a"})


# --- Queries ----------------------------------------------------------------------------


def test_reads_from_the_watermark_minus_the_overlap_else_the_catch_up_window():
    config = RouteLeadsConfig(**CONFIG)
    mark = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    ctx = DecideContext(as_of=TODAY, config=config, watermark=mark, now=NOW)

    assert since(ctx) == datetime(2026, 11, 23, 9, 10, tzinfo=UTC)
    assert "SystemModstamp >= 2026-11-23T09:10:00+00:00" in queries(ctx)["leads"]
    fresh = DecideContext(as_of=TODAY, config=config, now=NOW)
    assert since(fresh) == datetime(2026, 10, 24, tzinfo=UTC)


def test_campaign_names_and_values_are_quoted_in_every_query(org: LocalOrg):
    """A brace or a quote in a configured name is data, never SOQL."""
    config = RouteLeadsConfig(partner_trial_campaigns=["Partner {EMEA} - O'Neil's trial"])
    ctx = DecideContext(as_of=TODAY, config=config, pools=Settings().pools, now=NOW)

    found = queries(ctx)

    assert "IN ('Partner {EMEA} - O\\'Neil\\'s trial')" in found["leads"]
    assert "IN ('Partner {EMEA} - O\\'Neil\\'s trial')" in found["campaign_leads"]
    for soql in found.values():
        org.salesforce().query_all(soql)  # the org parses every one


def test_the_digest_query_runs_from_digest_time_until_the_digest_has_gone():
    config = RouteLeadsConfig(**CONFIG)
    before = DecideContext(
        as_of=TODAY, config=config, now=datetime.combine(TODAY, time(7, 59), UTC)
    )
    due = DecideContext(as_of=TODAY, config=config, now=NOW)
    gone = DecideContext(
        as_of=TODAY, config=config, now=NOW, fired=frozenset({(REVOPS, "digest:2026-11-23")})
    )

    assert "unrouted" not in queries(before)
    assert "unrouted" in queries(due)
    assert "unrouted" not in queries(gone)


# --- Alerts -----------------------------------------------------------------------------


def render(plan: Plan, index: int = 0) -> str:
    return AlertRenderer("https://acme.my.salesforce.com").render(plan.alerts[index]).text


def test_sdr_dm_on_mql_assignment_matches_golden():
    plan = decide(
        [lead(Email="jo@acme1.com", Name="Jo Park", Company="Acme 1")], (account(1, **bdr(GUS)),)
    )

    assert [(r.role, r.user_id, r.name) for r in plan.alerts[0].recipients] == [
        ("sdr", GUS, "Gus Romero")
    ]
    assert render(plan) == (GOLDEN / "route_leads.txt").read_text(encoding="utf-8").rstrip("\n")


def test_digest_of_unrouted_leads_matches_golden():
    waiting = [
        lead(1, Person_Score__c=None),
        lead(2, Do_Not_Route__c=True),
        lead(3, Person_Score__c=None),
        lead(4, **RE_MQL, Status="Accepted"),
    ]
    plan = decide([], unrouted=waiting, digest_rows=3)

    [digest] = plan.alerts
    assert (digest.record_id, digest.stage) == (REVOPS, "digest:2026-11-23")
    assert [r.name for r in digest.recipients] == ["RevOps Team"]
    assert render(plan) == (GOLDEN / "route_leads_digest.txt").read_text(encoding="utf-8").rstrip(
        "\n"
    )


def test_a_day_with_nothing_unrouted_sends_no_digest_but_marks_the_day():
    plan = decide([lead()], unrouted=[])

    assert [a.template for a in plan.alerts] == ["route_leads.j2"]
    assert [(f.record_id, f.stage) for f in plan.firings] == [(REVOPS, "digest:2026-11-23")]


# --- Runs against a local org -----------------------------------------------------------


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    """The demo org's routing fixtures alone (no generated accounts)."""
    return build_demo_org(tmp_path / "org.sqlite", accounts=0, seed=7, today=TODAY)


SETTINGS = Settings(plays={"route-leads": {"digest_time": "00:00"}})


def run(
    org: LocalOrg,
    store: StateStore,
    *,
    dry_run: bool = False,
    notifier: RecordingNotifier | None = None,
    on_plan: Any = None,
    as_of: date = TODAY,
) -> RunResult:
    gateway = OrgGateway(org.salesforce)
    return run_play(
        load_plays(SETTINGS)["route-leads"],
        SETTINGS,
        as_of=as_of,
        dry_run=dry_run,
        store=store,
        org=gateway,
        renderer=AlertRenderer(gateway.instance_url),
        notifier=notifier or RecordingNotifier(),
        on_plan=on_plan,
    )


def owners(org: LocalOrg) -> dict[str, tuple[str, str | None]]:
    rows = org.salesforce().query_all(
        "SELECT Name, OwnerId, Routing_Reason__c FROM Lead WHERE CreatedById != null"
    )["records"]
    return {r["Name"]: (r["OwnerId"], r["Routing_Reason__c"]) for r in rows}


def test_dry_run_writes_nothing_apply_routes_and_a_rerun_plans_nothing(
    org: LocalOrg, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    before = owners(org)

    dry = run(org, store, dry_run=True)
    assert owners(org) == before and store.watermark("route-leads") is None
    notifier = RecordingNotifier()
    applied = run(org, store, notifier=notifier)
    assert store.watermark("route-leads") == applied.plan.watermark
    rerun = run(org, store)

    assert applied.status == "succeeded"

    def planned(result: RunResult) -> list[tuple[str, str, object]]:
        return [
            (c.record_name, c.field, c.new)
            for c in result.plan.changes
            if c.field != "Last_Routed_Date__c"  # the moment of each run
        ]

    assert planned(applied) == planned(dry)
    routed = {d.record_name for d in applied.plan.selected}
    assert {"Olivia Grant", "Sam Porter", "Wes Ford", "Nina Cole"} <= routed
    assert not {"Xena Holt", "Yara Quinn", "Zoe Park"} & routed
    after = owners(org)
    assert after["Olivia Grant"][1] == "Account BDR"
    assert after["Sam Porter"][1] == "US PubSec pool"
    assert after["Liam Brooks"][1] == after["Noah Reed"][1] == "Country pool: US"
    assert after["Zoe Park"] == before["Zoe Park"]
    assert sorted(a.key for a in notifier.sent) == sorted(a.key for a in applied.alerts)
    digest = next(a.text for a in notifier.sent if a.key[1] == "digest:2026-11-23")
    assert "- 1: Do_Not_Route__c is checked" in digest
    assert "Zoe Park" in digest and "Ava Stone" not in digest
    assert rerun.plan.changes == () and rerun.plan.alerts == () and rerun.plan.selected == ()


def test_a_run_as_of_a_future_date_keeps_the_watermark_at_the_clock(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = run(org, store, as_of=date.today() + timedelta(days=30))

    assert result.plan.watermark is not None and result.plan.watermark > datetime.now(UTC)
    saved = store.watermark("route-leads")
    assert saved is not None and saved <= datetime.now(UTC)


def test_two_runs_in_one_window_route_a_lead_once(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    first = run(org, store)
    olivia = next(d.record_id for d in first.plan.selected if d.record_name == "Olivia Grant")
    # Edited again inside the overlap: read again, nothing new to route.
    org.salesforce().Lead.update(olivia, {"Title": "VP Engineering"})

    second = run(org, store)

    assert olivia in {r["Id"] for r in org.salesforce().query_all("SELECT Id FROM Lead")["records"]}
    assert second.plan.changes == () and second.plan.alerts == ()


def test_a_run_after_lost_local_state_routes_nothing_twice(org: LocalOrg, tmp_path: Path):
    first = run(org, StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    assert first.counts["applied"] > 0

    notifier = RecordingNotifier()
    fresh = run(org, StateStore(f"sqlite:///{tmp_path / 'new-machine.sqlite'}"), notifier=notifier)

    assert fresh.plan.changes == ()
    assert notifier.sent == []  # no DM and no second digest (the org remembers it)


def test_overlapping_runs_the_second_exits_locked(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    with play_lease(store, "route-leads"), pytest.raises(LockedError) as error:
        run(org, store)

    assert error.value.exit_code == 3
    assert "another run of route-leads holds the lock" in str(error.value)
    assert all(reason is None for _owner, reason in owners(org).values())


def test_the_account_index_follows_accounts_changed_since_the_last_run(
    org: LocalOrg, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run(org, store)
    sf = org.salesforce()
    [account] = sf.query("SELECT Id FROM Account WHERE Name = 'Northwind Robotics'")["records"]
    [lead] = sf.query("SELECT Id FROM Lead WHERE Name = 'Mia Schulz'")["records"]
    # The account moves to a new domain, and a new MQL arrives from it.
    sf.Account.update(account["Id"], {"Website": "https://northwind.ai"})
    sf.Lead.update(
        lead["Id"],
        {
            "Email": "mia@northwind.ai",
            "MQL_Date__c": datetime.now(UTC)
            .replace(year=TODAY.year, month=TODAY.month, day=TODAY.day)
            .isoformat(),
        },
    )

    again = run(org, store)

    assert store.index_lookup("route-leads:accounts", {"domain:northwind.ai"}) == {
        "domain:northwind.ai": {account["Id"]}
    }
    assert changes(again.plan, lead["Id"])["Routing_Reason__c"] == "Account BDR"
    assert changes(again.plan, lead["Id"])["Matched_Account__c"] == account["Id"]


def test_unknown_queue_stops_the_run_before_any_write(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    settings = Settings(plays={"route-leads": {"status_queues": {"Recycle": "Recycle_Q"}}})
    before = owners(org)
    gateway = OrgGateway(org.salesforce)

    with pytest.raises(ConfigError, match=r"status_queues\.Recycle: no queue with DeveloperName"):
        run_play(
            load_plays(settings)["route-leads"],
            settings,
            as_of=TODAY,
            dry_run=False,
            store=store,
            org=gateway,
            renderer=AlertRenderer(gateway.instance_url),
            notifier=RecordingNotifier(),
        )

    assert owners(org) == before
    assert store.watermark("route-leads") is None


def test_a_run_while_another_process_refreshes_the_account_index_exits_locked(
    org: LocalOrg, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    with play_lease(store, "route-leads:accounts"), pytest.raises(LockedError) as error:
        run(org, store, dry_run=True)

    assert error.value.exit_code == 3
    assert "another run of route-leads:accounts holds the lock" in str(error.value)


def test_lead_converted_before_apply_is_not_written_nor_alerted(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    sf = org.salesforce()
    [olivia] = sf.query("SELECT Id FROM Lead WHERE Name = 'Olivia Grant'")["records"]

    def convert(plan: Plan) -> None:
        convert_lead(org.storage, olivia["Id"], "Qualified", None, None, None)

    notifier = RecordingNotifier()
    result = run(org, store, notifier=notifier, on_plan=convert)

    assert result.status == "partial"
    assert "CANNOT_UPDATE_CONVERTED_LEAD" in result.failures[olivia["Id"]]
    assert olivia["Id"] not in {a.alert.record_id for a in notifier.sent}
    # The watermark moves on; the lead is read again by Id, and converted it is not found.
    assert store.watermark("route-leads") == result.plan.watermark
    assert set(store.retries("route-leads")) == {olivia["Id"]}
    assert run(org, store).plan.changes == ()
    assert store.retries("route-leads") == {}


def test_campaign_member_added_since_the_watermark_is_read_though_its_lead_is_not(
    org: LocalOrg,
):
    """Joining a campaign leaves the Lead's LastModifiedDate as it was."""
    sf = org.salesforce()
    [wes] = sf.query("SELECT Id FROM Lead WHERE Name = 'Wes Ford'")["records"]
    [mdf] = sf.query("SELECT Id FROM Campaign WHERE Name = 'Partner MDF - DevOps Days'")["records"]
    # The org's clock: today's date at the current time; the lead was modified yesterday.
    mark = datetime.combine(TODAY, datetime.now(UTC).time(), UTC) + timedelta(minutes=5)
    ctx = DecideContext(
        as_of=TODAY, config=RouteLeadsConfig(), pools=Settings().pools, watermark=mark
    )
    sf.CampaignMember.create({"CampaignId": mdf["Id"], "LeadId": wes["Id"]})

    found = {name: sf.query_all(soql)["records"] for name, soql in queries(ctx).items()}

    assert wes["Id"] not in {r["Id"] for r in found["leads"]}
    [lead] = [r for r in found["campaign_leads"] if r["Id"] == wes["Id"]]
    event = routing_event(lead, ctx.config)
    assert event is not None and event > mark - timedelta(minutes=5)
    plan = play.decide(found | {"accounts_0": []}, ctx)
    assert changes(plan, wes["Id"])["Routing_Reason__c"] == (
        "Partner: MDF campaign Partner MDF - DevOps Days"
    )


# --- doctor -----------------------------------------------------------------------------


def test_doctor_checks_queues_pools_and_campaign_names(revsched_home: Path, tmp_path: Path):
    revsched_home.mkdir(parents=True)
    build_demo_org(revsched_home / "demo-org.sqlite", accounts=0, seed=7, today=TODAY).close()
    config = tmp_path / "revsched.toml"
    config.write_text(
        "[plays.route-leads]\n"
        "partner_queue = 'Partners_Queue'\n"
        "partner_trial_campaigns = ['Partner - Trial - Self-managed', 'Partner - Trail - SaaS']\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    lines = result.stdout.splitlines()

    assert result.exit_code == 1
    assert (
        "FAIL route-leads: queue Partners_Queue: no such queue; set plays.route-leads."
        "partner_queue to a queue's DeveloperName" in lines
    )
    assert " ok  route-leads: queue Recycle_Queue: exists" in lines
    assert " ok  route-leads: pool route-leads-emea: 2 of 2 members active" in lines
    assert " ok  route-leads: Campaign Partner - Trial - Self-managed: exists" in lines
    assert (
        "FAIL route-leads: Campaign Partner - Trail - SaaS: no Campaign with Name"
        " 'Partner - Trail - SaaS'; set plays.route-leads.partner_trial_campaigns to one"
        " that exists" in lines
    )
    assert " ok  route-leads: accounts_0 query: every object and field it reads exists" in lines


# --- State store: watermark and index, on each backend ------------------------------------


def test_watermark_and_account_index_keep_in_the_state_store(state_url: str):
    store = StateStore(state_url)
    mark = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    store.save_watermark("route-leads", mark)
    store.save_watermark("route-leads", mark + timedelta(minutes=15))

    built = store.index_records(
        "i", [("001A", {"domain:a.com", "name:a"}), ("001B", {"domain:a.com"})], rebuild=True
    )
    store.index_records("i", [("001A", {"domain:z.com"})], rebuild=False)  # A moved

    assert store.watermark("route-leads") == mark + timedelta(minutes=15)
    assert store.watermark("other") is None
    assert built == 2
    assert store.index_lookup("i", {"domain:a.com", "domain:z.com", "name:a", "x"}) == {
        "domain:a.com": {"001B"},
        "domain:z.com": {"001A"},
    }
    store.index_records("i", [("001C", {"name:c"})], rebuild=True)
    assert store.index_lookup("i", {"domain:a.com", "name:c"}) == {"name:c": {"001C"}}
