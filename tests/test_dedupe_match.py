"""Matching: which records cluster, which do not, and the rule that says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from revsched.dedupe import normalize
from revsched.dedupe.companies import company, match_companies
from revsched.dedupe.match import Matching, MatchRules
from revsched.dedupe.people import PersonFields, lead_company, match_people, person
from revsched.localorg.demo import SUFFIXES

RULES = MatchRules()
FIELDS = PersonFields(phones=("Phone", "MobilePhone"), country="MailingCountry")


def contact(n: int, first: str, last: str, account: str = "A1", **fields: Any) -> dict[str, Any]:
    return {"Id": f"003{n:015d}", "FirstName": first, "LastName": last, **fields, "_acct": account}


def people_clusters(records: list[dict[str, Any]], floor: float = 0.8) -> Matching:
    people = [person(r, r["_acct"], RULES, FIELDS) for r in records]
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


def test_first_names_lose_titles_and_accents_and_keep_their_formal_forms():
    assert [normalize.first_name(n) for n in ("Dr. Emily", "Zoë", "Jürgen", "Søren")] == [
        "emily",
        "zoe",
        "juergen",
        "soren",
    ]
    assert {"henry"} <= normalize.first_name_forms("hank")
    assert {"alexander", "alexandra"} <= normalize.first_name_forms("alex")


def test_surnames_keep_their_generational_suffix_apart():
    assert normalize.last_name("Smith, Jr.") == ("smith", "jr")
    assert normalize.last_name("Smith Junior") == ("smith", "jr")
    assert normalize.last_name("Lee III") == ("lee", "iii")
    assert normalize.last_name("Müller") == ("mueller", None)


def test_gmail_addresses_ignore_dots_and_googlemail_is_gmail():
    assert normalize.email("Jane.Doe@googlemail.com") == "janedoe@gmail.com"
    assert normalize.email("j.a.n.e.doe+crm@gmail.com") == "janedoe@gmail.com"
    assert normalize.email("jane.doe@acme.com") == "jane.doe@acme.com"


def test_phones_are_read_in_the_records_country_with_their_extension():
    assert normalize.phone_parts("020 7946 0018", "GB") == ("+442079460018", None)
    assert normalize.phone_parts("030 12345678", "DE") == ("+493012345678", None)
    assert normalize.phone_parts("+1 212 555 0100 x305") == ("+12125550100", "305")


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


def only_cluster(matching: Matching):
    [cluster] = matching.clusters
    return cluster


def merged_with(matching: Matching, master: str) -> list[str]:
    cluster = next(c for c in matching.clusters if master in c.members)
    return cluster.merge_group(master, 0.92, RULES.min_evidence, matching.conflict).merged


def test_same_email_and_name_is_one_contact_explained_by_weights():
    matching = people_clusters(
        [
            contact(1, "Robert", "Smith", Email="robert.smith@acme.com"),
            contact(2, "Bob", "Smith", Email=" Robert.Smith@ACME.com"),
        ]
    )
    [link] = only_cluster(matching).links
    assert link.evidence == ("email", "name")
    assert link.score >= 0.99
    assert "same email robert.smith@acme.com +10.0" in link.detail
    assert "nickname 'robert' / 'bob' +3.0" in link.detail
    assert merged_with(matching, cid(1)) == [cid(2)]


def test_nicknames_missing_from_a_hand_table_still_match():
    matching = people_clusters(
        [
            contact(1, "Henry", "Aaron", Email="haaron@acme.com"),
            contact(2, "Hank", "Aaron", Email="haaron@acme.com"),
            contact(3, "Larry", "Page", Email="lp@acme.com"),
            contact(4, "Lawrence", "Page", Email="lp@acme.com"),
        ]
    )
    assert [c.members for c in matching.clusters] == [(cid(1), cid(2)), (cid(3), cid(4))]


def test_phone_and_the_same_name_at_the_account_merge_across_formats():
    matching = people_clusters(
        [
            contact(1, "Oliver", "Twist", Phone="020 7946 0150", MailingCountry="GB"),
            contact(2, "Oliver", "Twist", Phone="+44 20 7946 0150", MailingCountry="GB"),
        ]
    )
    assert merged_with(matching, cid(1)) == [cid(2)]


def test_a_shared_phone_with_names_that_differ_as_written_only_flags():
    """Pat and Patricia on one farm's phone may be spouses: one piece of evidence."""
    matching = people_clusters(
        [
            contact(1, "Pat", "Johnson", Phone="+1 515 555 0101"),
            contact(2, "Patricia", "Johnson", Phone="(515) 555-0101"),
        ]
    )
    [link] = only_cluster(matching).links
    assert link.evidence == ("name",)
    assert "a shared phone may be a household's" in link.detail
    assert merged_with(matching, cid(1)) == []


