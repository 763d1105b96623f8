"""Matching with what it counts across records taken over the records a run leaves.

Matching counts across the run's records: a phone or a street address on too many
names is a switchboard or an office, not evidence, and a common surname or company
word weighs less. The run's merges take records away, so counts over all it read would
differ from its rerun's, and a link could cross a threshold on the rerun only: an
address on five names is an office, on three once two of them merged, a home again.
So the counts are taken again over what each round of planning leaves, until they
hold, and the last round plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from revsched.dedupe.config import DedupeConfig, ObjectSpec, PeopleConfig, people_compared
from revsched.dedupe.match import Matching
from revsched.dedupe.people import count_people, match_people, person
from revsched.dedupe.planning import Outcome, plan_clusters
from revsched.plan import Scalar
from revsched.plan_builder import PlanBuilder
from revsched.play import DecideContext, Record

# At most this many rounds of matching: the counts settle in two or three on sets dense
# with duplicates (FEBRL), and in one where nothing merges.
ROUNDS = 3

Item = TypeVar("Item")
Counts = TypeVar("Counts")


@dataclass(frozen=True)
class Matcher(Generic[Item, Counts]):
    """How an object's records are matched: each normalized once, what is counted across
    them, and the matching with given counts."""

    normalize: Callable[[Record], Item]
    count: Callable[[Iterable[Item]], Counts]
    match: Callable[[Iterable[Item], Counts], Matching]


def plan_settled(
    ctx: DecideContext[Any],
    spec: ObjectSpec,
    records: Sequence[Record],
    matcher: Matcher[Item, Counts],
    config: DedupeConfig,
    integration_ids: set[str],
    compared: Sequence[str],
    normalized: Mapping[str, Mapping[str, tuple[Scalar, str]]] | None = None,
) -> tuple[PlanBuilder, Outcome]:
    """The plan `plan_clusters` makes on matching whose counts are taken over the records
    the plan leaves: each round plans with the counts over what the last one left, until
    they hold (`ROUNDS` at most)."""
    read = {r["Id"]: r for r in records}
    items = {r["Id"]: matcher.normalize(r) for r in records}

    def count(left: Iterable[Record]) -> Counts:
        # A record as read is normalized already; a master's values after its merges not.
        return matcher.count(
            items[r["Id"]] if r is read[r["Id"]] else matcher.normalize(r) for r in left
        )

    def settled(counts: Counts, rounds: int) -> tuple[PlanBuilder, Outcome]:
        matching = matcher.match(items.values(), counts)
        plan = PlanBuilder(ctx, spec.sobject)
        outcome = plan_clusters(
            plan, spec, records, matching, config, integration_ids, compared, normalized
        )
        # Without merges it leaves every record, its values unchanged where matching reads.
        if rounds > 1 and plan.merges:
            left = count(_left_by(records, plan))
            if left != counts:
                del plan, outcome, matching  # a million records': not two rounds' at once
                return settled(left, rounds - 1)
        return plan, outcome

    return settled(count(records), ROUNDS)


def _left_by(records: Sequence[Record], plan: PlanBuilder) -> list[Record]:
    """The records as `plan` leaves them: those it merges away gone, its changes written."""
    merged = {r.record_id for merge in plan.merges for r in merge.merged}
    changed: dict[str, dict[str, Scalar]] = {}
    for change in plan.changes:
        changed.setdefault(change.record_id, {})[change.field] = change.new
    return [
        r | changed[r["Id"]] if r["Id"] in changed else r for r in records if r["Id"] not in merged
    ]


def people_outcome(
    ctx: DecideContext[Any],
    spec: ObjectSpec,
    records: Sequence[Record],
    orgs: Sequence[str | None],
    org_fields: Sequence[str],
    config: PeopleConfig,
    integration_ids: set[str],
) -> tuple[PlanBuilder, Outcome]:
    """Cluster contacts or leads (`orgs`: each one's account or company, read from
    `org_fields`) and plan them."""
    fields = config.person_fields()
    org_of = {r["Id"]: org for r, org in zip(records, orgs, strict=True)}
    matcher = Matcher(
        normalize=lambda r: person(r, org_of[r["Id"]], config.match, fields),
        count=partial(count_people, rules=config.match),
        match=lambda people, counts: match_people(
            people, config.match, config.flag_threshold, counts
        ),
    )
    compared = [*people_compared(config), *org_fields]
    return plan_settled(ctx, spec, records, matcher, config, integration_ids, compared)
