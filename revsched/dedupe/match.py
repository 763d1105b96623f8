"""Finding duplicates: the rules and weights a match is scored by, the scorer, and the
blocking every matcher shares (people in `people.py`, companies in `companies.py`).

Records are normalized once, then grouped into blocks that share a key; only neighbours
within a block are compared, so the cost grows with the number of records, not its
square.

Each comparison is scored Fellegi-Sunter style: every field that agrees adds its weight
(a log2 likelihood ratio, configurable) to the prior, and the sum is the link's log-odds;
the link lists each comparison with its weight. Separately it counts the independent
pieces of evidence and checks the safety rules (cannot-link constraints) that no score
overrides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import Field

from revsched.config import StrictModel
from revsched.dedupe import normalize
from revsched.dedupe.cluster import Cluster, Conflict, PairLink, build_clusters
from revsched.dedupe.frequency import TermFrequencyRules
from revsched.dedupe.lexicon import ROLE_MAILBOXES, SHARED_HOSTS

T = TypeVar("T")


class SafetyRules(StrictModel):
    """Cannot-link rules: a pair that breaks one is never merged, whatever its score; the
    plan names the rule. Each can be switched off."""

    # Accounts: both have a website of their own, on different domains.
    different_websites: bool = True
    # Accounts (BillingCountry) and people (MailingCountry): both set and different.
    different_countries: bool = True
    # Accounts: one site is a country site of the domain (ibm.com/uk-en, usa.siemens.com),
    # or one name names a country the other record is not in ("Nestle USA").
    country_subsidiaries: bool = True
    # Accounts: store numbers ("#1187", "Store 30112") or city words after the brand
    # ("Courtyard by Marriott Boston" / "Austin") differ.
    locations: bool = True
    # People: generational suffixes differ (Jr. / Sr., II / III).
    name_suffixes: bool = True
    # People: two different addresses at one company's own domain.
    company_mailboxes: bool = True
    # People: one switchboard number with different extensions.
    phone_extensions: bool = True
    # People: both birthdates set and more than a slip apart (a father and his son of one
    # name at one address).
    different_birthdates: bool = True
    # People: two whose first names differ (not a nickname, typo or initial of one another)
    # never merge into one master together, nor does a record that matches both (twins
    # Jane and John and an undated "Smith" of their family). Flagged instead.
    different_first_names: bool = True
    # Looser on purpose: a subsidiary is the same account in your CRM (country sites,
    # countries in names and different BillingCountry no longer block accounts).
    subsidiaries_are_same_account: bool = False
    # Mailboxes of a role, not a person (the part before @): never evidence of one person.
    role_mailboxes: list[str] = list(ROLE_MAILBOXES)
    # Hosts (and their subdomains) that are not a company's own site: never evidence of one
    # company. Sites under a private public-suffix entry (x.myshopify.com) count as shared too.
    shared_hosts: list[str] = list(SHARED_HOSTS)


class Weights(StrictModel):
    """Fellegi-Sunter weights: log2 of how much likelier an agreement is between two records
    of one entity than between two of different ones. The prior is the log2 odds that two
    compared records are one before any field is looked at."""

    prior: float = -5.0
    email: float = 10.0
    phone: float = 6.0
    website: float = 7.0
    same_name: float = 5.0
    swapped_name: float = 4.0
    alike_name: float = 4.0
    typo_name: float = 4.0
    nickname: float = 3.0
    nickname_and_typo: float = 2.0
    initials: float = 3.0
    same_account: float = 3.0
    same_country: float = 1.0
    # Both parts of two people's names alike (Jaro-Winkler, `MatchRules.person_name`), and
    # one part missing with the other alike.
    similar_name: float = 2.5
    part_name: float = 2.0
    birthdate: float = 7.0
    # Birthdates a slip apart: day and month transposed, one digit off, two digits swapped.
    birthdate_near: float = 2.0
    # Added (negative) when both birthdates are set and differ by more than a slip.
    birthdate_differs: float = -5.0
    same_postal_code: float = 3.0
    # House number and street agree; the street agrees where a number is missing.
    street_address: float = 5.0
    same_street: float = 2.0
    same_city: float = 1.0


class MatchRules(StrictModel):
    """How records are compared, weighed and kept apart."""

    # Records are compared with this many neighbours (sorted by name) in each block they
    # share, so a shared info@ address or a thousand Smiths never cost all pairs.
    window: int = Field(20, ge=1, le=1000)
    # Company names at least this alike (token sort ratio, 0..1) agree.
    company_name: float = Field(0.9, ge=0, le=1)
    # People's first and last names (and streets) at least this alike (Jaro-Winkler, 0..1)
    # agree weakly, where they are not one typo apart.
    person_name: float = Field(0.9, ge=0, le=1)
    # First names less alike than this (Jaro-Winkler) and more than two typos apart are two
    # people's (safety.different_first_names): "jane" / "john" 0.67; "zara" / "zarz" 0.88.
    first_names_apart: float = Field(0.85, ge=0, le=1)
    # Independent pieces of evidence (email, phone, name; website, phone, name) a link
    # needs to merge; with fewer it can only flag.
    min_evidence: int = Field(2, ge=1, le=3)
    # A phone number on more distinct names than this is a switchboard: not evidence.
    phone_names: int = Field(2, ge=1)
    # A street address on more distinct names than this is an office or a building, not a
    # home (in B2B a contact's mailing address is often the office's): not evidence.
    address_names: int = Field(4, ge=1)
    # "ann+crm@x.com" and "ann@x.com" are one address.
    strip_plus_addressing: bool = True
    # Region assumed for phone numbers of records with no country.
    phone_region: str = "US"
    weights: Weights = Field(default_factory=Weights)
    # Agreeing on a common surname, company-name word or website domain counts for less,
    # on a rare one for more (frequencies from the records of the run).
    term_frequency: TermFrequencyRules = Field(default_factory=TermFrequencyRules)
    safety: SafetyRules = Field(default_factory=SafetyRules)


@dataclass(frozen=True)
class Matching:
    """Clusters to review, the links a safety rule blocked, and the rule checks themselves
    (for records that meet only inside a cluster)."""

    clusters: list[Cluster]
    blocked: list[PairLink]
    conflict: Conflict
    # Two records surely of two entities though no safety rule keeps them apart (people's
    # first names that differ): they never merge into one master together.
    distinct: Conflict | None = None


class Scorer:
    """Adds up weighed comparisons into a link."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.terms: list[tuple[str, float]] = []
        self.evidence: list[str] = []
        self.notes: list[str] = []

    def agree(self, what: str, weight: float, piece: str | None = None) -> None:
        self.terms.append((what, weight))
        if piece:
            self.evidence.append(piece)

    def link(self, a: str, b: str, blocked: Sequence[str]) -> PairLink:
        total = self.weights.prior + sum(w for _, w in self.terms)
        score = 1 / (1 + 2**-total)
        parts = [f"{what} {weight:+.1f}" for what, weight in self.terms]
        parts.append(f"prior {self.weights.prior:+.1f}")
        detail = ", ".join(parts + self.notes)
        rule = "+".join(self.evidence) or "weak"
        return PairLink(a, b, round(score, 4), rule, detail, tuple(self.evidence), tuple(blocked))


