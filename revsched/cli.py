"""The `revsched` command line: thin commands over the library.

No `from __future__ import annotations` here: typer reads every command's annotations at
each start, and strings it must evaluate first cost each command (`--help` included) 5 ms.
"""

import functools
import json
import shlex
import shutil
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

# Only what `--help` and `plays` need is imported here; each command imports the rest
# (SQLAlchemy, the Salesforce client, the local org server, Slack) when it runs.
from revsched import export, logs, progress, summary
from revsched.cli_params import (
    ConfigOption,
    JsonOption,
    PlayArgument,
    complete_play,
    fails_cleanly,
    play_named,
)
from revsched.config import load_settings, plain_message
from revsched.errors import (
    EXIT_CHECKS_FAILED,
    EXIT_DECLINED,
    EXIT_INTERRUPTED,
    EXIT_RECORDS_FAILED,
    EXIT_USAGE,
    ConfigError,
    ConfirmationError,
    RevschedError,
)
from revsched.logs import logger
from revsched.play import Play, get_play, load_plays
from revsched.session import Session, local_today, make_console

if TYPE_CHECKING:
    from revsched.plan import Plan
    from revsched.runner import PlanHook, RunResult


class RevschedGroup(TyperGroup):
    """A command group: usage mistakes are one line on stderr like every other error
    (exit 2), no command prints the help on stdout (exit 2), and the global options may
    come after the command too.

    Only typer's public API: typer 0.29 vendors click and exports neither UsageError nor
    NoArgsIsHelpError (fastapi/typer discussion #1832), so usage errors are caught as
    typer.TyperException, the base of its click exceptions."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            raise typer.Exit(EXIT_USAGE)
        return super().parse_args(ctx, _globals_first(args))

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as error:
            logs.error(usage_message(error))
            code = error.exit_code
        except typer.Abort:
            print("Aborted: nothing was applied.", file=sys.stderr)
            code = EXIT_RECORDS_FAILED
        if code == EXIT_INTERRUPTED:
            # typer ends a Ctrl-C silently with 130; it may come after writes began, and
            # a run interrupted at any point converges on rerun: say so.
            typer.echo(
                "Interrupted: what was written is in the audit (revsched history);"
                " rerunning the same command is safe and finishes the run.",
                err=True,
            )
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _globals_first(args: list[str]) -> list[str]:
    """`revsched run P --log-format json` as `revsched --log-format json run P`."""
    moved: list[str] = []
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest += [arg, *items]
            break
        if arg == "--log-format":
            moved += [arg, next(items, "")]
        elif str(arg).startswith("--log-format="):
            moved.append(arg)
        else:
            rest.append(arg)
    return moved + rest


def usage_message(error: typer.TyperException) -> str:
    """The error, the value and what is expected, on one line, and where the help is."""
    message = plain_message(error.format_message())
    ctx: typer.Context | None = getattr(error, "ctx", None)
    command = ctx.command_path if ctx else "revsched"
    return f"{message} (`{command} --help` lists the options)"


# Help in the plain style: flags show no `<bool>` placeholder, errors no boxed panel.
CLI_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    cls=RevschedGroup,
    help="Run RevOps plays against Salesforce: dry runs, audit, undo and alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CLI_SETTINGS,
)


def _command_group(name: str, help_text: str) -> typer.Typer:
    """A group of commands under `revsched NAME`, parsed as the top level is."""
    group = typer.Typer(
        cls=RevschedGroup, help=help_text, no_args_is_help=True, rich_markup_mode=None
    )
    app.add_typer(group, name=name)
    return group


org_app = _command_group("org", "The embedded local Salesforce org.")
schedule_app = _command_group("schedule", "The plays' schedules for cron and systemd.")
state_app = _command_group("state", "The state store: schema and retention.")

ShowFormat = Literal["text", "csv", "json"]


def _progress_console(output: Console) -> Console | None:
    """Where bars are drawn: the output console itself when it is a terminal (so text printed
    meanwhile goes above the bar), else stderr when a person watches it, else nowhere."""
    if output.is_terminal:
        return output
    return make_console(stderr=True) if sys.stderr.isatty() else None


def _limit_option(help_text: str) -> Any:
    """--limit N: rows of each table; not given, the command's default."""
    return typer.Option("--limit", min=0, metavar="N", show_default=False, help=help_text)


