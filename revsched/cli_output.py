"""How a run-like command (run, apply, revert) prints: the plan before anything is
written, the confirmation prompt, the result, and where progress bars go."""

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from revsched import progress, row_limits, summary
from revsched.errors import EXIT_DECLINED, EXIT_RECORDS_FAILED
from revsched.session import Session, make_console

if TYPE_CHECKING:
    from revsched.plan import Plan
    from revsched.runner import PlanHook, RunResult


def progress_console(output: Console) -> Console | None:
    """Where bars are drawn: the output console itself when it is a terminal (so text printed
    meanwhile goes above the bar), else stderr when a person watches it, else nowhere."""
    if output.is_terminal:
        return output
    return make_console(stderr=True) if sys.stderr.isatty() else None


@dataclass(frozen=True)
class Printing:
    """How much a run-like command prints: JSON, one line, or a summary with `limit` rows."""

    as_json: bool = False
    quiet: bool = False
    # Rows per table after the summary; None prints every row.
    limit: int | None = row_limits.DEFAULT_LIMIT
    # The default limit: fewer rows when the summary would not fit a screen.
    fit: bool = False

    @classmethod
    def of(cls, as_json: bool, quiet: bool, limit: int | None, show_all: bool) -> "Printing":
        """From the command's options: --all, --limit N, or neither (the default, fitted)."""
        if show_all:
            return cls(as_json, quiet, None)
        if limit is not None:
            return cls(as_json, quiet, limit)
        return cls(as_json, quiet, row_limits.DEFAULT_LIMIT, fit=True)

    @property
    def shows_plan(self) -> bool:
        return not (self.as_json or self.quiet)

    def header(self, session: Session, what: str) -> None:
        """Which org the command works on, before anything else is printed."""
        if self.shows_plan:
            session.console.print(f"{escape(what)} on {escape(session.org_name)}", style="bold")

    def plan_hook(self, session: Session, confirm: bool) -> "PlanHook":
        """Show the plan before anything is written; with `confirm`, ask before applying."""

        def shown(plan: "Plan") -> None:
            if self.shows_plan:
                from revsched.apply import whole_plan
                from revsched.audit_names import org_names
                from revsched.streaming import PREVIEW

                if self.limit is None or self.limit > PREVIEW:
                    plan = whole_plan(plan, session.store)  # more rows than a preview holds

                names = org_names(session.org, summary.shown_values(plan, self.limit))
                limit = self.limit
                if self.fit:
                    # The header above and the result line below take one line each.
                    room = row_limits.SCREEN_LINES - 2
                    limit = summary.fitted_limit(plan, names, session.console.width, room)
                summary.print_plan(session.console, plan, limit, names)
            if confirm and not plan.is_empty and not _confirmed(session):
                print("Aborted: nothing was applied.", file=sys.stderr)
                raise typer.Exit(EXIT_DECLINED)

        return shown

    def result(self, session: Session, result: "RunResult") -> None:
        """The run's end: its result (and a dry run's alerts), as JSON, one line or in full."""
        from revsched import report

        printed = session.settings.alerts.for_play(result.plan.play).kind == "terminal"
        names = _failed_names(session, result, self.limit)
        if self.as_json:
            typer.echo(json.dumps(report.run_json(result), indent=2))
        elif self.quiet:
            summary.print_result(session.console, result, self.limit, True, printed, names)
        else:
            if result.dry_run and self.limit is None:
                summary.print_alerts(session.console, result)
            summary.print_result(session.console, result, self.limit, False, printed, names)
        if result.status == "partial":
            raise typer.Exit(EXIT_RECORDS_FAILED)


def _failed_names(session: Session, result: "RunResult", limit: int | None) -> dict[str, str]:
    """The names of the failed records a result lists, read back from the run's audit when
    its plan was streamed (it holds none of its rows)."""
    if result.plan.totals is None:
        return {}
    listed = list(result.failures)[:limit]
    return session.store.changed_names(result.run_id, listed) if listed else {}


def _confirmed(session: Session) -> bool:
    """The person's answer; Ctrl-C or end of input at the prompt is a no."""
    with progress.paused():
        try:
            return typer.confirm(f"Apply this plan to {session.org_name}?")
        except typer.Abort:
            return False