def test_similar_names_alone_are_only_a_possible_duplicate():
    matching = people_clusters(
        [
            contact(1, "Olivia", "Johnson", Email="olivia@acme.com"),
            contact(2, "Olivia", "Jonson", Email="oj@gmail.com"),
        ]
    )
    [link] = only_cluster(matching).links
    assert link.evidence == ("name",)
    assert link.score >= 0.8
    assert merged_with(matching, cid(1)) == []


def test_same_name_at_different_accounts_without_email_or_phone_is_no_link():
    matching = people_clusters(
        [
            contact(1, "James", "Smith", "A1", Email="js@one.com"),
            contact(2, "James", "Smith", "A2", Email="js@two.com"),
        ]
    )
    assert matching.clusters == []


def test_one_email_under_two_accounts_is_one_person():
    matching = people_clusters(
        [
            contact(1, "Rachel", "Green", "A1", Email="rgreen@gmail.com"),
            contact(2, "Rachel", "Green", "A2", Email="rgreen@gmail.com"),
        ]
    )
    assert merged_with(matching, cid(1)) == [cid(2)]


def test_swapped_first_and_last_names_meet_and_merge_on_email():
    matching = people_clusters(
        [
            contact(1, "Wei", "Zhang", Email="wei.zhang@acme.com"),
            contact(2, "Zhang", "Wei", Email="wei.zhang@acme.com"),
        ]
    )
    assert merged_with(matching, cid(1)) == [cid(2)]


def test_a_hyphenated_first_name_swapped_with_the_surname_merges_on_a_phone():
    matching = people_clusters(
        [
            contact(1, "Min-jun", "Kim", Phone="+1 213 555 0127"),
            contact(2, "Kim", "Min-jun", Phone="(213) 555-0127"),
        ]
    )
    [link] = only_cluster(matching).links
    assert "same name swapped 'minjun kim' / 'kim minjun' +4.0" in link.detail
    assert merged_with(matching, cid(1)) == [cid(2)]


def test_colleagues_sharing_a_switchboard_are_two_people():
    matching = people_clusters(
        [
            contact(1, "Olivia", "Smith", Email="o@acme.com", Phone="4155550100"),
            contact(2, "Liam", "Moore", Email="l@acme.com", Phone="4155550100"),
        ]
    )
    assert matching.clusters == []


@pytest.mark.parametrize(
    ("one", "other", "rule"),
    [
        (
            {"FirstName": "John", "LastName": "Smith Sr.", "Phone": "330 555 0111"},
            {"FirstName": "John", "LastName": "Smith Jr.", "Phone": "330 555 0111"},
            "name_suffixes: sr / jr",
        ),
        (
            {"FirstName": "Ana", "LastName": "Costa", "Phone": "415 555 0200 x110"},
            {"FirstName": "Ana", "LastName": "Costa", "Phone": "415 555 0200 x118"},
            "phone_extensions: +14155550200 x110 / x118",
        ),
        (
            {"FirstName": "Michael", "LastName": "Smith", "Email": "msmith@acme.com"},
            {"FirstName": "Michael", "LastName": "Smith", "Email": "michael.smith@acme.com"},
            "company_mailboxes: msmith@acme.com / michael.smith@acme.com",
        ),
        (
            {"FirstName": "Amy", "LastName": "Fox", "Email": "amyfox@gmail.com",
             "MailingCountry": "US"},
            {"FirstName": "Amy", "LastName": "Fox", "Email": "amy.fox@googlemail.com",
             "MailingCountry": "United Kingdom"},
            "different_countries: US / GB",
        ),
    ],
)  # fmt: skip
def test_a_safety_rule_blocks_a_merge_whatever_the_score(one, other, rule):
    matching = people_clusters(
        [
            contact(n, fields["FirstName"], fields["LastName"], **fields)
            for n, fields in ((1, one), (2, other))
        ]
    )
    [link] = matching.blocked
    assert link.blocked == (rule,)
    assert all(cid(2) not in c.members for c in matching.clusters if cid(1) in c.members)