LimitOption = Annotated[
    int | None,
    _limit_option(
        f"Rows of each table after the summary (default: {summary.DEFAULT_LIMIT}, fewer"
        f" when the whole would not fit {summary.SCREEN_LINES} lines)."
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Every row of every table.")]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="One summary line (and failures) only; alerts still print in full when no"
        " alert channel is configured (printing them is their delivery).",
    ),
]
YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Apply to a Salesforce org without asking for confirmation."),
]
ConfirmOption = Annotated[
    bool,
    typer.Option(
        "--confirm", help="Apply a plan the play holds for confirmation (e.g. over a change cap)."
    ),
]


def _show_version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        typer.echo(f"revsched {version('revsched')}")
        raise typer.Exit()


def _commands(group: TyperGroup, ctx: typer.Context) -> dict[str, Any]:
    """Every command's name (nested under its group's), for the defaults of its options."""
    names = group.list_commands(ctx)
    commands = (group.get_command(ctx, name) for name in names)
    return {
        name: _commands(command, ctx) if isinstance(command, TyperGroup) else {}
        for name, command in zip(names, commands, strict=True)
    }


def _with_config(tree: dict[str, Any], config: Path) -> dict[str, Any]:
    return {
        name: _with_config(sub, config) if sub else {"config": config} for name, sub in tree.items()
    }


@app.callback()
def main(
    ctx: typer.Context,
    log_format: Annotated[
        logs.LogFormat,
        typer.Option(
            "--log-format", help="Logs on stderr: human lines, or JSON lines for log shippers."
        ),
    ] = "human",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file for every command (before or after the command).",
        ),
    ] = None,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print revsched's version and exit.",
        ),
    ] = False,
) -> None:
    """Run RevOps plays against Salesforce: dry runs, audit, undo and alerts."""
    logs.configure(log_format)
    if config is not None:
        # The command's own --config, when given, still wins over this default.
        ctx.default_map = _with_config(_commands(ctx.command, ctx), config)


# --as-of dates a play can count calendar months and years from without leaving the calendar.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD", param_hint="'--as-of'"
        ) from None
    if not EARLIEST <= day <= LATEST:
        raise ConfigError(f"--as-of: {value!r} is outside {EARLIEST} to {LATEST}")
    return day


@dataclass(frozen=True)
class Printing:
    """How much a run-like command prints: JSON, one line, or a summary with `limit` rows."""

    as_json: bool = False
    quiet: bool = False
    # Rows per table after the summary; None prints every row.
    limit: int | None = summary.DEFAULT_LIMIT
    # The default limit: fewer rows when the summary would not fit a screen.
    fit: bool = False

    @classmethod
    def of(cls, as_json: bool, quiet: bool, limit: int | None, show_all: bool) -> "Printing":
        """From the command's options: --all, --limit N, or neither (the default, fitted)."""
        if show_all:
            return cls(as_json, quiet, None)
        if limit is not None:
            return cls(as_json, quiet, limit)
        return cls(as_json, quiet, summary.DEFAULT_LIMIT, fit=True)

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
                from revsched.audit_names import org_names

                names = org_names(session.org, summary.shown_values(plan, self.limit))
                limit = self.limit
                if self.fit:
                    # The header above and the result line below take one line each.
                    room = summary.SCREEN_LINES - 2
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
        if self.as_json:
            typer.echo(json.dumps(report.run_json(result), indent=2))
        elif self.quiet:
            summary.print_result(session.console, result, self.limit, True, printed)
        else:
            if result.dry_run and self.limit is None:
                summary.print_alerts(session.console, result)
            summary.print_result(session.console, result, self.limit, alerts_printed=printed)
        if result.status == "partial":
            raise typer.Exit(EXIT_RECORDS_FAILED)


def _confirmed(session: Session) -> bool:
    """The person's answer; Ctrl-C or end of input at the prompt is a no."""
    with progress.paused():
        try:
            return typer.confirm(f"Apply this plan to {session.org_name}?")
        except typer.Abort:
            return False


def _asks_to_apply(session: Session, yes: bool) -> bool:
    """A person at a terminal applying to a real Salesforce org confirms first (unless --yes)."""
    real = session.settings.org.kind == "salesforce"
    return real and not yes and sys.stdin.isatty() and session.console.is_terminal


