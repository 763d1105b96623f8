"""Finding duplicate people (contacts, leads) and companies (accounts).

Records are first normalized once, then grouped into blocks that share a key
(an email, an account and a phone, an account and a surname, a website
domain, a company name); only records in the same block are compared, and
within a block only neighbours in sorted order, so the cost grows with the
number of records, not its square. Each comparison that finds enough evidence
becomes a `Link` naming its rule, score and evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import Field

from revsched.config import StrictModel
from revsched.dedupe import normalize
from revsched.dedupe.cluster import Cluster, Link, build_clusters
from revsched.dedupe.tables import FREE_EMAIL_DOMAINS

Record = dict[str, Any]
T = TypeVar("T")


class MatchRules(StrictModel):
    """How alike two records must be, and how much each kind of evidence is worth (0..1)."""

    # Records are compared with this many neighbours (sorted by name) in each block they
    # share, so a shared info@ address or a thousand Smiths never cost all pairs.
    window: int = Field(20, ge=1, le=1000)
    # Name similarity (0..1, after nicknames) below which names are "different".
    name_floor: float = Field(0.6, ge=0, le=1)
    # Same account and phone: names at least this alike link them.
    name_with_phone: float = Field(0.8, ge=0, le=1)
    # Same account, nothing else shared: names at least this alike link them.
    name_alone: float = Field(0.9, ge=0, le=1)
    # Company names at least this alike (after normalization) link accounts.
    company_name: float = Field(0.9, ge=0, le=1)
    # "ann+crm@x.com" and "ann@x.com" are one address.
    strip_plus_addressing: bool = True
    # Region assumed for phone numbers written without a country code.
    phone_region: str = "US"


# --- People ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A contact or lead reduced to what identifies it."""

    id: str
    email: str | None
    name: str  # "robert smith": formal first name, then surname
    first: str
    last: str
    phones: frozenset[str]
    org: str | None  # the account (contacts) or company domain/name (leads)


def person(
    record: Record,
    org: str | None,
    rules: MatchRules,
    phone_fields: Sequence[str],
    email_field: str = "Email",
) -> Person:
    first = normalize.first_name(record.get("FirstName"))
    last = normalize.last_name(record.get("LastName"))
    phones = {normalize.phone(record.get(f), rules.phone_region) for f in phone_fields}
    return Person(
        id=record["Id"],
        email=normalize.email(record.get(email_field), strip_plus=rules.strip_plus_addressing),
        name=f"{first} {last}".strip(),
        first=first,
        last=last,
        phones=frozenset(p for p in phones if p),
        org=org,
    )


def lead_company(email: str | None, website: str | None, company: str | None) -> str | None:
    """The company a lead works at: its email or website domain, else its company name."""
    domain = normalize.email_domain(email) or normalize.registrable_domain(website)
    if domain:
        return domain
    return "".join(normalize.company_words(company)) or None


def _name_similarity(a: Person, b: Person) -> float:
    # Imported when matching, not when the plays are listed.
    from rapidfuzz.distance import Indel

    return Indel.normalized_similarity(a.name, b.name)


def compare_people(a: Person, b: Person, rules: MatchRules) -> Link | None:
    """The strongest evidence that a and b are one person, if there is enough."""
    similarity = _name_similarity(a, b)
    alike = f"names {similarity:.0%} alike"
    if a.email and a.email == b.email:
        if similarity >= rules.name_floor or not (a.name and b.name):
            return Link(a.id, b.id, 1.0, "email", f"same email {a.email}, {alike}")
        return Link(a.id, b.id, 0.85, "email", f"same email {a.email} but {alike}")
    if not (a.org and a.org == b.org):
        return None
    # Two different addresses at the company's own domain are two mailboxes, usually two
    # people: such a pair is never merged, only flagged.
    work = _work_domain(a.email)
    two_mailboxes = work is not None and work == _work_domain(b.email)
    cap, but = (0.85, f" but two addresses at {work}") if two_mailboxes else (1.0, "")
    shared = sorted(a.phones & b.phones)
    if shared and similarity >= rules.name_with_phone:
        score = min(cap, 0.9 + 0.1 * similarity)
        detail = f"same company, phone {shared[0]}, {alike}{but}"
        return Link(a.id, b.id, score, "name+phone", detail, veto=two_mailboxes)
    if similarity >= rules.name_alone:
        score = min(cap, 0.75 + 0.15 * similarity)
        detail = f"same company, {alike}, no email or phone shared{but}"
        return Link(a.id, b.id, score, "name", detail, veto=two_mailboxes)
    return None