def test_a_safety_rule_can_be_switched_off():
    rules = RULES.model_copy(
        update={"safety": RULES.safety.model_copy(update={"name_suffixes": False})}
    )
    records = [
        contact(1, "John", "Smith Sr.", Email="js@gmail.com"),
        contact(2, "John", "Smith Jr.", Email="js@gmail.com"),
    ]
    people = [person(r, r["_acct"], rules, FIELDS) for r in records]
    assert match_people(people, rules, 0.8).blocked == []


@pytest.mark.parametrize("mailbox", ["info@acme.com", "thesmiths@gmail.com"])
def test_a_role_or_family_mailbox_is_not_evidence_of_one_person(mailbox: str):
    matching = people_clusters(
        [
            contact(1, "Karen", "Smith", Email=mailbox),
            contact(2, "Kevin", "Smith", Email=mailbox),
        ]
    )
    assert matching.clusters == []


def test_no_chaining_a_record_joins_only_through_its_own_link_to_the_master():
    """Two namesakes with their own work mailboxes, both like a third record: the third
    could be either, so it merges with neither, and both are flagged with why."""
    matching = people_clusters(
        [
            contact(1, "Ryan", "Adams", Email="ryan.adams@acme.com", Phone="4155550100"),
            contact(2, "Ryan", "Adams", Email="ryan.adams7@gmail.com", Phone="415 555 0100"),
            contact(3, "Ryan", "Adams", Email="r.adams@acme.com", Phone="4155550100"),
        ]
    )
    cluster = only_cluster(matching)
    group = cluster.merge_group(cid(2), 0.92, 2, matching.conflict)
    assert group.merged == []
    assert group.flagged == {
        cid(1): f"blocked by company_mailboxes: r.adams@acme.com /"
        f" ryan.adams@acme.com with {cid(3)}, which matches the master too",
        cid(3): f"blocked by company_mailboxes: ryan.adams@acme.com /"
        f" r.adams@acme.com with {cid(1)}, which matches the master too",
    }


def test_leads_are_matched_by_company_domain():
    assert lead_company("a@acme.com", None, "Acme") == "acme.com"
    assert lead_company("a@gmail.com", "www.acme.com", "Acme") == "acme.com"
    assert lead_company("a@gmail.com", None, "Acme, Inc.") == "acme"
    assert lead_company(None, None, None) is None


def account(n: int, name: str, website: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"Id": f"001{n:015d}", "Name": name, "Website": website, **fields}


def aid(n: int) -> str:
    return f"001{n:015d}"


def account_clusters(records: list[dict[str, Any]], floor: float = 0.8) -> Matching:
    return match_companies([company(r, RULES) for r in records], RULES, floor)


def test_the_ibm_set_is_one_cluster_and_merges_what_has_two_pieces_of_evidence():
    matching = account_clusters(
        [
            account(1, "International Business Machines Corp.", "https://www.ibm.com"),
            account(2, "I.B.M.", Phone="914 499 1900"),
            account(3, "IBM", "ibm.com", Phone="+1 914-499-1900"),
            account(4, "Internat'l Bus Machines", "ibm.com"),
            account(5, "IBM HQ", "www.ibm.com"),
            account(6, "Northwind Analytics", "northwindanalytics.com"),
        ]
    )
    cluster = only_cluster(matching)
    assert cluster.members == tuple(aid(n) for n in (1, 2, 3, 4, 5))
    merged = cluster.merge_group(aid(3), 0.92, 2, matching.conflict).merged
    assert merged == [aid(5), aid(2), aid(1), aid(4)]  # strongest link first
    assert all(link.detail for link in cluster.links)


