"""The dedupe plays: clusters, their masters, surviving values, flags and normalization."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from revsched.errors import ConfigError
from revsched.jobs.dedupe_accounts import DedupeAccountsConfig
from revsched.jobs.dedupe_accounts import play as accounts_play
from revsched.jobs.dedupe_contacts import DedupeContactsConfig
from revsched.jobs.dedupe_contacts import play as contacts_play
from revsched.jobs.dedupe_contacts import queries as contacts_queries
from revsched.jobs.dedupe_leads import DedupeLeadsConfig
from revsched.jobs.dedupe_leads import play as leads_play
from revsched.play import DecideContext

TODAY = date(2026, 11, 23)
INTEGRATION = "005000000000000INT"
AVA = "005000000000000AVA"
USERS = [{"Id": INTEGRATION, "Username": "integration@demo.revsched.dev"}]


def rows(count: int) -> dict[str, Any] | None:
    return {"records": [{"Id": f"00T{n:015d}"} for n in range(count)]} if count else None


def contact(n: int, first: str, last: str, **fields: Any) -> dict[str, Any]:
    record = {
        "Id": f"003{n:015d}",
        "Name": f"{first} {last}",
        "FirstName": first,
        "LastName": last,
        "CreatedDate": f"2025-01-{n:02d}T10:00:00.000+0000",
        "OwnerId": AVA,
        "AccountId": "001000000000000ACM",
        "Email": None,
        "Phone": None,
        "MobilePhone": None,
        "Title": None,
        "MailingCountry": None,
        "Possible_Duplicate_Of__c": None,
        "Tasks": None,
        "Events": None,
        "OpportunityContactRoles": None,
    }
    return record | fields


def cid(n: int) -> str:
    return f"003{n:015d}"


def decide_contacts(contacts: list[dict[str, Any]], **config: Any):
    ctx = DecideContext(as_of=TODAY, config=DedupeContactsConfig(**config))
    return contacts_play.decide({"contacts": contacts, "integration_users": USERS}, ctx)


def reasons(plan) -> list[tuple[str, str, str]]:
    return [(d.record_id, d.stage, d.reason) for d in plan.decisions]


def roles(plan) -> dict[str, str]:
    return {d.record_id: d.stage.split(": ")[1] for d in plan.decisions}


BOB = [
    contact(1, "Robert", "Smith", Email="robert.smith@acme.com", Phone="+1 415 555 0123"),
    contact(2, "Bob", "Smith", Email="ROBERT.SMITH@acme.com ", Title="CFO"),
    contact(3, "Robert", "Smith", Email="bob@gmail.com", MobilePhone="(415) 555-0123"),
]


def test_duplicates_merge_into_the_record_linked_to_the_most_of_them():
    plan = decide_contacts(BOB)

    assert roles(plan) == {cid(1): "master", cid(2): "merge", cid(3): "merge"}
    master = next(d for d in plan.decisions if d.record_id == cid(1))
    assert (
        master.reason == "master of 3 records (merges the most duplicates (2)); merges 2, flags 0"
    )
    merged = next(d for d in plan.decisions if d.record_id == cid(3))
    assert merged.reason.startswith("merge into Robert Smith (003000000000000001): phone+name 1.00")
    assert "same phone +14155550123 +6.0, same name 'robert smith' +5.0" in merged.reason


def test_empty_master_fields_take_the_duplicates_values():
    plan = decide_contacts(BOB)

    assert {(c.record_id, c.field, c.old, c.new) for c in plan.changes} == {
        (cid(1), "Title", None, "CFO"),
        (cid(1), "MobilePhone", None, "(415) 555-0123"),
    }
    title = next(c for c in plan.changes if c.field == "Title")
    assert title.reason == (
        "empty on the master; newest value among its duplicates, from Bob Smith"
        " (003000000000000002)"
    )


def test_survivorship_is_configurable_per_field():
    plan = decide_contacts(BOB, survivorship={"MobilePhone": "oldest"})

    assert [(c.field, c.new) for c in plan.changes] == [("MobilePhone", "(415) 555-0123")]


@pytest.mark.parametrize(
    ("changes", "master", "why"),
    [
        (
            {1: {"OwnerId": INTEGRATION}},
            2,
            "not owned by an integration user, then oldest (created 2025-01-02)",
        ),
        ({3: {"OpportunityContactRoles": rows(2)}}, 3, "most opportunities (2)"),
        ({2: {"Tasks": rows(1), "Events": rows(2)}}, 2, "most activities (3)"),
    ],
)
def test_master_rules_in_order(changes: dict[int, dict[str, Any]], master: int, why: str):
    contacts = [c | changes.get(n, {}) for n, c in enumerate(BOB, start=1)]
    plan = decide_contacts(contacts)

    decision = next(d for d in plan.decisions if d.stage.endswith("master"))
    assert decision.record_id == cid(master)
    assert why in decision.reason


def test_the_best_connected_record_is_the_master_before_the_oldest():
    """Nothing merges through another record: a master linked to both others merges both,
    where the oldest would merge one and only flag the other."""
    contacts = [
        contact(1, "Robert", "Smith", Email="bob@gmail.com"),
        contact(2, "Robert", "Smith", Email="bob@gmail.com", Phone="+1 415 555 0123"),
        contact(3, "Robert", "Smith", Phone="(415) 555-0123"),
    ]

    plan = decide_contacts(contacts)
    assert roles(plan) == {cid(1): "merge", cid(2): "master", cid(3): "merge"}

    oldest_first = decide_contacts(contacts, master_rules=["oldest"])
    assert roles(oldest_first) == {cid(1): "master", cid(2): "merge", cid(3): "flag"}


def test_master_rules_order_is_configurable():
    contacts = [BOB[0], BOB[1] | {"OpportunityContactRoles": rows(3)}, BOB[2]]

    plan = decide_contacts(contacts, master_rules=["oldest", "most_opportunities"])

    assert roles(plan)[cid(1)] == "master"


def test_most_complete_master():
    contacts = [BOB[0], BOB[1] | {"Phone": "1", "MobilePhone": "2", "MailingCountry": "US"}]

    plan = decide_contacts(contacts, master_rules=["most_complete", "oldest"])

    assert roles(plan)[cid(2)] == "master"


def test_possible_duplicates_below_the_threshold_are_flagged_on_the_record():
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
    ]
    plan = decide_contacts(contacts)

    assert roles(plan) == {cid(1): "master", cid(2): "flag"}
    [flag] = plan.changes
    assert (flag.record_id, flag.field, flag.new) == (cid(2), "Possible_Duplicate_Of__c", cid(1))
    assert flag.reason.startswith("possible duplicate of Olivia Johnson (003000000000000001) (name")
    assert plan.skipped[0].reason.startswith(
        "possible duplicate of Olivia Johnson (003000000000000001), not merged"
        " (score 0.80 below the merge threshold 0.92)"
    )


def test_the_merge_threshold_and_the_evidence_needed_decide_merge_or_flag():
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
    ]
    plan = decide_contacts(contacts, merge_threshold=0.8, flag_field="Title")
    assert roles(plan) == {cid(1): "master", cid(2): "flag"}
    assert "1 piece of evidence (name), 2 needed" in plan.skipped[0].reason

    plan = decide_contacts(
        contacts, merge_threshold=0.8, flag_field="Title", match={"min_evidence": 1}
    )
    assert roles(plan) == {cid(1): "master", cid(2): "merge"}


def test_a_flag_whose_cluster_no_longer_holds_is_cleared():
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Liam", "Moore", Email="lm@gmail.com", Possible_Duplicate_Of__c=cid(1)),
    ]
    [change] = decide_contacts(contacts).changes

    assert (change.record_id, change.field, change.old, change.new) == (
        cid(2),
        "Possible_Duplicate_Of__c",
        cid(1),
        None,
    )
    assert change.reason == "no longer a possible duplicate: its cluster no longer holds"


def test_the_dry_run_names_the_safety_rule_that_blocked_a_merge():
    contacts = [
        contact(1, "John", "Smith Sr.", Email="jsmith@gmail.com", Phone="330 555 0111"),
        contact(2, "John", "Smith Jr.", Email="jsmith@gmail.com", Phone="330 555 0111"),
    ]
    plan = decide_contacts(contacts)

    assert plan.merges == () and plan.changes == ()
    [blocked] = plan.decisions
    assert blocked.stage == "merge blocked by a safety rule"
    assert blocked.reason.startswith(
        "not merged with John Smith Jr. (003000000000000002): blocked by name_suffixes: sr / jr"
    )


def test_a_record_that_could_be_either_of_two_people_kept_apart_merges_with_neither():
    """A father and his son of one name at one address (birthdates far apart), and a third
    record there with no birthdate: it could be either, so it is only flagged."""
    home = {"MailingStreet": "310 Maple Avenue", "MailingPostalCode": "45402"}
    contacts = [
        contact(1, "Robert", "Haines", Birthdate="1951-06-03", **home),
        contact(2, "Robert", "Haines", Birthdate="1979-11-21", **home),
        contact(3, "Robert", "Haines", **home | {"MailingStreet": "310 Maple Ave."}),
    ]
    fields = {"street_field": "MailingStreet", "postal_code_field": "MailingPostalCode"}

    plan = decide_contacts(contacts, birthdate_field="Birthdate", **fields)

    assert plan.merges == ()
    assert [(d.record_id, d.stage) for d in plan.decisions] == [
        (cid(1), "cluster 1: master"),
        (cid(3), "cluster 1: flag"),
        (cid(2), "cluster 1: apart"),
        (cid(1), "merge blocked by a safety rule"),
    ]
    assert reasons(plan)[1][2].startswith(
        "possible duplicate of Robert Haines (003000000000000001), not merged (it matches"
        " 003000000000000002 too, kept apart from the master by different_birthdates:"
        " 1951-06-03 / 1979-11-21): address+name 1.00"
    )

    # Without the birthdates, nothing tells them apart: one person at one address.
    plan = decide_contacts(contacts, **fields)
    assert [(m.master_id, sorted(r.record_id for r in m.merged)) for m in plan.merges] == [
        (cid(1), [cid(2), cid(3)])
    ]


def test_twins_matching_one_undated_record_are_not_merged_into_it_together():
    """Jane and John Smith, twins at one address, and a record of the family with no first
    name: each matches it (surname, birthdate), but they are two people, so it merges into
    neither; it is flagged, with why."""
    home = {"Birthdate": "1990-05-04", "MailingStreet": "12 Oak Street", "MailingCity": "Leeds"}
    contacts = [
        contact(1, "", "Smith", **home),
        contact(2, "Jane", "Smith", **home),
        contact(3, "John", "Smith", **home),
    ]
    fields = {"birthdate_field": "Birthdate", "street_field": "MailingStreet"}

    plan = decide_contacts(contacts, **fields, city_field="MailingCity")

    assert plan.merges == ()
    assert roles(plan) == {cid(1): "flag", cid(2): "master", cid(3): "flag"}
    assert reasons(plan)[1][2].startswith(
        "possible duplicate of Jane Smith (003000000000000002), not merged (it matches"
        " 003000000000000003 too, kept apart from the master by first names 'jane' / 'john'"
        " differ): birthdate+name 1.00"
    )

    looser = {"safety": {"different_first_names": False}}
    plan = decide_contacts(contacts, **fields, city_field="MailingCity", match=looser)
    assert [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges] == [
        (cid(1), [cid(2), cid(3)])
    ]


def test_an_already_flagged_record_is_not_written_again():
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Olivia", "Jonson", Email="oj@gmail.com", Possible_Duplicate_Of__c=cid(1)),
    ]
    assert decide_contacts(contacts).changes == ()


def test_unrelated_contacts_plan_nothing():
    contacts = [contact(1, "Olivia", "Johnson"), contact(2, "Liam", "Moore")]
    plan = decide_contacts(contacts)

    assert plan.decisions == () and plan.is_empty


def test_flag_threshold_above_merge_threshold_is_a_config_error():
    with pytest.raises(ValidationError, match="flag_threshold must not be above merge_threshold"):
        DedupeContactsConfig(flag_threshold=0.95)


def lead(n: int, first: str, last: str, **fields: Any) -> dict[str, Any]:
    record = contact(n, first, last, **fields) | {"Id": f"00Q{n:015d}"}
    for field in ("AccountId", "MobilePhone", "MailingCountry", "OpportunityContactRoles"):
        del record[field]
    return {"Company": "Acme", "Website": None, "Country": None, "State": None} | record


def test_leads_at_the_same_company_domain_merge():
    leads = [
        lead(1, "Michael", "Chen", Email="michael.chen@acme.com", Phone="4155550100", Title="VP"),
        lead(2, "Michael", "Chen", Email="mc@gmail.com", Phone="415-555-0100", Website="acme.com"),
        lead(3, "Michael", "Chen", Email="m.chen@other.io", Phone="4155550199", Company="Other"),
    ]
    ctx = DecideContext(as_of=TODAY, config=DedupeLeadsConfig())
    plan = leads_play.decide({"leads": leads, "integration_users": USERS}, ctx)

    assert {d.record_id: d.stage for d in plan.decisions} == {
        f"00Q{1:015d}": "cluster 1: master",
        f"00Q{2:015d}": "cluster 1: merge",
    }
    assert [(c.field, c.new) for c in plan.changes] == [("Website", "acme.com")]


def account(n: int, name: str, **fields: Any) -> dict[str, Any]:
    record = {
        "Id": f"001{n:015d}",
        "Name": name,
        "CreatedDate": f"2024-03-{n:02d}T10:00:00.000+0000",
        "OwnerId": AVA,
        "Website": None,
        "BillingCountry": None,
        "BillingState": None,
        "Phone": None,
        "Industry": None,
        "NumberOfEmployees": None,
        "AnnualRevenue": None,
        "BillingCity": None,
        "Possible_Duplicate_Of__c": None,
        "Tasks": None,
        "Events": None,
        "Opportunities": None,
    }
    return record | fields


def aid(n: int) -> str:
    return f"001{n:015d}"


def decide_accounts(accounts: list[dict[str, Any]], **config: Any):
    ctx = DecideContext(as_of=TODAY, config=DedupeAccountsConfig(**config))
    return accounts_play.decide({"accounts": accounts, "integration_users": USERS}, ctx)


IBM = [
    account(
        1,
        "International Business Machines Corp.",
        Website="https://www.ibm.com/",
        Phone="914.499.1900",
    ),
    account(2, "I.B.M.", Industry="Software", Opportunities=rows(2), Phone="914 499 1900"),
    account(
        3,
        "IBM",
        Website="ibm.com",
        BillingCountry="U.S.A.",
        BillingState="New York",
        Phone="914 499 1900",
    ),
    account(4, "Internat'l Bus Machines", NumberOfEmployees=250000, Phone="+1 914-499-1900"),
    account(5, "IBM HQ", Phone="(914) 499-1900"),
    account(6, "Northwind Analytics", Website="www.northwindanalytics.com"),
]


def test_the_ibm_set_merges_into_one_master_with_the_best_values():
    plan = decide_accounts(IBM)

    assert {d.record_id: d.stage for d in plan.decisions} == {
        aid(1): "cluster 1: merge",
        aid(2): "cluster 1: master",
        aid(3): "cluster 1: merge",
        aid(4): "cluster 1: merge",
        aid(5): "cluster 1: merge",
    }
    master = {(c.field, c.new) for c in plan.changes if c.record_id == aid(2)}
    assert master == {
        ("Website", "ibm.com"),
        ("NumberOfEmployees", 250000),
        ("BillingCountry", "US"),
        ("BillingState", "NY"),
    }
    website = next(c for c in plan.changes if c.field == "Website" and c.record_id == aid(2))
    assert "oldest value among its duplicates, from International Business" in website.reason


def test_accounts_are_normalized_as_revertible_field_changes():
    plan = decide_accounts(
        [
            account(1, "Northwind  Analytics ", Website="https://www.northwind.co.uk/about"),
            account(2, "Acme", BillingCountry="United States", BillingState="California"),
            account(3, "Zeta", Website="zeta.io", BillingCountry="US", BillingState="CA"),
        ]
    )

    assert [(c.record_id, c.field, c.old, c.new, c.reason) for c in plan.changes] == [
        (
            aid(1),
            "Name",
            "Northwind  Analytics ",
            "Northwind Analytics",
            "name without stray spaces",
        ),
        (
            aid(1),
            "Website",
            "https://www.northwind.co.uk/about",
            "northwind.co.uk",
            "website as its registered domain",
        ),
        (aid(2), "BillingCountry", "United States", "US", "country as its ISO 3166 code"),
        (aid(2), "BillingState", "California", "CA", "state as its postal code"),
    ]


def test_account_normalizations_can_be_turned_off():
    plan = decide_accounts(
        [account(1, "Acme", Website="www.acme.com", BillingCountry="USA")],
        website_to_domain=False,
        country_codes=False,
    )
    assert plan.changes == ()


def test_merges_go_two_records_a_request_with_the_full_values_and_the_master_after():
    plan = decide_accounts(IBM)

    assert [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges] == [
        (aid(2), [aid(1), aid(3)]),
        (aid(2), [aid(4), aid(5)]),
    ]
    first = plan.merges[0]
    assert first.merged[0].fields["Name"] == "International Business Machines Corp."
    assert first.merged[0].fields["Website"] == "https://www.ibm.com/"
    assert not {"Opportunities", "Tasks", "Events"} & {
        *first.master_before,
        *first.merged[0].fields,
    }
    assert first.master_before["Website"] is None
    assert first.master_after["Website"] == "ibm.com"
    assert first.master_after["NumberOfEmployees"] == 250000
    assert first.reason.startswith("cluster 1: master I.B.M. (001000000000000002) (most opport")


def test_flagged_records_are_not_merged():
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
    ]
    assert decide_contacts(contacts).merges == ()


def test_flagged_clusters_go_to_the_review_report_master_first():
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
        *BOB,
    ]
    plan = decide_contacts([{**c, "Id": f"003{n:015d}"} for n, c in enumerate(contacts, 1)])

    assert [(r["cluster"], r["role"], r["record_id"]) for r in plan.reports["review"]] == [
        (1, "master", cid(1)),
        (1, "flag", cid(2)),
    ]
    master, flagged = plan.reports["review"]
    assert flagged["links"].startswith("name 0.8")
    assert flagged["rules"] == "name" and 0.8 <= flagged["score"] < 0.9
    # The values compared, side by side for the reviewer.
    assert (master["Email"], flagged["Email"]) == ("olivia@acme.com", "oj@gmail.com")
    assert (master["LastName"], flagged["LastName"]) == ("Johnson", "Jonson")


def test_an_integration_user_missing_from_the_org_is_a_config_error():
    with pytest.raises(ConfigError, match=r"plays.dedupe-contacts.integration_users: no user"):
        decide_contacts(BOB, integration_users=["integraton@demo.revsched.dev"])


def test_no_integration_users_no_rule():
    ctx = DecideContext(as_of=TODAY, config=DedupeContactsConfig(integration_users=[]))
    assert "integration_users" not in contacts_queries(ctx)
    plan = contacts_play.decide({"contacts": BOB}, ctx)
    assert roles(plan)[cid(1)] == "master"


# --- dedupe-accounts: what each safety rule lets the play select, merge, flag and skip ---


def test_websites_on_shared_hosts_are_neither_evidence_nor_rewritten_to_their_host():
    """sites.google.com is not Google's site, gmail.com no company's: nothing links, and
    normalization keeps the page (rewritten to its host, the next run would merge them)."""
    accounts = [
        account(1, "Bright Smiles Dental", Website="https://sites.google.com/view/brightsmiles"),
        account(2, "Google LLC", Website="google.com"),
        account(3, "Maria's Bakery", Website="gmail.com"),
        account(4, "Smith Roofing", Website="www.gmail.com"),
        account(5, "Joe's Plumbing", Website="joes.myshopify.com"),
        account(6, "Joes Plumbing Supply", Website="facebook.com/joesplumbingsupply"),
    ]

    plan = decide_accounts(accounts)

    assert (plan.decisions, plan.changes, plan.merges) == ((), (), ())


def test_a_website_on_a_shared_host_is_noted_not_counted_beside_real_evidence():
    accounts = [
        account(1, "Joe's Plumbing", Website="facebook.com/joesplumbing", Phone="312 555 0110"),
        account(2, "Joes Plumbing", Website="www.facebook.com/joesplumbing", Phone="+13125550110"),
    ]

    plan = decide_accounts(accounts)

    assert [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges] == [
        (aid(1), [aid(2)])
    ]
    assert reasons(plan)[1] == (
        aid(2),
        "cluster 1: merge",
        "merge into Joe's Plumbing (001000000000000001): phone+name 0.98 with Joe's Plumbing"
        " (001000000000000001) (same phone +13125550110 +6.0, same name 'joes plumbing' +5.0,"
        " prior -5.0, website on shared host facebook.com not counted)",
    )


IBM_UK = [
    account(1, "IBM", Website="ibm.com", BillingCountry="US"),
    account(2, "IBM United Kingdom", Website="https://www.ibm.com/uk-en", BillingCountry="GB"),
]


def test_a_country_subsidiary_is_not_merged_and_the_dry_run_says_which_rules_blocked_it():
    plan = decide_accounts(IBM_UK)

    assert plan.merges == () and plan.changes == ()  # ibm.com/uk-en is kept as written
    assert reasons(plan) == [
        (
            aid(1),
            "merge blocked by a safety rule",
            "not merged with IBM United Kingdom (001000000000000002): blocked by"
            " country_subsidiaries: ibm.com sites none / uk-en; different_countries: US / GB;"
            " country_subsidiaries: 'IBM United Kingdom' names GB (score 0.99: same website"
            " domain ibm.com +7.0, same name 'ibm' +5.0, prior -5.0)",
        )
    ]


def test_a_country_in_the_name_blocks_a_merge_unless_subsidiaries_are_the_same_account():
    accounts = [
        account(1, "Nestle", Website="nestle.com"),
        account(2, "Nestle USA", Website="nestle.com"),
    ]

    plan = decide_accounts(accounts)
    assert plan.merges == ()
    assert reasons(plan)[0][2].startswith(
        "not merged with Nestle USA (001000000000000002): blocked by country_subsidiaries:"
        " 'Nestle USA' names US (score 0.99"
    )

    for looser in (accounts, IBM_UK):
        plan = decide_accounts(looser, match={"safety": {"subsidiaries_are_same_account": True}})
        assert [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges] == [
            (aid(1), [aid(2)])
        ]


def test_franchise_stores_and_hotel_properties_stay_apart_and_one_store_merges():
    stores = [
        account(1, "McDonald's Restaurant #1187", Website="mcdonalds.com"),
        account(2, "McDonald's Restaurant #4521", Website="mcdonalds.com"),
        account(3, "McDonalds Restaurant # 1187", Website="www.mcdonalds.com"),
    ]

    plan = decide_accounts(stores)
    assert [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges] == [
        (aid(1), [aid(3)])
    ]
    assert aid(2) not in {d.record_id for d in plan.decisions}
    assert [c.field for c in plan.changes] == []

    hotels = [
        account(1, "Courtyard by Marriott Boston", Website="marriott.com"),
        account(2, "Courtyard by Marriott Austin", Website="marriott.com"),
    ]
    plan = decide_accounts(hotels)
    assert plan.merges == ()
    assert reasons(plan)[0][2].startswith(
        "not merged with Courtyard by Marriott Austin (001000000000000002): blocked by"
        " locations: boston / austin (score 0.99"
    )
    assert decide_accounts(hotels, match={"safety": {"locations": False}}).merges != ()


def test_two_websites_joined_through_a_record_with_none_are_not_one_merge_group():
    """google.ie and google.com both link to a Google with no website, which could be
    either: nothing merges; google.com is no duplicate of the master google.ie at all
    (kept apart), and the Google with no website is only flagged, with why."""
    accounts = [
        account(1, "Google", Website="google.ie", Phone="+1 650 253 0000"),
        account(2, "Google", Website="google.com", Phone="+1 650 253 0000"),
        account(3, "Google", Phone="+1 650 253 0000"),
    ]

    plan = decide_accounts(accounts)

    assert plan.merges == ()
    assert [(c.record_id, c.field, c.new) for c in plan.changes] == [
        (aid(3), "Possible_Duplicate_Of__c", aid(1))
    ]
    assert [(d.record_id, d.stage) for d in plan.decisions] == [
        (aid(1), "cluster 1: master"),
        (aid(3), "cluster 1: flag"),
        (aid(2), "cluster 1: apart"),
        (aid(1), "merge blocked by a safety rule"),
    ]
    assert reasons(plan)[1][2].startswith(
        "possible duplicate of Google (001000000000000001), not merged (it matches"
        " 001000000000000002 too, kept apart from the master by different_websites:"
        " google.ie / google.com): phone+name 0.98"
    )
    assert reasons(plan)[2][2] == (
        "not a duplicate of Google (001000000000000001) (blocked by different_websites:"
        " google.ie / google.com with the master), though linked to its cluster: phone+name"
        " 0.98 with Google (001000000000000003) (same phone +16502530000 +6.0, same name"
        " 'google' +5.0, prior -5.0)"
    )


def test_initials_alone_plan_nothing_and_different_countries_block_a_merge():
    assert (
        decide_accounts([account(1, "CAA"), account(2, "Creative Artists Agency")]).decisions == ()
    )

    plan = decide_accounts(
        [
            account(1, "Acme Corp", Website="acme.com", BillingCountry="US"),
            account(2, "Acme Corp", Website="acme.com", BillingCountry="DE"),
        ]
    )
    assert plan.merges == ()
    assert reasons(plan) == [
        (
            aid(1),
            "merge blocked by a safety rule",
            "not merged with Acme Corp (001000000000000002): blocked by different_countries:"
            " US / DE (score 0.99: same website domain acme.com +7.0, same name 'acme' +5.0,"
            " prior -5.0)",
        )
    ]


def test_a_shared_domain_alone_only_flags():
    plan = decide_accounts(
        [
            account(1, "Fabrikam", Website="fabrikam.com"),
            account(2, "Fabrikam Research Labs", Website="fabrikam.com"),
        ]
    )

    assert plan.merges == ()
    [flag] = plan.changes
    assert (flag.record_id, flag.field, flag.new) == (aid(2), "Possible_Duplicate_Of__c", aid(1))
    assert reasons(plan)[1] == (
        aid(2),
        "cluster 1: flag",
        "possible duplicate of Fabrikam (001000000000000001), not merged (score 0.80 below the"
        " merge threshold 0.92): website 0.80 with Fabrikam (001000000000000001) (same website"
        " domain fabrikam.com +7.0, prior -5.0)",
    )


# Laurie Larsen twice (one person: phone and name) and Laura Larsen on the same phone (a
# household's, maybe: only flagged), the one with an opportunity.
LARSENS = [
    contact(1, "Laurie", "Larsen", Phone="+1 416 610 3109", Title="CRO"),
    contact(2, "Laurie", "Larsen", Phone="+1 416 610 3109", MobilePhone="+1 416 610 3110"),
    contact(3, "Laura", "Larsen", Phone="+1 416 610 3109", OpportunityContactRoles=rows(1)),
]


def test_the_survivor_of_a_merge_stays_the_master_of_the_records_flagged_to_it():
    """The Laurie pair merges into the oldest Laurie and Laura (with an opportunity, but
    linked to them only weakly: never what they merge into) is flagged to it. Once applied,
    the survivor has lost the duplicate that made it the master: the flag keeps it so."""
    plan = decide_contacts(LARSENS)
    assert roles(plan) == {cid(1): "master", cid(2): "merge", cid(3): "flag"}
    assert {(c.record_id, c.field, c.new) for c in plan.changes} == {
        (cid(1), "MobilePhone", "+1 416 610 3110"),
        (cid(3), "Possible_Duplicate_Of__c", cid(1)),
    }

    survivor = LARSENS[0] | {"MobilePhone": "+1 416 610 3110"}
    flagged = LARSENS[2] | {"Possible_Duplicate_Of__c": cid(1)}
    rerun = decide_contacts([survivor, flagged])

    assert rerun.changes == () and rerun.merges == ()
    assert roles(rerun) == {cid(1): "master", cid(3): "flag"}
    master = next(d for d in rerun.decisions if d.record_id == cid(1))
    assert master.reason == (
        "master of 2 records (already its master (1 flagged as its possible duplicates));"
        " merges 0, flags 1"
    )


def test_a_flagged_record_that_gains_opportunities_does_not_take_the_master_over():
    """Reps work the records between runs: the master a run chose stays while it is in the
    cluster, so the flags reps see do not move from run to run."""
    olivia = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(
            2,
            "Olivia",
            "Jonson",
            Email="oj@gmail.com",
            Title="VP Sales",
            OpportunityContactRoles=rows(2),
            Possible_Duplicate_Of__c=cid(1),
        ),
    ]

    plan = decide_contacts(olivia)

    assert plan.changes == () and roles(plan) == {cid(1): "master", cid(2): "flag"}
    # Without the flag, the rules choose alone: the record with the opportunities.
    fresh = decide_contacts([olivia[0], olivia[1] | {"Possible_Duplicate_Of__c": None}])
    assert roles(fresh) == {cid(1): "flag", cid(2): "master"}


def test_a_rule_ranked_before_current_master_can_move_the_master():
    survivor = LARSENS[0] | {"MobilePhone": "+1 416 610 3110"}
    flagged = LARSENS[2] | {"Possible_Duplicate_Of__c": cid(1)}
    rules = ["most_opportunities", "current_master", "oldest"]

    plan = decide_contacts([survivor, flagged], master_rules=rules)

    assert roles(plan) == {cid(1): "flag", cid(3): "master"}
    assert {(c.record_id, c.old, c.new) for c in plan.changes} == {
        (cid(1), None, cid(3)),
        (cid(3), cid(1), None),
    }


def test_the_master_most_flags_point_at_stays_when_two_flagged_clusters_join():
    """A new record links two clusters flagged apart: the master more records were flagged
    to stays, so the fewest flags move."""
    contacts = [
        contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
        contact(2, "Olivia", "Jonson", Email="oj@gmail.com", Possible_Duplicate_Of__c=cid(4)),
        contact(3, "Olivia", "Johnsen", Email="o.j@gmail.com", Possible_Duplicate_Of__c=cid(4)),
        contact(4, "Olivia", "Jonsson", Email="olj@gmail.com"),
    ]

    plan = decide_contacts(contacts)

    masters = [d.record_id for d in plan.decisions if d.stage.endswith("master")]
    assert masters == [cid(4)]
    assert [(c.record_id, c.new) for c in plan.changes] == [(cid(1), cid(4))]


def test_each_sure_set_of_a_cluster_merges_in_the_same_run():
    """Laurie Larsen twice and Laura Larsen twice on one phone: each pair is one person, the
    pairs maybe a household. Both pairs merge now (a rerun would merge the second once the
    first is one record), and Laura's survivor is flagged to Laurie's."""
    laura = {"Phone": "+1 416 610 3109", "Email": "laura@larsen.example"}
    contacts = [
        *LARSENS[:2],
        contact(3, "Laura", "Larsen", **laura, Title="CFO"),
        contact(4, "Laura", "Larsen", **laura, MailingCountry="Canada"),
    ]

    plan = decide_contacts(contacts)

    assert [(m.master_id, [r.record_id for r in m.merged]) for m in plan.merges] == [
        (cid(1), [cid(2)]),
        (cid(3), [cid(4)]),
    ]
    assert {(c.record_id, c.field, c.new) for c in plan.changes} == {
        (cid(1), "MobilePhone", "+1 416 610 3110"),
        (cid(3), "MailingCountry", "Canada"),
        (cid(3), "Possible_Duplicate_Of__c", cid(1)),
    }
    [side] = [m for m in plan.merges if m.master_id == cid(3)]
    assert side.master_after["Possible_Duplicate_Of__c"] == cid(1)
    assert roles(plan) == {cid(1): "master", cid(2): "merge", cid(3): "flag", cid(4): "merge"}
    merged = next(d for d in plan.decisions if d.record_id == cid(4))
    assert merged.reason.startswith(
        "merge into Laura Larsen (003000000000000003), itself flagged: email+phone+name 1.00"
    )
