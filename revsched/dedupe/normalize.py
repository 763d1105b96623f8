"""Normalization: the spellings people type, reduced to what they mean.

Every function is pure and cheap (matching 100k records calls each of them 100k
times) and returns None for a value that carries no identity, so a missing or
junk value never links two records.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from revsched.dedupe.lexicon import (
    ABBREVIATIONS,
    COUNTRY_CODES,
    FREE_EMAIL_DOMAINS,
    LEGAL_PHRASES,
    LEGAL_WORDS,
    LOCATION_PHRASES,
    LOCATION_WORDS,
    STATE_CODES,
    STREET_TYPES,
)

if TYPE_CHECKING:
    from nicknames import NickNamer
    from tldextract import TLDExtract

# The data sets below (tldextract's suffix list, nameparser's and nicknames' tables, with
# phonenumbers) load on first use: listing the plays or `--help` must not pay for them.


@functools.cache
def _extract() -> TLDExtract:
    """The public suffix list bundled with tldextract; an empty URL list means it never
    fetches. Its private section makes each shop on a site builder (x.myshopify.com) a
    domain of its own."""
    import tldextract

    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


@functools.cache
def _nicknames() -> NickNamer:
    from nicknames import NickNamer

    return NickNamer()


# Generational suffixes, by their spellings: "Jr." and "Junior" are one suffix.
_GENERATIONS = {"jr": "jr", "jnr": "jr", "junior": "jr", "sr": "sr", "snr": "sr", "senior": "sr"}
_GENERATIONS |= {r: r for r in ("ii", "iii", "iv", "v", "2nd", "3rd")}


@functools.cache
def _name_words() -> tuple[frozenset[str], frozenset[str]]:
    """The titles and the suffixes a name may carry (nameparser's, and the generations)."""
    from nameparser.config import CONSTANTS

    suffixes = frozenset(CONSTANTS.suffix_acronyms) | frozenset(CONSTANTS.suffix_not_acronyms)
    return frozenset(CONSTANTS.titles), suffixes | frozenset(_GENERATIONS)


# German umlauts are written out ("Müller" as "Mueller") more often than dropped.
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
# An international number written with only digits, spaces, dots, dashes and a bracketed
# area code ("+1 (415) 555-0123"); not "+44 (0) 20...", whose trunk 0 is not dialled.
_INTERNATIONAL = re.compile(r"\+[1-9][\d .\-]*(?:\([1-9]\d*\)[\d .\-]*)?")
_NON_DIGIT = re.compile(r"\D")
_WEB_SUFFIX = re.compile(r"\.(?:com|net|org|io|co)\b", re.IGNORECASE)
_STORE_NUMBER = re.compile(
    r"(?:#|\bno\.?|\bstore|\blocation|\bunit|\bbranch|\brestaurant)\s*#?\s*(\d+)\b"
    r"|\b(\d{3,})\s*$",
    re.IGNORECASE,
)
_DOTTED_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}(?![A-Za-z])")
_WORD = re.compile(r"[a-z0-9&]+")
_ACRONYM_FILLERS = frozenset({"and", "of", "the", "&"})


def fold(text: str) -> str:
    """Lower case ASCII: "Zoë" is "zoe", "Søren" "soren", "Jürgen" "juergen"."""
    from anyascii import anyascii  # loaded when matching starts, not when plays are listed

    return anyascii(unicodedata.normalize("NFC", text).translate(_UMLAUTS)).lower()


def email(value: str | None, *, strip_plus: bool = True) -> str | None:
    """Trimmed, lower case; "ann+crm@x.com" is "ann@x.com" unless plus-addressing counts."""
    if not value:
        return None
    address = "".join(value.split()).lower()
    local, at, domain = address.partition("@")
    if not (local and at and "." in domain):
        return None
    if strip_plus:
        local = local.split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain == "gmail.com":  # Gmail ignores dots: j.doe@ and jdoe@ are one mailbox
        local = local.replace(".", "")
    return f"{local}@{domain}"


def email_domain(value: str | None) -> str | None:
    """The company domain of an address; None for shared mailbox providers (gmail.com)."""
    normalized = email(value)
    if normalized is None:
        return None
    domain = registrable_domain(normalized.partition("@")[2])
    return None if domain in FREE_EMAIL_DOMAINS else domain


def _name_tokens(value: str | None) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", fold(value or "")) if t]


