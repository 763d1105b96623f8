"""Demo data for the local org: a realistic, seeded sales org every play can run against.

The data is made in steps that work on plain dictionaries until the last one:
`directory` (users, roles, queues), `generator` (batches of `AccountDraft`s and
`LeadDraft`s, made by `accounts` and `factory` from the words in `vocabulary`, around the
plays' `fixtures`), `duplicates` (the duplicates real orgs collect, with their ground
truth), and `build`, which inserts each batch into a `LocalOrg` and wires the returned Ids
together. Everything is derived from one `random.Random(seed)` and `today`, so the same
inputs always give the same org.

This module names what the rest of revsched and the tests use.
"""

from revsched.localorg.demo.build import FIXTURE_LOADERS, build_demo_org
from revsched.localorg.demo.directory import DEMO_DOMAIN, QUEUES, USERS, Directory
from revsched.localorg.demo.drafts import AccountDraft, ActivityDraft, LeadDraft, company_domain
from revsched.localorg.demo.duplicates import ground_truth_path
from revsched.localorg.demo.fixtures import (
    ALIGNMENT_FIXTURES,
    LEAD_STATUS_FIXTURES,
    OVERAGE_FIXTURES,
    OVERLAP_FIXTURES,
    RENEWAL_FIXTURES,
    REVIEW_FIXTURES,
    USERGEMS_ACCOUNTS,
    WIN_BACK_FIXTURES,
    churn_date_for_stage,
    fixture_churn_date,
)
from revsched.localorg.demo.generator import BATCH_ACCOUNTS, DemoGenerator
from revsched.localorg.demo.vocabulary import MAX_ACCOUNTS, SUFFIXES

__all__ = [
    "ALIGNMENT_FIXTURES",
    "BATCH_ACCOUNTS",
    "DEMO_DOMAIN",
    "FIXTURE_LOADERS",
    "LEAD_STATUS_FIXTURES",
    "MAX_ACCOUNTS",
    "OVERAGE_FIXTURES",
    "OVERLAP_FIXTURES",
    "QUEUES",
    "RENEWAL_FIXTURES",
    "REVIEW_FIXTURES",
    "SUFFIXES",
    "USERGEMS_ACCOUNTS",
    "USERS",
    "WIN_BACK_FIXTURES",
    "AccountDraft",
    "ActivityDraft",
    "DemoGenerator",
    "Directory",
    "LeadDraft",
    "build_demo_org",
    "churn_date_for_stage",
    "company_domain",
    "fixture_churn_date",
    "ground_truth_path",
]
