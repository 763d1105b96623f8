"""Skip reasons are counted by kind in the summary: numbers fold to N, words stay whole."""

from __future__ import annotations

import pytest

from revsched.summary import reason_kind


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("12-month stage already fired", "N-month stage already fired"),
        ("6-month stage already fired", "N-month stage already fired"),
        ("delivered 40 days before the 30-day window", "delivered N days before the N-day window"),
        ("missed: 6-month stage was due 2026-09-26, 60 days ago", "missed"),
        ("in review since 2026-10-01", "in review since N"),
        ("62 users routed for 50 in contract", "N users routed for N in contract"),
        ("open opportunity 'Acme - Renewal'; activity 3 days ago", "open opportunity"),
        ("Event 'QBR' scheduled for 2026-12-01", "Event … scheduled for N"),
    ],
)
def test_reason_kind_folds_numbers_not_the_words_after_them(reason: str, kind: str):
    assert reason_kind(reason) == kind