def test_initials_alone_at_most_flag():
    matching = account_clusters(
        [account(1, "International Business Machines"), account(2, "IBM", Phone="914 499 1900")]
    )
    assert matching.clusters == []


@pytest.mark.parametrize(
    ("one", "other", "rule"),
    [
        (("Google Ireland Limited", "google.ie"), ("Google LLC", "google.com"),
         "different_websites: google.ie / google.com"),
        (("IBM United Kingdom Limited", "ibm.com/uk-en"), ("IBM", "ibm.com"),
         "country_subsidiaries: ibm.com sites uk-en / none"),
        (("Nestle USA", None), ("Nestle", None), "country_subsidiaries: 'Nestle USA' names US"),
        (("McDonald's Restaurant #1187", "mcdonalds.com"), ("McDonald's #4521", "mcdonalds.com"),
         "locations: store 1187 / 4521"),
        (("Courtyard by Marriott Boston", "marriott.com"),
         ("Courtyard by Marriott Austin", "marriott.com"), "locations: boston / austin"),
        (("RE/MAX Northshore", "remax.com"), ("RE/MAX Downtown", "remax.com"),
         "locations: 'northshore' / 'downtown' after the name"),
    ],
)  # fmt: skip
def test_a_safety_rule_keeps_accounts_apart(one, other, rule):
    matching = account_clusters(
        [account(1, *one, Phone="212 555 0100"), account(2, *other, Phone="212 555 0100")]
    )
    [link] = matching.blocked
    assert rule in link.blocked
    assert matching.clusters == []


def test_subsidiaries_can_be_the_same_account_on_purpose():
    safety = RULES.safety.model_copy(update={"subsidiaries_are_same_account": True})
    rules = RULES.model_copy(update={"safety": safety})
    records = [
        account(1, "IBM United Kingdom", "ibm.com/uk-en", BillingCountry="GB"),
        account(2, "IBM", "ibm.com", BillingCountry="US"),
    ]
    matching = match_companies([company(r, rules) for r in records], rules, 0.8)
    assert matching.blocked == []
    assert merged_with(matching, aid(2)) == [aid(1)]


@pytest.mark.parametrize(
    "website",
    ["gmail.com", "facebook.com/x", "sites.google.com/view/x", "x.myshopify.com", "bit.ly/x"],
)
def test_a_website_on_a_shared_host_is_never_evidence(website: str):
    matching = account_clusters(
        [account(1, "Smith Family Dental", website), account(2, "Google LLC", "google.com")]
    )
    assert matching.clusters == matching.blocked == []
    assert company(account(1, "Smith Family Dental", website), RULES).site is None


def test_a_one_word_typo_meets_its_original_and_merges_on_the_website():
    matching = account_clusters(
        [account(1, "Oracle Corporation", "oracle.com"), account(2, "Oracel Corp", "oracle.com")]
    )
    [link] = only_cluster(matching).links
    assert link.evidence == ("website", "name")
    assert "one typo apart" in link.detail


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Siemens AG", "Siemens Aktiengesellschaft"),
        ("Carrefour SA", "Carrefour Société Anonyme"),
        ("Salesforce, Inc.", "salesforce.com, inc."),
        ("Nestlé S.A.", "Nestle SA"),
    ],
)
def test_legal_forms_and_accents_are_one_name(one: str, other: str):
    assert normalize.company_words(one) == normalize.company_words(other)


def test_different_companies_with_a_shared_word_stay_apart():
    assert (
        account_clusters(
            [
                account(1, "Northwind Analytics", "northwindanalytics.com"),
                account(2, "Northwind Systems", "northwindsystems.com"),
                account(3, "Southwind Analytics"),
            ]
        ).clusters
        == []
    )


