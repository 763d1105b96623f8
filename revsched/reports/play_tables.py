"""The tables a play puts on its plan (`Plan.reports`), with what their readers need
beside them: links to the records, and for the known kinds, totals and charts.

Keyed by the report's name, not the play's, so any play reporting "at-risk" rows or a
dedupe "review" gets the same summaries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from revsched.plan import Scalar
from revsched.reports import charts
from revsched.reports.charts import Chart
from revsched.reports.model import RecordLink, Row, Table, label

# Days to renewal, bucketed for the chart of renewals by bucket and stage.
DAY_BUCKETS = ((30, "0-30"), (60, "31-60"), (90, "61-90"), (120, "91-120"))


@dataclass(frozen=True)
class PlayTables:
    """A report's table, and the summaries beside it."""

    table: Table
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    totals: list[tuple[str, Scalar]] = field(default_factory=list)


def guessed_links(rows: Sequence[Row]) -> dict[str, RecordLink]:
    """`account` links with `account_id`, `record_name` with `record_id`: a name column
    beside its Id column links to the record."""
    columns = {c for row in rows for c in row}
    links: dict[str, RecordLink] = {}
    for column in columns:
        if column.endswith("_id"):
            stem = column.removesuffix("_id")
            for name in (stem, f"{stem}_name"):
                if name in columns:
                    links[name] = RecordLink(column)
    return links


def _number(value: Scalar) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _grouped(rows: Sequence[Row], key: Callable[[Row], list[str]]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        for group in key(row):
            groups[group].append(row)
    return dict(groups)


def _reasons(row: Row) -> list[str]:
    return [r.strip() for r in str(row.get("at_risk_because") or "").split(";") if r.strip()]


def _bucket(days: Scalar) -> str:
    value = _number(days)
    return next((name for limit, name in DAY_BUCKETS if value <= limit), "over 120")


def at_risk(name: str, rows: Sequence[Row]) -> PlayTables:
    """At-risk renewals: totals of count and ARR by AM and by reason, and renewals by
    days-to-renewal bucket and stage."""
    summaries: list[Table] = []
    drawn: list[Chart] = []
    for title, key in (
        ("AM", lambda row: [str(row.get("owner") or "(no owner)")]),
        ("reason", _reasons),
    ):
        groups = _grouped(rows, key)
        summary: list[Row] = [
            {
                title.lower(): group,
                "renewals": len(members),
                "arr": sum(_number(r.get("amount")) for r in members),
            }
            for group, members in sorted(groups.items(), key=lambda item: -len(item[1]))
        ]
        summaries.append(Table(f"{name}-by-{title.lower()}", f"At risk by {title}", summary))
        if summary:
            counts = {str(r[title.lower()]): _number(r["renewals"]) for r in summary}
            arr = {str(r[title.lower()]): _number(r["arr"]) for r in summary}
            drawn.append(charts.bars(f"At-risk renewals by {title}", {"renewals": counts}))
            drawn.append(charts.bars(f"At-risk ARR by {title}", {"ARR": arr}))
    if rows:
        buckets = [b for _limit, b in DAY_BUCKETS] + ["over 120"]
        stages = sorted({str(r.get("stage")) for r in rows})
        per = Counter((_bucket(r.get("days_to_renewal")), str(r.get("stage"))) for r in rows)
        series = {stage: [per[(bucket, stage)] for bucket in buckets] for stage in stages}
        drawn.append(
            charts.columns(
                "At-risk renewals by days to renewal and stage", buckets, series, stack=True
            )
        )
    total_arr = sum(_number(r.get("amount")) for r in rows)
    return PlayTables(
        Table(name, "At-risk renewals", rows, links=guessed_links(rows)),
        summaries,
        drawn,
        [("at-risk renewals", len(rows)), ("at-risk ARR", total_arr)],
    )


def _score_band(score: Scalar) -> str:
    value = _number(score)
    low = min(int(value * 10), 9) / 10
    return f"{low:.1f}-{low + 0.1:.1f}"


def review(name: str, rows: Sequence[Row]) -> PlayTables:
    """A dedupe review: each cluster's members one under another, their compared values
    in columns side by side, each link's rule and score; charts of clusters by rule and
    by score band."""
    clusters = {row.get("cluster") for row in rows}
    drawn: list[Chart] = []
    rules = Counter(
        rule
        for row in rows
        if row.get("role") != "master"
        for rule in str(row.get("rules") or "").split(", ")
        if rule
    )
    if rules:
        drawn.append(charts.bars("Possible duplicates by rule", {"records": rules}))
    bands = Counter(_score_band(r.get("score")) for r in rows if r.get("role") != "master")
    if bands and any(r.get("score") is not None for r in rows):
        drawn.append(charts.bars("Possible duplicates by score band", {"records": bands}))
    links = {"record_name": RecordLink("record_id"), **guessed_links(rows)}
    table = Table(name, f"Review: {len(clusters)} clusters", rows, links=links)
    return PlayTables(table, charts=drawn, totals=[("clusters to review", len(clusters))])


SUMMARIES: dict[str, Callable[[str, Sequence[Row]], PlayTables]] = {
    "at-risk": at_risk,
    "review": review,
}


def for_report(name: str, rows: Sequence[Row]) -> PlayTables:
    """A play's report table with the summaries its kind has (none for an unknown kind)."""
    if name in SUMMARIES:
        return SUMMARIES[name](name, rows)
    return PlayTables(Table(name, label(name), rows, links=guessed_links(rows)))
