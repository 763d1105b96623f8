"""Demo data for the local org: a realistic, seeded sales org every play can run against.

The data is generated in two steps so that tests (and later issues, such as seeding
duplicates with a ground-truth file) can work on plain dictionaries: a `DemoGenerator`
yields batches of `AccountPlan`s and `LeadPlan`s that refer to each other by position,
and the loaders insert a batch into a `LocalOrg` and wire the returned Ids together.
Everything is derived from one `random.Random(seed)` and `today`, so the same inputs
always give the same org.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

from dateutil.relativedelta import relativedelta

from revsched.localorg.org import LocalOrg
from revsched.localorg.schema import LEAD_STATUSES, LOSS_REASONS, OPPORTUNITY_STAGES

DEMO_DOMAIN = "demo.revsched.dev"

# Accounts are generated and inserted this many at a time, which bounds memory.
BATCH_ACCOUNTS = 1000

Record = dict[str, object]
T = TypeVar("T")

# --- Users, roles and queues -------------------------------------------------------

AE = "Account Executive"
SDR = "Sales Development"
AM = "Account Manager"
CSM = "Customer Success"
ROLES = (AE, SDR, AM, CSM, "Sales Manager", "SDR Manager", "AM Director", "RevOps", "Integration")


@dataclass(frozen=True)
class DemoUser:
    """A fixed demo user; config defaults elsewhere refer to these usernames."""

    local: str
    role: str
    manager: str | None = None
    active: bool = True
    full_name: str | None = None

    @property
    def username(self) -> str:
        return f"{self.local}@{DEMO_DOMAIN}"

    def names(self) -> tuple[str, str]:
        """First and last name, from the local part unless the user has a team name."""
        first, last = (self.full_name or self.local.replace(".", " ").title()).split(" ", 1)
        return first, last


USERS = (
    DemoUser("nora.bennett", "Sales Manager"),
    DemoUser("omar.haddad", "SDR Manager"),
    DemoUser("paula.costa", "AM Director"),
    DemoUser("revops", "RevOps", full_name="RevOps Team"),
    DemoUser("integration", "Integration", full_name="Integration User"),
    DemoUser("lena.fischer", CSM),
    DemoUser("milo.rossi", CSM),
    *(DemoUser(u, AE, "nora.bennett") for u in ("ava.patel", "ben.okafor", "carla.mendez")),
    DemoUser("dev.sharma", AE, "nora.bennett"),
    DemoUser("eli.novak", AE, "nora.bennett", active=False),
    *(DemoUser(u, SDR, "omar.haddad") for u in ("fay.nguyen", "gus.romero", "hana.kim")),
    DemoUser("ivan.petrov", SDR, "omar.haddad"),
    DemoUser("jade.wilson", AM, "paula.costa"),
    DemoUser("kofi.mensah", AM, "paula.costa"),
)

# Lead status -> the queue that queue-recycle moves such leads to.
STATUS_QUEUES = {
    "Recycle": "Recycle_Queue",
    "Bad Data": "Bad_Data_Queue",
    "Ineligible": "Ineligible_Queue",
    "Inquiry": "Inquiry_Queue",
    "Disqualified": "Disqualified_Queue",
}
HOLDING_QUEUE = "RevOps_Holding"
QUEUES = (*STATUS_QUEUES.values(), HOLDING_QUEUE)


def queue_name(developer_name: str) -> str:
    """The queue's label, e.g. Recycle_Queue -> "Recycle Queue"."""
    return developer_name.replace("_", " ")


@dataclass(frozen=True)
class Directory:
    """Ids of the demo users (by username local part) and queues (by DeveloperName)."""

    users: Mapping[str, str]
    queues: Mapping[str, str]

    def by_role(self, role: str) -> tuple[str, ...]:
        """Active users of a role, in USERS order, for the generator's owner pools."""
        return tuple(self.users[u.local] for u in USERS if u.role == role and u.active)


def load_directory(org: LocalOrg, today: date) -> Directory:
    """Insert roles, users (managers first, so ManagerId resolves) and queues, all created
    three years before `today` so that the whole org is a function of the inputs."""
    created = {"CreatedDate": datetime.combine(today - relativedelta(years=3), time(9), UTC)}
    roles = [{"Name": r, "DeveloperName": r.replace(" ", "_"), **created} for r in ROLES]
    role_ids = dict(zip(ROLES, org.insert("UserRole", roles), strict=True))
    users: dict[str, str] = {}
    for wave in ([u for u in USERS if u.manager is None], [u for u in USERS if u.manager]):
        records = [{**_user_record(u, role_ids[u.role], users), **created} for u in wave]
        users.update(zip([u.local for u in wave], org.insert("User", records), strict=True))
    groups = [
        {"Name": queue_name(q), "DeveloperName": q, "Type": "Queue", **created} for q in QUEUES
    ]
    return Directory(users, dict(zip(QUEUES, org.insert("Group", groups), strict=True)))


def _user_record(user: DemoUser, role_id: str, loaded: Mapping[str, str]) -> Record:
    first, last = user.names()
    return {
        "Username": user.username,
        "Email": user.username,
        "FirstName": first,
        "LastName": last,
        "Title": user.role,
        "IsActive": user.active,
        "UserRoleId": role_id,
        "ManagerId": loaded[user.manager] if user.manager else None,
    }


# --- Companies and people ----------------------------------------------------------

NAME_HEADS = (
    "North", "South", "East", "West", "Blue", "Red", "Green", "Silver", "Gold", "Iron",
    "Oak", "Pine", "Cedar", "Maple", "Birch", "Sun", "Moon", "Star", "Sky", "Cloud",
    "Storm", "River", "Lake", "Harbor", "Summit", "Granite", "Copper", "Bright", "Clear",
    "Swift", "True", "Prime", "Apex", "Nova", "Terra", "Aqua", "Fire", "Frost", "Snow",
    "Wild", "High", "Deep", "Far", "Fair", "Grand", "Golden", "Crystal", "Falcon", "Eagle",
    "Hawk", "Wolf", "Bear", "Fox", "Lion", "Tiger", "Raven", "Crane", "Amber", "Coral",
    "Ivory", "Jade", "Elm", "Ash", "Willow",
)  # fmt: skip
NAME_TAILS = (
    "wind", "peak", "stone", "field", "bridge", "point", "gate", "wood", "brook", "crest",
    "line", "view", "way", "ford", "haven", "mark", "path", "port", "shore", "side", "vale",
    "well", "forge", "light", "spring", "water", "mont", "dale", "hill", "land", "leaf",
    "wave", "rock", "hurst", "mere", "moor", "stead", "ton", "vine", "wick", "worth",
    "cliff", "glen", "grove", "hollow", "mill", "run", "key",
)  # fmt: skip
SUFFIXES_BY_INDUSTRY = {
    "Software": (
        "Analytics", "Systems", "Software", "Labs", "Networks", "Security", "Technologies",
        "Data", "Cloud", "AI", "Digital", "Interactive", "Studios", "Dynamics",
    ),
    "Manufacturing": (
        "Logistics", "Industries", "Manufacturing", "Robotics", "Energy", "Materials",
        "Devices", "Instruments", "Motors", "Aerospace", "Marine", "Freight", "Engineering",
        "Works", "Fabrication", "Metals", "Plastics", "Chemicals", "Packaging", "Tools",
    ),
    "Healthcare": (
        "Health", "Medical", "Bio", "Therapeutics", "Pharma", "Clinics", "Diagnostics",
        "Care", "Wellness", "Genomics",
    ),
    "Finance": (
        "Capital", "Financial", "Partners", "Holdings", "Insurance", "Bank", "Credit",
        "Payments", "Ventures", "Advisors",
    ),
    "Retail": (
        "Foods", "Retail", "Supply", "Apparel", "Brands", "Outfitters", "Markets", "Grocers",
        "Textiles", "Goods",
    ),
}  # fmt: skip
SUFFIXES = tuple((s, ind) for ind, items in SUFFIXES_BY_INDUSTRY.items() for s in items)
COMPANY_CAPACITY = len(NAME_HEADS) * len(NAME_TAILS) * len(SUFFIXES)
# Each account also consumes about 3/4 of a lead company name (see _lead_batch).
MAX_ACCOUNTS = COMPANY_CAPACITY * 4 // 7

