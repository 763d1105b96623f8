"""The plan a play returns: what would change, what would be created, who would
be alerted, and why, for every record the play looked at.

A plan is plain data (JSON round-trips), so a dry run can print it, save it for
review, and a later apply can carry it out unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

Scalar = str | int | float | bool | None


class PlanItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


@dataclass(frozen=True, slots=True)
class Decision:
    """Why a record was selected or skipped; skipped ones are the near misses.

    A slotted dataclass, as FieldChange: a play decides on every record it reads (100k
    and more), and a model's instance took 1.1 kB and 30 us to make against 100 B.
    """

    sobject: str
    record_id: str
    record_name: str
    outcome: Literal["selected", "skipped"]
    reason: str
    stage: str | None = None
    # What a summary counts the decision under when its reason (skipped) or stage
    # (selected) carries details, names, dates or numbers, that would make every
    # record its own group: "account unassigned" for "account Acme is unassigned: ...".
    kind: str | None = None

    @classmethod
    def of(
        cls,
        sobject: str,
        record: dict[str, Any],
        outcome: Literal["selected", "skipped"],
        reason: str,
        stage: str | None = None,
        kind: str | None = None,
    ) -> Decision:
        """The decision about a queried record (its Id and Name)."""
        return cls(
            sobject=sobject,
            record_id=record["Id"],
            record_name=record["Name"],
            outcome=outcome,
            reason=reason,
            stage=stage,
            kind=kind,
        )


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one record, from its current value to the new one, and why.

    A slotted dataclass rather than a model: a run plans one per changed field (100k and
    more), and a model's instance dict and validation cost ten times the memory and CPU.
    The plan (a model) still round-trips it through JSON, validated on the way in.
    """

    sobject: str
    record_id: str
    record_name: str
    field: str
    old: Scalar
    new: Scalar
    reason: str


def diff_changes(
    sobject: str,
    record: Mapping[str, Any],
    targets: Mapping[str, tuple[Scalar, str]],
    reason_prefix: str = "",
) -> list[FieldChange]:
    """Changes for the fields whose current value differs from the target: diff before write.

    `targets` maps each field to (new value, why); the record must hold every field.
    """
    return [
        # By position: keywords cost a third more of a run's 100k changes.
        FieldChange(
            sobject, record["Id"], record["Name"], field, record[field], new, reason_prefix + why
        )
        for field, (new, why) in targets.items()
        if record[field] != new
    ]


class RecordCreate(PlanItem):
    """A record to create, upserted on `key` so it can never be created twice."""

    sobject: str
    key: str
    fields: dict[str, Scalar]
    reason: str
    # The record this one is created for (a Task's opportunity): if the create
    # fails, that record's alerts and stages wait for the next run too.
    parent_id: str | None = None


class RecordDelete(PlanItem):
    """A record to delete: only a revert removing what its run created does this."""

    sobject: str
    record_id: str
    reason: str


class MergedRecord(PlanItem):
    """A record a merge deletes, with every field value it had when the plan was made."""

    record_id: str
    record_name: str
    fields: dict[str, Scalar]


class Merge(PlanItem):
    """Records merged into a master with Salesforce's merge(): one request, at most two.

    Salesforce cannot undo a merge, so the plan keeps the full values of every merged
    record and the master's values before and after (its field changes applied first).
    A larger cluster is several merges into the same master, run one after another.
    """

    sobject: str
    master_id: str
    master_name: str
    merged: tuple[MergedRecord, ...] = Field(min_length=1, max_length=2)
    master_before: dict[str, Scalar]
    master_after: dict[str, Scalar]
    reason: str


class LeadConversion(PlanItem):
    """A lead converted onto an existing account with Salesforce's convertLead(), without
    an opportunity; its new contact is owned by `owner_id`. Salesforce cannot undo it.

    Converted first in a run: whatever else the plan holds for the lead (its field
    changes, the records created for it, its alerts and stages) then goes to the contact
    it became (see `Plan.redirected`)."""

    lead_id: str
    lead_name: str
    account_id: str
    account_name: str
    owner_id: str
    converted_status: str
    reason: str


class Recipient(PlanItem):
    role: str
    user_id: str | None
    name: str
    email: str | None = None


class Person(PlanItem):
    """A Lead or Contact as a sequence enrollment addresses it."""

    sobject: Literal["Lead", "Contact"]
    record_id: str
    name: str
    email: str


def _as_contact(person: Person, contacts: Mapping[str, str]) -> Person:
    """The person as the contact it became, if it was a lead converted (lead -> contact)."""
    if person.sobject != "Lead" or person.record_id not in contacts:
        return person
    return person.model_copy(update={"sobject": "Contact", "record_id": contacts[person.record_id]})


class Enrollment(PlanItem):
    """`enroll(person, sequence, sender)`: the person put in a sales-engagement sequence,
    sent from the sender's mailbox. Only the runner enrolls, through the configured
    channel (revsched.enroll); `field` is where the salesforce-field channel (and the
    outreach channel, when Outreach refuses) writes the sequence for an Outreach trigger.

    `key` names the enrollment across runs (`<play>:<email>:<sequence>`), so a rerun
    after a crash asks the channel again instead of trusting a local file."""

    key: str
    person: Person
    sequence: str
    sender: Recipient
    field: str
    reason: str


class Firing(PlanItem):
    """A (record, stage) the play handles now; recorded so it never fires twice."""

    record_id: str
    stage: str


