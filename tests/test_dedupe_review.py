"""The review report escapes what it shows: record names are data, not markup."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from revsched.dedupe.review import review_rows, write_review
from revsched.plan import Decision, Plan


def decision(n: int, name: str, stage: str) -> Decision:
    return Decision(
        sobject="Account",
        record_id=f"001{n:015d}",
        record_name=name,
        outcome="selected",
        reason="why",
        stage=stage,
    )


PLAN = Plan(
    play="dedupe-accounts",
    as_of=date(2026, 11, 23),
    decisions=(
        decision(1, "Acme", "cluster 1: master"),
        decision(2, "<script>alert(1)</script>", "cluster 1: flag"),
        decision(3, "Zeta", "cluster 2: master"),
        decision(4, "Zeta Inc", "cluster 2: merge"),
    ),
)


def test_only_clusters_with_a_flag_are_reviewed_master_first():
    assert [(r["cluster"], r["role"], r["record_name"]) for r in review_rows(PLAN)] == [
        ("1", "master", "Acme"),
        ("1", "flag", "<script>alert(1)</script>"),
    ]


def test_html_report_escapes_record_names(tmp_path: Path):
    path = tmp_path / "review.html"
    assert write_review(PLAN, path) == 2

    html = path.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
