"""The account matcher the people plays share: which account a person works at now.

PLAYS.md: the email domain against the registrable domain of each account's Website
(`app.acme.co.uk` -> `acme.co.uk`); a free-mail address (gmail.com...) falls back to
the company name, normalized as the dedupe plays normalize it ("Acme, Inc." is
"Acme"). Several candidates: a customer first, then one with an open opportunity, then
the latest activity; still tied -> no match, "ambiguous", unless configured to take
the oldest account.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from revsched.dedupe.normalize import company_words, email, registrable_domain, website
from revsched.play import Record
from revsched.records import children

OnTie = Literal["ambiguous", "oldest"]


@dataclass(frozen=True)
class Match:
    """The account found (None: no match) and how, in words for the plan."""

    account: Record | None
    reason: str


def site_domain(site: str | None, shared_hosts: Collection[str] = ()) -> str | None:
    """The registrable domain of a website; None on one of the (lower-case) shared hosts
    or under a private public suffix (x.myshopify.com) when any are given."""
    if not shared_hosts:
        return registrable_domain(site)
    found = website(site)
    if found is None or found.private_suffix:
        return None
    labels = found.host.split(".")
    hosts = {".".join(labels[i:]) for i in range(len(labels))}
    return None if hosts.intersection(shared_hosts) else found.domain


def account_keys(account: Record, shared_hosts: Collection[str] = ()) -> set[str]:
    """What an account index finds an account by, as the matcher matches it: its website's
    domain (never a shared host's) and its normalized name."""
    keys = set()
    domain = site_domain(account.get("Website"), shared_hosts)
    if domain:
        keys.add(f"domain:{domain}")
    words = company_words(account.get("Name"))
    if words:
        keys.add(f"name:{' '.join(words)}")
    return keys


def person_keys(address: str | None, company: str | None, ignored: Collection[str]) -> set[str]:
    """The account index keys a person's account is found by, as `AccountMatcher.match`
    looks: the email's domain, or (free mail, an `ignored` domain, no email) the company."""
    normalized = email(address)
    domain = registrable_domain(normalized.partition("@")[2]) if normalized else None
    if domain and domain not in ignored:
        return {f"domain:{domain}"}
    words = company_words(company)
    return {f"name:{' '.join(words)}"} if words else set()


class AccountMatcher:
    """Accounts indexed by website domain and normalized name, for many lookups."""

    def __init__(
        self,
        accounts: Iterable[Record],
        *,
        free_mail_domains: Collection[str],
        customer_types: Collection[str],
        has_open_opportunity: Callable[[Record], bool],
        on_tie: OnTie = "ambiguous",
        website_field: str = "Website",
        type_field: str = "Type",
        shared_hosts: Collection[str] = (),
    ) -> None:
        self._free_mail = {d.lower() for d in free_mail_domains}
        # The dedupe plays' safety rule: a site on a host many companies share
        # (sites.google.com, x.myshopify.com) never identifies one account.
        self._shared = {h.lower() for h in shared_hosts}
        self._customer_types = set(customer_types)
        self._open = has_open_opportunity
        self._on_tie = on_tie
        self._type_field = type_field
        self._by_domain: dict[str, list[Record]] = {}
        self._by_name: dict[tuple[str, ...], list[Record]] = {}
        for account in accounts:
            domain = site_domain(account.get(website_field), self._shared)
            if domain:
                self._by_domain.setdefault(domain, []).append(account)
            words = company_words(account.get("Name"))
            if words:
                self._by_name.setdefault(words, []).append(account)

    def match(self, address: str | None, company: str | None) -> Match:
        """The account for a person with this email address and (Lead) company name."""
        normalized = email(address)
        domain = registrable_domain(normalized.partition("@")[2]) if normalized else None
        if domain and domain not in self._free_mail and domain not in self._shared:
            return self._choose(self._by_domain.get(domain, []), f"email domain {domain}")
        kind = "free-mail" if domain in self._free_mail else "shared-domain"
        why = f"{kind} address {domain}" if domain else "no email address"
        words = company_words(company)
        if not words:
            return Match(None, f"{why} and no company name to match")
        how = f"company name {company!r} ({why})"
        return self._choose(self._by_name.get(words, []), how)

    def _choose(self, candidates: Sequence[Record], how: str) -> Match:
        if not candidates:
            return Match(None, f"no account matches the {how}")
        if len(candidates) == 1:
            return Match(candidates[0], f"{how} matches {candidates[0]['Name']}")
        tied = list(candidates)
        for rule, keep in (
            ("a customer", lambda a: a.get(self._type_field) in self._customer_types),
            ("an open opportunity", self._open),
        ):
            preferred = [a for a in tied if keep(a)]
            if len(preferred) == 1:
                return Match(
                    preferred[0],
                    f"{how}: {len(candidates)} accounts, only {preferred[0]['Name']} has {rule}",
                )
            tied = preferred or tied
        latest = max(a.get("LastActivityDate") or "" for a in tied)
        newest = [a for a in tied if (a.get("LastActivityDate") or "") == latest]
        if latest and len(newest) == 1:
            return Match(
                newest[0],
                f"{how}: {len(candidates)} accounts, {newest[0]['Name']}"
                f" has the latest activity ({latest})",
            )
        if self._on_tie == "oldest":
            oldest = min(newest, key=lambda a: (a.get("CreatedDate") or "", a["Id"]))
            return Match(
                oldest,
                f"{how}: {len(candidates)} accounts still tied, the oldest is {oldest['Name']}",
            )
        names = ", ".join(sorted(a["Name"] for a in newest))
        return Match(
            None,
            f"ambiguous: the {how} matches {len(candidates)} accounts ({names})"
            " and nothing breaks the tie",
        )


class MatcherSettings(Protocol):
    """The matcher settings a people play's config holds."""

    free_mail_domains: Collection[str]
    customer_types: Collection[str]
    on_tie: OnTie
    account_type_field: str


def open_deal_matcher(
    accounts: Iterable[Record], config: MatcherSettings, shared_hosts: Collection[str] = ()
) -> AccountMatcher:
    """The matcher over accounts read with their open Opportunities (a subquery): an open
    deal breaks a tie after a customer."""
    return AccountMatcher(
        accounts,
        free_mail_domains=config.free_mail_domains,
        customer_types=config.customer_types,
        has_open_opportunity=lambda account: bool(children(account, "Opportunities")),
        on_tie=config.on_tie,
        type_field=config.account_type_field,
        shared_hosts=shared_hosts,
    )
