"""The build step: insert the generator's batches (with their seeded duplicates) and the
plays' fixtures into a LocalOrg, wiring the returned Ids together, and write the
duplicates' ground truth beside the org."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from revsched.localorg.demo.directory import load_directory
from revsched.localorg.demo.drafts import AccountDraft, DraftRecord, LeadDraft, company_domain
from revsched.localorg.demo.duplicates import DuplicateSeeder, GroundTruth, ground_truth_path
from revsched.localorg.demo.fixtures import (
    LEAD_STATUS_FIXTURES,
    OVERAGE_FIXTURES,
    OVERLAP_FIXTURES,
    PARTNER_FIXTURES,
)
from revsched.localorg.demo.generator import DemoGenerator
from revsched.localorg.local_org import LocalOrg
from revsched.localorg.routing_demo import load_routing_fixtures


def load_account_drafts(
    org: LocalOrg, drafts: Sequence[AccountDraft]
) -> tuple[list[str], list[list[str]]]:
    """Insert one batch of accounts with their children; returns the Account Ids and each
    account's Contact Ids."""
    account_ids = org.insert("Account", [p.account for p in drafts])
    contact_ids = _insert_grouped(
        org,
        "Contact",
        [
            [{**c, "AccountId": a} for c in p.contacts]
            for p, a in zip(drafts, account_ids, strict=True)
        ],
    )
    opp_ids = _insert_grouped(
        org,
        "Opportunity",
        [
            [{**o.fields, "AccountId": a} for o in p.opportunities]
            for p, a in zip(drafts, account_ids, strict=True)
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
        for p, opps, contacts in zip(drafts, opp_ids, contact_ids, strict=True)
        for i, o in enumerate(p.opportunities)
        for c, role, primary in o.roles
    ]
    org.insert("OpportunityContactRole", roles)
    _insert_products(org, drafts, opp_ids)
    for sobject in ("Task", "Event"):
        records = [
            {
                **a.fields,
                "WhatId": account if a.opportunity is None else opps[a.opportunity],
                "WhoId": None if a.contact is None else contacts[a.contact],
            }
            for p, account, opps, contacts in zip(
                drafts, account_ids, opp_ids, contact_ids, strict=True
            )
            for a in p.activities
            if a.sobject == sobject
        ]
        org.insert(sobject, records)
    return account_ids, contact_ids


def load_lead_drafts(org: LocalOrg, drafts: Sequence[LeadDraft]) -> list[str]:
    """Insert one batch of leads and their follow-up tasks; returns the Lead Ids."""
    lead_ids = org.insert("Lead", [p.lead for p in drafts])
    tasks = [
        {**t, "WhoId": lead} for p, lead in zip(drafts, lead_ids, strict=True) for t in p.tasks
    ]
    org.insert("Task", tasks)
    return lead_ids


def _insert_grouped(
    org: LocalOrg, sobject: str, groups: Sequence[Sequence[DraftRecord]]
) -> list[list[str]]:
    """Insert per-account record lists in one call and split the Ids back per account."""
    ids = iter(org.insert(sobject, [r for group in groups for r in group]))
    return [[next(ids) for _ in group] for group in groups]


def load_overage_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The overage-upsell fixtures, after everything else (no duplicates of them): customers
    over, at and under their licenses, with the opportunities an earlier run would have made."""
    drafts = [generator.overage_fixture(f) for f in OVERAGE_FIXTURES]
    account_ids, _contacts = load_account_drafts(org, drafts)
    opportunities = []
    for fixture, draft, account_id in zip(OVERAGE_FIXTURES, drafts, account_ids, strict=True):
        start = draft.account["Overage_Start_Date__c"]
        for kind, by_revsched in fixture.open_opportunities:
            step = kind.lower()
            opportunities.append(
                {
                    "AccountId": account_id,
                    "Name": f"{fixture.name} - {kind} - @{company_domain(fixture.name)}",
                    "StageName": "Prospecting" if by_revsched else "Qualification",
                    "CloseDate": generator.today.isoformat(),
                    "Type": kind,
                    "OwnerId": draft.account["AM__c"],
                    "CreatedDate": generator.created_at(fixture.since_days or 1),
                    "Revsched_Key__c": f"overage-upsell:{step}:{account_id}:{start}"
                    if by_revsched
                    else None,
                }
            )
    org.insert("Opportunity", opportunities)


def _insert_products(
    org: LocalOrg, drafts: Sequence[AccountDraft], opp_ids: list[list[str]]
) -> None:
    """A Product2 per product the batch's opportunities name, and a line item per product."""
    created: dict[str, object] = {}
    for draft in drafts:
        for opportunity in draft.opportunities:
            for name in opportunity.products:
                created.setdefault(name, opportunity.fields["CreatedDate"])
    if not created:
        return
    names = sorted(created)
    products = [{"Name": n, "CreatedDate": created[n]} for n in names]
    product_ids = dict(zip(names, org.insert("Product2", products), strict=True))
    org.insert(
        "OpportunityLineItem",
        [
            {
                "OpportunityId": opps[i],
                "Product2Id": product_ids[name],
                "Quantity": 1,
                "CreatedDate": o.fields["CreatedDate"],
            }
            for p, opps in zip(drafts, opp_ids, strict=True)
            for i, o in enumerate(p.opportunities)
            for name in o.products
        ],
    )


def load_overlap_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The partner-overlap fixtures: partner accounts, customers with open renewals (one
    also with a fresh win) and the Crossbeam overlap records between them."""
    partners = [generator.named_account(name, "Partner") for name, _tier in PARTNER_FIXTURES]
    for draft, (_name, tier) in zip(partners, PARTNER_FIXTURES, strict=True):
        draft.account["Partner_Tier__c"] = tier
    partner_ids, _contacts = load_account_drafts(org, partners)
    partner_id = {name: i for (name, _t), i in zip(PARTNER_FIXTURES, partner_ids, strict=True)}
    customers = [generator.named_account(f.name, "Customer") for f in OVERLAP_FIXTURES]
    for draft, fixture in zip(customers, OVERLAP_FIXTURES, strict=True):
        # _customer makes the open renewal last.
        draft.opportunities[-1].fields["Partner_Account__c"] = partner_id.get(
            fixture.recorded_partner or ""
        )
        if fixture.won_days is not None:
            draft.account["PS_Consultant__c"] = generator.csms[0]
            won = generator.won_deal(draft, fixture.won_days)
            won.products = list(fixture.won_products)
            draft.opportunities.append(won)
    account_ids, _contacts = load_account_drafts(org, customers)
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
                "CreatedDate": generator.created_at(7),
            }
            for fixture, account_id in zip(OVERLAP_FIXTURES, account_ids, strict=True)
            for partner, population in fixture.overlaps
        ],
    )


def load_lead_status_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The lead-status-hygiene fixtures: leads in seed 003's statuses, each meeting or
    missing one rule."""
    load_lead_drafts(org, [generator.status_lead(f) for f in LEAD_STATUS_FIXTURES])


def load_usergems_fixtures(org: LocalOrg, generator: DemoGenerator) -> None:
    """The people plays' UserGems accounts and the people who changed jobs into them."""
    account_drafts, lead_drafts = generator.usergems_fixtures()
    load_account_drafts(org, account_drafts)
    load_lead_drafts(org, lead_drafts)


FixtureLoader = Callable[[LocalOrg, DemoGenerator], None]
# The plays' fixtures, loaded in this order after the generated batches, without seeded
# duplicates. A play's demo data is one loader appended here: everything comes from one
# seeded RNG, so appending leaves every earlier record as it was.
FIXTURE_LOADERS: tuple[FixtureLoader, ...] = (
    load_overage_fixtures,
    load_overlap_fixtures,
    load_lead_status_fixtures,
    load_routing_fixtures,
    load_usergems_fixtures,
)


def build_demo_org(
    path: str | Path, *, accounts: int = 300, seed: int = 7, today: date | None = None
) -> LocalOrg:
    """Create a local org at `path` filled with the seeded demo data, dated around `today`,
    duplicates included; their ground truth is written beside it (`ground_truth_path`)."""
    day = today or date.today()
    # A given `today` also pins the org's clock, so the plays see the day the data is for.
    org = LocalOrg(path, today=None if today is None else (lambda: day))
    generator = DemoGenerator(load_directory(org, day), accounts=accounts, seed=seed, today=day)
    seeder, truth = DuplicateSeeder(seed, day), GroundTruth()
    for batch, (account_drafts, lead_drafts) in enumerate(generator.batches()):
        sets = seeder.seed(account_drafts, lead_drafts, fixtures=batch == 0)
        account_ids, contact_ids = load_account_drafts(org, account_drafts)
        truth.add(sets, account_ids, contact_ids, load_lead_drafts(org, lead_drafts))
    for load_fixtures in FIXTURE_LOADERS:
        load_fixtures(org, generator)
    truth.write(ground_truth_path(path))
    return org
