"""Which record of a cluster survives a merge, and which values it keeps.

Salesforce keeps the master's values and deletes the rest, so the master is
chosen by ordered, configurable rules (the first rule that prefers some records
over others decides), and each empty master field can take the best value a
duplicate holds, by a per-field strategy.

The first rule by default keeps the master a past run chose (the record its cluster's
flags point at): a merge takes from the survivor what made it the master (its
duplicates, and they were its only rivals), and reps edit records between runs, so
without it a rerun after an applied run could pick another member and move every flag.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from revsched.plan import Scalar
from revsched.play import Record

MasterRule = Literal[
    "current_master",
    "not_integration_user",
    "most_opportunities",
    "most_activity",
    "most_duplicates",
    "most_complete",
    "oldest",
]
Strategy = Literal["newest", "oldest", "longest"]


@dataclass(frozen=True)
class Facts:
    """What the master rules compare about one record."""

    record: Record
    created: str
    owner_id: str | None
    activities: int
    opportunities: int
    filled: int  # fields with a value, of those read
    # Records of its cluster it would merge as the master (nothing merges through another
    # record, so the best connected makes the largest merge group).
    duplicates: int = 0
    # Records of its cluster a past run flagged as its possible duplicates.
    flagged_to_it: int = 0

    @property
    def id(self) -> str:
        return str(self.record["Id"])


# rule -> (sort key: lower is preferred, how the winner is described)
_RULES: dict[str, tuple[Callable[[Facts, Collection[str]], Any], Callable[[Facts], str]]] = {
    "current_master": (
        lambda f, _i: -f.flagged_to_it,
        lambda f: f"already its master ({f.flagged_to_it} flagged as its possible duplicates)",
    ),
    "not_integration_user": (
        lambda f, integration: f.owner_id in integration,
        lambda f: "not owned by an integration user",
    ),
    "most_opportunities": (
        lambda f, _i: -f.opportunities,
        lambda f: f"most opportunities ({f.opportunities})",
    ),
    "most_activity": (lambda f, _i: -f.activities, lambda f: f"most activities ({f.activities})"),
    "most_duplicates": (
        lambda f, _i: -f.duplicates,
        lambda f: f"merges the most duplicates ({f.duplicates})",
    ),
    "most_complete": (lambda f, _i: -f.filled, lambda f: f"most fields filled ({f.filled})"),
    "oldest": (lambda f, _i: f.created, lambda f: f"oldest (created {f.created[:10]})"),
}


def choose_master(
    candidates: Sequence[Facts], rules: Sequence[MasterRule], integration_users: Collection[str]
) -> tuple[Facts, str]:
    """The master and why: each rule, in order, keeps the candidates it prefers, until one
    is left; the rules that narrowed the field are the reason."""
    remaining = sorted(candidates, key=lambda f: f.id)
    reasons: list[str] = []
    for rule in rules:
        key, describe = _RULES[rule]
        best = min(key(f, integration_users) for f in remaining)
        preferred = [f for f in remaining if key(f, integration_users) == best]
        if len(preferred) < len(remaining):
            reasons.append(describe(preferred[0]))
            remaining = preferred
        if len(remaining) == 1:
            return remaining[0], ", then ".join(reasons)
    return remaining[0], ", then ".join([*reasons, "lowest Id (the rules tied)"])


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def survivors(
    master: Facts,
    duplicates: Sequence[Facts],
    strategies: Mapping[str, Strategy],
    values: Callable[[Record, str], Scalar],
) -> dict[str, tuple[Scalar, str]]:
    """For each configured field empty on the master: the duplicates' best value, and why.

    `values` reads a record's field (after any normalization the play applies).
    """
    targets: dict[str, tuple[Scalar, str]] = {}
    for field, strategy in strategies.items():
        if not is_empty(values(master.record, field)):
            continue
        holders = [d for d in duplicates if not is_empty(values(d.record, field))]
        if not holders:
            continue
        if strategy == "longest":
            donor = max(holders, key=lambda d: (len(str(values(d.record, field))), d.created))
        else:
            donor = sorted(holders, key=lambda d: d.created)[-1 if strategy == "newest" else 0]
        why = (
            f"empty on the master; {strategy} value among its duplicates, from "
            f"{donor.record['Name']} ({donor.id})"
        )
        targets[field] = (values(donor.record, field), why)
    return targets
