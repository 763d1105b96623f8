"""A person UserGems says changed jobs, as job-changes handles them: the key their job
change fires once under, the account they work at now (and whether the change is another
play's), their persona and the sequence it enrolls them in.

Apart from the play so its module reads as its PLAYS.md paragraph; the settings read are
listed in `PersonSettings`, which the play's config provides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from revsched.account_matcher import AccountMatcher
from revsched.dedupe.normalize import company_words
from revsched.plan import Enrollment, Person, Recipient
from revsched.play import Record

KEY_PREFIX = "job-changes"


class PersonSettings(Protocol):
    """The settings of job-changes' config a person's sequence and account are read by."""

    persona_field: str
    title_personas: Mapping[str, str]
    persona_sequences: Mapping[str, str]
    default_sequence: str
    opted_out_field: str
    sequenced_field: str
    sequence_field: str
    past_account_field: str
    account_type_field: str
    customer_types: Sequence[str]
    people_signals_relationships: Sequence[str]


Variant = Literal["open_deal", "in_sequence", "new_assignment", "standard"]


@dataclass(frozen=True)
class ChangedPerson:
    """A Contact or Lead UserGems created or enriched, with what the play asks of it."""

    sobject: Literal["Contact", "Lead"]
    record: Record

    @property
    def id(self) -> str:
        return str(self.record["Id"])

    @property
    def email(self) -> str | None:
        address = self.record.get("Email")
        return str(address).strip().lower() if address else None

    def key(self, start: date) -> str:
        """`job-changes:<email or id>:<start>`: the email survives the lead's conversion."""
        return f"{KEY_PREFIX}:{self.email or self.id}:{start.isoformat()}"

    def delivered(self) -> date:
        """When UserGems last created or enriched the record."""
        return date.fromisoformat(str(self.record["LastModifiedDate"])[:10])


def persona_of(person: ChangedPerson, config: PersonSettings) -> tuple[str | None, str]:
    """The person's persona and where it came from (UserGems, or a title keyword)."""
    persona = person.record.get(config.persona_field)
    if persona:
        return str(persona), f"persona {persona}"
    title = str(person.record.get("Title") or "").lower()
    for keyword, found in config.title_personas.items():
        if keyword in title:
            return found, f"persona {found} (title contains {keyword!r})"
    return None, "no persona"


def sequence_for(
    person: ChangedPerson, variant: Variant, config: PersonSettings
) -> tuple[str | None, str]:
    """The sequence to enroll the person in, or None; and the sentence the alert shows."""
    if variant == "open_deal":
        return None, "Not enrolled in a sequence: an open opportunity is in progress"
    if variant == "in_sequence":
        return None, "Not enrolled: the contact is already in an active sequence"
    if not person.email:
        return None, "Not enrolled in a sequence: the contact has no email address"
    if person.record.get(config.opted_out_field):
        return None, "Not enrolled in a sequence: the contact has opted out of email"
    persona, _how = persona_of(person, config)
    sequence = config.persona_sequences.get(persona or "", config.default_sequence)
    return sequence, f"This Contact has been added to the {sequence} sequence"


def enrollment(
    person: ChangedPerson,
    email: str,
    sequence: str,
    sender: Recipient,
    why: str,
    config: PersonSettings,
) -> Enrollment:
    return Enrollment(
        key=f"{KEY_PREFIX}:{email}:{sequence}",
        person=Person(
            sobject=person.sobject,
            record_id=person.id,
            name=str(person.record["Name"]),
            email=email,
        ),
        sequence=sequence,
        sender=sender,
        field=config.sequence_field,
        reason=why,
    )


def match_account(
    person: ChangedPerson, accounts: dict[str, Record], matcher: AccountMatcher
) -> tuple[Record | None, str]:
    """The account a person works at now: a contact's own, else the matcher's find."""
    account_id = person.record.get("AccountId")
    if person.sobject == "Contact" and account_id in accounts:
        return accounts[account_id], f"a contact of {accounts[account_id]['Name']}"
    found = matcher.match(person.record.get("Email"), person.record.get("Company"))
    return found.account, found.reason


def left_to_others(
    person: ChangedPerson, account: Record | None, relationship: str, config: PersonSettings
) -> tuple[str, str] | None:
    """(kind, reason) when the job change is not this play's: back at the past account,
    or a customer's person people-signals tells about."""
    if account is None:
        return None
    past = person.record.get(config.past_account_field)
    if past and company_words(past) == company_words(account["Name"]):
        return (
            "back at the past account",
            f"back at the past account {account['Name']}: no new company",
        )
    customer = account.get(config.account_type_field) in config.customer_types
    if customer and relationship in config.people_signals_relationships:
        why = f"{relationship} at customer {account['Name']}: left to people-signals"
        return "left to people-signals", why
    return None
