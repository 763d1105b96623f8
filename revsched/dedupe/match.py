"""Finding duplicate people (contacts, leads) and companies (accounts).

Records are normalized once, then grouped into blocks that share a key (an email, a
phone, a birthdate, a street address, an account or postal code and a name or nickname
form, a website domain, a company name or one of its words, and a sorted neighbourhood
of names so one-word typos meet); only neighbours within a block are compared, so the
cost grows with the number of records, not its square.

Each comparison is scored Fellegi-Sunter style: every field that agrees adds its weight
(a log2 likelihood ratio, configurable) to the prior, and the sum is the link's log-odds;
the link lists each comparison with its weight. Separately it counts the independent
pieces of evidence (email, phone, name, birthdate, street address; website domain,
phone, name) and checks the safety rules (cannot-link constraints) that no score
overrides.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import Field

from revsched.config import StrictModel
from revsched.dedupe import normalize
from revsched.dedupe.cluster import Cluster, Conflict, Link, build_clusters
from revsched.dedupe.frequency import TermFrequencies, TermFrequencyRules
from revsched.dedupe.lexicon import FREE_EMAIL_DOMAINS, ROLE_MAILBOXES, SHARED_HOSTS

Record = dict[str, Any]
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
    blocked: list[Link]
    conflict: Conflict
    # Two records surely of two entities though no safety rule keeps them apart (people's
    # first names that differ): they never merge into one master together.
    distinct: Conflict | None = None


class _Scorer:
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

    def link(self, a: str, b: str, blocked: Sequence[str]) -> Link:
        total = self.weights.prior + sum(w for _, w in self.terms)
        score = 1 / (1 + 2**-total)
        parts = [f"{what} {weight:+.1f}" for what, weight in self.terms]
        parts.append(f"prior {self.weights.prior:+.1f}")
        detail = ", ".join(parts + self.notes)
        rule = "+".join(self.evidence) or "weak"
        return Link(a, b, round(score, 4), rule, detail, tuple(self.evidence), tuple(blocked))


def _typo(x: str, y: str) -> bool:
    """One slip apart (two for long words): "oracel" / "oracle", "jonhson" / "johnson";
    words of three or four letters only by a letter added ("kinng" / "king", "leee" / "lee";
    "mary" / "mark" are not)."""
    from rapidfuzz.distance import OSA  # loaded when matching starts, not when plays are listed

    shortest = min(len(x), len(y))
    if shortest < 3 or (shortest <= 4 and len(x) == len(y)):
        return False
    return OSA.distance(x, y, score_cutoff=2) <= (2 if shortest >= 9 else 1)


def _short_form(x: str, y: str) -> bool:
    """One first name is the start of the other: "rach" / "rachel", "cami" / "camila"."""
    short, long = sorted((x, y), key=len)
    return len(short) >= 3 and long.startswith(short) and short != long


@functools.lru_cache(maxsize=4096)
def _country(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip()
    return normalize.country_code(text) or (text.upper() if len(text) == 2 else text.lower())


# --- People ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A contact or lead reduced to what identifies it."""

    id: str
    email: str | None
    role_mailbox: bool
    work_domain: str | None  # the domain of a company mailbox (not gmail.com)
    first: str  # as written, folded: "jurgen"
    last: str
    suffix: str | None  # "jr", "iii"
    forms: frozenset[str]  # the first name and the formal names it may stand for
    phones: tuple[tuple[str, str | None], ...]  # (E.164, extension), sorted, each once
    org: str | None  # the account (contacts) or company domain/name (leads)
    country: str | None
    name: str  # "robert smith"
    birthdate: str | None = None  # "1971-06-24"
    postal_code: str | None = None  # "SW1A1AA"
    street: normalize.Street | None = None  # 16 "dumas street"
    city: str | None = None  # "mount immaney"


@dataclass(frozen=True)
class PersonFields:
    """Where a contact's or lead's identifying values are; None: not read."""

    phones: Sequence[str] = ("Phone",)
    email: str = "Email"
    country: str | None = None
    birthdate: str | None = None
    postal_code: str | None = None
    street: str | None = None
    city: str | None = None


