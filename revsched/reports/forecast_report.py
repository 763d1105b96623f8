"""A forecast as JSON, and as a report page: a chart of the days and a table a day,
the configured forecast beside the one with the --set changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from revsched.reports import charts
from revsched.reports.forecast import COUNTS, MAX_STAGES, Day, by_assignee, totals
from revsched.reports.model import Header, Report, Row, Table
from revsched.reports.pages import write_report


def forecast_json(
    play: str,
    start: date,
    days: Sequence[Day],
    other: Sequence[Day] | None,
    changes: dict[str, Any],
    reads: int,
    approximated: str | None = None,
) -> dict[str, Any]:
    """The forecast; `reads` is how many queries it read the org with, `approximated`
    what it leaves out (null: nothing, each day is the play's run that day)."""
    document: dict[str, Any] = {
        "play": play,
        "from": start.isoformat(),
        "reads": reads,
        "approximated": approximated,
        "days": [d.as_json() for d in days],
        "totals": totals(days),
    }
    if other is not None:
        document["with_changes"] = {
            "set": changes,
            "days": [d.as_json() for d in other],
            "totals": totals(other),
        }
    return document


def forecast_header(
    play: str, start: date, days: int, org: str, approximated: str | None = None
) -> Header:
    return Header(
        title=f"{play}: forecast of {days} days from {start.isoformat()}",
        play=play,
        as_of=start.isoformat(),
        mode="forecast (nothing written)",
        org=org,
        note=f"Approximated: {approximated}." if approximated else None,
    )


def _rows(days: Sequence[Day]) -> list[Row]:
    def counted(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {count}" for name, count in counts.items())

    return [
        {
            "day": d.day.isoformat(),
            **{name: getattr(d, name) for name in COUNTS},
            "by_stage": counted(d.by_stage),
            "by_assignee": counted(d.by_assignee),
        }
        for d in days
    ]


def forecast_charts(
    play: str, days: Sequence[Day], other: Sequence[Day] | None = None
) -> list[charts.Chart]:
    """Selected per day (both forecasts with --set), selected per day by stage when
    there are a few, and assignments per assignee over the whole forecast."""
    labels = [d.day.isoformat()[5:] for d in days]
    series: dict[str, list[float]] = {"as configured": [d.selected for d in days]}
    if other is not None:
        series["with the changes"] = [d.selected for d in other]
    drawn = [charts.columns(f"{play}: selected per day", labels, series)]
    stages = sorted({stage for d in days for stage in d.by_stage})
    if 1 < len(stages) <= MAX_STAGES:
        per_stage = {s: [d.by_stage.get(s, 0) for d in days] for s in stages}
        title = f"{play}: selected per day by stage"
        drawn.append(charts.columns(title, labels, per_stage, stack=True))
    assigned = by_assignee(days)
    if assigned:
        drawn.append(charts.bars(f"{play}: assignments per assignee", {"assigned": assigned}))
    return drawn


def write_forecast(
    header: Header,
    days: Sequence[Day],
    other: Sequence[Day] | None,
    changes: dict[str, Any],
    directory: Path,
    instance_url: str,
    template_dirs: Sequence[Path] = (),
) -> list[Path]:
    planned, changed = totals(days), totals(other) if other is not None else {}
    # What stays 0 on both sides (a play that creates nothing) is left out.
    shown_counts = [k for k in planned if planned[k] or changed.get(k)]
    figures: list[tuple[str, Any]] = [(f"{k} in all", planned[k]) for k in shown_counts]
    tables = [Table("days", "Day by day", _rows(days))]
    if other is not None:
        shown = ", ".join(f"{k}={v!r}" for k, v in changes.items())
        figures += [(f"{k} with changes", changed[k]) for k in shown_counts]
        tables.append(Table("days-with-changes", f"Day by day with {shown}", _rows(other)))
    report = Report(
        header=header,
        instance_url=instance_url,
        totals=figures,
        charts=forecast_charts(header.play, days, other),
        tables=tables,
    )
    return write_report(report, directory, f"{header.play}-forecast", header.as_of, template_dirs)
