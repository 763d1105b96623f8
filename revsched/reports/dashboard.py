"""`revsched dashboard`: a static site from the state store, for an internal static host.

index.html shows per play its runs over time, a link to its latest run's report (read
back from the run's audit), and the next days' forecast; and the dedupe review queue
(the clusters today's dedupe plans flag). Nothing in it comes from the config beyond
play names and schedules: no secret, no URL with credentials; the records shown are
those the reports already show, linked by Id to Salesforce.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from revsched.config import Settings
from revsched.errors import RevschedError
from revsched.org import OrgGateway
from revsched.plan import Alert, Merge, MergedRecord, Plan, Recipient, RecordCreate
from revsched.play import Play
from revsched.private import private_folder, write_private
from revsched.replay import audited_change
from revsched.reports import charts
from revsched.reports.charts import Chart
from revsched.reports.forecast import Day, Snapshot, approximation, forecast, totals
from revsched.reports.forecast_report import forecast_charts
from revsched.reports.model import Row, Table
from revsched.reports.pages import render, write_report
from revsched.reports.play_tables import for_report
from revsched.reports.run_report import plan_report, run_header
from revsched.state import Run, StateStore

# Runs per play charted over time.
RUNS_SHOWN = 60


@dataclass
class PlaySection:
    name: str
    summary: str
    schedule: str
    enabled: bool
    runs: Table
    charts: list[Chart] = field(default_factory=list)
    latest: str | None = None
    latest_label: str = ""
    forecast: dict[str, int] = field(default_factory=dict)
    forecast_error: str | None = None
    forecast_note: str | None = None


def audited_plan(run: Run, store: StateStore) -> Plan:
    """A run's plan as its audit holds it: its decisions and the play's tables too, for a
    run saved since they are kept (migration 0026)."""
    return Plan(
        play=run.play,
        as_of=run.as_of,
        decisions=tuple(store.decisions(run.id)),
        reports=store.reports(run.id),
        changes=tuple(audited_change(c) for c in run.changes),
        creates=tuple(
            RecordCreate(
                sobject=c.sobject,
                key=c.key,
                fields=json.loads(c.fields),
                reason=c.reason,
                parent_id=c.parent_id,
            )
            for c in run.creates
        ),
        merges=tuple(
            Merge(
                sobject=m.sobject,
                master_id=m.master_id,
                master_name=m.master_name,
                merged=(
                    MergedRecord(
                        record_id=m.merged_id,
                        record_name=m.merged_name,
                        fields=json.loads(m.merged_fields),
                    ),
                ),
                master_before=json.loads(m.master_before),
                master_after=json.loads(m.master_after),
                reason=m.reason,
            )
            for m in run.merges
        ),
        alerts=tuple(
            Alert(
                template="",
                record_id=a.record_id,
                stage=a.stage,
                recipients=tuple(Recipient(**r) for r in json.loads(a.recipients)),
                context={},
                reason=f"{a.status}: {a.error}" if a.error else a.status,
            )
            for a in run.alerts
        ),
    )


def audited_names(run: Run) -> dict[str, str]:
    """The names the audit kept beside the Ids a run wrote and alerted about."""
    names: dict[str, str] = {}
    for change in run.changes:
        for value, name in ((change.old, change.old_name), (change.new, change.new_name)):
            held = json.loads(value)
            if isinstance(held, str) and name:
                names[held] = name
    names |= {a.record_id: a.record_name for a in run.alerts if a.record_name}
    return names


def _run_rows(runs: Sequence[Run]) -> list[Row]:
    return [
        {
            "run": run.id,
            "as_of": run.as_of.isoformat(),
            "mode": "dry run" if run.dry_run else "applied",
            "status": run.status,
            "selected": run.counts.get("selected", 0),
            "written": None if run.dry_run else run.counts.get("applied", 0),
            "failed": None if run.dry_run else run.counts.get("failed_records", 0),
            "alerts_sent": None if run.dry_run else run.counts.get("alerts_sent", 0),
        }
        for run in runs
    ]


def _runs_chart(play: str, runs: Sequence[Run]) -> Chart | None:
    """Applied runs, oldest first: what each selected, wrote, failed and alerted."""
    applied = [run for run in reversed(runs) if not run.dry_run]
    if not applied:
        return None
    series: dict[str, list[float | None]] = {
        "selected": [r.counts.get("selected", 0) for r in applied],
        "written": [r.counts.get("applied", 0) for r in applied],
        "alerts sent": [r.counts.get("alerts_sent", 0) for r in applied],
        "failed": [r.counts.get("failed_records", 0) for r in applied],
    }
    labels = [f"{r.as_of.isoformat()[5:]} #{r.id}" for r in applied]
    return charts.lines(f"{play}: applied runs", labels, series)


@dataclass(frozen=True)
class Site:
    settings: Settings
    store: StateStore
    org: OrgGateway
    org_name: str
    out: Path

    def latest_report(self, section: PlaySection, runs: Sequence[Run]) -> None:
        """The latest applied run (else the latest run) as a report page of its own."""
        chosen = next((r for r in runs if not r.dry_run), runs[0] if runs else None)
        run = self.store.run(chosen.id) if chosen else None
        if run is None:
            return
        plan = audited_plan(run, self.store)
        header = run_header(run.play, run.as_of, run.id, run.dry_run, run.status, self.org_name)
        names = audited_names(run)
        report = plan_report(
            plan, header, self.org.instance_url, names, run.counts, not run.dry_run
        )
        [page, *_csv] = write_report(
            report, self.out / "runs", run.play, f"run{run.id}", self.settings.templates.paths
        )
        section.latest = f"runs/{page.name}"
        section.latest_label = f"run {run.id}, {run.as_of.isoformat()} ({header.mode})"

    def forecast(
        self, play: Play[Any], section: PlaySection, start: date, days: int, snapshot: Snapshot
    ) -> list[Row]:
        """The play's forecast on the section; returns the first day's review rows (a
        dedupe play's review queue)."""
        forecast_days: list[Day] = []
        review: list[Row] = []
        try:
            section.forecast_note = approximation(play, self.settings, start)
            for plan in forecast(play, self.settings, start, days, self.store, snapshot):
                forecast_days.append(Day.of(plan))
                if len(forecast_days) == 1:
                    review = plan.reports.get("review", [])
        except RevschedError as error:
            section.forecast_error = str(error)
            return []
        section.forecast = totals(forecast_days)
        section.charts += forecast_charts(play.name, forecast_days)
        return review


def build(site: Site, plays: Mapping[str, Play[Any]], start: date, days: int) -> list[Path]:
    """Write index.html (and the latest run reports under runs/); returns the paths."""
    private_folder(site.out)
    snapshot = Snapshot(site.org)
    sections: list[PlaySection] = []
    review: list[Table] = []
    for name, play in plays.items():
        config = play.configure(site.settings)
        runs = site.store.runs(name, RUNS_SHOWN)
        if not config.enabled and not runs:
            continue
        section = PlaySection(
            name=name,
            summary=play.summary,
            schedule=str(config.schedule),
            enabled=config.enabled,
            runs=Table(f"{name}-runs", "Recent runs", _run_rows(runs[:10])),
        )
        chart = _runs_chart(name, runs)
        if chart is not None:
            section.charts.append(chart)
        site.latest_report(section, runs)
        rows = site.forecast(play, section, start, days, snapshot) if config.enabled else []
        if rows:
            queue = for_report("review", rows).table
            review.append(
                Table(f"{name}-review", f"{name}: {queue.title}", queue.rows, links=queue.links)
            )
        sections.append(section)
    # Plays that have run first: theirs is the history people come for.
    sections.sort(key=lambda section: section.latest is None)
    index = site.out / "index.html"
    page = render(
        "reports/dashboard.html.j2",
        site.settings.templates.paths,
        org=site.org_name,
        instance_url=site.org.instance_url,
        start=start.isoformat(),
        days=days,
        sections=sections,
        review=review,
        review_clusters=sum(len({row.get("cluster") for row in t.rows}) for t in review),
    )
    write_private(index, page)
    return [index]
