"""A run's report written for people who read it outside revsched (`run --report-dir`):
one HTML page with its header, totals, charts and tables, and a CSV file per table.

The play stays pure: the report is built from its plan (and the play's own tables,
`Plan.reports`); the file names carry the play and the as-of date, so each day's report
sits beside the last.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from revsched.reports.pages import write_report
from revsched.reports.run_report import named_values, plan_report, run_header

if TYPE_CHECKING:
    from revsched.config import Settings
    from revsched.org import OrgGateway
    from revsched.runner import RunResult


def write_reports(
    result: RunResult, directory: Path, org: OrgGateway, settings: Settings, org_name: str
) -> list[Path]:
    """Write the run's report (page first, then one CSV per table); returns the paths."""
    plan = result.plan
    header = run_header(
        plan.play, plan.as_of, result.run_id, result.dry_run, result.status, org_name
    )
    report = plan_report(
        plan,
        header,
        org.instance_url,
        names=org.names(named_values(plan)),
        counts=result.counts,
        applied=not result.dry_run,
    )
    return write_report(
        report, directory, plan.play, plan.as_of.isoformat(), settings.templates.paths
    )
