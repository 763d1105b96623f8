"""Matching: which records cluster, which do not, and the rule that says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from revsched.dedupe import normalize
from revsched.dedupe.match import (
    MatchRules,
    company,
    lead_company,
    match_companies,
    match_people,
    person,
)
from revsched.localorg.demo import SUFFIXES

RULES = MatchRules()
PHONES = ("Phone", "MobilePhone")


def contact(n: int, first: str, last: str, account: str = "A1", **fields: Any) -> dict[str, Any]:
    return {"Id": f"003{n:015d}", "FirstName": first, "LastName": last, **fields, "_acct": account}


def people_clusters(records: list[dict[str, Any]], floor: float = 0.8):
    people = [person(r, r["_acct"], RULES, PHONES) for r in records]
    return match_people(people, RULES, floor)


def cid(n: int) -> str:
    return f"003{n:015d}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ann.Lee+crm@Example.COM ", "ann.lee@example.com"),
        ("ann lee@example.com", "annlee@example.com"),
        ("not-an-address", None),
        (None, None),
    ],
)
def test_emails_ignore_case_whitespace_and_plus_tags(raw: str | None, expected: str | None):
    assert normalize.email(raw) == expected


def test_plus_addressing_can_count():
    assert normalize.email("ann+crm@x.com", strip_plus=False) == "ann+crm@x.com"


def test_phones_in_any_format_are_one_number():
    forms = ["(415) 555-0123", "+1 415 555 0123", "415.555.0123", "1-415-555-0123"]
    assert {normalize.phone(f) for f in forms} == {"+14155550123"}
    assert normalize.phone("+44 20 7946 0958") == "+442079460958"
    assert normalize.phone("n/a") is None


def test_nicknames_are_their_formal_name():
    assert [normalize.first_name(n) for n in ("Bob", "Robert", "Bobby", "Mike", "Zoë")] == [
        "robert",
        "robert",
        "robert",
        "michael",
        "zoe",
    ]


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.ibm.com/uk/en?x=1", "ibm.com"),
        ("www.northwind.co.uk", "northwind.co.uk"),
        ("shop.acme.com.au/", "acme.com.au"),
        ("ACME.COM", "acme.com"),
        ("", None),
    ],
)
def test_websites_reduce_to_the_registered_domain_offline(website: str, domain: str | None):
    assert normalize.registrable_domain(website) == domain


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("International Business Machines Corp.", ("international", "business", "machines")),
        ("Internat'l Bus Machines", ("international", "business", "machines")),
        ("I.B.M.", ("ibm",)),
        ("IBM HQ", ("ibm",)),
        ("IBM (EMEA)", ("ibm",)),
        ("Acme New York", ("acme",)),
        ("Northwind Analytics, Inc.", ("northwind", "analytics")),
        ("The Acme Co.", ("acme",)),
    ],
)
def test_company_names_lose_legal_forms_punctuation_abbreviations_and_places(
    name: str, words: tuple[str, ...]
):
    assert normalize.company_words(name) == words


def test_country_and_state_codes():
    assert [normalize.country_code(c) for c in ("United States", "U.S.A.", "UK", "Mars")] == [
        "US",
        "US",
        "GB",
        None,
    ]
    assert normalize.state_code("California", "US") == "CA"
    assert normalize.state_code("ny", "US") == "NY"
    assert normalize.state_code("Ontario", "CA") == "ON"
    assert normalize.state_code("Bavaria", "DE") is None


def test_same_email_in_another_case_is_one_contact():
    [cluster] = people_clusters(
        [
            contact(1, "Robert", "Smith", Email="robert.smith@acme.com"),
            contact(2, "Bob", "Smith", Email=" Robert.Smith@ACME.com"),
        ]
    )
    assert cluster.members == (cid(1), cid(2))
    [link] = cluster.links
    assert (link.rule, link.score) == ("email", 1.0)
    assert link.detail == "same email robert.smith@acme.com, names 100% alike"


def test_nickname_and_phone_at_the_same_account_is_one_contact():
    [cluster] = people_clusters(
        [
            contact(1, "Robert", "Smith", Email="rs@acme.com", Phone="(415) 555-0123"),
            contact(2, "Bob", "Smyth", Email="bob@gmail.com", MobilePhone="+1 415 555 0123"),
        ]
    )
    [link] = cluster.links
    assert link.rule == "name+phone"
    assert link.score >= 0.92
    assert "phone +14155550123" in link.detail


def test_similar_names_alone_are_only_a_possible_duplicate():
    [cluster] = people_clusters(
        [
            contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
            contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
        ]
    )
    [link] = cluster.links
    assert link.rule == "name"
    assert 0.8 <= link.score < 0.92
    assert cluster.groups(0.92) == [(cid(1),), (cid(2),)]


def test_same_name_at_different_accounts_is_two_people():
    assert (
        people_clusters(
            [
                contact(1, "James", "Smith", "A1", Email="js@one.com", Phone="4155550123"),
                contact(2, "James", "Smith", "A2", Email="js@two.com", Phone="4155550123"),
            ]
        )
        == []
    )


def test_colleagues_sharing_a_switchboard_are_two_people():
    assert (
        people_clusters(
            [
                contact(1, "Olivia", "Smith", Email="o@acme.com", Phone="4155550100"),
                contact(2, "Liam", "Moore", Email="l@acme.com", Phone="4155550100"),
            ]
        )
        == []
    )


def test_namesakes_with_their_own_work_addresses_are_flagged_not_merged():
    [cluster] = people_clusters(
        [
            contact(1, "Daniel", "Smith", Email="daniel.smith@acme.com", Phone="4155550100"),
            contact(2, "Daniela", "Smith", Email="daniela.smith@acme.com", Phone="4155550100"),
        ]
    )
    [link] = cluster.links
    assert link.rule == "name+phone"
    assert link.score == 0.85
    assert link.detail.endswith("but two addresses at acme.com")


def test_a_duplicate_linking_two_namesakes_merges_with_only_one_of_them():
    [cluster] = people_clusters(
        [
            contact(1, "Ryan", "Adams", Email="ryan.adams@acme.com", Phone="4155550100"),
            contact(2, "Ryan", "Adams", Email="ryan.adams7@gmail.com", Phone="415 555 0100"),
            contact(3, "Ryano", "Adams", Email="ryano.adams@acme.com", Phone="4155550100"),
        ]
    )
    assert cluster.members == (cid(1), cid(2), cid(3))
    assert cluster.groups(0.92) == [(cid(1), cid(2)), (cid(3),)]


def test_shared_mailbox_with_different_names_is_flagged_not_merged():
    [cluster] = people_clusters(
        [
            contact(1, "Olivia", "Smith", Email="info@acme.com"),
            contact(2, "Hiroshi", "Tanaka", Email="info@acme.com"),
        ]
    )
    assert cluster.weakest < 0.92
    assert "but names" in cluster.links[0].detail


def test_three_records_chain_into_one_cluster_with_each_link_explained():
    [cluster] = people_clusters(
        [
            contact(1, "Robert", "Smith", Email="rs@acme.com", Phone="4155550123"),
            contact(2, "Bob", "Smith", Email="RS@acme.com"),
            contact(3, "Bobby", "Smith", Email="bobby@gmail.com", Phone="415 555 0123"),
        ]
    )
    assert cluster.members == (cid(1), cid(2), cid(3))
    assert sorted(link.rule for link in cluster.links) == ["email", "name+phone"]


def test_leads_are_matched_by_company_domain():
    assert lead_company("a@acme.com", None, "Acme") == "acme.com"
    assert lead_company("a@gmail.com", "www.acme.com", "Acme") == "acme.com"
    assert lead_company("a@gmail.com", None, "Acme, Inc.") == "acme"
    assert lead_company(None, None, None) is None


def account(n: int, name: str, website: str | None = None) -> dict[str, Any]:
    return {"Id": f"001{n:015d}", "Name": name, "Website": website}


def aid(n: int) -> str:
    return f"001{n:015d}"


def account_clusters(records: list[dict[str, Any]], floor: float = 0.8):
    return match_companies([company(r) for r in records], RULES, floor)


def test_the_ibm_set_is_one_account_merged_above_the_threshold():
    [cluster] = account_clusters(
        [
            account(1, "International Business Machines Corp.", "https://www.ibm.com"),
            account(2, "I.B.M."),
            account(3, "IBM"),
            account(4, "Internat'l Bus Machines"),
            account(5, "IBM HQ", "ibm.com/uk"),
            account(6, "Northwind Analytics", "northwindanalytics.com"),
        ]
    )
    assert cluster.members == tuple(aid(n) for n in (1, 2, 3, 4, 5))
    assert cluster.weakest >= 0.92
    rules = {link.rule for link in cluster.links}
    assert {"domain", "name"} <= rules
    assert all(link.detail for link in cluster.links)


def test_initials_link_a_name_to_its_acronym():
    [cluster] = account_clusters([account(1, "International Business Machines"), account(2, "IBM")])
    [link] = cluster.links
    assert link.rule == "initials"
    assert link.detail == "'ibm' is the initials of 'international business machines'"


def test_same_name_different_websites_is_only_flagged():
    [cluster] = account_clusters(
        [account(1, "Acme Corp", "acme.com"), account(2, "ACME Inc.", "acme-widgets.de")]
    )
    assert cluster.weakest < 0.92
    assert "websites acme.com and acme-widgets.de differ" in cluster.links[0].detail


def test_different_companies_with_a_shared_word_stay_apart():
    assert (
        account_clusters(
            [
                account(1, "Northwind Analytics", "northwindanalytics.com"),
                account(2, "Northwind Systems", "northwindsystems.com"),
                account(3, "Southwind Analytics"),
            ]
        )
        == []
    )


def test_a_misspelt_company_name_is_a_possible_duplicate():
    [cluster] = account_clusters(
        [account(1, "Northwind Analytics"), account(2, "Northwnd Analytics")]
    )
    [link] = cluster.links
    assert link.rule == "fuzzy name"
    assert link.score < 0.92


def test_a_misspelt_name_finds_its_original_among_many_alike_names():
    words = sorted({word for word, _industry in SUFFIXES} - {"Analytics"})
    crowd = [account(n, f"Northwind {word}") for n, word in enumerate(words, start=10)]
    records = [*crowd, account(1, "Northwind Analytics"), account(2, "Nnorthwind Analytics")]

    clusters = account_clusters(records)

    assert (aid(1), aid(2)) in [c.members for c in clusters]


def test_domains_come_from_the_bundled_suffix_list_never_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from revsched.dedupe.normalize import registrable_domain\n"
        "print(registrable_domain('https://shop.example.co.uk/x'))\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert result.stdout.strip() == "example.co.uk", result.stderr
    assert not (tmp_path / "cache").exists()