class Alert(PlanItem):
    """An alert about one record at one stage, rendered from a template."""

    template: str
    record_id: str
    stage: str
    recipients: tuple[Recipient, ...]
    context: dict[str, Any]
    reason: str
    # The records a digest lists, as the stages its delivery fires for them: once it is
    # delivered (by its run or, after a kill, the next), a rerun does not list them again.
    covers: tuple[Firing, ...] = ()


@dataclass(frozen=True)
class Retry:
    """A record whose write failed in the play's earlier runs (a watermarked play reads it
    again by Id): in how many runs, and the last error."""

    attempts: int
    error: str


@dataclass(frozen=True)
class PlanTotals:
    """What a plan holds in whole when only its first rows are in hand (a streamed plan,
    read back from run `run_id` in the state store): a summary's counts."""

    # The run whose store holds the rest (None: counted from a whole plan).
    run_id: int | None
    # Decisions by kind (summary.decision_kind), field changes by "sObject.field".
    selected: Mapping[str, int]
    skipped: Mapping[str, int]
    changes: Mapping[str, int]
    # Records changed.
    records: int


class Plan(PlanItem):
    play: str
    as_of: date
    decisions: tuple[Decision, ...] = ()
    changes: tuple[FieldChange, ...] = ()
    creates: tuple[RecordCreate, ...] = ()
    deletes: tuple[RecordDelete, ...] = ()
    merges: tuple[Merge, ...] = ()
    conversions: tuple[LeadConversion, ...] = ()
    # People to enroll in sequences, after the records they belong to are written.
    enrollments: tuple[Enrollment, ...] = ()
    alerts: tuple[Alert, ...] = ()
    firings: tuple[Firing, ...] = ()
    # New round-robin cursor positions, saved once the plan is applied.
    cursors: dict[str, int] = {}
    # Round-robin assignments made, by pool and Username, added to the day's counts.
    assignments: dict[str, dict[str, int]] = {}
    # The moment this plan's reads began (plays that read only what changed): saved when
    # the run applies in full, so the next run reads from there; a partial run reads again.
    watermark: datetime | None = None
    # Tables for people to read (name -> rows), written as CSV and HTML by `run --report-dir`.
    reports: dict[str, list[dict[str, Scalar]]] = {}
    # Why applying this plan needs the user's explicit `--confirm` (e.g. a change cap
    # exceeded); None: it applies without.
    confirmation: str | None = None

    # Set on a plan holding only the first of its decisions and field changes (a streamed
    # plan, shown or reported): what it holds in whole. None: the plan is whole.
    _totals: PlanTotals | None = PrivateAttr(default=None)

    @property
    def totals(self) -> PlanTotals | None:
        return self._totals

    def with_totals(self, totals: PlanTotals | None, **rows: Any) -> Plan:
        """This plan with `rows` (decisions, changes) as the first rows of one whose sizes
        are `totals`; None: the rows are the whole."""
        part = self.model_copy(update=rows)
        part._totals = totals
        return part

    @property
    def selected(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.outcome == "selected")

    @property
    def skipped(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.outcome == "skipped")

    @property
    def is_empty(self) -> bool:
        if self._totals is not None and self._totals.changes:
            return False
        parts = (self.changes, self.creates, self.deletes, self.merges, self.conversions)
        return not any((*parts, self.enrollments, self.alerts, self.firings))

    def changes_by_record(self) -> dict[tuple[str, str], list[FieldChange]]:
        """Changes grouped per (sobject, record): one write per record, whatever its fields."""
        grouped: dict[tuple[str, str], list[FieldChange]] = {}
        for change in self.changes:
            grouped.setdefault((change.sobject, change.record_id), []).append(change)
        return grouped

    def redirected(self, contacts: Mapping[str, str]) -> Plan:
        """This plan with what it holds for converted leads (lead Id -> contact Id) addressed
        to their contacts: field changes, Ids in created records and alert contexts (a
        `{"sobject": "Lead", "id": ...}` becomes the Contact), enrollments, alerts' and
        stages' records."""
        if not contacts:
            return self

        def swap(value: Any) -> Any:
            if isinstance(value, str):
                return contacts.get(value, value)
            if isinstance(value, list):
                return [swap(v) for v in value]
            if isinstance(value, dict):
                swapped = {k: swap(v) for k, v in value.items()}
                if value.get("sobject") == "Lead" and value.get("id") in contacts:
                    swapped["sobject"] = "Contact"
                return swapped
            return value

        return self.model_copy(
            update={
                "changes": tuple(
                    replace(c, sobject="Contact", record_id=contacts[c.record_id])
                    if c.sobject == "Lead" and c.record_id in contacts
                    else c
                    for c in self.changes
                ),
                "creates": tuple(
                    c.model_copy(update={"fields": swap(c.fields), "parent_id": swap(c.parent_id)})
                    for c in self.creates
                ),
                "enrollments": tuple(
                    e.model_copy(update={"person": _as_contact(e.person, contacts)})
                    for e in self.enrollments
                ),
                "alerts": tuple(
                    a.model_copy(
                        update={
                            "record_id": swap(a.record_id),
                            "context": swap(a.context),
                            "covers": tuple(
                                f.model_copy(update={"record_id": swap(f.record_id)})
                                for f in a.covers
                            ),
                        }
                    )
                    for a in self.alerts
                ),
                "firings": tuple(
                    f.model_copy(update={"record_id": swap(f.record_id)}) for f in self.firings
                ),
            }
        )
