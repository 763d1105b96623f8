"""Names revsched writes: Salesforce cuts nothing for us, so a suffix must survive the limit.

Also seed 003's convention that an opportunity name carries its account's `@domain`,
which more than one play writes and checks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterator

from revsched.dedupe.normalize import registrable_domain
from revsched.play import Record
from revsched.records import field_value

# Salesforce's limit on Opportunity.Name.
OPPORTUNITY_NAME_LENGTH = 120


def with_suffix(name: str, suffix: str, limit: int = OPPORTUNITY_NAME_LENGTH) -> str:
    """`name` + `suffix`, the name cut so the whole fits `limit` and the suffix is kept."""
    return name[: limit - len(suffix)].rstrip() + suffix


# `@acme.co.uk` or `@acme` in an opportunity name.
DOMAIN_TOKEN = re.compile(r"@([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])")


def opportunity_domain(website: str | None, keep_tld: bool) -> str | None:
    """The `@domain` an opportunity name carries: the website's registrable domain."""
    domain = registrable_domain(website)
    if domain is None or keep_tld:
        return domain
    return domain.split(".", 1)[0]


def named_domains(name: str) -> set[str]:
    """The `@domains` an opportunity name carries, lower-cased."""
    return {t.lower() for t in DOMAIN_TOKEN.findall(name)}


def renamed(name: str, domain: str) -> str:
    """`<name> - @<domain>`, the name cut so the whole fits Salesforce's 120 characters."""
    return with_suffix(name, f" - @{domain}")


def opportunity_name(account: str, kind: str, domain: str | None) -> str:
    """`<Account> - <Type> - @<domain>`, the account cut so the whole fits Salesforce's 120."""
    return with_suffix(account, f" - {kind}" + (f" - @{domain}" if domain else ""))


def shared_domains(
    opportunities: list[Record],
    website_field: str,
    keep_tld: bool,
    type_field: str,
    types: Collection[str],
) -> Iterator[tuple[str, str, Record, list[str]]]:
    """Opportunities of `types` whose accounts' domain another account's opportunity of the
    same type shares: (domain, type, opportunity, the other accounts' names), by domain."""
    by_domain: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for opportunity in opportunities:
        website = field_value(opportunity, f"Account.{website_field}")
        domain = opportunity_domain(website, keep_tld)
        if domain and opportunity[type_field] in types:
            by_domain[domain, opportunity[type_field]].append(opportunity)
    for (domain, kind), group in sorted(by_domain.items()):
        accounts = {o["AccountId"] for o in group}
        if len(accounts) < 2:
            continue
        for opportunity in group:
            others = sorted(
                {
                    field_value(o, "Account.Name")
                    for o in group
                    if o["AccountId"] != opportunity["AccountId"]
                }
            )
            yield domain, kind, opportunity, others
