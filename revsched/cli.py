"""The `revsched` command line: thin commands over the library.

This module is the entry point's typer app, its global options, and the commands that
write to an org (run, apply, revert); the other command families live in the `cli_*`
modules beside it and are registered here, in the order `--help` lists them.

No `from __future__ import annotations` here: typer reads every command's annotations at
each start, and strings it must evaluate first cost each command (`--help` included) 5 ms.
"""

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

# Only what `--help` needs is imported here: typer and the commands' modules. Each command
# imports the rest (the config and its pydantic models, rich, SQLAlchemy, the Salesforce
# client, the local org server, Slack) when it runs.
from revsched import cli_checks, cli_history, cli_schedule, cli_upkeep, logs, progress
from revsched.cli_group import RevschedGroup
from revsched.cli_params import (
    AllOption,
    ConfigOption,
    ConfirmOption,
    JsonOption,
    LimitOption,
    PlayArgument,
    QuietOption,
    YesOption,
    fails_cleanly,
    parse_date,
    play_named,
)
from revsched.errors import ConfirmationError, RevschedError
from revsched.session import Session, local_today

if TYPE_CHECKING:
    from rich.console import Console

    from revsched.plan import Plan

# pydantic looks for its plugins (entry points of every installed distribution) when it
# builds its first validator; revsched uses none. Its documented switch turns the search
# off unless set already (set it empty to have pydantic load installed plugins).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

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
    from rich.markup import escape

    from revsched.cli_output import Printing, progress_console
    from revsched.replay import save_plan

    if out is not None and not dry_run:
        raise RevschedError("--out saves a plan for review: use it with --dry-run")
    if scheduled and (dry_run or as_of):
        raise RevschedError("--scheduled runs the current occurrence: drop --dry-run/--as-of")
    day = parse_date(as_of)
    session = Session.open(config, as_json)
    play = play_named(session.settings, play_name)
    play.configure(session.settings, to_run=True)  # a config error stops it before logging in
    printing = Printing.of(as_json, quiet or scheduled, limit, show_all)
    with progress.shown(progress_console(session.console)):
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
    if out is not None or report_dir is not None or as_json:
        result = result.whole(session.store)  # every row, also of a plan saved as decided
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
    from revsched.cli_output import Printing, progress_console
    from revsched.play import get_play, load_plays
    from revsched.replay import load_plan
    from revsched.runner import apply_saved_plan

    plan = load_plan(plan_file)
    session = Session.open(config, as_json)
    get_play(load_plays(session.settings), plan.play)
    printing = Printing.of(as_json, quiet, limit, show_all)
    delivery = session.delivery(plan.play)
    with progress.shown(progress_console(session.console)):
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


def _print_irreversible(console: "Console", run: Any) -> None:
    """What of a run a revert leaves as it is: Salesforce cannot undo merges or conversions."""
    from revsched import summary

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
    from revsched.cli_output import Printing, progress_console
    from revsched.runner import revert_run

    session = Session.open(config, as_json)
    # A revert writes old values back and alerts nobody.
    notifier = TerminalNotifier(session.alert_console)
    printing = Printing.of(as_json, quiet, limit, show_all)
    reverted = session.store.run(run_id)
    with progress.shown(progress_console(session.console)):
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


def _register_commands() -> None:
    """The other command families, in the order `--help` lists them."""
    from revsched.reports import commands

    for command in (
        cli_checks.render,
        cli_schedule.scheduler,
        cli_checks.doctor,
        cli_checks.plays,
        cli_history.history,
        cli_history.show,
        cli_upkeep.demo,
        commands.forecast,
        commands.dashboard,
    ):
        app.command()(command)
    org_app.command("serve")(cli_upkeep.org_serve)
    state_app.command("upgrade")(cli_upkeep.state_upgrade)
    state_app.command("prune")(cli_upkeep.state_prune)
    schedule_app.command("export")(cli_schedule.schedule_export)


_register_commands()
