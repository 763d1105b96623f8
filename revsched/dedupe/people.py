"""Finding duplicate people (contacts, leads): each reduced to what identifies it,
blocked on an email, a phone, a birthdate, a street address, and an account or postal
code with a name or nickname form, then compared field by field. The evidence counted
is email, phone, name, birthdate and street address.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from revsched.dedupe import normalize
from revsched.dedupe.cluster import PairLink
from revsched.dedupe.config import MatchRules, PersonFields, SafetyRules
from revsched.dedupe.frequency import TermFrequencies
from revsched.dedupe.lexicon import FREE_EMAIL_DOMAINS
from revsched.dedupe.match import (
    Matching,
    Scorer,
    match_records,
    record_country,
    typo,
)
from revsched.play import Record


def _short_form(x: str, y: str) -> bool:
    """One first name is the start of the other: "rach" / "rachel", "cami" / "camila"."""
    short, long = sorted((x, y), key=len)
    return len(short) >= 3 and long.startswith(short) and short != long


@dataclass(frozen=True, slots=True)
class NormalizedPerson:
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


def person(
    record: Record, org: str | None, rules: MatchRules, fields: PersonFields
) -> NormalizedPerson:
    country = record_country(record.get(fields.country)) if fields.country else None
    region = country if country and len(country) == 2 else rules.phone_region
    phones = {normalize.phone_parts(record.get(f), region) for f in fields.phones}
    address = normalize.email(record.get(fields.email), strip_plus=rules.strip_plus_addressing)
    local, _, domain = (address or "").partition("@")
    first = normalize.first_name(record.get("FirstName"))
    last, suffix = normalize.last_name(record.get("LastName"))
    birthdate = str(record.get(fields.birthdate) or "")[:10] if fields.birthdate else ""
    return NormalizedPerson(
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

    return x == y or typo(x, y) or JaroWinkler.similarity(x, y) >= rules.person_name


def _name_agreement(
    a: NormalizedPerson, b: NormalizedPerson, rules: MatchRules
) -> Agreement | None:
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
        if typo(a.first, b.first):
            return f"names {a.name!r} / {b.name!r} one typo apart", w.typo_name, "written"
    elif typo(a.last, b.last):
        if a.first == b.first:
            return f"names {a.name!r} / {b.name!r} one typo apart", w.typo_name, "written"
        if a.forms & b.forms:
            return f"nickname and a typo {a.name!r} / {b.name!r}", w.nickname_and_typo, "nickname"
    for first, last in ((b.first, b.last), (b.last, b.first)):
        if _alike(a.first, first, rules) and _alike(a.last, last, rules):
            return f"names {a.name!r} / {b.name!r} alike", w.similar_name, "alike"
    return None


def _part_name_agreement(
    a: NormalizedPerson, b: NormalizedPerson, rules: MatchRules
) -> Agreement | None:
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


def _first_names_differ(a: NormalizedPerson, b: NormalizedPerson, rules: MatchRules) -> str | None:
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


def _home(p: NormalizedPerson) -> Hashable | None:
    """A person's street address in its place (postal code, else city), if it has both."""
    place = p.postal_code or p.city
    if p.street and p.street.number and place:
        return (p.street.number, p.street.name, place)
    return None


def _address_agreement(
    a: NormalizedPerson, b: NormalizedPerson, rules: MatchRules
) -> tuple[str, float, bool] | None:
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


def _person_conflicts(a: NormalizedPerson, b: NormalizedPerson, safety: SafetyRules) -> list[str]:
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
    a: NormalizedPerson,
    b: NormalizedPerson,
    rules: MatchRules,
    switchboards: frozenset[Hashable] = frozenset(),
    offices: frozenset[Hashable] = frozenset(),
    surnames: TermFrequencies | None = None,
) -> PairLink | None:
    """The weighed comparisons of a and b, if anything but a name at another account agrees."""
    w = rules.weights
    scorer = Scorer(w)
    name = _name_agreement(a, b, rules)
    # Names that agree as written or through a nickname: not only alike ("mary" / "mark").
    named = name is not None and name[2] in ("written", "nickname")
    as_written = {a.first, a.last} == {b.first, b.last} or (a.first == b.first and named)
    surname = bool(a.last) and (a.last == b.last or typo(a.last, b.last))
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
        same_first = bool(a.first) and (a.first == b.first or typo(a.first, b.first))
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


def _person_blocks(p: NormalizedPerson) -> Iterator[tuple[Hashable, str]]:
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
    people: Sequence[NormalizedPerson],
    values: Callable[[NormalizedPerson], Iterable[Hashable]],
    limit: int,
) -> frozenset[Hashable]:
    """Values (phone numbers, street addresses) on more distinct names than `limit`: a
    switchboard or an office, which says nothing of who one is."""
    names: dict[Hashable, set[str]] = defaultdict(set)
    for p in people:
        for value in values(p):
            names[value].add(p.name)
    return frozenset(v for v, on in names.items() if len(on) > limit)


@dataclass(frozen=True)
class PeopleCounts:
    """What matching counts across the run's people: the phones and street addresses on
    too many names to be evidence (switchboards, offices), and how common each surname is."""

    switchboards: frozenset[Hashable]
    offices: frozenset[Hashable]
    surnames: TermFrequencies


def count_people(people: Iterable[NormalizedPerson], rules: MatchRules) -> PeopleCounts:
    people = list(people)
    return PeopleCounts(
        _crowded(people, lambda p: (n for n, _x in p.phones), rules.phone_names),
        _crowded(people, lambda p: filter(None, [_home(p)]), rules.address_names),
        TermFrequencies.of((p.last for p in people), rules.term_frequency),
    )


def match_people(
    people: Iterable[NormalizedPerson],
    rules: MatchRules,
    floor: float,
    counts: PeopleCounts | None = None,
) -> Matching:
    """Clusters of people linked at `floor` or above, and the blocked links; `counts` are
    taken over `people` unless given (over the records a run leaves once it merges)."""
    people = list(people)
    counts = counts or count_people(people, rules)
    return match_records(
        people,
        _person_blocks,
        lambda a, b: compare_people(
            a, b, rules, counts.switchboards, counts.offices, counts.surnames
        ),
        lambda a, b: _person_conflicts(a, b, rules.safety),
        rules,
        floor,
        (lambda a, b: _first_names_differ(a, b, rules))
        if rules.safety.different_first_names
        else None,
    )
