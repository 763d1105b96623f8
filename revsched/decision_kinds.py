"""What a summary counts a plan's decisions under: the kind of each, without the names,
dates and numbers that make every record's reason its own.

Apart from the printing: a streamed plan is counted by kind as its pages are decided.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from revsched.plan import Decision

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# A number, date or time, ending on a digit: "6-month" keeps its "-month".
_NUMBER = re.compile(r"\d(?:[\d,.:/-]*\d)?")


def reason_kind(reason: str) -> str:
    """The kind of a reason, for counting: its head, with quoted values and numbers elided.

    "missed: 6-month stage was due 2026-09-26, 60 days ago" and the same for
    another date count as one reason, "missed".
    """
    head = re.split(r"[:;(]", reason, maxsplit=1)[0]
    head = _NUMBER.sub("N", _QUOTED.sub("…", head)).strip()
    # "open opportunity 'Acme - Renewal'" counts as "open opportunity", not "... …".
    return head.removesuffix(" …") or reason


# An ISO date in a stage ("overage 2026-11-23"): the day it fired, not a kind of stage.
_DATE = re.compile(r"\s*\b\d{4}-\d{2}-\d{2}\b")


def decision_kind(decision: Decision) -> str:
    """What a summary counts a decision under: the kind its play gave it, else a skip's
    reason_kind, else a selection's stage without its dates ("overage 2026-11-23" and
    "overage 2026-11-16" count as "overage")."""
    if decision.kind:
        return decision.kind
    if decision.outcome == "skipped":
        return reason_kind(decision.reason)
    return _DATE.sub("", decision.stage or "").strip() or "selected"