CITIES = (
    ("San Francisco", "CA", "United States", "+1 415"),
    ("New York", "NY", "United States", "+1 212"),
    ("Austin", "TX", "United States", "+1 512"),
    ("Chicago", "IL", "United States", "+1 312"),
    ("Boston", "MA", "United States", "+1 617"),
    ("Seattle", "WA", "United States", "+1 206"),
    ("Denver", "CO", "United States", "+1 303"),
    ("Atlanta", "GA", "United States", "+1 404"),
    ("Toronto", "ON", "Canada", "+1 416"),
    ("Vancouver", "BC", "Canada", "+1 604"),
    ("London", "England", "United Kingdom", "+44 20"),
    ("Dublin", "Leinster", "Ireland", "+353 1"),
    ("Berlin", "Berlin", "Germany", "+49 30"),
    ("Sydney", "NSW", "Australia", "+61 2"),
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "James",
    "Harper", "Lucas", "Evelyn", "Mateo", "Aria", "Ethan", "Chloe", "Aiden", "Priya", "Arjun",
    "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar", "Aisha", "Kwame", "Amara", "Diego",
    "Sofia", "Gabriel", "Isabella", "Lars", "Ingrid", "Mateus", "Camila", "Rafael", "Nadia",
    "Ivan", "Elena", "Marco", "Giulia", "Pierre", "Claire", "Hannah", "Samuel", "Grace",
    "Daniel", "Rachel", "Thomas", "Laura", "Michael", "Sarah", "David", "Emily", "Joseph",
    "Megan", "Ryan", "Julia",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Chen", "Wang",
    "Singh", "Kumar", "Tanaka", "Sato", "Kowalski", "Novak", "Schmidt", "Muller", "Dubois",
    "Rossi", "Silva", "Okoye", "Mensah", "Haddad", "Larsen", "Jensen", "Ivanova",
)  # fmt: skip
TITLES = (
    "Chief Revenue Officer", "VP of Sales", "VP of Marketing", "Director of Revenue Operations",
    "Sales Operations Manager", "Marketing Operations Manager", "Head of Customer Success",
    "IT Director", "Salesforce Administrator", "Chief Financial Officer", "Procurement Manager",
    "Director of Sales Development", "Business Systems Analyst", "VP of Operations",
)  # fmt: skip
LEAD_SOURCES = ("Web", "Event", "Partner", "Outbound", "UserGems")


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    city: tuple[str, str, str, str]


def company_domain(name: str) -> str:
    """The company's web and email domain: its name without spaces, lower case, on .com."""
    return name.lower().replace(" ", "") + ".com"


# --- Win-back fixtures -------------------------------------------------------------


@dataclass(frozen=True)
class WinBackFixture:
    """A former customer placed so that win-back visibly decides something on `today`.

    The churn date is the latest one whose `months`-month anniversary falls
    `days_past_stage` days before today (negative: not due yet).
    """

    name: str
    industry: str
    months: int
    days_past_stage: int
    loss_reason: str | None  # None: no lost renewal, only Closed Won history
    primary_contact: bool = True
    owner: str = "revops"
    sdr: str | None = None


WIN_BACK_FIXTURES = (
    WinBackFixture("Marlowe Biotech", "Healthcare", 6, 0, "Price"),
    WinBackFixture("Fenwick Outdoor Supply", "Retail", 6, 3, "Competitor"),
    WinBackFixture("Quillon Data Systems", "Software", 6, -2, "Product Gaps"),
    WinBackFixture(
        "Ostrander Medical", "Healthcare", 12, 0, "No Budget", owner="ben.okafor", sdr="gus.romero"
    ),
    WinBackFixture("Brackenridge Foods", "Retail", 8, 0, "Champion Left"),
    WinBackFixture("Calloway Print Works", "Manufacturing", 6, 5, None),
    WinBackFixture("Dunmore Security", "Software", 6, 1, "Other", primary_contact=False),
)


def churn_date_for_stage(stage_date: date, months: int) -> date:
    """The latest churn date whose `months`-month anniversary is on or before `stage_date`.

    Calendar months clamp at month end (31 Aug + 6 months = 28 Feb), so several churn
    dates can share a stage date and some stage dates (31 Aug, 6 months on) have none.
    """
    churn = stage_date - relativedelta(months=months)
    while churn + timedelta(days=1) + relativedelta(months=months) <= stage_date:
        churn += timedelta(days=1)
    return churn


def fixture_churn_date(fixture: WinBackFixture, today: date) -> date:
    return churn_date_for_stage(today - timedelta(days=fixture.days_past_stage), fixture.months)


# --- Account-review and renewal-sla fixtures -----------------------------------------


@dataclass(frozen=True)
class ReviewFixture:
    """An AE's prospect on one of account-review's boundaries on `today`: assigned
    `assigned_days` ago, a completed Task `activity_days` ago (None: none), and in
    Needs Review since `review_days` ago (None: not in review)."""

    name: str
    assigned_days: int
    activity_days: int | None = None
    review_days: int | None = None


REVIEW_FIXTURES = (
    ReviewFixture("Ashcombe Surveying", 89),  # one day short of 90: a near miss
    ReviewFixture("Bellhaven Optics", 90),  # flagged
    ReviewFixture("Corrigan Tile", 200, activity_days=28),  # worked 28 days ago: kept
    ReviewFixture("Delmar Cartage", 200, activity_days=29),  # flagged
    ReviewFixture("Everly Upholstery", 200, review_days=29),  # waits one more day
    ReviewFixture("Fairbrook Dairy", 200, review_days=30),  # dropped
)


@dataclass(frozen=True)
class RenewalFixture:
    """A customer whose open renewal is `days_to_renewal` days out at `stage` on `today`."""

    name: str
    days_to_renewal: int
    stage: str


RENEWAL_FIXTURES = (
    RenewalFixture("Galloway Freightlines", 120, "Prospecting"),  # behind at 120 days
    RenewalFixture("Hollis Ceramics", 90, "Qualification"),  # behind at 90 days
    RenewalFixture("Iverson Mills", 60, "Proposal"),  # on track at 60 days
    RenewalFixture("Juniper Ridge Dental", 121, "Prospecting"),  # a day before 120: near miss
)


@dataclass(frozen=True)
class OverageFixture:
    """A customer with `routed` users for `contract`, in overage since `since_days` ago
    (None: no start date), holding open opportunities of these (type, made by revsched)."""

    name: str
    contract: int
    routed: int
    since_days: int | None = None
    open_opportunities: tuple[tuple[str, bool], ...] = ()
    price_per_user: float | None = None


OVERAGE_FIXTURES = (
    OverageFixture("Kestrel Analytics", 100, 110),  # exactly at the 10% threshold: not over
    OverageFixture("Larkspur Logistics", 100, 125, 31, (("Overage", True),), 40.0),  # upsell
    OverageFixture("Marlow Biotech", 50, 45, 12, (("Overage", True),)),  # back in compliance
    OverageFixture("Norland Textiles", 200, 260, None, (("Overage", False),)),  # alert only
    OverageFixture("Orchard Point Media", 0, 40),  # no contract count: never selected
    OverageFixture("Pinecrest Robotics", 20, 30, price_per_user=55.0),  # a new overage
)


@dataclass(frozen=True)
class AlignmentFixture:
    """A prospect owned by `owner` whose contacts are owned by others, each with `fields`
    that make contact-alignment move it (no fields) or leave it alone."""

    name: str
    owner: str
    # (contact owner, extra contact fields)
    contacts: tuple[tuple[str, Record], ...]


ALIGNMENT_FIXTURES = (
    # The owner is inactive: the account is unassigned, its contact stays.
    AlignmentFixture("Kestrel Freight", "eli.novak", (("ava.patel", {}), ("ben.okafor", {}))),
    AlignmentFixture(
        "Larkspur Analytics",
        "carla.mendez",
        (
            ("dev.sharma", {"Prospect_Share_Status__c": "Sending to Partner"}),
            ("ben.okafor", {"Actively_Being_Sequenced__c": True}),
            ("integration", {}),
        ),
    ),
)