def typo(x: str, y: str) -> bool:
    """One slip apart (two for long words): "oracel" / "oracle", "jonhson" / "johnson";
    words of three or four letters only by a letter added ("kinng" / "king", "leee" / "lee";
    "mary" / "mark" are not)."""
    from rapidfuzz.distance import OSA  # loaded when matching starts, not when plays are listed

    shortest = min(len(x), len(y))
    if shortest < 3 or (shortest <= 4 and len(x) == len(y)):
        return False
    return OSA.distance(x, y, score_cutoff=2) <= (2 if shortest >= 9 else 1)


@functools.lru_cache(maxsize=4096)
def record_country(value: Any) -> str | None:
    """A record's country as its ISO code where known, else as written (folded)."""
    if not value:
        return None
    text = str(value).strip()
    return normalize.country_code(text) or (text.upper() if len(text) == 2 else text.lower())


def matching(
    links: Iterable[PairLink], floor: float, conflict: Conflict, distinct: Conflict | None = None
) -> Matching:
    """The links at `floor` or above, clustered, and those a safety rule blocked."""
    kept = [link for link in links if link.score >= floor]
    blocked = sorted((link for link in kept if link.blocked), key=lambda k: (k.a, k.b))
    return Matching(build_clusters(kept, floor), blocked, conflict, distinct)


def linked_pairs(
    items: list[T],
    blocks: Callable[[T], Iterable[tuple[Hashable, str]]],
    compare: Callable[[T, T], PairLink | None],
    rules: MatchRules,
) -> Iterator[PairLink]:
    """Compare each item with its `window` neighbours (by the block's sort key) in every
    block it is in, once a pair."""
    # Most blocks hold one item: it is kept bare, not in a list of its own (a million
    # records make millions of blocks).
    by_block: dict[Hashable, Any] = {}
    for index, item in enumerate(items):
        for key, order in blocks(item):
            member = (order, index)
            found = by_block.get(key)
            if found is None:
                by_block[key] = member
            elif isinstance(found, list):
                found.append(member)
            else:
                by_block[key] = [found, member]
    seen: set[tuple[int, int]] = set()
    for members in by_block.values():
        if not isinstance(members, list):
            continue
        members.sort()
        for position, (_order, i) in enumerate(members):
            for _other, j in members[position + 1 : position + 1 + rules.window]:
                pair = (i, j) if i < j else (j, i)
                if i == j or pair in seen:
                    continue
                seen.add(pair)
                link = compare(items[pair[0]], items[pair[1]])
                if link is not None:
                    yield link