def person(record: Record, org: str | None, rules: MatchRules, fields: PersonFields) -> Person:
    country = _country(record.get(fields.country)) if fields.country else None
    region = country if country and len(country) == 2 else rules.phone_region
    phones = {normalize.phone_parts(record.get(f), region) for f in fields.phones}
    address = normalize.email(record.get(fields.email), strip_plus=rules.strip_plus_addressing)
    local, _, domain = (address or "").partition("@")
    first = normalize.first_name(record.get("FirstName"))
    last, suffix = normalize.last_name(record.get("LastName"))
    birthdate = str(record.get(fields.birthdate) or "")[:10] if fields.birthdate else ""
    return Person(
        id=record["Id"],
        email=address,
        role_mailbox=local in rules.safety.role_mailboxes,
        work_domain=domain if domain and domain not in FREE_EMAIL_DOMAINS else None,
        first=first,
        last=last,
        suffix=suffix,
        forms=normalize.first_name_forms(first),
        phones=tuple(sorted(p for p in phones if p)),
        org=org,
        country=country,
        name=f"{first} {last}".strip(),
        birthdate=birthdate or None,
        postal_code=_postal_code(record.get(fields.postal_code)) if fields.postal_code else None,
        street=normalize.street(record.get(fields.street)) if fields.street else None,
        city=normalize.city(record.get(fields.city)) if fields.city else None,
    )


def _postal_code(value: Any) -> str | None:
    code = "".join(str(value or "").split()).upper()
    return code or None


def lead_company(email: str | None, website: str | None, company: str | None) -> str | None:
    """The company a lead works at: its email or website domain, else its company name."""
    domain = normalize.email_domain(email) or normalize.registrable_domain(website)
    if domain:
        return domain
    return "".join(normalize.company_words(company)) or None


# How two people's names agree: as written (the same, swapped, or a typo in one part),
# through a nickname, only alike, or one part missing.
Agreement = tuple[str, float, str]


def _alike(x: str, y: str, rules: MatchRules) -> bool:
    from rapidfuzz.distance import JaroWinkler

    return x == y or _typo(x, y) or JaroWinkler.similarity(x, y) >= rules.person_name


def _name_agreement(a: Person, b: Person, rules: MatchRules) -> Agreement | None:
    """How two people's names agree, if they do: (what, weight, kind), kind one of
    "written", "nickname", "alike", "part"."""
    w = rules.weights
    if not (a.first and a.last and b.first and b.last):
        return _part_name_agreement(a, b, rules)
    if a.first == b.first and a.last == b.last:
        return f"same name {a.name!r}", w.same_name, "written"
    if a.first == b.last and a.last == b.first:
        return f"same name swapped {a.name!r} / {b.name!r}", w.swapped_name, "written"
    if a.last == b.last:
        if a.forms & b.forms or _short_form(a.first, b.first):
            return f"nickname {a.first!r} / {b.first!r}", w.nickname, "nickname"
        if _typo(a.first, b.first):
            return f"names {a.name!r} / {b.name!r} one typo apart", w.typo_name, "written"
    elif _typo(a.last, b.last):
        if a.first == b.first:
            return f"names {a.name!r} / {b.name!r} one typo apart", w.typo_name, "written"
        if a.forms & b.forms:
            return f"nickname and a typo {a.name!r} / {b.name!r}", w.nickname_and_typo, "nickname"
    for first, last in ((b.first, b.last), (b.last, b.first)):
        if _alike(a.first, first, rules) and _alike(a.last, last, rules):
            return f"names {a.name!r} / {b.name!r} alike", w.similar_name, "alike"
    return None


def _part_name_agreement(a: Person, b: Person, rules: MatchRules) -> Agreement | None:
    """One record has only a first name or only a surname, alike the other's."""
    if a.last and b.last and not (a.first and b.first) and _alike(a.last, b.last, rules):
        return (
            f"surnames {a.last!r} / {b.last!r}, a first name missing",
            rules.weights.part_name,
            "part",
        )
    if a.first and b.first and not (a.last and b.last) and _alike(a.first, b.first, rules):
        return (
            f"first names {a.first!r} / {b.first!r}, a surname missing",
            rules.weights.part_name,
            "part",
        )
    return None


