"""Sequence enrollment: one operation, `enroll(person, sequence, sender)`, many channels.

Plays plan `Enrollment`s; only the runner enrolls, through the channel `[enrollment]`
names: `salesforce-field` (default) writes the sequence into the play's field for an
Outreach trigger; `outreach` creates the sequence state through Outreach's API
(revsched.outreach); `fake` enrolls nobody and records the calls (tests). A channel
may be asked twice about one person (a rerun after a crash): asking again must never
enroll twice, so every channel looks before it writes or writes an idempotent value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from revsched.config_channels import ENROLLMENT_TRIES
from revsched.org import OrgGateway
from revsched.org_writes import RETRYABLE_RECORD_ERRORS
from revsched.plan import Enrollment, Person, Recipient
from revsched.state import EnrollmentOutcome, EnrollmentRow


class EnrollmentChannel(Protocol):
    name: str
    # Runs that ask about an enrollment failing for a reason that may pass ([enrollment] tries).
    tries: int

    def prepare(self, enrollments: Sequence[Enrollment]) -> None:
        """Before the run writes anything: resolve what the enrollments name, and fail with
        one line (a refused token) rather than after the records are written."""

    def enroll(self, enrollment: Enrollment) -> EnrollmentOutcome:
        """Enroll one person: enrolled, already (in that sequence), skipped or failed."""


class SalesforceFieldChannel:
    """The sequence name written into the person's field; an Outreach trigger enrolls."""

    name = "salesforce-field"

    def __init__(self, org: OrgGateway, tries: int = ENROLLMENT_TRIES):
        self._org = org
        self.tries = tries

    def prepare(self, enrollments: Sequence[Enrollment]) -> None:
        return None

    def enroll(self, enrollment: Enrollment) -> EnrollmentOutcome:
        person = enrollment.person
        record = {"Id": person.record_id, enrollment.field: enrollment.sequence}
        error = self._org.update(person.sobject, [record]).get(person.record_id)
        if error is not None:
            return EnrollmentOutcome(
                "failed",
                self.name,
                f"{enrollment.field} not written: {error}",
                retry=error.startswith(RETRYABLE_RECORD_ERRORS),
            )
        return EnrollmentOutcome(
            "enrolled",
            self.name,
            f"{enrollment.field} = {enrollment.sequence!r} for the Outreach trigger",
            enrollment.field,
        )


@dataclass
class FakeChannel:
    """Enrolls nobody: records each call and answers as scripted (by email), else enrolled
    once per (email, sequence) and `already` after that."""

    scripted: dict[str, EnrollmentOutcome] = field(default_factory=dict)
    calls: list[Enrollment] = field(default_factory=list)
    enrolled: set[tuple[str, str]] = field(default_factory=set)
    name: str = "fake"
    tries: int = ENROLLMENT_TRIES
    # Each scripted answer given once, then the person is enrolled as usual.
    once: bool = False

    def prepare(self, enrollments: Sequence[Enrollment]) -> None:
        return None

    def enroll(self, enrollment: Enrollment) -> EnrollmentOutcome:
        self.calls.append(enrollment)
        email = enrollment.person.email.lower()
        if email in self.scripted:
            return self.scripted.pop(email) if self.once else self.scripted[email]
        if (email, enrollment.sequence) in self.enrolled:
            return EnrollmentOutcome("already", self.name, f"already in {enrollment.sequence}")
        self.enrolled.add((email, enrollment.sequence))
        return EnrollmentOutcome("enrolled", self.name, f"enrolled in {enrollment.sequence}")


def planned_enrollment(row: EnrollmentRow) -> Enrollment:
    """The enrollment an audit row saved, to ask the channel about it again."""
    return Enrollment(
        key=row.key,
        person=Person(
            sobject="Contact" if row.sobject == "Contact" else "Lead",
            record_id=row.record_id,
            name=row.record_name,
            email=row.email,
        ),
        sequence=row.sequence,
        sender=Recipient.model_validate_json(row.sender),
        field=row.field,
        reason=row.reason,
    )