def test_a_misspelt_name_finds_its_original_among_many_alike_names():
    words = sorted({word for word, _industry in SUFFIXES} - {"Analytics"})
    crowd = [
        account(n, f"Northwind {word}", Phone="212 555 0100")
        for n, word in enumerate(words, start=10)
    ]
    records = [
        *crowd,
        account(1, "Northwind Analytics", Phone="212 555 0199"),
        account(2, "Nnorthwind Analytics", Phone="212-555-0199"),
    ]

    matching = account_clusters(records)

    assert merged_with(matching, aid(1)) == [aid(2)]


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


def test_a_birthdate_is_evidence_when_configured_and_one_that_differs_counts_against():
    def pair(second_birthdate: str) -> Matching:
        records = [
            {"Id": cid(1), "FirstName": "Lachlan", "LastName": "Berry", "Birthdate": "1999-02-19"},
            {
                "Id": cid(2),
                "FirstName": "Lachlan",
                "LastName": "Bery",
                "Birthdate": second_birthdate,
            },
        ]
        people = [person(r, None, RULES, PersonFields(birthdate="Birthdate")) for r in records]
        return match_people(people, RULES, 0.8)

    [link] = only_cluster(pair("1999-02-19")).links
    assert link.evidence == ("birthdate", "name")
    assert merged_with(pair("1999-02-19"), cid(1)) == [cid(2)]
    assert pair("1989-02-19").clusters == []


HOME = PersonFields(
    birthdate="Birthdate",
    postal_code="MailingPostalCode",
    street="MailingStreet",
    city="MailingCity",
)


def resident(n: int, first: str, last: str, street: str, **fields: Any) -> dict[str, Any]:
    """A contact with no account, email or phone, at a mailing address."""
    return {
        "Id": cid(n),
        "FirstName": first,
        "LastName": last,
        "MailingStreet": street,
        "MailingCity": "Bayview Heights",
        "MailingPostalCode": "2229",
        **fields,
    }


def residents(*records: dict[str, Any]) -> Matching:
    return match_people([person(r, None, RULES, HOME) for r in records], RULES, 0.8)


@pytest.mark.parametrize(
    "value, number, street",
    [
        ("16 Dumas St", "16", "dumas street"),
        ("Unit 2/98 Latchford Rd", "98", "latchford road"),
        ("Leisure Living Vlge\n36 Yerralee Road", "36", "yerralee road"),
        ("Maltby Circuit", None, "maltby circuit"),
    ],
)
def test_a_mailing_street_is_its_house_number_and_street(value: str, number: str, street: str):
    assert normalize.street(value) == normalize.Street(number, street)


def test_a_street_address_beside_a_name_as_written_is_a_second_piece_of_evidence():
    matching = residents(
        resident(1, "Daniel", "Morrison", "16 Dumas Street"),
        resident(2, "Daniel", "Morrisson", "16 dumas st", Birthdate="1962-03-16"),
    )
    [link] = only_cluster(matching).links
    assert link.evidence == ("address", "name")
    assert "same street address 16 dumas street +5.0" in link.detail
    assert merged_with(matching, cid(1)) == [cid(2)]


def test_a_household_address_is_not_evidence_beside_a_nickname_or_different_names():
    """Spouses (Pat / Patricia) and twins (same birthdate, other first names) share an
    address: flagged at most, never merged."""
    spouses = residents(
        resident(1, "Pat", "Johnson", "7 Endeavour Street"),
        resident(2, "Patricia", "Johnson", "7 Endeavour Street"),
    )
    [link] = only_cluster(spouses).links
    assert link.evidence == ("name",)
    assert merged_with(spouses, cid(1)) == []
    twins = residents(
        resident(1, "Jacob", "White", "24 Hacke Place", Birthdate="1959-02-28"),
        resident(2, "Taliah", "White", "24 Hacke Place", Birthdate="1959-02-28"),
    )
    [link] = only_cluster(twins).links
    assert link.evidence == ("birthdate",)
    assert merged_with(twins, cid(1)) == []


