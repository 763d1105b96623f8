"""Seeded duplicates: the demo org holds them, and the ground truth names them by Id."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from revsched.localorg.demo import build_demo_org
from revsched.localorg.demo.duplicates import ground_truth_path

TODAY = date(2026, 11, 23)


def build(path: Path, seed: int = 7) -> tuple[dict[str, dict[str, object]], list[dict]]:
    org = build_demo_org(path, accounts=120, seed=seed, today=TODAY)
    sf = org.salesforce()
    records = {}
    for soql in (
        "SELECT Id, Name, Website, CreatedDate FROM Account",
        "SELECT Id, FirstName, LastName, Email, Phone, MobilePhone, AccountId FROM Contact",
        "SELECT Id, FirstName, LastName, Email, Phone, Company, Status FROM Lead",
    ):
        records |= {r["Id"]: r for r in sf.query_all(soql)["records"]}
    org.close()
    truth = json.loads(ground_truth_path(path).read_text(encoding="utf-8"))["sets"]
    return records, truth


def test_ground_truth_names_real_records_of_every_kind(tmp_path: Path):
    records, truth = build(tmp_path / "org.sqlite")

    assert ground_truth_path(tmp_path / "org.sqlite").name == "org.duplicates.json"
    kinds = Counter((s["sobject"], s["expect"]) for s in truth)
    assert set(kinds) == {
        (sobject, expect)
        for sobject in ("Account", "Contact", "Lead")
        for expect in ("merge", "flag")
    }
    for duplicate_set in truth:
        ids = duplicate_set["ids"]
        assert len(ids) == len(set(ids)) >= 2
        prefix = {"Account": "001", "Contact": "003", "Lead": "00Q"}[duplicate_set["sobject"]]
        assert all(i.startswith(prefix) and i in records for i in ids)
    assert len({i for s in truth for i in s["ids"]}) == sum(len(s["ids"]) for s in truth)


def test_the_ibm_set_of_seed_004_is_in_the_org(tmp_path: Path):
    records, truth = build(tmp_path / "org.sqlite")

    [ibm] = [s for s in truth if s["kind"].startswith("seed 004")]
    assert [records[i]["Name"] for i in ibm["ids"]] == [
        "International Business Machines Corp.",
        "I.B.M.",
        "IBM",
        "Internat'l Bus Machines",
        "IBM HQ",
    ]
    assert ibm["expect"] == "merge"


def test_duplicates_differ_from_their_original_as_their_kind_says(tmp_path: Path):
    records, truth = build(tmp_path / "org.sqlite")

    for duplicate_set in truth:
        original, *copies = (records[i] for i in duplicate_set["ids"])
        for copy in copies:
            if duplicate_set["kind"] == "email in another form":
                assert copy["Email"].strip().lower().replace("+crm", "") == original["Email"]
            elif duplicate_set["kind"] == "nickname, personal email, same phone":
                assert copy["Email"].endswith("@gmail.com")
                assert original["Phone"].replace(" ", "").replace("-", "") in (
                    copy["Phone"],
                    copy.get("MobilePhone"),
                )


def test_seeding_is_deterministic(tmp_path: Path):
    first = build(tmp_path / "a.sqlite")
    assert first == build(tmp_path / "b.sqlite")
    assert first[1] != build(tmp_path / "c.sqlite", seed=8)[1]