def _first_names_differ(a: Person, b: Person, rules: MatchRules) -> str | None:
    """Why two people are surely two, by their first names (Jane / John), if they are:
    not one name with a typo in each record ("willaim" / "wiloiam"), a nickname, an
    initial, or swapped with the surname."""
    from rapidfuzz.distance import OSA, JaroWinkler

    x, y = a.first, b.first
    if not (x and y) or _alike(x, b.last, rules) or _alike(y, a.last, rules):
        return None
    initial = min(len(x), len(y)) == 1 and x[0] == y[0]
    typos = min(len(x), len(y)) >= 5 and OSA.distance(x, y, score_cutoff=2) <= 2
    alike = JaroWinkler.similarity(x, y) >= rules.first_names_apart
    if initial or typos or alike or a.forms & b.forms or _short_form(x, y):
        return None
    return f"first names {x!r} / {y!r} differ"


def _birthdate_slip(x: str, y: str) -> str | None:
    """How two different birthdates are one typing slip apart, if they are."""
    dx, dy = x.replace("-", ""), y.replace("-", "")
    if len(dx) != 8 or len(dy) != 8:
        return None
    if x[:4] == y[:4] and x[5:7] == y[8:10] and x[8:10] == y[5:7]:
        return "day and month transposed"
    diff = [i for i in range(8) if dx[i] != dy[i]]
    if len(diff) == 1:
        return "one digit apart"
    if len(diff) == 2 and diff[1] == diff[0] + 1:
        i, j = diff
        if dx[i] == dy[j] and dx[j] == dy[i]:
            return "two digits swapped"
    return None


def _home(p: Person) -> Hashable | None:
    """A person's street address in its place (postal code, else city), if it has both."""
    place = p.postal_code or p.city
    if p.street and p.street.number and place:
        return (p.street.number, p.street.name, place)
    return None


def _address_agreement(a: Person, b: Person, rules: MatchRules) -> tuple[str, float, bool] | None:
    """How two people's streets agree, if they do: (what, weight, whether the house number
    and the place (postal code or city) agree too)."""
    x, y = a.street, b.street
    if not (x and y and _alike(x.name, y.name, rules)):
        return None
    same_place = (a.postal_code and a.postal_code == b.postal_code) or (a.city and a.city == b.city)
    if x.number and x.number == y.number and same_place:
        return f"same street address {x.number} {x.name}", rules.weights.street_address, True
    if not (x.number and y.number):
        return f"same street {x.name}", rules.weights.same_street, False
    return None


def _person_conflicts(a: Person, b: Person, safety: SafetyRules) -> list[str]:
    """The safety rules a pair of people breaks."""
    broken = []
    if safety.name_suffixes and a.suffix and b.suffix and a.suffix != b.suffix:
        broken.append(f"name_suffixes: {a.suffix} / {b.suffix}")
    if safety.different_countries and a.country and b.country and a.country != b.country:
        broken.append(f"different_countries: {a.country} / {b.country}")
    if (
        safety.company_mailboxes
        and a.work_domain
        and a.work_domain == b.work_domain
        and a.email != b.email
        and not (a.role_mailbox or b.role_mailbox)
    ):
        broken.append(f"company_mailboxes: {a.email} / {b.email}")
    if (
        safety.different_birthdates
        and a.birthdate
        and b.birthdate
        and a.birthdate != b.birthdate
        and not _birthdate_slip(a.birthdate, b.birthdate)
    ):
        broken.append(f"different_birthdates: {a.birthdate} / {b.birthdate}")
    if safety.phone_extensions:
        for number, extension in a.phones:
            other = next((x for n, x in b.phones if n == number and x and x != extension), None)
            if extension and other:
                broken.append(f"phone_extensions: {number} x{extension} / x{other}")
                break
    return broken


