"""Finding duplicates: the rules and weights a match is scored by, the scorer, and the
blocking every matcher shares (people in `people.py`, companies in `companies.py`).

Records are normalized once, then grouped into blocks that share a key; only neighbours
within a block are compared, so the cost grows with the number of records, not its
square.

Each comparison is scored Fellegi-Sunter style: every field that agrees adds its weight
(a log2 likelihood ratio, configurable) to the prior, and the sum is the link's log-odds;
the link lists each comparison with its weight. Separately it counts the independent
pieces of evidence and checks the safety rules (cannot-link constraints) that no score
overrides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from revsched.dedupe import normalize
from revsched.dedupe.cluster import Cluster, Conflict, PairLink, build_clusters
from revsched.dedupe.config import MatchRules, Weights

T = TypeVar("T")


@dataclass(frozen=True)
class Matching:
    """Clusters to review, the links a safety rule blocked, and the rule checks themselves
    (for records that meet only inside a cluster)."""

    clusters: list[Cluster]
    blocked: list[PairLink]
    conflict: Conflict
    # Two records surely of two entities though no safety rule keeps them apart (people's
    # first names that differ): they never merge into one master together.
    distinct: Conflict | None = None


class Scorer:
    """Adds up weighed comparisons into a link."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.terms: list[tuple[str, float]] = []
        self.evidence: list[str] = []
        self.notes: list[str] = []

    def agree(self, what: str, weight: float, piece: str | None = None) -> None:
        self.terms.append((what, weight))
        if piece:
            self.evidence.append(piece)

    def link(self, a: str, b: str, blocked: Sequence[str]) -> PairLink:
        total = self.weights.prior + sum(w for _, w in self.terms)
        score = 1 / (1 + 2**-total)
        parts = [f"{what} {weight:+.1f}" for what, weight in self.terms]
        parts.append(f"prior {self.weights.prior:+.1f}")
        detail = ", ".join(parts + self.notes)
        rule = "+".join(self.evidence) or "weak"
        return PairLink(a, b, round(score, 4), rule, detail, tuple(self.evidence), tuple(blocked))


def typo(x: str, y: str) -> bool:
    """One slip apart (two for long words): "oracel" / "oracle", "jonhson" / "johnson";
    words of three or four letters only by a letter added ("kinng" / "king", "leee" / "lee";
    "mary" / "mark" are not)."""
    from rapidfuzz.distance import OSA  # loaded when matching starts, not when plays are listed

    shortest = min(len(x), len(y))
    if shortest < 3 or (shortest <= 4 and len(x) == len(y)):
        return False
    return OSA.distance(x, y, score_cutoff=2) <= (2 if shortest >= 9 else 1)


@functools.lru_cache(maxsize=4096)
def record_country(value: Any) -> str | None:
    """A record's country as its ISO code where known, else as written (folded)."""
    if not value:
        return None
    text = str(value).strip()
    return normalize.country_code(text) or (text.upper() if len(text) == 2 else text.lower())


class Identified(Protocol):
    """A normalized record, known by its Salesforce Id."""

    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=Identified)


def match_records(
    records: list[R],
    blocks: Callable[[R], Iterable[tuple[Hashable, str]]],
    compare: Callable[[R, R], PairLink | None],
    conflicts: Callable[[R, R], list[str]],
    rules: MatchRules,
    floor: float,
    distinct: Callable[[R, R], str | None] | None = None,
) -> Matching:
    """Clusters of the records linked at `floor` or above (each compared with its
    neighbours in every block it is in), and the links a safety rule (`conflicts`)
    blocked; `distinct` says what keeps two records apart though no rule does. What
    people and companies share: only their blocks, comparison and rules differ."""
    by_id = {record.id: record for record in records}

    def conflict(a: str, b: str) -> str | None:
        return "; ".join(conflicts(by_id[a], by_id[b])) or None

    def apart(a: str, b: str) -> str | None:
        assert distinct is not None
        return distinct(by_id[a], by_id[b])

    links = linked_pairs(records, blocks, compare, rules)
    kept = [link for link in links if link.score >= floor]
    blocked = sorted((link for link in kept if link.blocked), key=lambda k: (k.a, k.b))
    clusters = build_clusters(kept, floor)
    return Matching(clusters, blocked, conflict, None if distinct is None else apart)


def linked_pairs(
    items: list[T],
    blocks: Callable[[T], Iterable[tuple[Hashable, str]]],
    compare: Callable[[T, T], PairLink | None],
    rules: MatchRules,
) -> Iterator[PairLink]:
    """Compare each item with its `window` neighbours (by the block's sort key) in every
    block it is in, once a pair."""
    # Most blocks hold one item: it is kept bare, not in a list of its own (a million
    # records make millions of blocks).
    by_block: dict[Hashable, Any] = {}
    for index, item in enumerate(items):
        for key, order in blocks(item):
            member = (order, index)
            found = by_block.get(key)
            if found is None:
                by_block[key] = member
            elif isinstance(found, list):
                found.append(member)
            else:
                by_block[key] = [found, member]
    seen: set[tuple[int, int]] = set()
    for members in by_block.values():
        if not isinstance(members, list):
            continue
        members.sort()
        for position, (_order, i) in enumerate(members):
            for _other, j in members[position + 1 : position + 1 + rules.window]:
                pair = (i, j) if i < j else (j, i)
                if i == j or pair in seen:
                    continue
                seen.add(pair)
                link = compare(items[pair[0]], items[pair[1]])
                if link is not None:
                    yield link
