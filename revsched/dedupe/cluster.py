"""Clusters of duplicates from scored pair links, each explained by the links that made it.

Links are joined strongest first (Kruskal's maximum spanning forest with a
union-find), so every cluster keeps exactly the links that joined its members.
A vetoing link (two people with their own work mailboxes) keeps its two records
out of one merge group even when a third record links strongly to both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """Why two records are thought to be one: the rule, its score (0..1) and the evidence."""

    a: str
    b: str
    score: float
    rule: str
    detail: str
    # These two must never be merged together, however they are linked.
    veto: bool = False

    def describe(self) -> str:
        return f"{self.a} ~ {self.b}: {self.rule} {self.score:.2f} ({self.detail})"


@dataclass(frozen=True)
class Cluster:
    """Records linked, directly or through each other, by links at or above the floor."""

    members: tuple[str, ...]
    links: tuple[Link, ...]
    vetoes: frozenset[frozenset[str]] = frozenset()

    @property
    def weakest(self) -> float:
        return min(link.score for link in self.links)

    def groups(self, threshold: float) -> list[tuple[str, ...]]:
        """The members split by only the links at or above `threshold` (largest first),
        strongest first, never joining two records that a veto keeps apart."""
        forest = _UnionFind()
        groups = {member: {member} for member in self.members}
        for member in self.members:
            forest.find(member)
        for link in self.links:
            if link.score < threshold:
                continue
            left, right = groups[forest.find(link.a)], groups[forest.find(link.b)]
            if any(frozenset((x, y)) in self.vetoes for x in left for y in right):
                continue
            forest.union(link.a, link.b)
            groups[forest.find(link.a)] = left | right
        return forest.components()

    def links_of(self, record_id: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if record_id in (link.a, link.b))


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

    def components(self) -> list[tuple[str, ...]]:
        by_root: dict[str, list[str]] = {}
        for item in self.parent:
            by_root.setdefault(self.find(item), []).append(item)
        groups = [tuple(sorted(items)) for items in by_root.values()]
        return sorted(groups, key=lambda g: (-len(g), g))


def build_clusters(links: Iterable[Link], floor: float) -> list[Cluster]:
    """Clusters of two or more records from the links scoring at least `floor`."""
    forest = _UnionFind()
    spanning: list[Link] = []
    links = list(links)
    vetoes = frozenset(frozenset((link.a, link.b)) for link in links if link.veto)
    ordered = sorted(
        (link for link in links if link.score >= floor),
        key=lambda link: (-link.score, link.a, link.b),
    )
    for link in ordered:
        if forest.union(link.a, link.b):
            spanning.append(link)
    by_root: dict[str, list[Link]] = {}
    for link in spanning:
        by_root.setdefault(forest.find(link.a), []).append(link)
    clusters = []
    for group in by_root.values():
        members = tuple(sorted({m for link in group for m in (link.a, link.b)}))
        inside = frozenset(v for v in vetoes if v <= set(members))
        clusters.append(Cluster(members, tuple(group), inside))
    return sorted(clusters, key=lambda c: c.members)
