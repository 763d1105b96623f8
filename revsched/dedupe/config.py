"""What a dedupe play is configured with and what that config reads: the matching rules,
weights and safety rules, the thresholds and survivorship, the records' query, and the
permissions `revsched doctor` checks.

Apart from the matcher (match.py, people.py, companies.py, planning.py) so that listing
or checking the plays loads none of it: the matcher loads when a dedupe play decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, get_args

from pydantic import Field, model_validator

from revsched.config import StrictModel
from revsched.dedupe.lexicon import ROLE_MAILBOXES, SHARED_HOSTS
from revsched.dedupe.survivorship import MasterRule, Strategy
from revsched.play import PlayConfig, Requirements
from revsched.soql import FieldName, format_soql


class TermFrequencyRules(StrictModel):
    """How much a value's frequency in the run may move an agreement's weight (log2)."""

    enabled: bool = True
    # At most this many bits added for an agreement on a rare value...
    max_bonus: float = Field(1.0, ge=0, le=10)
    # ...and at most this many taken away for one on a common value ("smith", "consulting").
    max_penalty: float = Field(3.0, ge=0, le=10)


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


# Every rule, in the order MasterRule lists them.
DEFAULT_MASTER_RULES: list[MasterRule] = list(get_args(MasterRule))


class DedupeConfig(PlayConfig):
    """Settings every dedupe play has; each play adds its fields and survivorship."""

    # Off on a real org until set: a merge deletes records and cannot be undone.
    REAL_ORG_DEFAULTS: ClassVar[dict[str, Any]] = {**PlayConfig.REAL_ORG_DEFAULTS, "merge": False}

    # Merge the sure duplicates (false: flag them like the rest, for review).
    merge: bool = True
    # Records linked to their master directly by links scoring at least this, with enough
    # independent evidence (match.min_evidence) and breaking no safety rule (match.safety)
    # with each other, are merged into it; the rest of the cluster is flagged.
    merge_threshold: float = Field(0.92, ge=0, le=1)
    # Links scoring below this are ignored.
    flag_threshold: float = Field(0.8, ge=0, le=1)
    match: MatchRules = Field(default_factory=MatchRules)
    # Ordered: the first rule that prefers some records of a cluster picks the master.
    master_rules: list[MasterRule] = Field(DEFAULT_MASTER_RULES, min_length=1)
    # Usernames of integration users, whose records make poor masters.
    integration_users: list[str] = ["integration@demo.revsched.dev"]
    # Lookup (to the same object) set on flagged records, pointing at the master.
    flag_field: FieldName = "Possible_Duplicate_Of__c"
    # Field -> newest | oldest | longest: empty master fields take that duplicate value.
    survivorship: dict[FieldName, Strategy] = {}
    # Fields read and kept in the plan and the audit for every merged record: a merge
    # deletes it and cannot be undone, so these are all that remains of it.
    audit_fields: list[FieldName] = []

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> DedupeConfig:
        if self.flag_threshold > self.merge_threshold:
            raise ValueError("flag_threshold must not be above merge_threshold")
        return self


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


class PeopleConfig(DedupeConfig):
    """Contacts and leads: where their email and phones are."""

    email_field: FieldName = "Email"
    phone_fields: list[FieldName] = ["Phone"]
    # Phones are read in this country's format; two different countries never merge.
    country_field: FieldName = "Country"
    # Optional (None: not read): a birthdate agreeing is a piece of evidence, one a slip
    # apart adds a little, one differing counts against; a postal code agreeing lets names
    # meet and adds weight; a street address (house number and street) agreeing beside a
    # name agreeing as written is a piece of evidence; a city agreeing adds a little.
    birthdate_field: FieldName | None = None
    postal_code_field: FieldName | None = None
    street_field: FieldName | None = None
    city_field: FieldName | None = None

    def person_fields(self) -> PersonFields:
        return PersonFields(
            phones=tuple(self.phone_fields),
            email=self.email_field,
            country=self.country_field,
            birthdate=self.birthdate_field,
            postal_code=self.postal_code_field,
            street=self.street_field,
            city=self.city_field,
        )


@dataclass(frozen=True)
class ObjectSpec:
    """How one object's records are read and compared for master selection."""

    sobject: str
    # Child relationships counted as activity, and the one counted as opportunities.
    activities: tuple[str, ...] = ("Tasks", "Events")
    opportunities: str | None = None


def records_query(spec: ObjectSpec, fields: Sequence[str], where: str = "") -> str:
    """SOQL for the records of `spec` with `fields` and the children the master rules count."""
    relationships = [*spec.activities, *([spec.opportunities] if spec.opportunities else [])]
    subqueries = [f"(SELECT Id FROM {name})" for name in relationships]
    wanted = ["Id", "Name", "CreatedDate", "OwnerId", *fields]
    unique = list(dict.fromkeys(wanted))
    clause = f" WHERE {where}" if where else ""
    return f"SELECT {', '.join(unique + subqueries)} FROM {spec.sobject}{clause} ORDER BY Id"


def dedupe_requirements(
    spec: ObjectSpec, config: DedupeConfig, written: Sequence[str] = ()
) -> Requirements:
    """For `revsched doctor`: the integration users, the fields flagging, survivorship and
    `written` update, and Delete on the object for its merges."""
    fields = dict.fromkeys([*written, config.flag_field, *config.survivorship])
    return Requirements(
        users=tuple(config.integration_users),
        writes=tuple((spec.sobject, field) for field in fields),
        merges=(spec.sobject,) if config.merge else (),
    )


def integration_queries(config: DedupeConfig) -> dict[str, str]:
    """The query for the integration users, if any are configured."""
    if not config.integration_users:
        return {}
    soql = "SELECT Id, Username FROM User WHERE Username IN {}"
    return {"integration_users": format_soql(soql, config.integration_users)}


def flag_fields(config: DedupeConfig) -> list[str]:
    """The fields every dedupe query reads besides what matching needs."""
    return [config.flag_field, *config.survivorship, *config.audit_fields]


def people_compared(config: PeopleConfig) -> list[str]:
    """The fields matching contacts or leads reads (besides their account or company)."""
    fields = config.person_fields()
    optional = (fields.birthdate, fields.postal_code, fields.street, fields.city)
    return [
        "FirstName",
        "LastName",
        config.email_field,
        *config.phone_fields,
        config.country_field,
        *[f for f in optional if f],
    ]


def people_fields(config: PeopleConfig) -> list[str]:
    """The fields matching contacts or leads reads, and those flagging and survivorship write."""
    return [*people_compared(config), *flag_fields(config)]
