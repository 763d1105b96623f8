"""Normalization: the spellings people type, reduced to what they mean.

Every function is pure and cheap (matching 100k records calls each of them 100k
times) and returns None for a value that carries no identity, so a missing or
junk value never links two records.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING

from revsched.dedupe.tables import (
    ABBREVIATIONS,
    COUNTRY_CODES,
    FREE_EMAIL_DOMAINS,
    LEGAL_WORDS,
    LOCATION_PHRASES,
    LOCATION_WORDS,
    NICKNAMES,
    STATE_CODES,
)

if TYPE_CHECKING:
    from tldextract import TLDExtract

_DOTTED_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}(?![A-Za-z])")
_WORD = re.compile(r"[a-z0-9&]+")
_ACRONYM_FILLERS = frozenset({"and", "of", "the", "&"})


def fold(text: str) -> str:
    """Lower case without accents: "Zoë" and "Zoe" are one spelling."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


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
    return f"{local}@{domain}"


def email_domain(value: str | None) -> str | None:
    """The company domain of an address; None for shared mailbox providers (gmail.com)."""
    normalized = email(value)
    if normalized is None:
        return None
    domain = registrable_domain(normalized.partition("@")[2])
    return None if domain in FREE_EMAIL_DOMAINS else domain


def first_name(value: str | None) -> str:
    """The formal first name: "Bob" -> "robert", "Zoë" -> "zoe"."""
    name = re.sub(r"[^a-z]", "", fold(value or ""))
    return NICKNAMES.get(name, name)


def last_name(value: str | None) -> str:
    return re.sub(r"[^a-z]", "", fold(value or ""))


def phone(value: str | None, region: str = "US") -> str | None:
    """E.164 ("+14155550123") for any formatting; digits only when it will not parse."""
    if not value:
        return None
    # Imported when matching, not when the plays are listed.
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) >= 7 else None


@functools.cache
def _suffixes() -> TLDExtract:
    """The public suffix list bundled with tldextract; an empty URL list means it never
    fetches. Loaded on first use, not when the plays are listed."""
    from tldextract import TLDExtract

    return TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registrable_domain(value: str | None) -> str | None:
    """The domain a company registered: "https://www.ibm.co.uk/x" -> "ibm.co.uk"."""
    if not value:
        return None
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/", 1)[0].split("@")[-1]
    domain = _suffixes()(host).top_domain_under_public_suffix
    return domain or None


def _strip_locations(words: list[str]) -> list[str]:
    """Drop trailing office and region words ("IBM HQ", "Acme New York"), never all."""
    while len(words) > 1:
        phrase = next((p for p in LOCATION_PHRASES if tuple(words[-len(p) :]) == p), None)
        if phrase is not None and len(words) > len(phrase):
            words = words[: -len(phrase)]
        elif words[-1] in LOCATION_WORDS or words[-1] in LEGAL_WORDS:
            words = words[:-1]
        else:
            break
    return words


@functools.lru_cache(maxsize=65536)
def company_words(value: str | None) -> tuple[str, ...]:
    """A company name as its meaningful words.

    "International Business Machines Corp.", "Internat'l Bus Machines" ->
    ("international", "business", "machines"); "I.B.M.", "IBM HQ" -> ("ibm",).
    """
    if not value:
        return ()
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), value)
    text = re.sub(r"\(.*?\)", " ", text)  # "(EMEA)", "(old)"
    from cleanco import basename

    text = basename(text) or text
    text = fold(text).replace("'", "").replace("\u2019", "")
    words = [ABBREVIATIONS.get(w, w) for w in _WORD.findall(text.replace(".", ""))]
    words = [w for w in words if w not in LEGAL_WORDS] or words
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    return tuple(_strip_locations(words))


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
