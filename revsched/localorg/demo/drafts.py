"""What the demo generator hands the loaders: records not yet in the org, referring to
each other by position (an opportunity's contact roles index its account's contacts), so
tests and the duplicate seeder work on plain dictionaries before anything is inserted."""

from __future__ import annotations

from dataclasses import dataclass, field

# A record not yet in the org: its fields by API name.
DraftRecord = dict[str, object]


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    city: tuple[str, str, str, str]


def company_domain(name: str) -> str:
    """The company's web and email domain: its name without spaces, lower case, on .com."""
    return name.lower().replace(" ", "") + ".com"


@dataclass
class OpportunityDraft:
    """An Opportunity without AccountId; its contact roles point into the account's contacts."""

    fields: DraftRecord
    # (index into AccountDraft.contacts, Role, IsPrimary)
    roles: list[tuple[int, str, bool]] = field(default_factory=list)
    # Product names: a line item each (a Product2 per name is made with the batch).
    products: list[str] = field(default_factory=list)


@dataclass
class ActivityDraft:
    """A Task or Event whose WhatId/WhoId are filled in once the parents have Ids."""

    sobject: str  # "Task" or "Event"
    fields: DraftRecord
    opportunity: int | None = None  # index into AccountDraft.opportunities; None: the account
    contact: int | None = None  # index into AccountDraft.contacts


@dataclass
class AccountDraft:
    """One account and everything hanging off it, ready to insert as a unit."""

    account: DraftRecord
    contacts: list[DraftRecord] = field(default_factory=list)
    opportunities: list[OpportunityDraft] = field(default_factory=list)
    activities: list[ActivityDraft] = field(default_factory=list)


@dataclass
class LeadDraft:
    """A lead and its open follow-up tasks (WhoId filled in at insert)."""

    lead: DraftRecord
    tasks: list[DraftRecord] = field(default_factory=list)