@pytest.mark.parametrize(
    "second, slip",
    [
        ("1973-08-13", "one digit apart"),
        ("1973-08-21", "two digits swapped"),
        ("1973-12-08", "day and month transposed"),
        ("1981-03-02", None),
    ],
)
def test_birthdates_a_slip_apart_add_a_little_and_others_keep_two_people_apart(
    second: str, slip: str | None
):
    """A father and his son of one name at one address are never merged."""
    matching = residents(
        resident(1, "Gemma", "Matthews", "5 Rosman Circuit", Birthdate="1973-08-12"),
        resident(2, "Gemma", "Matthews", "5 Rosman Circuit", Birthdate=second),
    )
    if slip:
        [link] = only_cluster(matching).links
        assert f"birthdates 1973-08-12 / {second} {slip} +2.0" in link.detail
        assert merged_with(matching, cid(1)) == [cid(2)]
    else:
        assert matching.clusters == []
        [link] = matching.blocked
        assert f"birthdates 1973-08-12 / {second} differ -5.0" in link.detail
        assert link.blocked == (f"different_birthdates: 1973-08-12 / {second}",)


def test_names_alike_in_both_parts_or_a_missing_first_name_agree_weakly():
    alike = residents(
        resident(1, "Tahlia", "Holdenby", "9 Eaglemont Retreat", Birthdate="1920-08-14"),
        resident(2, "Tahlua", "Holdwnby", "9 Eaglemont Retreat", Birthdate="1920-08-14"),
    )
    [link] = only_cluster(alike).links
    assert "names 'tahlia holdenby' / 'tahlua holdwnby' alike +2.5" in link.detail
    assert merged_with(alike, cid(1)) == [cid(2)]
    part = residents(
        resident(1, "", "Abeywickrama", "16 Carnegie Gardens", Birthdate="1913-02-24"),
        resident(2, "Ian", "Abeywicjrama", "16 Carnegie Gardens", Birthdate="1913-02-24"),
    )
    [link] = only_cluster(part).links
    assert "surnames 'abeywickrama' / 'abeywicjrama', a first name missing +2.0" in link.detail


def test_a_family_mailbox_is_not_evidence_beside_names_only_alike():
    matching = people_clusters(
        [
            contact(1, "Mary", "Johnson", "", Email="johnsonfamily@yahoo.com"),
            contact(2, "Mark", "Johnson", "", Email="johnsonfamily@yahoo.com"),
        ]
    )
    for cluster in matching.clusters:
        assert all("email" not in link.evidence for link in cluster.links)


def test_a_first_name_birthdate_and_address_agreeing_merge_across_a_changed_surname():
    married = residents(
        resident(1, "Chloe", "Jones", "147 Allott Place", Birthdate="1986-08-07"),
        resident(2, "Chloe", "Pantazopoulos", "147 Allott Pl", Birthdate="1986-08-07"),
    )
    [link] = only_cluster(married).links
    assert link.evidence == ("birthdate", "address")
    assert merged_with(married, cid(1)) == [cid(2)]
    flatmates = residents(
        resident(1, "Chloe", "Jones", "147 Allott Place"),
        resident(2, "Chloe", "Pantazopoulos", "147 Allott Place"),
    )
    [link] = only_cluster(flatmates).links
    assert link.evidence == ("address",)
    assert merged_with(flatmates, cid(1)) == []


def test_an_office_address_on_many_names_is_not_evidence_of_one_person():
    """In B2B a contact's mailing address is often the office's: two John Smiths there are
    flagged at most."""
    names = ["John Smith", "John Smith", "Ann Lee", "Raj Patel", "Eva Novak", "Tom Berg"]
    colleagues = [
        resident(n, *name.split(), "1 Main Street") for n, name in enumerate(names, start=1)
    ]
    matching = residents(*colleagues)
    link = next(k for c in matching.clusters for k in c.links if {k.a, k.b} == {cid(1), cid(2)})
    assert link.evidence == ("name",)
    assert "same street address 1 main street is on several people's records" in link.detail
    assert merged_with(matching, cid(1)) == []


def test_one_street_address_in_another_place_is_not_the_same_address():
    matching = residents(
        resident(1, "Daniel", "Morrison", "16 Dumas Street"),
        resident(2, "Daniel", "Morrison", "16 Dumas Street")
        | {"MailingCity": "Perth", "MailingPostalCode": "6000"},
    )
    for cluster in matching.clusters:
        assert all("address" not in link.evidence for link in cluster.links)


