"""Term-frequency adjustment: an agreement on a rare value says more than one on a common one.

As Fellegi-Sunter linkers do it (splink's term frequency adjustments): the chance that two
records of different entities agree on a value v is its frequency tf(v) among the records
being deduplicated, instead of the field's average chance of agreeing, u (the sum of the
squared frequencies: how often two records drawn at random agree). Agreeing on v adds
log2(u / tf(v)) to the field's weight: less than nothing for "smith", more for "linacre".
Frequencies come from the run's own records (no external table), and the adjustment is
bounded so that one unique value never decides a link by itself.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from revsched.dedupe.config import TermFrequencyRules


@dataclass(frozen=True)
class TermFrequencies:
    """Each value's adjustment; values seen once share one (most values, at a million
    records, so they are not stored one by one)."""

    total: int
    unit: str  # what is counted: "records", "name words"
    counts: dict[str, int]
    adjustments: dict[str, float]
    unique: float

    @classmethod
    def of(
        cls, values: Iterable[str], rules: TermFrequencyRules, unit: str = "records"
    ) -> TermFrequencies:
        """The frequencies of `values` (one per record and field; empty ones skipped)."""
        counts = Counter(v for v in values if v) if rules.enabled else Counter()
        total = sum(counts.values())
        if not total:
            return cls(0, unit, {}, {}, 0.0)
        u = sum(c * c for c in counts.values()) / total**2

        def bounded(count: int) -> float:
            weight = math.log2(u * total / count)
            return max(-rules.max_penalty, min(rules.max_bonus, weight))

        repeated = {v: c for v, c in counts.items() if c > 1}
        return cls(total, unit, repeated, {v: bounded(c) for v, c in repeated.items()}, bounded(1))

    def adjustment(self, value: str) -> float:
        """Bits to add to an agreement on `value` (0 when adjustments are off)."""
        if not self.total:
            return 0.0
        return self.adjustments.get(value, self.unique)

    def explain(self, what: str, value: str, weight: float) -> tuple[str, float]:
        """The comparison's text and its adjusted weight: the plan shows both figures."""
        bits = self.adjustment(value)
        if not bits:
            return what, weight
        count = self.counts.get(value, 1)
        share = f"{count} of {self.total:,} {self.unit}"
        return f"{what} ({weight:+.1f}, {value!r} on {share}: {bits:+.1f})", weight + bits