@functools.lru_cache(maxsize=65536)
def first_name(value: str | None) -> str:
    """The first name as written, without a title: "Dr. Emily" -> "emily", "Zoë" -> "zoe";
    a hyphenated one is one name, as a surname is: "Min-jun" -> "minjun"."""
    words = [_name_tokens(w) for w in fold(value or "").split()]
    tokens = ["".join(w) for w in words if w]
    titles, _ = _name_words()
    while len(tokens) > 1 and tokens[0] in titles:
        tokens = tokens[1:]
    return tokens[0] if tokens else ""


@functools.lru_cache(maxsize=65536)
def first_name_forms(first: str) -> frozenset[str]:
    """A first name and the formal names it may stand for (the `nicknames` data set, where a
    nickname can mean several: "alex" -> alexander, alexandra...)."""
    return frozenset({first, *_nicknames().canonicals_of(first)}) if first else frozenset()


@functools.lru_cache(maxsize=65536)
def last_name(value: str | None) -> tuple[str, str | None]:
    """The surname without its suffix, and the generational suffix: "Smith, Jr." ->
    ("smith", "jr"); "Lee III" -> ("lee", "iii")."""
    tokens = _name_tokens(value)
    _, suffixes = _name_words()
    suffix = None
    while len(tokens) > 1 and tokens[-1] in suffixes:
        suffix = suffix or _GENERATIONS.get(tokens[-1])
        tokens = tokens[:-1]
    return "".join(tokens), suffix


def phone(value: str | None, region: str = "US") -> str | None:
    """E.164 ("+14155550123") for any formatting, with ";ext=12" when it has an extension;
    digits only when it will not parse."""
    parts = phone_parts(value, region)
    if parts is None:
        return None
    number, extension = parts
    return f"{number};ext={extension}" if extension else number


@functools.lru_cache(maxsize=262144)
def phone_parts(value: str | None, region: str = "US") -> tuple[str, str | None] | None:
    """(E.164 number, extension) of a phone as written in `region` (the record's country:
    "020 7946 0018" in GB is +442079460018)."""
    if not value:
        return None
    international = _INTERNATIONAL.fullmatch(value.strip())
    if international:  # "+1 415 555-0123": E.164 without the cost of a full parse
        digits = _NON_DIGIT.sub("", value)
        if 8 <= len(digits) <= 15:
            return f"+{digits}", None
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return e164, number.extension or None
    digits = _NON_DIGIT.sub("", value)
    return (digits, None) if len(digits) >= 7 else None


@dataclass(frozen=True)
class Street:
    """A street address: the house number ("16", "16a") and the street ("dumas street")."""

    number: str | None
    name: str


# A house number: "16", "16a"; in "2/98" (unit 2 at 98) the last one before the street.
_HOUSE_NUMBER = re.compile(r"^\d+[a-z]?$")
_UNIT = re.compile(r"^(?:apt|apartment|unit|flat|suite|ste|apmnt|lot|no)$")


@functools.lru_cache(maxsize=65536)
def street(value: str | None) -> Street | None:
    """The street address in a mailing street (its first line with a house number, else its
    first line): "16 Dumas St" -> 16 "dumas street", "Unit 2/98 Latchford Rd" -> 98
    "latchford road"; None when there is no street name."""
    lines = [_name_tokens(line) for line in (value or "").splitlines()]
    lines = [t for t in lines if t] or [[]]
    tokens = next((t for t in lines if any(_HOUSE_NUMBER.match(w) for w in t)), lines[0])
    number = None
    words: list[str] = []
    for token in tokens:
        if _HOUSE_NUMBER.match(token) and not words:
            number = token
        elif not _UNIT.match(token) or words:
            words.append(STREET_TYPES.get(token, token))
    return Street(number, " ".join(words)) if words else None


def city(value: str | None) -> str | None:
    """A city or suburb, folded: "Mount Immaney" -> "mount immaney"."""
    return " ".join(_name_tokens(value)) or None


@dataclass(frozen=True)
class Website:
    """Where a website is: its registered domain, its host, and the country site it names
    ("ibm.com/uk-en" -> "uk-en", "usa.siemens.com" -> "usa"), if any."""

    domain: str
    host: str
    country_site: str | None
    private_suffix: bool  # under a private public-suffix entry (x.myshopify.com)


_LOCALE = re.compile(r"^[a-z]{2}(?:[-_][a-z]{2})?$")


@functools.lru_cache(maxsize=65536)
def website(value: str | None) -> Website | None:
    if not value:
        return None
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip().lower())
    host, _, path = text.partition("/")
    host = host.split("@")[-1].removeprefix("www.")
    parts = _extract()(host)
    domain = parts.top_domain_under_public_suffix
    if not domain:
        return None
    segment = path.split("/", 1)[0]
    label = parts.subdomain.split(".")[0] if parts.subdomain else ""
    country_site = None
    if _LOCALE.match(segment):
        country_site = segment.replace("_", "-")
    elif label and label in COUNTRY_CODES:
        country_site = label
    return Website(domain, host, country_site, bool(parts.is_private))