# --- UserGems fixtures: job changes --------------------------------------------------


@dataclass(frozen=True)
class UserGemsPerson:
    """A Lead (or, with `contact_of`, a Contact of that fixture account) as UserGems creates
    it: a job change `started` days ago (negative: not yet), delivered `delivered` days ago."""

    first: str
    last: str
    domain: str
    relationship: str | None = "Closed Lost Opp Contact"
    started: int = 20
    delivered: int = 2
    contact_of: str | None = None
    company: str | None = None
    # Days since UserGems saw the person leave (a Contact's No Longer at Company date).
    left: int | None = None
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UserGemsAccount:
    """An account people change jobs into: `owner`/`sdr` by username local part."""

    name: str
    kind: str
    owner: str
    sdr: str | None = None
    open_deal: bool = False
    csm: str | None = None


USERGEMS_ACCOUNTS = (
    UserGemsAccount("Tamsin Robotics", "Prospect", "revops"),  # unassigned: round robin
    UserGemsAccount("Orchard Ridge Software", "Prospect", "ava.patel", "fay.nguyen", True),
    UserGemsAccount("Quarry Lane Health", "Prospect", "ben.okafor", "hana.kim"),
    UserGemsAccount("Sorrel Bank", "Customer", "carla.mendez", "gus.romero", csm="lena.fischer"),
)
USERGEMS_PEOPLE = (
    UserGemsPerson("Rhea", "Quill", "tamsinrobotics.com", "Closed Won Opp Contact"),
    UserGemsPerson("Gwen", "Free", "gmail.com", company="Tamsin Robotics Inc."),
    UserGemsPerson("Dario", "Vance", "orchardridgesoftware.com", "Open Opp Contact"),
    UserGemsPerson(
        "Mina",
        "Sol",
        "quarrylanehealth.com",
        contact_of="Quarry Lane Health",
        fields={"UserGems__Persona__c": "RevOps", "UserGems__Past_Account__c": "Harbor Labs"},
    ),
    UserGemsPerson(
        "Theo", "Brandt", "quarrylanehealth.com", fields={"Actively_Being_Sequenced__c": True}
    ),
    UserGemsPerson("Opal", "Reyes", "quarrylanehealth.com", fields={"HasOptedOutOfEmail": True}),
    UserGemsPerson("Ivy", "Later", "quarrylanehealth.com", started=-10),
    UserGemsPerson("Walt", "Early", "quarrylanehealth.com", delivered=45),
    UserGemsPerson("Una", "Known", "quarrylanehealth.com", "Past User"),
    UserGemsPerson("Sam", "Twice", "quarrylanehealth.com", contact_of="Quarry Lane Health"),
    # The same person as a Lead too, the address typed in another case: the Contact wins.
    UserGemsPerson(
        "Sam", "Twice", "quarrylanehealth.com", fields={"Email": "Sam.Twice@QuarryLaneHealth.com"}
    ),
    UserGemsPerson(
        "Bea",
        "Return",
        "quarrylanehealth.com",
        fields={"UserGems__Past_Account__c": "Quarry Lane Health"},
    ),
    UserGemsPerson("Cyd", "Champion", "sorrelbank.com", "Past Champion"),
    UserGemsPerson("Nate", "Nomatch", "unknownventures.io"),
    # people-signals at Sorrel Bank: a champion left, a new executive, an untracked persona.
    UserGemsPerson(
        "Lou",
        "Gone",
        "sorrelbank.com",
        None,
        contact_of="Sorrel Bank",
        left=5,
        fields={
            "Champion__c": True,
            "UserGems__Created_By_UG__c": False,
            "LeadSource": "Web",
        },
    ),
    UserGemsPerson(
        "Ezra",
        "Newman",
        "sorrelbank.com",
        None,
        contact_of="Sorrel Bank",
        fields={"LeadSource": "UserGems - New Hire", "UserGems__Persona__c": "Executive"},
    ),
    UserGemsPerson(
        "Ian",
        "Tern",
        "sorrelbank.com",
        None,
        contact_of="Sorrel Bank",
        fields={"LeadSource": "UserGems - Promotion", "UserGems__Persona__c": "Intern"},
    ),
)


@dataclass(frozen=True)
class OverlapFixture:
    """A customer whose account Crossbeam finds in partners' populations: (partner,
    population) pairs; a partner outside PARTNER_FIXTURES is known by name only."""

    name: str
    overlaps: tuple[tuple[str, str], ...]
    # The partner already recorded on its open renewal.
    recorded_partner: str | None = None
    # A New Business deal won this many days ago (None: none).
    won_days: int | None = None


# Partner accounts and their tiers.
PARTNER_FIXTURES = (("Quillon Systems", "Gold"), ("Rookwood Data", "Silver"))
OVERLAP_FIXTURES = (
    OverlapFixture(
        "Sablewood Freight",
        (("Quillon Systems", "Customers"), ("Rookwood Data", "Open Opportunities")),
    ),
    OverlapFixture("Tamarind Health", (("Quillon Systems", "Prospects"),)),  # not actionable
    OverlapFixture(
        "Umberfield Labs", (("Rookwood Data", "Customers"),), recorded_partner="Rookwood Data"
    ),
    OverlapFixture("Verdant Bay Foods", (("Northbeam Cloud", "Customers"),)),  # unmapped
    OverlapFixture("Westbrook Audio", (("Quillon Systems", "Customers"),), won_days=3),
)


@dataclass(frozen=True)
class LeadStatusFixture:
    """A lead in a seed 003 status since `since_days` ago, owned by the first SDR ("sdr"),
    the first AE ("ae"), the holding queue ("queue") or RevOps standing in for marketing
    ("marketing"); `tasks` are (due in days, done, owner: "owner" or "sdr")."""

    company: str
    status: str
    owner: str
    since_days: int
    reason: str | None = None
    sequenced: bool = False
    tasks: tuple[tuple[int, bool, str], ...] = ()


LEAD_STATUS_FIXTURES = (
    LeadStatusFixture("Abbott Fieldworks", "Remarket", "sdr", 3),  # owner told
    LeadStatusFixture("Brightwater Kilns", "Remarket", "sdr", 10),  # owner and manager told
    LeadStatusFixture("Cobalt Ridge Games", "Remarket", "sdr", 10, "Too Small"),  # fixed
    LeadStatusFixture("Dunmore Bakeries", "Remarket", "queue", 10),  # RevOps only
    LeadStatusFixture("Eastgate Ledger", "Working S", "sdr", 20, tasks=((-20, True, "owner"),)),
    LeadStatusFixture("Foxglove Studio", "Working S", "sdr", 5, tasks=((2, False, "owner"),)),
    LeadStatusFixture("Glenrock Insights", "Open PLG", "ae", 2),  # a seller owns it
    LeadStatusFixture("Harbor Lane Apps", "Working P", "queue", 4, tasks=((-1, True, "sdr"),)),
    LeadStatusFixture("Ironleaf Trading", "Open PLG", "queue", 1),  # left to the product
    LeadStatusFixture("Juno Parcel", "Open SLG", "sdr", 1),  # not policed
    LeadStatusFixture("Kitefield Media", "Nurture", "marketing", 30, sequenced=True),
)


# --- Plans: records that refer to each other by position ---------------------------


@dataclass
class OpportunityPlan:
    """An Opportunity without AccountId; its contact roles point into the account's contacts."""

    fields: Record
    # (index into AccountPlan.contacts, Role, IsPrimary)
    roles: list[tuple[int, str, bool]] = field(default_factory=list)


@dataclass
class ActivityPlan:
    """A Task or Event whose WhatId/WhoId are filled in once the parents have Ids."""

    sobject: str  # "Task" or "Event"
    fields: Record
    opportunity: int | None = None  # index into AccountPlan.opportunities; None: the account
    contact: int | None = None  # index into AccountPlan.contacts


@dataclass
class AccountPlan:
    """One account and everything hanging off it, ready to insert as a unit."""

    account: Record
    contacts: list[Record] = field(default_factory=list)
    opportunities: list[OpportunityPlan] = field(default_factory=list)
    activities: list[ActivityPlan] = field(default_factory=list)