@pytest.mark.parametrize(
    "one, other, differ",
    [
        ("Jane", "John", True),
        ("Jacob", "Taliah", True),
        ("Willaim", "Wiloiam", False),  # one name, a typo in each record
        ("Bob", "Robert", False),
        ("J", "John", False),
        ("Smith", "John", False),  # swapped with the surname
    ],
)
def test_first_names_that_surely_differ_keep_two_people_from_one_merge(
    one: str, other: str, differ: bool
):
    people = [
        person(contact(n, f, "Smith"), None, RULES, FIELDS) for n, f in ((1, one), (2, other))
    ]
    reason = match_people(people, RULES, 0.8).distinct(cid(1), cid(2))
    assert (reason == f"first names {one.lower()!r} / {other.lower()!r} differ") is differ
    assert (reason is None) is not differ


def _link(matching: Matching, a: str, b: str):
    links = [*matching.blocked, *(k for c in matching.clusters for k in c.links)]
    return next(k for k in links if {k.a, k.b} == {a, b})


def _surname_records() -> list[dict[str, Any]]:
    """Ten Smiths (a pair at account A1, the others elsewhere), two Linacres at A2 and
    eight people of other surnames: Smith is on half the records."""
    firsts = ["ann", "bob", "cara", "dan", "eve", "finn", "gus", "hal"]
    records = [contact(1, "John", "Smith", "A1"), contact(2, "John", "Smith", "A1")]
    records += [contact(3, "John", "Linacre", "A2"), contact(4, "John", "Linacre", "A2")]
    records += [contact(10 + i, f, "Smith", f"S{i}") for i, f in enumerate(firsts)]
    records += [contact(20 + i, f, f"Other{f}", f"O{i}") for i, f in enumerate(firsts)]
    return records


def test_a_common_surname_counts_for_less_than_a_rare_one_and_the_plan_shows_by_how_much():
    matching = people_clusters(_surname_records(), floor=0.0)
    common, rare = _link(matching, cid(1), cid(2)), _link(matching, cid(3), cid(4))
    # u = (10² + 2² + 8·1²) / 20² = 0.28; Smith: log2(0.28 / 0.5) = -0.8; Linacre
    # log2(0.28 / 0.1) = +1.5, bounded at max_bonus (+1.0).
    assert "same name 'john smith' (+5.0, 'smith' on 10 of 20 records: -0.8) +4.2" in common.detail
    assert "same name 'john linacre' (+5.0, 'linacre' on 2 of 20 records: +1.0) +6.0" in rare.detail
    assert common.score < 0.92 < rare.score


def test_term_frequency_adjustments_can_be_switched_off():
    rules = MatchRules.model_validate({"term_frequency": {"enabled": False}})
    people = [person(r, r["_acct"], rules, FIELDS) for r in _surname_records()]
    matching = match_people(people, rules, 0.0)
    common, rare = _link(matching, cid(1), cid(2)), _link(matching, cid(3), cid(4))
    assert common.score == rare.score
    assert "same name 'john smith' +5.0" in common.detail


def test_a_website_domain_on_many_accounts_counts_for_less():
    records = [account(i, f"Bigco Unit {name}", "bigco.com") for i, name in enumerate("abcd")]
    records += [account(10, "Rareco", "rareco.com"), account(11, "Rare Co", "www.rareco.com")]
    records += [account(20 + i, f"Firm {i}", f"firm{i}.com") for i in range(4)]
    # u = (4² + 2² + 4·1²) / 10² = 0.24: bigco.com log2(0.24 / 0.4) = -0.7; rareco.com
    # log2(0.24 / 0.2) = +0.3.
    matching = account_clusters(records, floor=0.0)
    common, rare = _link(matching, aid(0), aid(1)), _link(matching, aid(10), aid(11))
    assert "same website domain bigco.com (+7.0, 'bigco.com' on 4 of 10 records: -0.7)" in (
        common.detail
    )
    assert "'rareco.com' on 2 of 10 records: +0.3" in rare.detail