@functools.lru_cache(maxsize=65536)
def registrable_domain(value: str | None) -> str | None:
    """The domain a company registered: "https://www.ibm.co.uk/x" -> "ibm.co.uk"."""
    if not value:
        return None
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/", 1)[0].split("@")[-1]
    domain = _extract()(host).top_domain_under_public_suffix
    return domain or None


def _strip_locations(words: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Drop trailing office and region words ("IBM HQ", "Acme New York"), never all;
    returns the words left and the place words dropped."""
    places: list[str] = []
    while len(words) > 1:
        phrase = next((p for p in LOCATION_PHRASES if tuple(words[-len(p) :]) == p), None)
        if phrase is not None and len(words) > len(phrase):
            places[:0] = [" ".join(phrase)]
            words = words[: -len(phrase)]
        elif words[-1] in LOCATION_WORDS or words[-1] in LEGAL_WORDS:
            if words[-1] in LOCATION_WORDS:
                places.insert(0, words[-1])
            words = words[:-1]
        else:
            break
    return words, tuple(places)


@functools.lru_cache(maxsize=65536)
def company_name(value: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A company name as its meaningful words, and the place words after them.

    "International Business Machines Corp.", "Internat'l Bus Machines" ->
    ("international", "business", "machines"); "I.B.M.", "IBM HQ" -> ("ibm",);
    "Nestle USA" -> ("nestle",) in ("usa",); "Siemens Aktiengesellschaft" -> ("siemens",).
    """
    from cleanco import basename

    if not value:
        return (), ()
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), value)
    text = re.sub(r"\(.*?\)", " ", text)  # "(EMEA)", "(old)"
    text = _WEB_SUFFIX.sub("", basename(text) or text)  # "salesforce.com, inc."
    text = fold(text).replace("'", "").replace("\u2019", "")
    words = [ABBREVIATIONS.get(w, w) for w in _WORD.findall(text.replace(".", ""))]
    joined = f" {' '.join(words)} "
    for phrase in LEGAL_PHRASES:
        if f" {phrase} " in joined and joined.strip() != phrase:
            joined = joined.replace(f" {phrase} ", " ")
    words = joined.split()
    words = [w for w in words if w not in LEGAL_WORDS] or words
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    kept, places = _strip_locations(words)
    return tuple(kept), places


def company_words(value: str | None) -> tuple[str, ...]:
    """A company name as its meaningful words (see `company_name`)."""
    return company_name(value)[0]


@functools.lru_cache(maxsize=65536)
def name_countries(value: str | None) -> frozenset[str]:
    """The countries a company name names: "Nestle USA" -> {"US"}, "Walmart de México" ->
    {"MX"}; two-letter codes other than "UK" do not count ("Toys R Us")."""
    words = _WORD.findall(fold(value or "").replace(".", ""))
    found = {COUNTRY_CODES[w] for w in words if w in COUNTRY_CODES and (len(w) > 2 or w == "uk")}
    pairs = {" ".join(p) for p in itertools.pairwise(words)}
    return frozenset(found | {COUNTRY_CODES[p] for p in pairs if p in COUNTRY_CODES})


def store_number(value: str | None) -> str | None:
    """The store or location number in a name: "McDonald's #1187" -> "1187"."""
    found = _STORE_NUMBER.search(value or "")
    return (found.group(1) or found.group(2)) if found else None


def acronym(words: tuple[str, ...]) -> str | None:
    """ "international business machines" -> "ibm"; None when it would be too short to mean
    anything (fewer than three initials)."""
    initials = "".join(w[0] for w in words if w not in _ACRONYM_FILLERS)
    return initials if len(initials) >= 3 and len(words) >= 3 else None


def country_code(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 for a spelling we know ("U.S.A." -> "US"); None otherwise."""
    if not value:
        return None
    key = " ".join(fold(value).replace(".", "").split())
    return COUNTRY_CODES.get(key)


def state_code(value: str | None, country: str | None) -> str | None:
    """The postal code of a state or province ("California" -> "CA") in a known country."""
    if not value or country not in STATE_CODES:
        return None
    codes = STATE_CODES[country]
    key = " ".join(fold(value).replace(".", "").split())
    if key.upper() in codes.values():
        return key.upper()
    return codes.get(key)