@dataclass
class LeadPlan:
    """A lead and its open follow-up tasks (WhoId filled in at insert)."""

    lead: Record
    tasks: list[Record] = field(default_factory=list)


# --- Generation --------------------------------------------------------------------

ACCOUNT_MIX = (("Prospect", 45), ("Customer", 35), ("Former Customer", 15), ("Partner", 5))
PROSPECT_SCENARIOS = (
    ("dormant", 25),
    ("engaged", 20),
    ("scheduled", 15),
    ("in_deal", 20),
    ("needs_review", 12),
    ("add_drop", 8),
)
OPEN_STAGES = tuple(name for name, _p, closed, _w in OPPORTUNITY_STAGES if not closed)
EARLY_BUYING_STAGES = ("Awareness", "Consideration", "Evaluation")
CONTACT_ROLES = ("Decision Maker", "Economic Buyer", "Technical Buyer", "Champion", "Influencer")
# Renewal SLA checkpoints (days before renewal); some renewals sit just inside each one.
RENEWAL_CHECKPOINTS = (120, 90, 60)
CHURN_RISK_NOTES = (
    "Champion left in Q2; new VP is evaluating alternatives.",
    "Routed users down 30% quarter over quarter.",
    "Budget freeze announced for next fiscal year.",
    "Asked for a side-by-side comparison with a competitor.",
    "Escalated two support tickets about response times.",
)
LEAD_STATUS_WEIGHTS = dict(zip(LEAD_STATUSES, (15, 20, 10, 8, 10, 5, 5, 8, 8, 11), strict=True))
UNASSIGNED_PROSPECT_SHARE = 0.3
PENDING_CHURN_SHARE = 0.12
MAX_HISTORY_DAYS = 548  # churned former customers left 0-18 months ago


