"""Finding duplicate companies (accounts): each reduced to what identifies it, blocked
on a website domain, a phone, its name, each of the name's words and a sorted
neighbourhood of names (so one-word typos meet), then compared. The evidence counted is
website domain, phone and name.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from revsched.dedupe import normalize
from revsched.dedupe.cluster import PairLink
from revsched.dedupe.config import MatchRules, SafetyRules
from revsched.dedupe.frequency import TermFrequencies
from revsched.dedupe.match import (
    Matching,
    Scorer,
    match_records,
    record_country,
    typo,
)
from revsched.play import Record


@dataclass(frozen=True)
class NormalizedCompany:
    """An account reduced to what identifies it."""

    id: str
    label: str  # the name as written, for explanations
    name: str  # normalized words joined: "international business machines"
    compact: str  # without spaces: "internationalbusinessmachines"
    initials: str | None  # "ibm"
    site: normalize.Website | None  # None when none, or on a shared host
    shared_site: str | None  # the host of a website on a shared host
    places: tuple[str, ...]  # city or office words after the name ("boston")
    countries_named: frozenset[str]  # countries the name names ("Nestle USA": US)
    store: str | None  # "1187"
    country: str | None
    phones: frozenset[tuple[str, str | None]]

    @property
    def domain(self) -> str | None:
        return self.site.domain if self.site else None


def _shared_host(site: normalize.Website, hosts: Sequence[str]) -> bool:
    return site.private_suffix or any(
        site.host == h or site.host.endswith(f".{h}") or site.domain == h for h in hosts
    )


def own_site(value: Any, rules: MatchRules) -> normalize.Website | None:
    """A company's own website; None when there is none or it is on a shared host (a page
    on facebook.com, a shop on x.myshopify.com), which says nothing of whose it is."""
    site = normalize.website(value)
    return None if site is None or _shared_host(site, rules.safety.shared_hosts) else site


def company(
    record: Record,
    rules: MatchRules | None = None,
    website_field: str = "Website",
    country_field: str = "BillingCountry",
    phone_field: str = "Phone",
) -> NormalizedCompany:
    rules = rules or MatchRules()
    label = record.get("Name") or ""
    words, places = normalize.company_name(label)
    site = normalize.website(record.get(website_field))
    shared = site is not None and _shared_host(site, rules.safety.shared_hosts)
    country = record_country(record.get(country_field))
    region = country if country and len(country) == 2 else rules.phone_region
    phone = normalize.phone_parts(record.get(phone_field), region)
    return NormalizedCompany(
        id=record["Id"],
        label=label,
        name=" ".join(words),
        compact="".join(words),
        initials=normalize.acronym(words),
        site=None if shared else site,
        shared_site=site.host if site and shared else None,
        places=tuple(p for p in places if p not in _NOT_PLACES),
        countries_named=normalize.name_countries(label),
        store=normalize.store_number(label),
        country=country,
        phones=frozenset({phone} if phone else ()),
    )


# Location words that name an office or region, not a separate site of a business.
_NOT_PLACES = frozenset(
    {"hq", "headquarters", "office", "offices", "head office", "branch", "division", "global"}
    | {"worldwide", "emea", "apac", "apj", "latam", "amer", "americas", "na", "eu", "europe"}
    | {"asia", "us", "usa", "uk", "canada", "germany", "france", "ireland", "australia"}
    | {"india", "japan", "united states", "united kingdom"}
)


def _company_name_agreement(
    a: NormalizedCompany, b: NormalizedCompany, rules: MatchRules
) -> tuple[str, float] | None:
    from rapidfuzz.fuzz import token_sort_ratio

    w = rules.weights
    if not (a.compact and b.compact):
        return None
    if a.compact == b.compact:
        return f"same name {a.name!r}", w.same_name
    for short, long in ((a, b), (b, a)):
        if long.initials and short.compact == long.initials:
            return f"{short.name!r} is the initials of {long.name!r}", w.initials
    similarity = token_sort_ratio(a.name, b.name) / 100
    if similarity >= rules.company_name:
        return f"names {a.name!r} / {b.name!r} {similarity:.0%} alike", w.alike_name
    if typo(a.compact, b.compact):
        return f"names {a.name!r} / {b.name!r} one typo apart", w.typo_name
    return None


def _trailing_words_differ(a: NormalizedCompany, b: NormalizedCompany) -> tuple[str, str] | None:
    """The words after a shared brand when both names have different ones ("re max
    northshore" / "re max downtown"), unless they are one typo apart."""
    left, right = a.name.split(), b.name.split()
    shared = 0
    while shared < min(len(left), len(right)) and left[shared] == right[shared]:
        shared += 1
    rest_a, rest_b = " ".join(left[shared:]), " ".join(right[shared:])
    if shared and rest_a and rest_b and not typo(rest_a, rest_b):
        return rest_a, rest_b
    return None


def _company_conflicts(
    a: NormalizedCompany, b: NormalizedCompany, safety: SafetyRules
) -> list[str]:
    """The safety rules a pair of accounts breaks."""
    broken = []
    subsidiaries = safety.country_subsidiaries and not safety.subsidiaries_are_same_account
    if safety.different_websites and a.site and b.site and a.site.domain != b.site.domain:
        broken.append(f"different_websites: {a.site.domain} / {b.site.domain}")
    if (
        subsidiaries
        and a.site
        and b.site
        and a.site.domain == b.site.domain
        and a.site.country_site != b.site.country_site
    ):
        sites = [s.country_site or "none" for s in (a.site, b.site)]
        broken.append(f"country_subsidiaries: {a.site.domain} sites {sites[0]} / {sites[1]}")
    countries = safety.different_countries and not safety.subsidiaries_are_same_account
    if countries and a.country and b.country and a.country != b.country:
        broken.append(f"different_countries: {a.country} / {b.country}")
    if subsidiaries:
        for x, y in ((a, b), (b, a)):
            named = sorted(c for c in x.countries_named - y.countries_named if c != y.country)
            if named:
                broken.append(f"country_subsidiaries: {x.label!r} names {', '.join(named)}")
                break
    if safety.locations:
        if (a.store or b.store) and a.store != b.store:
            broken.append(f"locations: store {a.store or 'none'} / {b.store or 'none'}")
        elif (a.places or b.places) and a.places != b.places:
            shown = [" ".join(p) or "none" for p in (a.places, b.places)]
            broken.append(f"locations: {shown[0]} / {shown[1]}")
        elif trailing := _trailing_words_differ(a, b):
            broken.append(f"locations: {trailing[0]!r} / {trailing[1]!r} after the name")
    return broken


def compare_companies(
    a: NormalizedCompany,
    b: NormalizedCompany,
    rules: MatchRules,
    words: TermFrequencies | None = None,
    domains: TermFrequencies | None = None,
) -> PairLink | None:
    """The weighed comparisons of a and b, if their website, phone or name agree."""
    w = rules.weights
    scorer = Scorer(w)
    if a.site and b.site and a.site.domain == b.site.domain:
        what, weight = f"same website domain {a.site.domain}", w.website
        if domains:
            what, weight = domains.explain(what, a.site.domain, weight)
        scorer.agree(what, weight, "website")
    elif a.shared_site and a.shared_site == b.shared_site:
        scorer.notes.append(f"website on shared host {a.shared_site} not counted")
    shared = sorted(a.phones & b.phones)
    if shared:
        scorer.agree(f"same phone {shared[0][0]}", w.phone, "phone")
    name = _company_name_agreement(a, b, rules)
    if name:
        what, weight = name
        shared_words = set(a.name.split()) & set(b.name.split())
        if words and shared_words and a.initials != b.compact and b.initials != a.compact:
            # The rarest word the names share says most of whose names they are.
            rarest = max(sorted(shared_words), key=words.adjustment)
            what, weight = words.explain(what, rarest, weight)
        scorer.agree(what, weight, "name")
    if not scorer.evidence:
        return None
    if a.country and a.country == b.country:
        scorer.agree(f"same country {a.country}", w.same_country)
    return scorer.link(a.id, b.id, _company_conflicts(a, b, rules.safety))


def _company_blocks(c: NormalizedCompany) -> Iterator[tuple[Hashable, str]]:
    if c.site:
        yield ("domain", c.site.domain), c.compact
    for number, _extension in c.phones:
        yield ("phone", number), c.compact
    if c.compact:
        yield ("name", c.compact), c.compact
        # Sorted neighbourhoods over all names, forwards and backwards, so a one-word typo
        # meets its original at either end of the name.
        yield ("sorted",), c.compact
        yield ("sorted-reversed",), c.compact[::-1]
    # Each word is a block of its own, so a misspelt word still meets its original
    # through the other words.
    for word in set(c.name.split()):
        if len(word) >= 3:
            yield ("word", word), c.compact
    if c.initials:
        yield ("name", c.initials), c.compact


Companies = Iterable[NormalizedCompany]


@dataclass(frozen=True)
class CompanyCounts:
    """What matching counts across the run's accounts: how common each name word and each
    website domain is."""

    words: TermFrequencies
    domains: TermFrequencies


def count_companies(companies: Companies, rules: MatchRules) -> CompanyCounts:
    companies = list(companies)
    tf = rules.term_frequency
    return CompanyCounts(
        TermFrequencies.of((w for c in companies for w in set(c.name.split())), tf, "name words"),
        TermFrequencies.of((c.domain or "" for c in companies), tf),
    )


def match_companies(
    companies: Companies, rules: MatchRules, floor: float, counts: CompanyCounts | None = None
) -> Matching:
    """Clusters of accounts linked at `floor` or above, and the blocked links; `counts` are
    taken over `companies` unless given (over the records a run leaves once it merges)."""
    companies = list(companies)
    counts = counts or count_companies(companies, rules)
    return match_records(
        companies,
        _company_blocks,
        lambda a, b: compare_companies(a, b, rules, counts.words, counts.domains),
        lambda a, b: _company_conflicts(a, b, rules.safety),
        rules,
        floor,
    )
