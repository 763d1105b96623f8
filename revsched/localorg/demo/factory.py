"""Seeded building blocks of demo records: company names, people, phones, dates,
accounts' common fields, opportunities and activities. All randomness comes from one
`random.Random(seed)`, drawn in a fixed order, so the same inputs give the same org."""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from revsched.localorg.demo.directory import AE, AM, CSM, SDR, Directory
from revsched.localorg.demo.drafts import (
    ActivityDraft,
    Company,
    DraftRecord,
    OpportunityDraft,
    company_domain,
)
from revsched.localorg.demo.vocabulary import (
    CITIES,
    COMPANY_CAPACITY,
    FIRST_NAMES,
    LAST_NAMES,
    LEAD_SOURCES,
    NAME_HEADS,
    NAME_TAILS,
    SUFFIXES,
    TITLES,
)
from revsched.localorg.standard_objects import OPPORTUNITY_STAGES

T = TypeVar("T")

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


class RecordFactory:
    """Makes single demo records from one seeded RNG and `today`."""

    def __init__(self, directory: Directory, *, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
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
        self._days: dict[int, str] = {}
        self._midnight = datetime.combine(today, time(), UTC)

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

    def _contacts(self, company: Company, owner: str, count: int) -> list[DraftRecord]:
        return [self._contact(company, owner, first, last) for first, last in self._people(count)]

    def _contact(self, company: Company, owner: str, first: str, last: str) -> DraftRecord:
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
            "CreatedDate": self.created_at(self._int(30, 900)),
        }

    # Dates ---------------------------------------------------------------------------

    def _day(self, offset: int) -> str:
        """today + offset days as a Salesforce date (cached: a few thousand distinct days)."""
        day = self._days.get(offset)
        if day is None:
            day = self._days[offset] = (self.today + timedelta(days=offset)).isoformat()
        return day

    def created_at(self, days_ago: int) -> datetime:
        """A moment `days_ago` days before today, during office hours (UTC). A datetime
        rather than a string: the org stores it without parsing, a real saving at 100k."""
        return self._midnight + timedelta(days=-days_ago, minutes=self._int(8 * 60, 19 * 60 - 1))

    # Accounts ------------------------------------------------------------------------

    def _base_account(self, company: Company, kind: str, owner: str, assigned: int) -> DraftRecord:
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
            "CreatedDate": self.created_at(assigned + self._int(30, 1500)),
        }

    # Opportunities -------------------------------------------------------------------

    def _opportunity(
        self, company: Company, kind: str, stage: str, owner: str, close_offset: int
    ) -> OpportunityDraft:
        """An opportunity named "<Type> <year> - @domain", as seed 003 asks; one in ten
        breaks the convention, for the lead-status-hygiene play."""
        close = self.today + timedelta(days=close_offset)
        stem = company.domain.removesuffix(".com")
        name = f"{kind} {close.year} - @{stem}"
        if self.rng.random() < 0.1:
            name = f"{company.name} {kind}"
        return OpportunityDraft(
            {
                "Name": name,
                "StageName": stage,
                "CloseDate": close.isoformat(),
                "Amount": self._int(8, 240) * 1000,
                "Type": kind,
                "OwnerId": owner,
                "CreatedDate": self.created_at(max(-close_offset, 0) + self._int(20, 120)),
            }
        )

    def _won_history(
        self,
        company: Company,
        ae: str,
        am: str,
        contacts: Sequence[DraftRecord],
        last_close: int,
        years: int,
    ) -> list[OpportunityDraft]:
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
        contacts: Sequence[DraftRecord],
        days_to_renewal: int,
        health: float,
    ) -> OpportunityDraft:
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
        self, company: Company, owner: str, contacts: Sequence[DraftRecord]
    ) -> OpportunityDraft:
        stage = self._pick(OPEN_STAGES)
        deal = self._opportunity(company, "New Business", stage, owner, self._int(10, 150))
        deal.roles = self._roles(contacts, primary=True)
        return deal

    def _roles(
        self, contacts: Sequence[DraftRecord], *, primary: bool
    ) -> list[tuple[int, str, bool]]:
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
    ) -> ActivityDraft:
        kind = self._pick(("Call", "Email", "Meeting"))
        subject = self._pick(("Check in", "Follow up", "Discovery", "Send recap", "Intro"))
        fields: DraftRecord = {
            "Subject": f"{kind}: {subject}",
            "Type": kind,
            "Status": "Completed" if done else "Not Started",
            "Priority": "High" if self.rng.random() < 0.2 else "Normal",
            "ActivityDate": self._day(offset),
            "OwnerId": owner,
            "CreatedDate": self.created_at(max(-offset, 0) + self._int(0, 14)),
        }
        return ActivityDraft("Task", fields, opportunity, contact)

    def _event(self, owner: str, offset: int, *, opportunity: int | None = None) -> ActivityDraft:
        start = self._midnight + timedelta(days=offset, hours=self._int(9, 16))
        fields: DraftRecord = {
            "Subject": self._pick(("Demo", "QBR", "Discovery call", "Pricing review")),
            "ActivityDate": self._day(offset),
            "StartDateTime": start,
            "EndDateTime": start + timedelta(hours=1),
            "DurationInMinutes": 60,
            "OwnerId": owner,
            "CreatedDate": self.created_at(max(-offset, 0) + self._int(1, 20)),
        }
        return ActivityDraft("Event", fields, opportunity, contact=0)

    def _upcoming_activity(self, owner: str, *, opportunity: int | None = None) -> ActivityDraft:
        """An open Task or an Event dated today or later."""
        offset = self._int(0, 30)
        if self.rng.random() < 0.5:
            return self._event(owner, offset, opportunity=opportunity)
        return self._task(owner, offset, done=False, opportunity=opportunity, contact=0)

    # Random draws ------------------------------------------------------------------

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
