"""The `revsched` command line: thin commands over the library."""

from __future__ import annotations

import functools
import json
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from revsched import report
from revsched.alerts import TerminalNotifier
from revsched.config import Settings, load_settings
from revsched.errors import EXIT_RECORDS_FAILED, EXIT_USAGE, ConfigError, RevschedError
from revsched.localorg import serve
from revsched.localorg.demo import build_demo_org
from revsched.localorg.faults import load_faults
from revsched.notify import AlertDelivery, alert_delivery, markup_for, previews, renderer_for
from revsched.org import OrgGateway, connect_org
from revsched.play import get_play, load_plays
from revsched.replay import load_plan, save_plan
from revsched.report_files import write_reports
from revsched.runner import RunResult, apply_saved_plan, plan_play, revert_run, run_play
from revsched.state import StateStore

app = typer.Typer(
    help="Run RevOps plays against Salesforce: dry runs, audit, undo and alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
org_app = typer.Typer(help="The embedded local Salesforce org.", no_args_is_help=True)
app.add_typer(org_app, name="org")

F = TypeVar("F", bound=Callable[..., Any])


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Cron logs and pipes get wide lines rather than tables wrapped at 80 columns.
    return Console(stderr=stderr, width=None if stream.isatty() else 200)


def fails_cleanly(command: F) -> F:
    """Turn revsched's errors into one line on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RevschedError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None

    return wrapper  # type: ignore[return-value]


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $REVSCHED_CONFIG, ./revsched.toml)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


@dataclass(frozen=True)
class Session:
    """What every run-like command opens: settings, org, state, and where alerts go."""

    settings: Settings
    org: OrgGateway
    store: StateStore
    console: Console
    # With --json, stdout carries only the JSON document: alerts printed go to stderr.
    alert_console: Console

    @classmethod
    def open(cls, config: Path | None, as_json: bool) -> Session:
        settings = load_settings(config)
        org = connect_org(settings, _today(settings))
        console = _console()
        return cls(
            settings=settings,
            org=org,
            store=StateStore(settings.state.database_url()),
            console=console,
            alert_console=_console(stderr=True) if as_json else console,
        )

    def delivery(self, play: str, dry_run: bool = False) -> AlertDelivery:
        """The play's renderer and notifier; a dry run sends nothing, so needs no secret."""
        if dry_run:
            renderer = renderer_for(self.settings, play, self.org.instance_url)
            return AlertDelivery(renderer, TerminalNotifier(self.alert_console))
        return alert_delivery(
            self.settings, play, self.store, self.org.instance_url, self.alert_console
        )

    def report(self, result: RunResult, as_json: bool) -> None:
        if as_json:
            typer.echo(json.dumps(report.run_json(result), indent=2))
        else:
            report.print_plan(self.console, result.plan)
            report.print_run(self.console, result)
        if result.status == "partial":
            raise typer.Exit(EXIT_RECORDS_FAILED)


@app.command()
@fails_cleanly
def run(
    play_name: Annotated[str, typer.Argument(metavar="PLAY", help="The play to run.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only: write nothing, send nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Run as if today were this date."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="With --dry-run: save the plan for `revsched apply`."
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir", metavar="DIR", help="Write the play's reports here as CSV and HTML."
        ),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run a play: read, decide, show the plan, and (unless --dry-run) apply it."""
    if out is not None and not dry_run:
        raise typer.BadParameter("--out saves a plan for review: use it with --dry-run")
    session = Session.open(config, as_json)
    play = get_play(load_plays(session.settings), play_name)
    delivery = session.delivery(play.name, dry_run)
    result = run_play(
        play,
        session.settings,
        as_of=_parse_date(as_of) or _today(session.settings),
        dry_run=dry_run,
        store=session.store,
        org=session.org,
        renderer=delivery.renderer,
        notifier=delivery.notifier,
    )
    if out is not None:
        save_plan(result.plan, out)
    if report_dir is not None:
        for path in write_reports(result.plan, report_dir):
            typer.echo(f"Report written to {path}", err=True)
    session.report(result, as_json)
    if out is not None and not as_json:
        session.console.print(f"Plan saved to {out}; apply it with `revsched apply {out}`.")


@app.command()
@fails_cleanly
def apply(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN_FILE", help="From run --out.")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Apply a reviewed plan; records whose values changed since are left alone and listed."""
    plan = load_plan(plan_file)
    session = Session.open(config, as_json)
    get_play(load_plays(session.settings), plan.play)
    delivery = session.delivery(plan.play)
    result = apply_saved_plan(
        plan,
        store=session.store,
        org=session.org,
        renderer=delivery.renderer,
        notifier=delivery.notifier,
    )
    session.report(result, as_json)


@app.command()
@fails_cleanly
def revert(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Undo a run: restore the old values it replaced, where nobody has changed them since."""
    session = Session.open(config, as_json)
    # A revert writes old values back and alerts nobody.
    notifier = TerminalNotifier(session.alert_console)
    result = revert_run(run_id, store=session.store, org=session.org, notifier=notifier)
    session.report(result, as_json)


@app.command()
@fails_cleanly
def render(
    play_name: Annotated[str, typer.Argument(metavar="PLAY", help="The play to preview.")],
    record: Annotated[
        str | None, typer.Option("--record", metavar="ID", help="Only this record's alerts.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Render as if today were this date."),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Preview the messages a play would send now (text, Slack Block Kit); sends nothing."""
    session = Session.open(config, as_json)
    play = get_play(load_plays(session.settings), play_name)
    day = _parse_date(as_of) or _today(session.settings)
    plan = plan_play(play, session.settings, day, session.store, session.org)
    alerts = [a for a in plan.alerts if record is None or a.record_id == record]
    if record is not None and not alerts:
        typer.echo(
            f"error: {play.name} has no alert for record {record} on {day}; "
            f"`revsched run {play.name} --dry-run` says why each record was selected or skipped",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    markup = markup_for(session.settings, play.name)
    renderer = renderer_for(session.settings, play.name, session.org.instance_url, markup)
    messages = previews(
        [renderer.render(alert) for alert in alerts],
        markup,
        session.settings.alerts.for_play(play.name).digest,
        play.name,
    )
    if as_json:
        typer.echo(json.dumps(messages, indent=2))
    else:
        report.print_previews(session.console, messages)


@app.command()
@fails_cleanly
def plays(config: ConfigOption = None) -> None:
    """List the plays with their schedules and purpose."""
    settings = load_settings(config)
    console = _console()
    for play in load_plays(settings).values():
        play_config = play.configure(settings)
        state = "" if play_config.enabled else " (disabled)"
        console.print(f"[bold]{play.name}[/]  {play_config.schedule}{state}  {play.summary}")


@app.command()
@fails_cleanly
def history(
    play: Annotated[str | None, typer.Option(help="Only runs of this play.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List recent runs, newest first."""
    settings = load_settings(config)
    runs = StateStore(settings.state.database_url()).runs(play, limit)
    if as_json:
        typer.echo(json.dumps(report.history_json(runs), indent=2))
    else:
        report.print_history(_console(), runs)


@app.command()
@fails_cleanly
def show(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show one run: every field change (old -> new, status) and every alert."""
    settings = load_settings(config)
    found = StateStore(settings.state.database_url()).run(run_id)
    if found is None:
        typer.echo(f"error: no run {run_id}; `revsched history` lists the runs", err=True)
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        typer.echo(json.dumps(report.show_json(found), indent=2))
    else:
        report.print_show(_console(), found)


@app.command()
@fails_cleanly
def demo(
    accounts: Annotated[int | None, typer.Option(min=1, help="Accounts to generate.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same org).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="YYYY-MM-DD", help="The demo org's today.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing demo org.")] = False,
    config: ConfigOption = None,
) -> None:
    """Build the embedded demo org (the default org when none is configured)."""
    settings = load_settings(config)
    path = settings.org.local_path()
    if path.exists() and not force:
        typer.echo(f"error: {path} exists; pass --force to replace it", err=True)
        raise typer.Exit(EXIT_USAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    build_demo_org(
        path,
        accounts=accounts or settings.org.demo_accounts,
        seed=settings.org.demo_seed if seed is None else seed,
        today=_parse_date(as_of) or _today(settings),
    ).close()
    typer.echo(f"Demo org written to {path}")


@org_app.command("serve")
@fails_cleanly
def org_serve(
    db: Annotated[Path | None, typer.Option(help="The local org's SQLite file.")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    faults: Annotated[
        Path | None,
        typer.Option(help="A fault profile (TOML/JSON): errors, drops, latency on demand."),
    ] = None,
    daily_api_limit: Annotated[
        int, typer.Option(min=1, help="The org's daily API allowance.")
    ] = 100_000,
    config: ConfigOption = None,
) -> None:
    """Serve a local org over HTTP on 127.0.0.1 for other processes and tools."""
    path = db or load_settings(config).org.local_path()
    try:
        profile = load_faults(faults)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"--faults: {error}") from None
    typer.echo(f"Serving {path} at http://127.0.0.1:{port}", err=True)
    serve(path, port=port, faults=profile, daily_api_limit=daily_api_limit)
