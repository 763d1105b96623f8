"""The Tasks plays create, each shape declared once: its fields are both the values a Task
is created with and what the play's requirements say it creates (`doctor` checks those),
so the two cannot drift apart. A shape missing or adding a field fails when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from revsched.plan import Scalar
from revsched.play import object_fields


@dataclass(frozen=True)
class TaskFields:
    """A Task's fields (besides [org] key_field); a subclass declares them, in the order
    the plan lists them."""

    def values(self) -> dict[str, Scalar]:
        """The fields the Task is created with, in declared order."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def creates(cls) -> tuple[tuple[str, str], ...]:
        """("Task", field) for each declared field: the play's `Requirements.creates`."""
        return object_fields("Task", *(field.name for field in fields(cls)))


@dataclass(frozen=True)
class OpportunityTask(TaskFields):
    """A Task on an opportunity for its owner (partner-overlap, renewal-sla)."""

    Subject: Scalar
    Description: Scalar
    ActivityDate: Scalar
    OwnerId: Scalar
    WhatId: Scalar
    Status: Scalar
    Priority: Scalar


@dataclass(frozen=True)
class PersonTask(TaskFields):
    """A Task on a person at an account (job-changes, people-signals)."""

    Subject: Scalar
    OwnerId: Scalar
    ActivityDate: Scalar
    Status: Scalar
    Priority: Scalar
    WhoId: Scalar
    WhatId: Scalar
    Description: Scalar


@dataclass(frozen=True)
class LeadTask(TaskFields):
    """A Task on a lead for its owner (lead-status-hygiene)."""

    Subject: Scalar
    ActivityDate: Scalar
    OwnerId: Scalar
    WhoId: Scalar
    Status: Scalar
    Priority: Scalar
