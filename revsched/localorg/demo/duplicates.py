"""Duplicates seeded into the demo org, with the ground truth of which records are one.

The demo generator makes every person and company unique; this module adds to
each generated batch the duplicates real orgs collect (the same email typed in
another case, a nickname with a personal address and the phone written another
way, a misspelt name; "Acme, Inc." next to "Acme HQ"; and seed 004's IBM set)
and records, per duplicate set, its members and whether a careful deduper should
merge it ("merge") or at least flag it for review ("flag"). It also adds namesakes,
different people a careless matcher would merge, which are in no set. Its own RNG
keeps the rest of the demo org exactly as it was.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from revsched.localorg.demo.drafts import AccountDraft, DraftRecord, LeadDraft
from revsched.private import write_private

# Share of contacts, leads and accounts that get a duplicate (a few get two).
CONTACT_SHARE = 0.04
LEAD_SHARE = 0.04
ACCOUNT_SHARE = 0.03
SECOND_DUPLICATE_SHARE = 0.2
# Share of accounts that get a namesake: a different person with a name like a
# colleague's, on the same switchboard number; not a duplicate, a trap for the matcher.
NAMESAKE_SHARE = 0.05

Expect = Literal["merge", "flag"]
# (sobject, position): an account's position in its batch, a contact's (account, index)
# pair, a lead's position in its batch.
Ref = tuple[str, int | tuple[int, int]]

# How people shorten or respell the demo's first names. The demo's own table, not the
# matcher's (which uses the `nicknames` data set): a benchmark on data generated from the
# matcher's own table would measure nothing. Some forms are in no nickname list (Rafa,
# Cami, Vanya): the matcher must find those people by email or phone.
FAMILIAR_FORMS = {
    "olivia": "Liv",
    "amelia": "Millie",
    "sophia": "Sophie",
    "elijah": "Eli",
    "james": "Jim",
    "lucas": "Luke",
    "evelyn": "Evie",
    "oliver": "Ollie",
    "gabriel": "Gabe",
    "isabella": "Izzy",
    "camila": "Cami",
    "rafael": "Rafa",
    "elena": "Lena",
    "hannah": "Hanna",
    "samuel": "Sam",
    "grace": "Gracie",
    "daniel": "Danny",
    "rachel": "Rach",
    "thomas": "Tommy",
    "laura": "Laurie",
    "michael": "Mikey",
    "sarah": "Sally",
    "david": "Davey",
    "emily": "Em",
    "joseph": "Joey",
    "megan": "Meg",
    "julia": "Julie",
    "ivan": "Vanya",
    "giulia": "Giuli",
}

# How a company's name and country get typed again: legal forms, office or region
# suffixes, the ways of writing the United States. Also the demo's own tables, not the
# matcher's (revsched.dedupe uses cleanco and tables of its own).
LEGAL_FORMS = (", Inc.", " LLC", " Corp.", " Ltd")
OFFICE_SUFFIXES = (" HQ", " (EMEA)", " - Head Office", " Global")
US_SPELLINGS = ("USA", "U.S.", "United States")

IBM_FIXTURE = (
    # (Name, Website): seed 004, "I.B.M.", "IBM", "Internat'l Bus Machines",
    # "IBM HQ" are one account.
    ("International Business Machines Corp.", "www.ibm.com"),
    ("I.B.M.", None),
    ("IBM", "https://ibm.com/"),
    ("Internat'l Bus Machines", None),
    ("IBM HQ", None),
)
# People on the duplicate accounts: names the demo's own contacts never have.
NEW_PEOPLE = (
    ("Arvind", "Krishna"),
    ("Ginni", "Rometty"),
    ("Sam", "Palmisano"),
    ("Lou", "Gerstner"),
    ("Thomas", "Watson"),
    ("Jim", "Whitehurst"),
    ("Gary", "Cohn"),
    ("Rob", "Thomas"),
    ("Dario", "Gil"),
    ("Kareem", "Yusuf"),
)


@dataclass(frozen=True)
class DuplicateSet:
    """Records that are one person or company, how they differ, and what to do about it."""

    sobject: str
    kind: str
    expect: Expect
    members: tuple[Ref, ...]


@dataclass
class GroundTruth:
    """Duplicate sets by record Id, as written beside the demo org."""

    sets: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        sets: Sequence[DuplicateSet],
        account_ids: Sequence[str],
        contact_ids: Sequence[Sequence[str]],
        lead_ids: Sequence[str],
    ) -> None:
        """Record a loaded batch's sets, resolving positions to the Ids the org gave."""

        def resolve(ref: Ref) -> str:
            sobject, position = ref
            if isinstance(position, tuple):
                return contact_ids[position[0]][position[1]]
            return (account_ids if sobject == "Account" else lead_ids)[position]

        for s in sets:
            ids = [resolve(ref) for ref in s.members]
            self.sets.append({"sobject": s.sobject, "kind": s.kind, "expect": s.expect, "ids": ids})

    def write(self, path: Path) -> None:
        write_private(path, json.dumps({"sets": self.sets}, indent=1) + "\n")