class DemoGenerator:
    """Yields the demo org as batches of plans; all randomness comes from one seeded RNG."""

    def __init__(self, directory: Directory, *, accounts: int, seed: int, today: date) -> None:
        if not 0 <= accounts <= MAX_ACCOUNTS:
            raise ValueError(f"accounts must be between 0 and {MAX_ACCOUNTS}, got {accounts}")
        self.rng = random.Random(seed)
        self.today = today
        self.accounts = accounts
        self.users = directory.users
        self.queues = directory.queues
        self.aes = directory.by_role(AE)
        self.sdrs = directory.by_role(SDR)
        self.ams = directory.by_role(AM)
        self.csms = directory.by_role(CSM)
        self.revops = directory.users["revops"]
        self._name_step = self._coprime_step()
        self._name_offset = self.rng.randrange(COMPANY_CAPACITY)
        self._companies_used = 0
        self._former_count = 0
        self._lead_count = 0
        self._days: dict[int, str] = {}
        self._midnight = datetime.combine(today, time(), UTC)

    # Batches ------------------------------------------------------------------------

    def batches(self) -> Iterator[tuple[list[AccountPlan], list[LeadPlan]]]:
        """Account and lead plans, BATCH_ACCOUNTS accounts at a time; the win-back fixtures
        come first, the account-review and renewal-sla ones last (so adding them left
        every other record as it was)."""
        yield [self._win_back_fixture(f) for f in WIN_BACK_FIXTURES], []
        for start in range(0, self.accounts, BATCH_ACCOUNTS):
            size = min(BATCH_ACCOUNTS, self.accounts - start)
            accounts = [self._account(kind) for kind in self._kinds(size)]
            yield accounts, self._lead_batch(size)
        reviews = [self._review_fixture(i, f) for i, f in enumerate(REVIEW_FIXTURES)]
        yield reviews + [self._renewal_fixture(f) for f in RENEWAL_FIXTURES], []
        yield [self._alignment_fixture(f) for f in ALIGNMENT_FIXTURES], []

    def _kinds(self, size: int) -> list[str]:
        """Exactly proportionate account types for a batch (largest remainder), shuffled."""
        total = sum(w for _k, w in ACCOUNT_MIX)
        quotas = [(size * w / total, k) for k, w in ACCOUNT_MIX]
        counts = {k: math.floor(q) for q, k in quotas}
        by_remainder = sorted(quotas, key=lambda qk: qk[0] - math.floor(qk[0]), reverse=True)
        for _q, kind in by_remainder[: size - sum(counts.values())]:
            counts[kind] += 1
        kinds = [k for k, n in counts.items() for _ in range(n)]
        self.rng.shuffle(kinds)
        return kinds

    def _account(self, kind: str) -> AccountPlan:
        company = self._next_company()
        if kind == "Prospect":
            return self._prospect(company)
        if kind == "Customer":
            return self._customer(company)
        if kind == "Former Customer":
            return self._former_customer(company)
        return self._partner(company)

    # Companies and people -----------------------------------------------------------

    def _coprime_step(self) -> int:
        """A multiplier coprime with the name space, so index -> name is a bijection."""
        while True:
            step = self.rng.randrange(1, COMPANY_CAPACITY)
            if math.gcd(step, COMPANY_CAPACITY) == 1:
                return step

    def _next_company(self) -> Company:
        """A company name never handed out before in this org (accounts and leads alike)."""
        index = (self._companies_used * self._name_step + self._name_offset) % COMPANY_CAPACITY
        self._companies_used += 1
        index, head = divmod(index, len(NAME_HEADS))
        suffix, tail = divmod(index, len(NAME_TAILS))
        word, industry = SUFFIXES[suffix]
        name = f"{NAME_HEADS[head]}{NAME_TAILS[tail]} {word}"
        return Company(name, company_domain(name), industry, self._pick(CITIES))

    def _people(self, count: int) -> list[tuple[str, str]]:
        """Distinct (first, last) names, so emails at one company never collide."""
        firsts, lasts = self._distinct(FIRST_NAMES, count), self._distinct(LAST_NAMES, count)
        return list(zip(firsts, lasts, strict=True))

    def _phone(self, company: Company) -> str:
        exchange, line = divmod(self._int(0, 800 * 9000 - 1), 9000)
        return f"{company.city[3]} {200 + exchange}-{1000 + line}"

    def _contacts(self, company: Company, owner: str, count: int) -> list[Record]:
        return [self._contact(company, owner, first, last) for first, last in self._people(count)]

    def _contact(self, company: Company, owner: str, first: str, last: str) -> Record:
        # One contact in ten is owned by someone else, for the contact-alignment play.
        if self.rng.random() < 0.1:
            owner = self._pick((*self.aes, self.users["integration"]))
        return {
            "FirstName": first,
            "LastName": last,
            "Title": self._pick(TITLES),
            "Email": f"{first}.{last}@{company.domain}".lower(),
            "Phone": self._phone(company),
            "MobilePhone": self._phone(company) if self.rng.random() < 0.4 else None,
            "OwnerId": owner,
            "LeadSource": self._pick(LEAD_SOURCES),
            "MailingCountry": company.city[2],
            "CreatedDate": self._created(self._int(30, 900)),
        }

    # Dates ---------------------------------------------------------------------------

    def _day(self, offset: int) -> str:
        """today + offset days as a Salesforce date (cached: a few thousand distinct days)."""
        day = self._days.get(offset)
        if day is None:
            day = self._days[offset] = (self.today + timedelta(days=offset)).isoformat()
        return day

    def _created(self, days_ago: int) -> datetime:
        """A moment `days_ago` days before today, during office hours (UTC). A datetime
        rather than a string: the org stores it without parsing, a real saving at 100k."""
        return self._midnight + timedelta(days=-days_ago, minutes=self._int(8 * 60, 19 * 60 - 1))

    # Accounts ------------------------------------------------------------------------

    def _base_account(self, company: Company, kind: str, owner: str, assigned: int) -> Record:
        """Fields every account has; `assigned` is how many days ago the owner got it."""
        city, state, country, _prefix = company.city
        return {
            "Name": company.name,
            "Type": kind,
            "OwnerId": owner,
            "Website": f"www.{company.domain}",
            "Phone": self._phone(company),
            "Industry": company.industry,
            "NumberOfEmployees": self._pick((25, 50, 120, 250, 600, 1500, 4000, 12000)),
            "AnnualRevenue": self._int(2, 900) * 1_000_000,
            "BillingCity": city,
            "BillingState": state,
            "BillingCountry": country,
            "Owner_Assigned_Date__c": self._day(-assigned),
            "Health_Score__c": float(self._int(20, 100)),
            "CreatedDate": self._created(assigned + self._int(30, 1500)),
        }

    def _prospect(self, company: Company) -> AccountPlan:
        if self.rng.random() < UNASSIGNED_PROSPECT_SHARE:
            return self._unassigned_prospect(company)
        scenario = self._weighted(PROSPECT_SCENARIOS)
        owner = self._pick(self.aes)
        dormant = scenario in ("dormant", "needs_review")
        assigned = self._int(90, 700) if dormant else self._int(5, 700)
        plan = AccountPlan(self._base_account(company, "Prospect", owner, assigned))
        plan.account.update(Account_Status__c="Prospect", AE__c=owner)
        plan.account["Buying_Stage__c"] = self._pick(
            EARLY_BUYING_STAGES if dormant else (*EARLY_BUYING_STAGES, "Purchase", "Decision")
        )
        plan.contacts = self._contacts(company, owner, self._int(2, 6))
        if scenario == "needs_review":
            plan.account.update(
                Add_Drop_Request__c="Needs Review",
                Needs_Review_Date__c=self._day(-self._int(10, 40)),
            )
            # Half of the reviewed accounts re-engaged since they were flagged.
            scenario = "dormant" if self.rng.random() < 0.5 else "engaged"
        if scenario == "add_drop":
            request = self._pick(("Keep Account", "Drop Account"))
            self._request_add_drop(plan.account, request, owner)
            scenario = "dormant"
        self._prospect_activity(plan, company, scenario, owner)
        return plan

    def _unassigned_prospect(self, company: Company) -> AccountPlan:
        """A prospect held by RevOps; some carry an AE's request to add it as named."""
        plan = AccountPlan(self._base_account(company, "Prospect", self.revops, self._int(30, 900)))
        plan.account.update(
            Account_Status__c="Prospect", Buying_Stage__c=self._pick(EARLY_BUYING_STAGES)
        )
        plan.contacts = self._contacts(company, self.revops, self._int(2, 6))
        if self.rng.random() < 0.1:
            self._request_add_drop(plan.account, "Add as Named", self._pick(self.aes))
        return plan

    def _request_add_drop(self, account: Record, request: str, requester: str) -> None:
        account.update(
            Add_Drop_Request__c=request,
            Add_Drop_Approval__c=self._weighted(
                (("Approved", 50), ("Rejected", 20), ("Pending", 30))
            ),
            Add_Drop_Requested_By__c=requester,
        )

    def _prospect_activity(
        self, plan: AccountPlan, company: Company, scenario: str, owner: str
    ) -> None:
        """Activities (and for in_deal an open opportunity) that fit the prospect's scenario.

        Dormant prospects get nothing newer than 28 days and nothing in the future, so
        they are exactly the account-review play's candidates.
        """
        if self.rng.random() < 0.5:
            plan.activities.append(self._task(owner, -self._int(45, 400), done=True))
        if scenario == "engaged":
            plan.activities.append(self._task(owner, -self._int(1, 27), done=True))
        elif scenario == "scheduled":
            plan.activities.append(self._upcoming_activity(owner))
        elif scenario == "in_deal":
            plan.opportunities.append(self._new_business(company, owner, plan.contacts))
            plan.activities.append(self._upcoming_activity(owner, opportunity=0))
            plan.activities.append(self._task(owner, -self._int(1, 20), done=True))

    def _customer(self, company: Company) -> AccountPlan:
        owner, am, csm = (self._pick(pool) for pool in (self.aes, self.ams, self.csms))
        plan = AccountPlan(self._base_account(company, "Customer", owner, self._int(30, 900)))
        days_to_renewal = self._days_to_renewal()
        contract = self._pick((25, 50, 100, 250, 500, 1000))
        health = float(self._int(20, 100))
        plan.account.update(
            Health_Score__c=health,
            Account_Status__c="At Risk" if health < 50 else "Active",
            AE__c=owner,
            AM__c=am,
            CSM__c=csm,
            SDR__c=self._pick(self.sdrs),
            Renewal_Date__c=self._day(days_to_renewal),
            Users_In_Contract__c=contract,
            Users_Routed__c=round(contract * self.rng.uniform(0.6, 1.3)),
        )
        plan.contacts = self._contacts(company, owner, self._int(2, 6))
        years = self._int(1, 3)
        plan.opportunities = [
            *self._won_history(company, owner, am, plan.contacts, days_to_renewal - 365, years),
            self._open_renewal(company, am, plan.contacts, days_to_renewal, health),
        ]
        plan.activities = [
            self._task(am, -self._int(1, 90), done=True, opportunity=years),
            self._task(csm, -self._int(1, 60), done=self.rng.random() < 0.7),
        ]
        if self.rng.random() < 0.5:
            plan.activities.append(self._event(csm, -self._int(10, 120)))
        if self.rng.random() < 0.5:
            plan.activities.append(self._upcoming_activity(am, opportunity=years))
        return plan

    def _days_to_renewal(self) -> int:
        """Some renewals just crossed an SLA checkpoint; the rest spread over a year."""
        if self.rng.random() < 0.4:
            return self._pick(RENEWAL_CHECKPOINTS) - self._int(0, 5)
        return self._int(5, 365)

    def _former_customer(self, company: Company) -> AccountPlan:
        """A churned customer held by RevOps, or (a few) one whose churn is not recorded yet."""
        self._former_count += 1
        reason = LOSS_REASONS[self._former_count % len(LOSS_REASONS)]
        if self.rng.random() < PENDING_CHURN_SHARE:
            return self._pending_churn(company, reason)
        churn = self.today - timedelta(days=self._int(0, MAX_HISTORY_DAYS))
        return self._churned(company, churn, reason, owner=self.revops)

    def _churned(
        self,
        company: Company,
        churn: date,
        reason: str | None,
        *,
        owner: str,
        sdr: str | None = None,
        primary_contact: bool = True,
    ) -> AccountPlan:
        """A former customer with its Closed Won history and (unless `reason` is None) the
        lost renewal near the churn date that the win-back play reads."""
        since_churn = (self.today - churn).days
        assigned = since_churn if owner == self.revops else max(since_churn - 183, 0)
        plan = AccountPlan(self._base_account(company, "Former Customer", owner, assigned))
        plan.account.update(
            Account_Status__c="Churned",
            Churn_Date__c=churn.isoformat(),
            Health_Score__c=float(self._int(5, 45)),
        )
        if owner != self.revops:
            plan.account.update(AE__c=owner, SDR__c=sdr)
        plan.contacts = self._contacts(company, owner, self._int(2, 6))
        self._add_churn_history(plan, company, -since_churn, reason, primary_contact)
        return plan

    def _pending_churn(self, company: Company, reason: str) -> AccountPlan:
        """Marked Former Customer today-ish but still staffed: churn-intake's input."""
        owner, am, csm = (self._pick(pool) for pool in (self.aes, self.ams, self.csms))
        plan = AccountPlan(
            self._base_account(company, "Former Customer", owner, self._int(200, 900))
        )
        plan.account.update(
            Account_Status__c="At Risk",
            AE__c=owner,
            AM__c=am,
            CSM__c=csm,
            SDR__c=self._pick(self.sdrs),
        )
        plan.contacts = self._contacts(company, owner, self._int(2, 6))
        self._add_churn_history(plan, company, -self._int(0, 10), reason, True)
        return plan

    def _add_churn_history(
        self,
        plan: AccountPlan,
        company: Company,
        churn_offset: int,
        reason: str | None,
        primary_contact: bool,
    ) -> None:
        """Closed Won years before the churn, then the lost renewal just before it."""
        am = self._pick(self.ams)
        owner = str(plan.account["OwnerId"])
        ae = owner if owner in self.aes else self._pick(self.aes)
        lost_close = churn_offset - self._int(0, 14)
        years = self._int(2, 3)  # New Business, then at least one won renewal
        plan.opportunities = self._won_history(
            company, ae, am, plan.contacts, lost_close - 365, years
        )
        if reason is not None:
            lost = self._opportunity(company, "Renewal", "Closed Lost", am, lost_close)
            lost.fields["Loss_Reason__c"] = reason
            lost.roles = self._roles(plan.contacts, primary=primary_contact)
            plan.opportunities.append(lost)
        plan.activities.append(
            self._task(am, lost_close - self._int(5, 60), done=True, opportunity=years - 1)
        )

    def _win_back_fixture(self, fixture: WinBackFixture) -> AccountPlan:
        company = Company(fixture.name, company_domain(fixture.name), fixture.industry, CITIES[0])
        sdr = self.users[fixture.sdr] if fixture.sdr else None
        return self._churned(
            company,
            fixture_churn_date(fixture, self.today),
            fixture.loss_reason,
            owner=self.users[fixture.owner],
            sdr=sdr,
            primary_contact=fixture.primary_contact,
        )

    def _review_fixture(self, index: int, fixture: ReviewFixture) -> AccountPlan:
        company = Company(fixture.name, company_domain(fixture.name), "Software", CITIES[1])
        owner = self.aes[index % len(self.aes)]
        plan = AccountPlan(self._base_account(company, "Prospect", owner, fixture.assigned_days))
        plan.account.update(Account_Status__c="Prospect", AE__c=owner, Buying_Stage__c="Evaluation")
        if fixture.review_days is not None:
            plan.account.update(
                Add_Drop_Request__c="Needs Review",
                Needs_Review_Date__c=self._day(-fixture.review_days),
            )
        plan.contacts = self._contacts(company, owner, 2)
        if fixture.activity_days is not None:
            plan.activities.append(self._task(owner, -fixture.activity_days, done=True))
        return plan

    def _renewal_fixture(self, fixture: RenewalFixture) -> AccountPlan:
        """A customer as `_customer` makes one, its renewal moved to the fixture's day and stage."""
        plan = self._customer(
            Company(fixture.name, company_domain(fixture.name), "Manufacturing", CITIES[2])
        )
        renewal_date = self._day(fixture.days_to_renewal)
        plan.account["Renewal_Date__c"] = renewal_date
        plan.opportunities[-1].fields.update(
            StageName=fixture.stage, CloseDate=renewal_date, Renewal_Date__c=renewal_date
        )
        return plan

    def overage_fixture(self, fixture: OverageFixture) -> AccountPlan:
        """A customer as `_customer` makes one, its usage and overage set to the fixture's."""
        plan = self.named_account(fixture.name, "Customer")
        plan.account.update(
            Users_In_Contract__c=fixture.contract,
            Users_Routed__c=fixture.routed,
            Overage_Start_Date__c=None
            if fixture.since_days is None
            else self._day(-fixture.since_days),
            Price_Per_User__c=fixture.price_per_user,
        )
        return plan

    def named_account(self, name: str, kind: str) -> AccountPlan:
        """A customer or partner as the generator makes them, under a fixture's name."""
        company = Company(name, company_domain(name), "Software", CITIES[3])
        return self._customer(company) if kind == "Customer" else self._partner(company)

    def won_deal(self, plan: AccountPlan, days_ago: int) -> OpportunityPlan:
        """A New Business deal the account's owner won `days_ago` days ago."""
        name = str(plan.account["Name"])
        company = Company(name, company_domain(name), "Software", CITIES[3])
        owner = str(plan.account["OwnerId"])
        return self._opportunity(company, "New Business", "Closed Won", owner, -days_ago)

    def status_lead(self, fixture: LeadStatusFixture) -> LeadPlan:
        """A lead for the lead-status-hygiene fixtures."""
        company = Company(fixture.company, company_domain(fixture.company), "Software", CITIES[3])
        [(first, last)] = self._people(1)
        owners = {
            "sdr": self.sdrs[0],
            "ae": self.aes[0],
            "queue": self.queues[HOLDING_QUEUE],
            "marketing": self.revops,
        }
        owner = owners[fixture.owner]
        plan = LeadPlan(
            {
                "FirstName": first,
                "LastName": last,
                "Company": company.name,
                "Email": f"{first}.{last}@{company.domain}".lower(),
                "Website": f"www.{company.domain}",
                "Status": fixture.status,
                "Remarket_Reason__c": fixture.reason,
                "Status_Date__c": self._day(-fixture.since_days),
                "LeadSource": "Web",
                "OwnerId": owner,
                "Actively_Being_Sequenced__c": fixture.sequenced,
                "CreatedDate": self._created(fixture.since_days + 30),
            }
        )
        for due, done, whose in fixture.tasks:
            task_owner = owner if whose == "owner" else self.sdrs[1]
            plan.tasks.append(self._task(task_owner, due, done=done).fields)
        return plan

    def _alignment_fixture(self, fixture: AlignmentFixture) -> AccountPlan:
        company = Company(fixture.name, company_domain(fixture.name), "Software", CITIES[3])
        owner = self.users[fixture.owner]
        plan = AccountPlan(self._base_account(company, "Prospect", owner, 120))
        # In a buying decision: account-review leaves these accounts alone.
        plan.account.update(Account_Status__c="Prospect", AE__c=owner, Buying_Stage__c="Decision")
        plan.contacts = [
            {**contact, **fields, "OwnerId": self.users[contact_owner]}
            for contact, (contact_owner, fields) in zip(
                self._contacts(company, owner, len(fixture.contacts)), fixture.contacts, strict=True
            )
        ]
        return plan

    def usergems_fixtures(self) -> tuple[list[AccountPlan], list[LeadPlan]]:
        """The accounts people changed jobs into, and the people as UserGems delivers them."""
        plans: dict[str, AccountPlan] = {}
        for fixture in USERGEMS_ACCOUNTS:
            company = Company(fixture.name, company_domain(fixture.name), "Software", CITIES[4])
            owner = self.users[fixture.owner]
            plan = AccountPlan(self._base_account(company, fixture.kind, owner, 200))
            plan.account.update(
                SDR__c=self.users[fixture.sdr] if fixture.sdr else None,
                CSM__c=self.users[fixture.csm] if fixture.csm else None,
                Account_Assigned_Reason__c=None if fixture.owner == "revops" else "SDR Named",
                Account_Status__c="Active" if fixture.kind == "Customer" else "Prospect",
                Buying_Stage__c="Decision",
            )
            plan.contacts = self._contacts(company, owner, 2)
            for contact in plan.contacts:
                contact["OwnerId"] = owner
            if fixture.open_deal:
                plan.opportunities.append(self._new_business(company, owner, plan.contacts))
            plans[fixture.name] = plan
        leads: list[LeadPlan] = []
        for person in USERGEMS_PEOPLE:
            record = self._usergems_person(person)
            if person.contact_of:
                plans[person.contact_of].contacts.append(record)
            else:
                leads.append(LeadPlan({**record, **self._usergems_company(person)}))
        return list(plans.values()), leads

    @staticmethod
    def _usergems_company(person: UserGemsPerson) -> Record:
        """A lead's company as UserGems fills it in: the account's name and website for a
        work address, the given company name for a personal one."""
        names = {company_domain(a.name): a.name for a in USERGEMS_ACCOUNTS}
        if person.company:
            return {"Company": person.company, "Status": "Open"}
        company = names.get(person.domain, person.domain.split(".")[0].title())
        return {"Company": company, "Website": f"www.{person.domain}", "Status": "Open"}

    def _usergems_person(self, person: UserGemsPerson) -> Record:
        delivered = self._created(person.delivered)
        company = Company(person.domain, person.domain, "Software", CITIES[4])
        return {
            "Phone": self._phone(company),
            "FirstName": person.first,
            "LastName": person.last,
            "Title": "Vice President of Sales",
            "Email": f"{person.first}.{person.last}@{person.domain}".lower(),
            "OwnerId": self.users["integration"],
            "LeadSource": "UserGems",
            "CreatedDate": delivered,
            "LastModifiedDate": delivered,
            "UserGems__Created_By_UG__c": True,
            "UserGems__Past_Relationship_Type__c": person.relationship,
            "UserGems__Job_Start_Date__c": self._day(-person.started),
            "UserGems__Past_Account__c": "Harbor Labs",
            "UserGems__Past_Account_Type__c": "Customer",
            "UserGems__Past_Title__c": "Director of Sales",
            **(
                {"UserGems__No_Longer_at_Company__c": self._day(-person.left)}
                if person.left is not None
                else {}
            ),
            **person.fields,
        }

    def _partner(self, company: Company) -> AccountPlan:
        owner = self._pick((*self.aes, self.revops))
        plan = AccountPlan(self._base_account(company, "Partner", owner, self._int(30, 900)))
        plan.account["Account_Status__c"] = "Active"
        plan.contacts = self._contacts(company, owner, self._int(2, 4))
        plan.activities.append(self._task(owner, -self._int(1, 120), done=True, contact=0))
        return plan

    # Opportunities -------------------------------------------------------------------

    def _opportunity(
        self, company: Company, kind: str, stage: str, owner: str, close_offset: int
    ) -> OpportunityPlan:
        """An opportunity named "<Type> <year> - @domain", as seed 003 asks; one in ten
        breaks the convention, for the lead-status-hygiene play."""
        close = self.today + timedelta(days=close_offset)
        stem = company.domain.removesuffix(".com")
        name = f"{kind} {close.year} - @{stem}"
        if self.rng.random() < 0.1:
            name = f"{company.name} {kind}"
        return OpportunityPlan(
            {
                "Name": name,
                "StageName": stage,
                "CloseDate": close.isoformat(),
                "Amount": self._int(8, 240) * 1000,
                "Type": kind,
                "OwnerId": owner,
                "CreatedDate": self._created(max(-close_offset, 0) + self._int(20, 120)),
            }
        )

    def _won_history(
        self,
        company: Company,
        ae: str,
        am: str,
        contacts: Sequence[Record],
        last_close: int,
        years: int,
    ) -> list[OpportunityPlan]:
        """`years` yearly Closed Won deals ending at `last_close`: New Business, then renewals.
        Only the latest carries contact roles, which keeps 100k-account orgs quick to load."""
        history = []
        for year in range(years):
            offset = last_close - 365 * (years - 1 - year)
            kind, owner = ("New Business", ae) if year == 0 else ("Renewal", am)
            history.append(self._opportunity(company, kind, "Closed Won", owner, offset))
        history[-1].roles = self._roles(contacts, primary=True)
        return history

    def _open_renewal(
        self,
        company: Company,
        am: str,
        contacts: Sequence[Record],
        days_to_renewal: int,
        health: float,
    ) -> OpportunityPlan:
        renewal = self._opportunity(
            company, "Renewal", self._renewal_stage(days_to_renewal), am, days_to_renewal
        )
        late_stage = OPEN_STAGES.index(str(renewal.fields["StageName"])) >= 3
        renewal.fields.update(
            Renewal_Date__c=renewal.fields["CloseDate"],
            Health_Score__c=min(100.0, max(0.0, health + self._int(-10, 10))),
            Has_Primary_Quote__c=self.rng.random() < (0.8 if late_stage else 0.2),
            Churn_Risk_Notes__c=(
                self._pick(CHURN_RISK_NOTES) if self.rng.random() < 0.15 else None
            ),
        )
        renewal.roles = self._roles(contacts, primary=self.rng.random() < 0.9)
        return renewal

    def _renewal_stage(self, days_to_renewal: int) -> str:
        """The stage a renewal should have reached, or one or two behind (a third of them)."""
        on_track = sum(days_to_renewal <= cp for cp in RENEWAL_CHECKPOINTS)
        if self.rng.random() < 1 / 3:
            on_track -= self._int(1, 2)
        return OPEN_STAGES[max(on_track, 0)]

    def _new_business(
        self, company: Company, owner: str, contacts: Sequence[Record]
    ) -> OpportunityPlan:
        stage = self._pick(OPEN_STAGES)
        deal = self._opportunity(company, "New Business", stage, owner, self._int(10, 150))
        deal.roles = self._roles(contacts, primary=True)
        return deal

    def _roles(self, contacts: Sequence[Record], *, primary: bool) -> list[tuple[int, str, bool]]:
        """1-3 contact roles on distinct contacts; the first is primary if `primary`."""
        count = self._int(1, min(3, len(contacts)))
        picked = self._distinct(range(len(contacts)), count)
        roles = self._distinct(CONTACT_ROLES, count)
        return [
            (c, r, primary and i == 0) for i, (c, r) in enumerate(zip(picked, roles, strict=True))
        ]

    # Activities ----------------------------------------------------------------------

    def _task(
        self,
        owner: str,
        offset: int,
        *,
        done: bool,
        opportunity: int | None = None,
        contact: int | None = None,
    ) -> ActivityPlan:
        kind = self._pick(("Call", "Email", "Meeting"))
        subject = self._pick(("Check in", "Follow up", "Discovery", "Send recap", "Intro"))
        fields: Record = {
            "Subject": f"{kind}: {subject}",
            "Type": kind,
            "Status": "Completed" if done else "Not Started",
            "Priority": "High" if self.rng.random() < 0.2 else "Normal",
            "ActivityDate": self._day(offset),
            "OwnerId": owner,
            "CreatedDate": self._created(max(-offset, 0) + self._int(0, 14)),
        }
        return ActivityPlan("Task", fields, opportunity, contact)

    def _event(self, owner: str, offset: int, *, opportunity: int | None = None) -> ActivityPlan:
        start = self._midnight + timedelta(days=offset, hours=self._int(9, 16))
        fields: Record = {
            "Subject": self._pick(("Demo", "QBR", "Discovery call", "Pricing review")),
            "ActivityDate": self._day(offset),
            "StartDateTime": start,
            "EndDateTime": start + timedelta(hours=1),
            "DurationInMinutes": 60,
            "OwnerId": owner,
            "CreatedDate": self._created(max(-offset, 0) + self._int(1, 20)),
        }
        return ActivityPlan("Event", fields, opportunity, contact=0)

    def _upcoming_activity(self, owner: str, *, opportunity: int | None = None) -> ActivityPlan:
        """An open Task or an Event dated today or later."""
        offset = self._int(0, 30)
        if self.rng.random() < 0.5:
            return self._event(owner, offset, opportunity=opportunity)
        return self._task(owner, offset, done=False, opportunity=opportunity, contact=0)

    # Leads ---------------------------------------------------------------------------

    def _lead_batch(self, accounts: int) -> list[LeadPlan]:
        """About 1.5 leads per account: 1-3 leads at each of 3/4 as many new companies."""
        leads = []
        for _ in range(accounts * 3 // 4):
            company = self._next_company()
            leads += [self._lead(company, *person) for person in self._people(self._int(1, 3))]
        return leads

    def _lead(self, company: Company, first: str, last: str) -> LeadPlan:
        status = self._lead_status()
        _city, state, country, _prefix = company.city
        owner, sequenced = self._lead_owner(status)
        plan = LeadPlan(
            {
                "FirstName": first,
                "LastName": last,
                "Company": company.name,
                "Title": self._pick(TITLES),
                "Email": f"{first}.{last}@{company.domain}".lower(),
                "Phone": self._phone(company),
                "Website": f"www.{company.domain}",
                "Country": country,
                "State": state,
                "Status": status,
                "LeadSource": self._pick(LEAD_SOURCES),
                "OwnerId": owner,
                "Actively_Being_Sequenced__c": sequenced,
                "CreatedDate": self._created(self._int(1, 400)),
            }
        )
        if status == "Working" and owner in self.sdrs and self.rng.random() < 0.6:
            plan.tasks.append(self._task(owner, self._int(0, 10), done=False).fields)
        return plan

    def _lead_status(self) -> str:
        """Every status once first (so even tiny orgs have them all), then weighted."""
        self._lead_count += 1
        if self._lead_count <= len(LEAD_STATUSES):
            return LEAD_STATUSES[self._lead_count - 1]
        return self._weighted(tuple(LEAD_STATUS_WEIGHTS.items()))

    def _lead_owner(self, status: str) -> tuple[str, bool]:
        """(OwnerId, Actively_Being_Sequenced__c): mostly SDRs, some queues, a few AEs."""
        roll = self.rng.random()
        if roll < 0.65:
            return self._pick(self.sdrs), self.rng.random() < 0.25
        if roll < 0.85:
            return self.queues[STATUS_QUEUES.get(status, HOLDING_QUEUE)], False
        return self._pick(self.aes), False

    def _int(self, low: int, high: int) -> int:
        """Like Random.randint (both ends included) at a third of the cost."""
        return low + int(self.rng.random() * (high - low + 1))

    def _pick(self, items: Sequence[T]) -> T:
        """Like Random.choice, cheaper: generating 100k accounts makes millions of picks."""
        return items[int(self.rng.random() * len(items))]

    def _distinct(self, items: Sequence[T], count: int) -> list[T]:
        """`count` different items, like Random.sample but much cheaper: a random start
        and a random stride coprime with len(items) visit every item once."""
        size = len(items)
        start, step = self._int(0, size - 1), self._pick(_coprime_steps(size))
        return [items[(start + i * step) % size] for i in range(count)]

    def _weighted(self, choices: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([c for c, _w in choices], [w for _c, w in choices])[0]


@functools.cache
def _coprime_steps(size: int) -> tuple[int, ...]:
    return tuple(step for step in range(1, size + 1) if math.gcd(step, size) == 1)


# --- Loading -----------------------------------------------------------------------


def load_account_plans(
    org: LocalOrg, plans: Sequence[AccountPlan]
) -> tuple[list[str], list[list[str]]]:
    """Insert one batch of accounts with their children; returns the Account Ids and each
    account's Contact Ids."""
    account_ids = org.insert("Account", [p.account for p in plans])
    contact_ids = _insert_grouped(
        org,
        "Contact",
        [
            [{**c, "AccountId": a} for c in p.contacts]
            for p, a in zip(plans, account_ids, strict=True)
        ],
    )
    opp_ids = _insert_grouped(
        org,
        "Opportunity",
        [
            [{**o.fields, "AccountId": a} for o in p.opportunities]
            for p, a in zip(plans, account_ids, strict=True)
        ],
    )
    roles = [
        {
            "OpportunityId": opps[i],
            "ContactId": contacts[c],
            "Role": role,
            "IsPrimary": primary,
            "CreatedDate": o.fields["CreatedDate"],
        }
        for p, opps, contacts in zip(plans, opp_ids, contact_ids, strict=True)
        for i, o in enumerate(p.opportunities)
        for c, role, primary in o.roles
    ]
    org.insert("OpportunityContactRole", roles)
    for sobject in ("Task", "Event"):
        records = [
            {
                **a.fields,
                "WhatId": account if a.opportunity is None else opps[a.opportunity],
                "WhoId": None if a.contact is None else contacts[a.contact],
            }
            for p, account, opps, contacts in zip(
                plans, account_ids, opp_ids, contact_ids, strict=True
            )
            for a in p.activities
            if a.sobject == sobject
        ]
        org.insert(sobject, records)
    return account_ids, contact_ids


def load_lead_plans(org: LocalOrg, plans: Sequence[LeadPlan]) -> list[str]:
    """Insert one batch of leads and their follow-up tasks; returns the Lead Ids."""
    lead_ids = org.insert("Lead", [p.lead for p in plans])
    tasks = [{**t, "WhoId": lead} for p, lead in zip(plans, lead_ids, strict=True) for t in p.tasks]
    org.insert("Task", tasks)
    return lead_ids


def _insert_grouped(
    org: LocalOrg, sobject: str, groups: Sequence[Sequence[Record]]
) -> list[list[str]]:
    """Insert per-account record lists in one call and split the Ids back per account."""
    ids = iter(org.insert(sobject, [r for group in groups for r in group]))
    return [[next(ids) for _ in group] for group in groups]


def load_overage_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The overage-upsell fixtures, after everything else (no duplicates of them): customers
    over, at and under their licenses, with the opportunities an earlier run would have made."""
    plans = [generator.overage_fixture(f) for f in OVERAGE_FIXTURES]
    account_ids, _contacts = load_account_plans(org, plans)
    opportunities = []
    for fixture, plan, account_id in zip(OVERAGE_FIXTURES, plans, account_ids, strict=True):
        start = plan.account["Overage_Start_Date__c"]
        for kind, by_revsched in fixture.open_opportunities:
            step = kind.lower()
            opportunities.append(
                {
                    "AccountId": account_id,
                    "Name": f"{fixture.name} - {kind} - @{company_domain(fixture.name)}",
                    "StageName": "Prospecting" if by_revsched else "Qualification",
                    "CloseDate": generator.today.isoformat(),
                    "Type": kind,
                    "OwnerId": plan.account["AM__c"],
                    "CreatedDate": generator._created(fixture.since_days or 1),
                    "Revsched_Key__c": f"overage-upsell:{step}:{account_id}:{start}"
                    if by_revsched
                    else None,
                }
            )
    org.insert("Opportunity", opportunities)


def load_overlap_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The partner-overlap fixtures: partner accounts, customers with open renewals (one
    also with a fresh win) and the Crossbeam overlap records between them."""
    partners = [generator.named_account(name, "Partner") for name, _tier in PARTNER_FIXTURES]
    for plan, (_name, tier) in zip(partners, PARTNER_FIXTURES, strict=True):
        plan.account["Partner_Tier__c"] = tier
    partner_ids, _contacts = load_account_plans(org, partners)
    partner_id = {name: i for (name, _t), i in zip(PARTNER_FIXTURES, partner_ids, strict=True)}
    customers = [generator.named_account(f.name, "Customer") for f in OVERLAP_FIXTURES]
    for plan, fixture in zip(customers, OVERLAP_FIXTURES, strict=True):
        # _customer makes the open renewal last.
        plan.opportunities[-1].fields["Partner_Account__c"] = partner_id.get(
            fixture.recorded_partner or ""
        )
        if fixture.won_days is not None:
            plan.account["PS_Consultant__c"] = generator.csms[0]
            plan.opportunities.append(generator.won_deal(plan, fixture.won_days))
    account_ids, _contacts = load_account_plans(org, customers)
    org.insert(
        "Crossbeam_Ecosystem_Overlap__c",
        [
            {
                "Name": f"{fixture.name} / {partner}",
                "OwnerId": generator.users["integration"],
                "Account__c": account_id,
                "Partner_Name__c": partner,
                "Partner_Population__c": population,
                "Partner_Account__c": partner_id.get(partner),
                "CreatedDate": generator._created(7),
            }
            for fixture, account_id in zip(OVERLAP_FIXTURES, account_ids, strict=True)
            for partner, population in fixture.overlaps
        ],
    )


def load_lead_status_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The lead-status-hygiene fixtures: leads in seed 003's statuses, each meeting or
    missing one rule."""
    load_lead_plans(org, [generator.status_lead(f) for f in LEAD_STATUS_FIXTURES])


def build_demo_org(
    path: str | Path, *, accounts: int = 300, seed: int = 7, today: date | None = None
) -> LocalOrg:
    """Create a local org at `path` filled with the seeded demo data, dated around `today`,
    duplicates included; their ground truth is written beside it (`ground_truth_path`)."""
    # Imported here: the duplicates module builds on this module's plans.
    from revsched.localorg.duplicates import DuplicateSeeder, GroundTruth, ground_truth_path
    from revsched.localorg.routing_demo import load_routing_fixtures

    day = today or date.today()
    # A given `today` also pins the org's clock, so the plays see the day the data is for.
    org = LocalOrg(path, today=None if today is None else (lambda: day))
    generator = DemoGenerator(load_directory(org, day), accounts=accounts, seed=seed, today=day)
    seeder, truth = DuplicateSeeder(seed, day), GroundTruth()
    for batch, (account_plans, lead_plans) in enumerate(generator.batches()):
        sets = seeder.seed(account_plans, lead_plans, fixtures=batch == 0)
        account_ids, contact_ids = load_account_plans(org, account_plans)
        truth.add(sets, account_ids, contact_ids, load_lead_plans(org, lead_plans))
    load_overage_fixtures(org, generator)
    load_overlap_fixtures(org, generator)
    load_lead_status_fixtures(org, generator)
    load_routing_fixtures(org, generator)
    # The people plays' UserGems people last, without seeded duplicates of them.
    account_plans, lead_plans = generator.usergems_fixtures()
    load_account_plans(org, account_plans)
    load_lead_plans(org, lead_plans)
    truth.write(ground_truth_path(path))
    return org