def compare_people(
    a: Person,
    b: Person,
    rules: MatchRules,
    switchboards: frozenset[Hashable] = frozenset(),
    offices: frozenset[Hashable] = frozenset(),
    surnames: TermFrequencies | None = None,
) -> Link | None:
    """The weighed comparisons of a and b, if anything but a name at another account agrees."""
    w = rules.weights
    scorer = _Scorer(w)
    name = _name_agreement(a, b, rules)
    # Names that agree as written or through a nickname: not only alike ("mary" / "mark").
    named = name is not None and name[2] in ("written", "nickname")
    as_written = {a.first, a.last} == {b.first, b.last} or (a.first == b.first and named)
    surname = bool(a.last) and (a.last == b.last or _typo(a.last, b.last))
    if a.email and a.email == b.email:
        if a.role_mailbox:
            scorer.notes.append(f"role mailbox {a.email} not counted")
        elif named or not (a.last and b.last) or (surname and a.work_domain):
            # A personal address at a company's domain is one person's, whatever the
            # first name on the record; a shared private one can be a family's.
            scorer.agree(f"same email {a.email}", w.email, "email")
        else:
            scorer.notes.append(f"shared mailbox {a.email} of different names not counted")
    shared = [p for p in a.phones if p in b.phones]
    if shared:
        number, extension = shared[0]
        shown = f"{number} x{extension}" if extension else number
        if number in switchboards and not extension:
            scorer.notes.append(f"phone {shown} is on several people's records: not counted")
        elif named and as_written:
            scorer.agree(f"same phone {shown}", w.phone, "phone")
        elif name or surname:
            scorer.agree(f"same phone {shown}", w.phone)
            scorer.notes.append("names differ as written: a shared phone may be a household's")
    if a.birthdate and b.birthdate:
        if a.birthdate == b.birthdate:
            scorer.agree(f"same birthdate {a.birthdate}", w.birthdate, "birthdate")
        elif slip := _birthdate_slip(a.birthdate, b.birthdate):
            scorer.agree(f"birthdates {a.birthdate} / {b.birthdate} {slip}", w.birthdate_near)
        else:
            scorer.agree(f"birthdates {a.birthdate} / {b.birthdate} differ", w.birthdate_differs)
    address = _address_agreement(a, b, rules)
    if address:
        what, weight, full = address
        # A household shares its address: it is evidence of one person only beside a name,
        # or at least a first name (a surname changes with marriage), agreeing as written,
        # not through a nickname (Pat / Patricia) or another first name (twins).
        same_first = bool(a.first) and (a.first == b.first or _typo(a.first, b.first))
        if full and _home(a) in offices:
            scorer.notes.append(f"{what} is on several people's records: not counted")
        elif full and ((name and name[2] == "written") or same_first):
            scorer.agree(what, weight, "address")
        else:
            scorer.agree(what, weight)
    same_org = bool(a.org and a.org == b.org)
    same_postal = bool(a.postal_code and a.postal_code == b.postal_code)
    same_city = bool(a.city and a.city == b.city)
    if not (scorer.evidence or same_org or same_postal or any(w > 0 for _, w in scorer.terms)):
        return None
    if name is None and not scorer.evidence and not any(w > 0 for _, w in scorer.terms):
        return None
    if name:
        what, weight = name[0], name[1]
        if surnames and a.last and a.last == b.last:
            what, weight = surnames.explain(what, a.last, weight)
        scorer.agree(what, weight, "name")
    if same_org:
        scorer.agree("same account", w.same_account)
    if same_postal:
        scorer.agree(f"same postal code {a.postal_code}", w.same_postal_code)
    if same_city:
        scorer.agree(f"same city {a.city}", w.same_city)
    return scorer.link(a.id, b.id, _person_conflicts(a, b, rules.safety))


def _person_blocks(p: Person) -> Iterator[tuple[Hashable, str]]:
    if p.email and not p.role_mailbox:
        yield ("email", p.email), p.name
    for number, _extension in p.phones:
        yield ("phone", number), p.name
    if p.birthdate:
        yield ("birthdate", p.birthdate), p.name
    if home := _home(p):
        yield ("street", home), p.name
    for place in (p.org, p.postal_code):
        if place:
            # Each name token (so swapped names meet) and each formal form of the first name
            # (so a nickname meets its formal name even with a typo in the surname).
            for token in {p.first, p.last} - {""}:
                yield ("name", place, token), p.name
            for form in p.forms - {p.first}:
                yield ("name", place, form), p.last


def _crowded(
    people: Sequence[Person], values: Callable[[Person], Iterable[Hashable]], limit: int
) -> frozenset[Hashable]:
    """Values (phone numbers, street addresses) on more distinct names than `limit`: a
    switchboard or an office, which says nothing of who one is."""
    names: dict[Hashable, set[str]] = defaultdict(set)
    for p in people:
        for value in values(p):
            names[value].add(p.name)
    return frozenset(v for v, on in names.items() if len(on) > limit)