@app.command()
@fails_cleanly
def run(
    play_name: PlayArgument = None,
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
    scheduled: Annotated[
        bool,
        typer.Option(
            "--scheduled",
            help="For cron and systemd: claim the play's latest scheduled occurrence first;"
            " exit 0 without running when it was already claimed. Prints one line.",
        ),
    ] = False,
    limit: LimitOption = None,
    show_all: AllOption = False,
    quiet: QuietOption = False,
    yes: YesOption = False,
    confirm: ConfirmOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run a play: read, decide, show the plan, and (unless --dry-run) apply it."""
    from revsched.replay import save_plan

    if out is not None and not dry_run:
        raise RevschedError("--out saves a plan for review: use it with --dry-run")
    if scheduled and (dry_run or as_of):
        raise RevschedError("--scheduled runs the current occurrence: drop --dry-run/--as-of")
    day = _parse_date(as_of)
    session = Session.open(config, as_json)
    play = play_named(session.settings, play_name)
    play.configure(session.settings, to_run=True)  # a config error stops it before logging in
    printing = Printing.of(as_json, quiet or scheduled, limit, show_all)
    with progress.shown(_progress_console(session.console)):
        if scheduled:
            result = session.run_scheduled(play)
            if result is None:
                return
        else:
            mode = "dry run" if dry_run else "run"
            printing.header(
                session, f"{play.name} {mode} as of {day or local_today(session.settings)}"
            )
            ask = not dry_run and _asks_to_apply(session, yes)
            try:
                result = session.run(play, day, dry_run, printing.plan_hook(session, ask), confirm)
            except ConfirmationError as error:
                review = shlex.join(["revsched", "run", play.name, *_config_words(config)])
                raise error.advising(
                    f"Review it with `{review} --dry-run`, then apply it with --confirm"
                ) from None
    if out is not None:
        save_plan(result.plan, out)
    if report_dir is not None:
        for path in session.write_reports(result, report_dir):
            if not printing.quiet:  # --quiet is one line: the files are where it was told
                typer.echo(f"Report written to {path}", err=True)
    printing.result(session, result)
    if out is not None and not as_json:
        command = escape(_apply_command(out, config, result.plan))
        # Not wrapped: the command copies as one line.
        session.console.print(
            f"Plan saved to {escape(str(out))}; apply it with `{command}`.", soft_wrap=True
        )


def _config_words(config: Path | None) -> list[str]:
    """`-c CONFIG` when the command was given a config file: hinted commands use it too."""
    return [] if config is None else ["-c", str(config)]


def _apply_command(plan_file: Path, config: Path | None, plan: "Plan") -> str:
    """The exact command that applies a saved plan: with the run's config, and --confirm
    when the plan needs it."""
    words = ["revsched", "apply", str(plan_file), *_config_words(config)]
    if plan.confirmation:
        words.append("--confirm")
    return shlex.join(words)


@app.command()
@fails_cleanly
def apply(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN_FILE", help="From run --out.")],
    limit: LimitOption = None,
    show_all: AllOption = False,
    quiet: QuietOption = False,
    yes: YesOption = False,
    confirm: ConfirmOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Apply a reviewed plan; records whose values changed since are left alone and listed."""
    from revsched.replay import load_plan
    from revsched.runner import apply_saved_plan

    plan = load_plan(plan_file)
    session = Session.open(config, as_json)
    get_play(load_plays(session.settings), plan.play)
    printing = Printing.of(as_json, quiet, limit, show_all)
    delivery = session.delivery(plan.play)
    with progress.shown(_progress_console(session.console)):
        printing.header(session, f"{plan.play} plan of {plan.as_of} from {plan_file}")
        try:
            result = apply_saved_plan(
                plan,
                store=session.store,
                org=session.org,
                renderer=delivery.renderer,
                notifier=delivery.notifier,
                on_plan=printing.plan_hook(session, _asks_to_apply(session, yes)),
                confirmed=confirm,
                enroller=session.enroller,
            )
        except ConfirmationError as error:
            command = _apply_command(plan_file, config, plan)
            raise error.advising(f"Review it, then apply it with `{command}`") from None
    printing.result(session, result)


def _print_irreversible(console: Console, run: Any) -> None:
    """What of a run a revert leaves as it is: Salesforce cannot undo merges or conversions."""
    merged = sum(m.status == "merged" for m in run.merges)
    converted = sum(c.status == "converted" for c in run.conversions)
    if merged:
        console.print(
            f"[yellow]Run {run.id} merged {summary.plural(merged, 'record')}: "
            "a merge cannot be undone[/] (Salesforce deleted the merged records; "
            f"`revsched show {run.id}` lists the values they held).",
            highlight=False,
        )
    if converted:
        console.print(
            f"[yellow]Run {run.id} converted {summary.plural(converted, 'lead')}: "
            "a conversion cannot be undone[/] (the leads are contacts now; "
            f"`revsched show {run.id}` lists them).",
            highlight=False,
        )


@app.command()
@fails_cleanly
def revert(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the revert would write; write nothing.")
    ] = False,
    limit: LimitOption = None,
    show_all: AllOption = False,
    quiet: QuietOption = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Undo a run: restore the old values it replaced, where nobody has changed them since,
    and delete the records it created. Merges cannot be undone."""
    from revsched.alerts import TerminalNotifier
    from revsched.runner import revert_run

    session = Session.open(config, as_json)
    # A revert writes old values back and alerts nobody.
    notifier = TerminalNotifier(session.alert_console)
    printing = Printing.of(as_json, quiet, limit, show_all)
    reverted = session.store.run(run_id)
    with progress.shown(_progress_console(session.console)):
        mode = "dry run of the revert" if dry_run else "revert"
        printing.header(session, f"{mode} of run {run_id}")
        if reverted is not None and not as_json:  # --quiet too: like failures, it stays
            _print_irreversible(session.console, reverted)
        result = revert_run(
            run_id,
            store=session.store,
            org=session.org,
            notifier=notifier,
            dry_run=dry_run,
            on_plan=printing.plan_hook(session, not dry_run and _asks_to_apply(session, yes)),
        )
    printing.result(session, result)


@app.command()
@fails_cleanly
def render(
    play_name: PlayArgument = None,
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
    from revsched import report
    from revsched.notify import markup_for, previews, renderer_for
    from revsched.runner import plan_play

    session = Session.open(config, as_json)
    play = play_named(session.settings, play_name)
    day = _parse_date(as_of) or local_today(session.settings)
    plan = plan_play(play, session.settings, day, session.store, session.org)
    alerts = [a for a in plan.alerts if record is None or a.record_id == record]
    if record is not None and not alerts:
        raise RevschedError(
            f"{play.name} has no alert for record {record} on {day}; "
            f"`revsched run {play.name} --dry-run` says why each record was selected or skipped"
        )
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


def _fire(session: Session, plays: dict[str, Play[Any]], name: str) -> None:
    """One scheduler fire: claim the occurrence and run, as `run --scheduled` does; never raise."""
    try:
        result = session.run_scheduled(plays[name])
    except RevschedError as error:
        logger.error("%s: %s", name, error)
    except Exception:
        logger.exception("%s: the run failed unexpectedly", name)
    else:
        if result is not None:
            logger.info("%s: run %d %s %s", name, result.run_id, result.status, result.counts)


@app.command()
@fails_cleanly
def scheduler(config: ConfigOption = None) -> None:
    """Run every enabled play on its schedule until SIGTERM (one per server, or several)."""
    from revsched.scheduler import build_scheduler, run_until_stopped

    settings = load_settings(config)
    plays = load_plays(settings)
    session = Session.of(settings, as_json=False)
    jobs = build_scheduler(settings, plays, functools.partial(_fire, session, plays))
    now = datetime.now(settings.zone)
    for job in jobs.get_jobs():
        upcoming = job.trigger.get_next_fire_time(None, now)
        logger.info("%s: next at %s", job.name, f"{upcoming:%Y-%m-%d %H:%M %Z}")
    if not jobs.get_jobs():
        logger.warning("no enabled plays: nothing to schedule")
    run_until_stopped(jobs)


@app.command()
@fails_cleanly
def doctor(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Check config, state store, login, and every field, value, user and pool the plays use."""
    from revsched.doctor import checklist

    checks = list(checklist(config))
    failed = sum(not check.ok for check in checks)
    if as_json:
        listed = [
            {"name": c.name, "ok": c.ok, "warning": c.warning, "detail": c.detail} for c in checks
        ]
        typer.echo(json.dumps({"checks": listed, "failed": failed}, indent=2))
    else:
        console = make_console()
        for check in checks:
            mark = "[green] ok [/]" if check.ok else "[red]FAIL[/]"
            if check.ok and check.warning:
                mark = "[yellow]warn[/]"
            # One line a check, however narrow the terminal: lines are found by grep.
            line = f"{mark} {escape(check.name)}: {escape(check.detail)}"
            console.print(line, highlight=False, soft_wrap=True)
        console.print(f"{len(checks) - failed} ok, {failed} failed")
    if failed:
        raise typer.Exit(EXIT_CHECKS_FAILED)


@app.command()
@fails_cleanly
def plays(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List the plays with their schedules (time and time zone), next run and purpose."""
    from revsched import report

    settings = load_settings(config)
    now = datetime.now(settings.zone)
    listed = []
    for play in load_plays(settings).values():
        enabled, schedule = play.enabled_schedule(settings)
        upcoming = schedule.next_fire(now, settings.zone)
        listed.append(
            {
                "name": play.name,
                "enabled": enabled,
                "schedule": schedule.text,
                "cron": schedule.cron,
                "time_zone": settings.time_zone,
                "next_run": upcoming.isoformat() if upcoming else None,
                "summary": play.summary,
            }
        )
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
    else:
        report.print_plays(make_console(), listed)


@app.command()
@fails_cleanly
def history(
    play: Annotated[
        str | None,
        typer.Option(metavar="PLAY", autocompletion=complete_play, help="Only runs of this play."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List recent runs, newest first."""
    from revsched import report

    session = Session.open(config, as_json)
    if play is not None:
        get_play(load_plays(session.settings), play)
    runs = session.store.runs(play, limit)
    if as_json:
        typer.echo(json.dumps(report.history_json(runs), indent=2))
    else:
        report.print_history(make_console(), runs)


@app.command()
@fails_cleanly
def show(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    output_format: Annotated[
        ShowFormat,
        typer.Option(
            "--format", help="text for people; csv (every audited row) or json for files."
        ),
    ] = "text",
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
    limit: Annotated[
        int | None,
        _limit_option(
            f"text: rows of each table (default: {summary.SHOW_LIMIT}); csv and json hold"
            " every row."
        ),
    ] = None,
    show_all: AllOption = False,
    config: ConfigOption = None,
) -> None:
    """Show one run: its field changes (old -> new, status), records created, merges,
    conversions and alerts; text shows the first rows of each, csv and json every row."""
    from revsched import report

    found = Session.open(config, as_json).store.run(run_id)
    if found is None:
        raise RevschedError(f"no run {run_id}; `revsched history` lists the runs")
    if as_json or output_format == "json":
        typer.echo(json.dumps(report.show_json(found), indent=2))
    elif output_format == "csv":
        typer.echo(report.show_csv(found), nl=False)
    else:
        shown = None if show_all else summary.SHOW_LIMIT if limit is None else limit
        report.print_show(make_console(), found, shown)


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
    from revsched.localorg.demo import build_demo_org

    settings = load_settings(config)
    path = settings.org.local_path()
    if path.exists() and not force:
        raise RevschedError(f"{path} exists; pass --force to replace it")
    path.unlink(missing_ok=True)
    build_demo_org(
        path,
        accounts=accounts or settings.org.demo_accounts,
        seed=settings.org.demo_seed if seed is None else seed,
        today=_parse_date(as_of) or local_today(settings),
    ).close()
    typer.echo(f"Demo org written to {path}")


@org_app.command("serve")
@fails_cleanly
def org_serve(
    db: Annotated[Path | None, typer.Option(help="The local org's SQLite file.")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (1-65535).")] = 8765,
    faults: Annotated[
        Path | None,
        typer.Option(help="A fault profile (TOML/JSON): errors, drops, latency on demand."),
    ] = None,
    daily_api_limit: Annotated[
        int, typer.Option(min=1, help="The org's daily API allowance.")
    ] = 100_000,
    fiscal_year_start: Annotated[
        int,
        typer.Option(min=1, max=12, help="The fiscal year's first month (FISCAL_* in SOQL)."),
    ] = 1,
    fiscal_year_named_by_start: Annotated[
        bool,
        typer.Option(help="Name a fiscal year after the calendar year it starts in."),
    ] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log a line per request on stderr.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve a local org over HTTP on 127.0.0.1 for other processes and tools."""
    from revsched.localorg import FiscalYear, load_faults, serve

    if not 1 <= port <= 65535:
        raise ConfigError(f"--port: {port} is not a port; use 1-65535")
    path = db or load_settings(config).org.local_path()
    try:
        profile = load_faults(faults)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"--faults: {error}") from None
    _check_serve_target(path, port)
    typer.echo(f"Serving {path} at http://127.0.0.1:{port}", err=True)
    serve(
        path,
        port=port,
        faults=profile,
        daily_api_limit=daily_api_limit,
        fiscal_year=FiscalYear(fiscal_year_start, fiscal_year_named_by_start),
        access_log=access_log,
    )


def _check_serve_target(path: Path, port: int) -> None:
    """Refuse, before serving, a port in use and a --db that cannot hold an org. A missing
    file is a new, empty org and its missing folders are made (private), as for the state
    store and the demo org."""
    import socket
    import sqlite3

    from revsched.localorg import LocalOrg

    if path.is_dir():
        raise ConfigError(f"--db: {path} is a folder; give the org's SQLite file in it")
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            listener.bind(("127.0.0.1", port))
        except OSError as error:
            raise ConfigError(f"--port: cannot listen on {port}: {error.strerror}") from None
    try:
        LocalOrg(path).close()
    except OSError as error:
        raise ConfigError(f"--db: cannot create {path}: {error.strerror}") from None
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"--db: {path} is not a local org ({error})") from None


@state_app.command("upgrade")
@fails_cleanly
def state_upgrade(config: ConfigOption = None) -> None:
    """Migrate the state store to the schema this revsched needs (safe to repeat)."""
    from revsched import migrate
    from revsched.state import open_engine

    engine = open_engine(load_settings(config).state.database_url())
    before, after = migrate.upgrade(engine)
    if before == after:
        typer.echo(f"State store already at schema level {after}.")
    else:
        typer.echo(f"State store upgraded from schema level {before or 'empty'} to {after}.")


# The longest age `state prune` takes: a century, well inside what dates can count back.
MAX_AGE_DAYS = 36_500


def _age(value: str) -> timedelta:
    unit = {"d": 1, "w": 7}.get(value[-1:])
    if unit is None or not value[:-1].isdigit() or int(value[:-1]) < 1:
        raise typer.BadParameter(
            f"{value!r} is not an age; use days or weeks, e.g. 90d or 12w",
            param_hint="'--older-than'",
        )
    days = int(value[:-1]) * unit
    if days > MAX_AGE_DAYS:
        raise ConfigError(
            f"--older-than: {value!r} is longer than {MAX_AGE_DAYS}d; nothing is that old"
        )
    return timedelta(days=days)


@state_app.command("prune")
@fails_cleanly
def state_prune(
    older_than: Annotated[
        str, typer.Option("--older-than", metavar="AGE", help="90d, 12w: keep what is younger.")
    ],
    config: ConfigOption = None,
) -> None:
    """Delete run audit detail and occurrence claims older than AGE (fired stages are kept)."""
    cutoff = datetime.now(UTC) - _age(older_than)
    counts = Session.open(config, as_json=False).store.prune(cutoff)
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    typer.echo(f"Pruned before {cutoff:%Y-%m-%d %H:%M} UTC: {summary}.")


def _this_revsched() -> str:
    """This installation's revsched, by absolute path: cron and systemd have a short PATH."""
    beside = Path(sys.executable).parent / "revsched"
    return str(beside) if beside.exists() else shutil.which("revsched") or "revsched"


@schedule_app.command("export")
@fails_cleanly
def schedule_export(
    export_format: Annotated[
        export.ExportFormat, typer.Option("--format", help="Crontab lines or systemd units.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="PATH",
            help="cron: write the crontab lines to this file; systemd: the unit files to this"
            " directory.",
        ),
    ] = None,
    executable: Annotated[
        str | None,
        typer.Option(help="The revsched to run (default: this one, by absolute path)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print crontab lines, or systemd .service + .timer units, for every enabled play."""
    settings = load_settings(config)
    plays = load_plays(settings)
    command = executable or _this_revsched()
    if export_format == "cron":
        lines = export.crontab(settings, plays, command)
        if out is None:
            typer.echo(lines, nl=False)
        else:
            out.write_text(lines, encoding="utf-8")
            typer.echo(f"wrote {out}")
        return
    units = export.systemd_units(settings, plays, command)
    for name, text in units.items():
        if out is None:
            typer.echo(f"# --- {name} ---\n{text}")
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text, encoding="utf-8")
            typer.echo(f"wrote {out / name}")


def _register_report_commands() -> None:
    """`revsched forecast` and `revsched dashboard` live in revsched.reports.commands."""
    from revsched.reports import commands

    app.command()(commands.forecast)
    app.command()(commands.dashboard)


_register_report_commands()