def ground_truth_path(org_path: str | Path) -> Path:
    """Where the ground truth of an org's seeded duplicates lives: beside the org."""
    path = Path(org_path)
    return path.with_name(path.stem + ".duplicates.json")


def _renamed_flag_only(
    original: DraftRecord, duplicates: Sequence[DraftRecord], expect: Expect
) -> Expect:
    """A duplicate that goes by another first name is owed a flag, not a merge: a familiar
    form may be missing from the matcher's nickname data, and a shared phone with two
    first names may be a household's. Merging it is right too, as it is the same person."""
    renamed = any(d["FirstName"] != original["FirstName"] for d in duplicates)
    return "flag" if renamed else expect


class DuplicateSeeder:
    """Adds duplicates to each batch of demo drafts; all randomness from one seeded RNG."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(f"duplicates-{seed}")
        self._serial = 0
        self._latest = datetime.combine(today - timedelta(days=1), time(12), UTC)

    def seed(
        self, accounts: list[AccountDraft], leads: list[LeadDraft], *, fixtures: bool = False
    ) -> list[DuplicateSet]:
        """Append duplicates to the batch (in place); returns the batch's duplicate sets.

        `fixtures`: also add seed 004's IBM set (once per org, to the first batch).
        """
        sets: list[DuplicateSet] = []
        originals = len(accounts)
        if fixtures and accounts:
            sets.append(self._ibm(accounts))
        for a in range(originals):
            draft = accounts[a]
            for c in range(len(draft.contacts)):
                if self.rng.random() < CONTACT_SHARE:
                    sets.append(self._person_set("Contact", draft.contacts, c, a))
            if self.rng.random() < NAMESAKE_SHARE:
                draft.contacts.append(self._namesake(draft.contacts[0]))
            if self.rng.random() < ACCOUNT_SHARE:
                sets.append(self._account_set(accounts, a))
        for i in range(len(leads)):
            if self.rng.random() < LEAD_SHARE:
                sets.append(self._lead_set(leads, i))
        return sets

    # People -------------------------------------------------------------------------

    def _person_set(
        self, sobject: str, records: list[DraftRecord], index: int, account: int
    ) -> DuplicateSet:
        kind, expect = self._person_kind()
        copies = 2 if self.rng.random() < SECOND_DUPLICATE_SHARE and expect == "merge" else 1
        members: list[Ref] = [(sobject, (account, index))]
        duplicates = []
        for _ in range(copies):
            duplicates.append(self._person(records[index], kind))
            records.append(duplicates[-1])
            members.append((sobject, (account, len(records) - 1)))
        expect = _renamed_flag_only(records[index], duplicates, expect)
        return DuplicateSet(sobject, kind, expect, tuple(members))

    def _lead_set(self, leads: list[LeadDraft], index: int) -> DuplicateSet:
        kind, expect = self._person_kind()
        duplicate = self._person(leads[index].lead, kind)
        duplicate.update(Status="Open", Actively_Being_Sequenced__c=False)
        leads.append(LeadDraft(duplicate))
        expect = _renamed_flag_only(leads[index].lead, [duplicate], expect)
        return DuplicateSet("Lead", kind, expect, (("Lead", index), ("Lead", len(leads) - 1)))

    def _person_kind(self) -> tuple[str, Expect]:
        roll = self.rng.random()
        if roll < 0.45:
            return "email in another form", "merge"
        if roll < 0.8:
            return "nickname, personal email, same phone", "merge"
        return "misspelt name, personal email, no phone", "flag"

    def _person(self, original: DraftRecord, kind: str) -> DraftRecord:
        """A later record of the same person, differing as `kind` says."""
        self._serial += 1
        first, last = str(original["FirstName"]), str(original["LastName"])
        duplicate = dict(original)
        duplicate["CreatedDate"] = self._later(original["CreatedDate"])
        personal = f"{first}.{last}{self._serial}@gmail.com".lower()
        if kind == "email in another form":
            duplicate["Email"] = self._email_variant(str(original["Email"]))
            duplicate["FirstName"] = self._nickname(first)
            duplicate["Phone"] = None
            duplicate["Title"] = None
        elif kind == "nickname, personal email, same phone":
            duplicate["FirstName"] = self._nickname(first)
            duplicate["Email"] = personal
            phone = _reformat_phone(str(original["Phone"]))
            field = "MobilePhone" if "MobilePhone" in original and self.rng.random() < 0.5 else None
            duplicate["Phone"] = None if field else phone
            if field:
                duplicate[field] = phone
        else:
            duplicate["LastName"] = _double_a_letter(last, self.rng)
            duplicate["Email"] = personal
            duplicate["Phone"] = None
            if "MobilePhone" in duplicate:
                duplicate["MobilePhone"] = None
        return duplicate

    def _namesake(self, colleague: DraftRecord) -> DraftRecord:
        """Another person: "Daniel Smith" has a colleague "Daniella Smith" on his line."""
        first = str(colleague["FirstName"]) + self.rng.choice(("a", "e", "o"))
        local, _at, domain = str(colleague["Email"]).partition("@")
        return {
            **colleague,
            "FirstName": first,
            "Email": f"{first.lower()}.{local.split('.', 1)[-1]}@{domain}",
            "CreatedDate": self._later(colleague["CreatedDate"]),
        }

    def _nickname(self, first: str) -> str:
        roll = self.rng.random()  # drawn for every name, so the table never shifts the RNG
        nickname = FAMILIAR_FORMS.get(first.lower())
        return nickname if nickname and roll < 0.7 else first

    def _email_variant(self, address: str) -> str:
        local, _at, domain = address.partition("@")
        roll = self.rng.random()
        if roll < 0.4:
            return f"{local.title()}@{domain.upper()}"
        if roll < 0.7:
            return f" {address} "
        return f"{local}+crm@{domain}"

    # Accounts -----------------------------------------------------------------------

    def _account_set(self, accounts: list[AccountDraft], index: int) -> DuplicateSet:
        original = accounts[index].account
        name, domain = str(original["Name"]), str(original["Website"]).removeprefix("www.")
        roll = self.rng.random()
        if roll < 0.4:
            kind, expect = "legal form, website written another way", "merge"
            suffix = self.rng.choice(LEGAL_FORMS)
            fields = {"Name": name + suffix, "Website": f"https://{domain}/about"}
        elif roll < 0.75:
            kind, expect = "office or region suffix, no website", "merge"
            office = self.rng.choice(OFFICE_SUFFIXES)
            fields = {"Name": name + office, "Website": None}
        else:
            kind, expect = "misspelt name, no website", "flag"
            fields = {"Name": _double_a_letter(name, self.rng), "Website": None}
        accounts.append(self._account(accounts[index], fields))
        return DuplicateSet(
            "Account", kind, expect, (("Account", index), ("Account", len(accounts) - 1))
        )

    def _account(self, original: AccountDraft, fields: DraftRecord) -> AccountDraft:
        """A later, thinner prospect record of the same company, with contacts of its own."""
        account = {
            key: original.account[key]
            for key in (
                "OwnerId", "Phone", "Industry", "NumberOfEmployees", "BillingCity",
                "BillingState", "BillingCountry", "Owner_Assigned_Date__c", "Health_Score__c",
            )
        }  # fmt: skip
        account.update(
            fields,
            Type="Prospect",
            Account_Status__c="Prospect",
            Buying_Stage__c="Awareness",
            AnnualRevenue=None,
            CreatedDate=self._later(original.account["CreatedDate"]),
        )
        if account["BillingCountry"] == "United States":
            account["BillingCountry"] = self.rng.choice(US_SPELLINGS)
        domain = str(original.account["Website"]).removeprefix("www.")
        contacts = [self._new_contact(domain, original.contacts[0]) for _ in range(2)]
        return AccountDraft(account, contacts)

    def _new_contact(self, domain: str, template: DraftRecord) -> DraftRecord:
        """Someone not yet in the org, at the company's domain (consecutive names differ)."""
        self._serial += 1
        first, last = NEW_PEOPLE[self._serial % len(NEW_PEOPLE)]
        return {
            **template,
            "FirstName": first,
            "LastName": last,
            "Email": f"{first}.{last}@{domain}".lower(),
            "Phone": None,
            "MobilePhone": None,
        }

    def _ibm(self, accounts: list[AccountDraft]) -> DuplicateSet:
        """Seed 004's set, built on the first account as a template: five records of IBM."""
        template = accounts[0]
        first = len(accounts)
        for n, (name, website) in enumerate(IBM_FIXTURE):
            draft = self._account(template, {"Name": name, "Website": website})
            if n == 0:  # the original, which the variants were later typed after
                draft.account["CreatedDate"] = template.account["CreatedDate"]
            draft.account["BillingCountry"] = "United States"
            draft.account["BillingCity"] = "Armonk"
            draft.account["BillingState"] = "New York"
            draft.contacts = [self._new_contact("ibm.com", template.contacts[0]) for _ in range(2)]
            accounts.append(draft)
        members = tuple(("Account", first + n) for n in range(len(IBM_FIXTURE)))
        return DuplicateSet(
            "Account", "seed 004: I.B.M. / IBM / Internat'l Bus Machines", "merge", members
        )

    def _later(self, created: object) -> datetime:
        """A creation time after `created` (a datetime or ISO string), before today."""
        moment = created if isinstance(created, datetime) else datetime.fromisoformat(str(created))
        return min(moment + timedelta(days=self.rng.randint(1, 365)), self._latest)


def _double_a_letter(text: str, rng: random.Random) -> str:
    """A typing slip: one letter of a word (not the first) doubled."""
    word_end = text.find(" ") if " " in text else len(text)
    position = rng.randrange(1, max(word_end, 2))
    return text[:position] + text[position] + text[position:]


def _reformat_phone(number: str) -> str:
    """The same number as someone else types it: "+1 415 234-5678" -> "+14152345678"."""
    return "".join(c for c in number if c.isdigit() or c == "+")