def match_people(people: Iterable[Person], rules: MatchRules, floor: float) -> Matching:
    """Clusters of people linked at `floor` or above, and the blocked links."""
    people = list(people)
    switchboards = _crowded(people, lambda p: (n for n, _x in p.phones), rules.phone_names)
    offices = _crowded(people, lambda p: filter(None, [_home(p)]), rules.address_names)
    by_id = {p.id: p for p in people}
    surnames = TermFrequencies.of((p.last for p in people), rules.term_frequency)

    def compare(a: Person, b: Person) -> Link | None:
        return compare_people(a, b, rules, switchboards, offices, surnames)

    def conflict(a: str, b: str) -> str | None:
        broken = _person_conflicts(by_id[a], by_id[b], rules.safety)
        return "; ".join(broken) or None

    def distinct(a: str, b: str) -> str | None:
        return _first_names_differ(by_id[a], by_id[b], rules)

    links = _links(people, _person_blocks, compare, rules)
    return _matching(
        links, floor, conflict, distinct if rules.safety.different_first_names else None
    )


# --- Companies -------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
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
) -> Company:
    rules = rules or MatchRules()
    label = record.get("Name") or ""
    words, places = normalize.company_name(label)
    site = normalize.website(record.get(website_field))
    shared = site is not None and _shared_host(site, rules.safety.shared_hosts)
    country = _country(record.get(country_field))
    region = country if country and len(country) == 2 else rules.phone_region
    phone = normalize.phone_parts(record.get(phone_field), region)
    return Company(
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


def _company_name_agreement(a: Company, b: Company, rules: MatchRules) -> tuple[str, float] | None:
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
    if _typo(a.compact, b.compact):
        return f"names {a.name!r} / {b.name!r} one typo apart", w.typo_name
    return None


def _trailing_words_differ(a: Company, b: Company) -> tuple[str, str] | None:
    """The words after a shared brand when both names have different ones ("re max
    northshore" / "re max downtown"), unless they are one typo apart."""
    left, right = a.name.split(), b.name.split()
    shared = 0
    while shared < min(len(left), len(right)) and left[shared] == right[shared]:
        shared += 1
    rest_a, rest_b = " ".join(left[shared:]), " ".join(right[shared:])
    if shared and rest_a and rest_b and not _typo(rest_a, rest_b):
        return rest_a, rest_b
    return None


def _company_conflicts(a: Company, b: Company, safety: SafetyRules) -> list[str]:
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
    a: Company,
    b: Company,
    rules: MatchRules,
    words: TermFrequencies | None = None,
    domains: TermFrequencies | None = None,
) -> Link | None:
    """The weighed comparisons of a and b, if their website, phone or name agree."""
    w = rules.weights
    scorer = _Scorer(w)
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


def _company_blocks(c: Company) -> Iterator[tuple[Hashable, str]]:
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


def match_companies(companies: Iterable[Company], rules: MatchRules, floor: float) -> Matching:
    """Clusters of accounts linked at `floor` or above, and the blocked links."""
    companies = list(companies)
    by_id = {c.id: c for c in companies}
    tf = rules.term_frequency
    words = TermFrequencies.of(
        (w for c in companies for w in set(c.name.split())), tf, "name words"
    )
    domains = TermFrequencies.of((c.domain or "" for c in companies), tf)

    def compare(a: Company, b: Company) -> Link | None:
        return compare_companies(a, b, rules, words, domains)

    def conflict(a: str, b: str) -> str | None:
        broken = _company_conflicts(by_id[a], by_id[b], rules.safety)
        return "; ".join(broken) or None

    return _matching(_links(companies, _company_blocks, compare, rules), floor, conflict)


# --- Blocking and clustering -----------------------------------------------------


def _matching(
    links: Iterable[Link], floor: float, conflict: Conflict, distinct: Conflict | None = None
) -> Matching:
    kept = [link for link in links if link.score >= floor]
    blocked = sorted((link for link in kept if link.blocked), key=lambda k: (k.a, k.b))
    return Matching(build_clusters(kept, floor), blocked, conflict, distinct)


def _links(
    items: list[T],
    blocks: Callable[[T], Iterable[tuple[Hashable, str]]],
    compare: Callable[[T, T], Link | None],
    rules: MatchRules,
) -> Iterator[Link]:
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
