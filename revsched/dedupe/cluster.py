"""Clusters of possible duplicates from scored pair links, and the part of each that is
safe to merge.

A cluster is records joined by links at or above the flag floor, directly or through
each other: everything a reviewer should see together. A merge group is stricter:
only records linked to the master directly, by a link strong enough and with enough
independent evidence, none of which matches two records kept apart (by a safety rule,
or as surely two people). Nothing joins a merge group through a third record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# The rule of a link a past run's flag keeps (revsched.dedupe.memory): no evidence of its
# own, so it only keeps the flagged record in its master's cluster.
REMEMBERED = "remembered flag"


@dataclass(frozen=True)
class PairLink:
    """Why two records are thought to be one: the score (0..1), the independent pieces of
    evidence, every comparison with its weight (`detail`), and the safety rules the pair
    breaks (`blocked`, each "rule: why"), which no score overrides."""

    a: str
    b: str
    score: float
    rule: str
    detail: str
    evidence: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()

    def other(self, record_id: str) -> str:
        return self.b if record_id == self.a else self.a

    def mergeable(self, threshold: float, min_evidence: int) -> bool:
        return not self.blocked and self.score >= threshold and len(self.evidence) >= min_evidence

    def why_not_merged(self, threshold: float, min_evidence: int) -> str:
        """Why this link alone does not merge its two records ("" when it does)."""
        if self.rule == REMEMBERED:
            return "not linked now; flagged by an earlier run, and neither changed since"
        if self.blocked:
            return "blocked by " + "; ".join(self.blocked)
        if self.score < threshold:
            return f"score {self.score:.2f} below the merge threshold {threshold:.2f}"
        if len(self.evidence) < min_evidence:
            pieces = ", ".join(self.evidence) or "none"
            return f"{len(self.evidence)} piece of evidence ({pieces}), {min_evidence} needed"
        return ""

    def describe(self) -> str:
        return f"{self.a} ~ {self.b}: {self.rule} {self.score:.2f} ({self.detail})"


# Whether two records may be merged together: the safety rule they break, if any.
Conflict = Callable[[str, str], str | None]


@dataclass(frozen=True)
class Cluster:
    """Records linked, directly or through each other, by links at or above the floor."""

    members: tuple[str, ...]
    links: tuple[PairLink, ...]

    def links_of(self, record_id: str) -> tuple[PairLink, ...]:
        return tuple(link for link in self.links if record_id in (link.a, link.b))

    def merge_sets(self, threshold: float, min_evidence: int) -> list[tuple[str, ...]]:
        """The sets of two or more members joined by mergeable links, largest first (then by
        lowest Id): the first is where the cluster's master comes from, so a record linked
        to the rest only weakly is never the one they merge into; each other one merges
        into a master of its own in the same run, since after the first has merged into
        one record, it would be the largest."""
        forest = _UnionFind()
        for member in self.members:
            forest.find(member)
        for link in self.links:
            if link.mergeable(threshold, min_evidence):
                forest.union(link.a, link.b)
        sets: dict[str, list[str]] = {}
        for member in self.members:
            sets.setdefault(forest.find(member), []).append(member)
        joined = [tuple(s) for s in sets.values() if len(s) > 1]
        return sorted(joined, key=lambda s: (-len(s), s[0]))

    def merge_group(
        self,
        master: str,
        threshold: float,
        min_evidence: int,
        conflict: Conflict,
        distinct: Conflict | None = None,
    ) -> MergeGroup:
        """Who merges into `master` (strongest link first), who is flagged as its possible
        duplicate, and who is kept apart from it by a safety rule (so is no duplicate of it
        at all), each with why. A member joins only through its own link to the master, and
        only when what it matches is not kept apart: two records a safety rule keeps apart
        (a father and his son, google.ie and google.com) that both match the master, or a
        record that matches the master and one kept apart from it, leave it unclear who is
        who, so none of them merges; nor do two that are `distinct` (Jane and John Smith,
        twins, both matching an undated "Smith" with their birthdate)."""
        group = MergeGroup([], {}, {})

        def apart(a: str, b: str) -> str | None:
            return conflict(a, b) or (distinct(a, b) if distinct else None)

        matches: dict[str, list[str]] = {}
        for link in self.links:  # strongest first
            if link.mergeable(threshold, min_evidence):
                matches.setdefault(link.a, []).append(link.b)
                matches.setdefault(link.b, []).append(link.a)
        candidates = matches.get(master, [])
        for candidate in candidates:
            rivals = (
                f"blocked by {rule} with {other}, which matches the master too"
                for other in candidates
                if other != candidate and (rule := apart(other, candidate))
            )
            outsiders = (
                f"it matches {other} too, kept apart from the master by {rule}"
                for other in matches[candidate]
                if other != master and (rule := apart(master, other))
            )
            clash = next(rivals, None) or next(outsiders, None)
            if clash:
                group.flagged[candidate] = clash
            else:
                group.merged.append(candidate)
        for member in self.members:
            if member == master or member in group.merged or member in group.flagged:
                continue
            if rule := conflict(master, member):
                group.apart[member] = f"blocked by {rule} with the master"
                continue
            own = [link for link in self.links_of(member) if master in (link.a, link.b)]
            group.flagged[member] = (
                own[0].why_not_merged(threshold, min_evidence)
                if own
                else "no direct link to the master (linked through another record)"
            )
        return group


@dataclass(frozen=True)
class MergeGroup:
    """A cluster seen from its master: member -> why, for those not merged."""

    merged: list[str]
    flagged: dict[str, str]
    apart: dict[str, str]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        root = item
        while parent != root:
            root, parent = parent, self.parent[parent]
        while item != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> bool:
        """Join the sets of a and b; False when they were already one set."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return False
        self.parent[max(root_a, root_b)] = min(root_a, root_b)
        return True


def build_clusters(links: Iterable[PairLink], floor: float) -> list[Cluster]:
    """Clusters of two or more records joined by unblocked links scoring at least `floor`,
    each with all such links between its members."""
    forest = _UnionFind()
    kept = [link for link in links if link.score >= floor and not link.blocked]
    for link in kept:
        forest.union(link.a, link.b)
    by_root: dict[str, list[PairLink]] = {}
    for link in kept:
        by_root.setdefault(forest.find(link.a), []).append(link)
    clusters = []
    for group in by_root.values():
        members = tuple(sorted({m for link in group for m in (link.a, link.b)}))
        ordered = sorted(group, key=lambda link: (-link.score, link.a, link.b))
        clusters.append(Cluster(members, tuple(ordered)))
    return sorted(clusters, key=lambda c: c.members)
