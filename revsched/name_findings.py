"""Seed 003's opportunity-name rule, lead-status-hygiene's R4, as findings: every name
carries its account's `@domain` (renamed, or flagged when it names another domain or the
account has no website), and open opportunities of one type on different accounts sharing
a domain are flagged as likely duplicates.

Apart from the play so its module reads as its PLAYS.md paragraph; the settings read are
listed in `NameSettings`, which the play's `opportunity_names` config provides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from revsched.findings import Finding
from revsched.naming import named_domains, opportunity_domain, renamed, shared_domains
from revsched.plan_builder import PlanBuilder
from revsched.play import Record
from revsched.records import field_value
from revsched.sellers import SalesPeople

RULE = "opportunity_names"


class NameSettings(Protocol):
    """What R4 reads: rename or flag only, `@acme.co.uk` or `@acme`, where the website is,
    and which opportunity types sharing a domain are likely duplicates."""

    rename: bool
    keep_tld: bool
    website_field: str
    duplicate_types: Sequence[str]
    opportunity_type_field: str


def name_findings(
    opportunities: list[Record], rule: NameSettings, people: SalesPeople, plan: PlanBuilder
) -> list[Finding]:
    """Renames and flags, then open same-type opportunities of several accounts per domain."""
    findings = [
        finding
        for opportunity in opportunities
        if (finding := _misnamed(opportunity, rule, people, plan)) is not None
    ]
    shared = shared_domains(
        opportunities,
        rule.website_field,
        rule.keep_tld,
        rule.opportunity_type_field,
        rule.duplicate_types,
    )
    for domain, kind, opportunity, others in shared:
        findings.append(
            Finding(
                RULE,
                "Opportunity",
                opportunity,
                f"duplicate domain {domain}",
                f"possible duplicate: open {kind} opportunities of other accounts"
                f" share @{domain} ({', '.join(others)})",
                people.told(opportunity["OwnerId"]),
            )
        )
    return findings


def _misnamed(
    opportunity: Record, rule: NameSettings, people: SalesPeople, plan: PlanBuilder
) -> Finding | None:
    """A name without its account's domain: renamed when it names no other domain and the
    account has a website (and `rename`), else flagged; None for a name that has it."""
    website = field_value(opportunity, f"Account.{rule.website_field}")
    domain = opportunity_domain(website, rule.keep_tld)
    name = opportunity["Name"]
    tokens = named_domains(name)
    if domain and tokens & {domain, domain.split(".", 1)[0]}:
        return None
    if tokens or domain is None or not rule.rename:
        what = (
            "its account has no website to take the domain from"
            if domain is None
            else f"the name lacks @{domain}"
            + (f" and names @{', @'.join(sorted(tokens))}" if tokens else "")
        )
    else:
        new = renamed(name, domain)
        why = "seed 003: the domain in every opportunity name"
        plan.change(opportunity, {"Name": (new, why)}, sobject="Opportunity")
        what = f"renamed to {new}"
    created = date.fromisoformat(str(opportunity["CreatedDate"])[:10])
    return Finding(
        RULE,
        "Opportunity",
        opportunity,
        f"{RULE} {created}",
        what,
        people.told(opportunity["OwnerId"]),
    )
