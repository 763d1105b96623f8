"""The plays' demo fixtures: records placed so that each play visibly decides something
on the demo org's `today` (boundaries, near misses, one of each outcome). Tests read
these tables to know what the play must select or skip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from revsched.localorg.demo.drafts import DraftRecord


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
    contacts: tuple[tuple[str, DraftRecord], ...]


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
    # A New Business deal won this many days ago (None: none), and its products.
    won_days: int | None = None
    won_products: tuple[str, ...] = ()


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
    OverlapFixture(
        "Westbrook Audio",
        (("Quillon Systems", "Customers"),),
        won_days=3,
        won_products=("Lead Routing", "Scheduler"),
    ),
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