def _work_domain(address: str | None) -> str | None:
    """The domain of a company mailbox; None for none or a personal one (gmail.com)."""
    domain = address.partition("@")[2] if address else None
    return None if not domain or domain in FREE_EMAIL_DOMAINS else domain


def _person_blocks(p: Person) -> Iterator[Hashable]:
    if p.email:
        yield ("email", p.email)
    if p.org:
        for number in p.phones:
            yield ("phone", p.org, number)
        if p.last:
            yield ("last", p.org, p.last)
        if p.first:
            yield ("first", p.org, p.first)


def match_people(people: Iterable[Person], rules: MatchRules, floor: float) -> list[Cluster]:
    """Clusters of people linked at `floor` or above."""
    return build_clusters(
        _links(list(people), _person_blocks, lambda p: p.name, compare_people, rules), floor
    )


# --- Companies -------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    """An account reduced to what identifies it."""

    id: str
    name: str  # normalized words joined: "international business machines"
    compact: str  # without spaces: "internationalbusinessmachines"
    initials: str | None  # "ibm"
    domain: str | None


def company(record: Record, website_field: str = "Website") -> Company:
    words = normalize.company_words(record.get("Name"))
    return Company(
        id=record["Id"],
        name=" ".join(words),
        compact="".join(words),
        initials=normalize.acronym(words),
        domain=normalize.registrable_domain(record.get(website_field)),
    )


def compare_companies(a: Company, b: Company, rules: MatchRules) -> Link | None:
    """The strongest evidence that a and b are one company, if there is enough."""
    conflict = bool(a.domain and b.domain and a.domain != b.domain)
    websites = f"websites {a.domain} and {b.domain} differ"
    if a.domain and a.domain == b.domain:
        return Link(a.id, b.id, 1.0, "domain", f"same website domain {a.domain}")
    if a.compact and a.compact == b.compact:
        if conflict:
            return Link(a.id, b.id, 0.85, "name", f"same name {a.name!r} but {websites}")
        return Link(a.id, b.id, 0.97, "name", f"same normalized name {a.name!r}")
    for short, long in ((a, b), (b, a)):
        if long.initials and short.compact == long.initials:
            detail = f"{short.name!r} is the initials of {long.name!r}"
            if conflict:
                return Link(a.id, b.id, 0.8, "initials", f"{detail} but {websites}")
            return Link(a.id, b.id, 0.94, "initials", detail)
    from rapidfuzz.fuzz import token_sort_ratio

    similarity = token_sort_ratio(a.name, b.name) / 100
    if not conflict and a.name and similarity >= rules.company_name:
        detail = f"names {a.name!r} and {b.name!r} {similarity:.0%} alike"
        return Link(a.id, b.id, 0.9 * similarity, "fuzzy name", detail)
    return None


def _company_blocks(c: Company) -> Iterator[Hashable]:
    if c.domain:
        yield ("domain", c.domain)
    if c.compact:
        yield ("name", c.compact)
    # Each word is a block of its own, so a misspelt word still meets its original
    # through the other words.
    for word in set(c.name.split()):
        if len(word) >= 3:
            yield ("word", word)
    if c.initials:
        yield ("name", c.initials)


def match_companies(companies: Iterable[Company], rules: MatchRules, floor: float) -> list[Cluster]:
    """Clusters of accounts linked at `floor` or above."""
    return build_clusters(
        _links(list(companies), _company_blocks, lambda c: c.compact, compare_companies, rules),
        floor,
    )


# --- Blocking --------------------------------------------------------------------


def _links(
    items: list[T],
    blocks: Callable[[T], Iterable[Hashable]],
    sort_key: Callable[[T], str],
    compare: Callable[[T, T, MatchRules], Link | None],
    rules: MatchRules,
) -> Iterator[Link]:
    """Compare each item with its `window` neighbours in every block it is in, once a pair."""
    by_block: dict[Hashable, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for key in blocks(item):
            by_block[key].append(index)
    seen: set[tuple[int, int]] = set()
    for members in by_block.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: sort_key(items[i]))
        for position, i in enumerate(members):
            for j in members[position + 1 : position + 1 + rules.window]:
                pair = (i, j) if i < j else (j, i)
                if pair in seen:
                    continue
                seen.add(pair)
                link = compare(items[pair[0]], items[pair[1]], rules)
                if link is not None:
                    yield link
