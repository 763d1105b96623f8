"""`revsched forecast` and `revsched dashboard`: registered on the command line by
`revsched.cli`, they import what they use when they run (and, as there, annotations are
objects, not strings typer evaluates at each start)."""

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from revsched.cli_params import ConfigOption, JsonOption, PlayArgument, fails_cleanly, play_named
from revsched.session import Session, local_today

if TYPE_CHECKING:
    from rich.console import Console

    from revsched.org import OrgGateway
    from revsched.reports.forecast import Day


def _start(value: str | None, today: date) -> date:
    if value is None:
        return today
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD", param_hint="'--from'"
        ) from None


def _counted(counts: dict[str, int]) -> str:
    """`6-month 2, 12-month 1`; `Ava Patel 2, Ben Okafor 1`."""
    return ", ".join(f"{name or '-'} {n}" for name, n in counts.items())


def _people(org: "OrgGateway", days: "list[Day]") -> dict[str, str]:
    """Each assignee's name by Username (one query): people read names, not logins."""
    from revsched.soql import format_soql

    usernames = sorted({username for day in days for username in day.by_assignee})
    if not usernames:
        return {}
    soql = format_soql("SELECT Username, Name FROM User WHERE Username IN {}", usernames)
    return {str(user["Username"]): str(user["Name"]) for user in org.query(soql)}


def _named(days: "list[Day]", names: dict[str, str]) -> "list[Day]":
    """The days with each assignee by name (a Username nobody has, by its part before @)."""
    return [
        replace(
            day,
            by_assignee={
                names.get(username) or username.split("@")[0]: count
                for username, count in day.by_assignee.items()
            },
        )
        for day in days
    ]


def _both(now: int, then: int | None) -> str:
    return f"{now:,}" if then is None or then == now else f"{now:,} -> {then:,}"


def print_forecast(
    console: "Console", days: "list[Day]", changed: "list[Day] | None", changes: dict[str, Any]
) -> None:
    """A row a day; with --set, each count as `now -> with the change` where they differ."""
    from rich import box
    from rich.table import Table

    from revsched.reports.forecast import COUNTS, totals

    if changes:
        given = ", ".join(f"{k}={v!r}" for k, v in changes.items())
        console.print(f"Counts read `as configured -> with {given}`.", highlight=False)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_footer=True)
    table.add_column("day", "total", no_wrap=True)
    total, total_changed = totals(days), totals(changed) if changed else None
    # A count that stays 0 throughout (a play that creates nothing) is left out.
    shown = [c for c in COUNTS if c == "selected" or total[c] or (total_changed or {}).get(c)]
    for name in shown:
        then = total_changed[name] if total_changed else None
        table.add_column(name, _both(total[name], then), justify="right", no_wrap=True)
    table.add_column("by stage")
    table.add_column("by assignee")
    for n, day in enumerate(days):
        other = changed[n] if changed else None
        stages = _counted(day.by_stage)
        assignees = _counted(day.by_assignee)
        if other is not None and (other.by_stage, other.by_assignee) != (
            day.by_stage,
            day.by_assignee,
        ):
            stages += f" -> {_counted(other.by_stage) or 'none'}"
            assignees += f" -> {_counted(other.by_assignee) or 'none'}"
        counts = [_both(getattr(day, c), getattr(other, c) if other else None) for c in shown]
        table.add_row(day.day.isoformat(), *counts, stages, assignees)
    console.print(table, highlight=False)


@fails_cleanly
def forecast(
    play_name: PlayArgument = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Days to forecast.")] = 30,
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="The first day (default: today)."),
    ] = None,
    changes: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="plays.PLAY.KEY=VALUE",
            help="Forecast again with this config change too, side by side (repeatable).",
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", metavar="DIR", help="Write the forecast as HTML and CSV."),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """What a play would select, change, create and alert each coming day: one read of
    the org, nothing written, each day decided as if the days before were applied."""
    from revsched.reports.forecast import Day, Snapshot, approximation, forecast, with_changes
    from revsched.reports.forecast_report import forecast_header, forecast_json, write_forecast

    session = Session.open(config, as_json)
    play = play_named(session.settings, play_name)
    first = _start(start, local_today(session.settings))
    changed_settings, changed = with_changes(session.settings, play.name, changes or [])
    play.configure(changed_settings, to_run=True)  # a bad --set stops it before reading
    note = approximation(play, session.settings, first)
    snapshot = Snapshot(session.org)
    planned = [
        Day.of(plan)
        for plan in forecast(play, session.settings, first, days, session.store, snapshot)
    ]
    other = (
        [Day.of(p) for p in forecast(play, changed_settings, first, days, session.store, snapshot)]
        if changed
        else None
    )
    if as_json:
        typer.echo(
            json.dumps(
                forecast_json(play.name, first, planned, other, changed, snapshot.reads, note),
                indent=2,
            )
        )
    if not as_json or report_dir is not None:  # for people: assignees by name
        names = _people(session.org, [*planned, *(other or [])])
        planned, other = _named(planned, names), other and _named(other, names)
    if not as_json:
        session.console.print(
            f"{play.name} forecast, {days} days from {first}, on {session.org_name}"
            " (nothing is written)",
            style="bold",
            highlight=False,
        )
        if note:
            session.console.print(f"Approximated: {note}.", style="yellow", highlight=False)
        print_forecast(session.console, planned, other, changed)
    if report_dir is not None:
        header = forecast_header(play.name, first, days, session.org_name, note)
        paths = write_forecast(
            header,
            planned,
            other,
            changed,
            report_dir,
            session.org.instance_url,
            session.settings.templates.paths,
        )
        for path in paths:
            typer.echo(f"Report written to {path}", err=True)


@fails_cleanly
def dashboard(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Write the site here.")],
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="Days each enabled play is forecast.")
    ] = 30,
    config: ConfigOption = None,
) -> None:
    """A static site (DIR/index.html) from the state store: runs over time and the latest
    run's report per play, each enabled play's forecast, the dedupe review queue."""
    from revsched.play import load_plays
    from revsched.reports.dashboard import Site, build

    session = Session.open(config, False)
    plays = load_plays(session.settings)
    site = Site(session.settings, session.store, session.org, session.org_name, out)
    for path in build(site, plays, local_today(session.settings), days):
        typer.echo(f"Dashboard written to {path}", err=True)
