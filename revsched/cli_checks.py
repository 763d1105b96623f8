"""`revsched doctor`, `plays` and `render`: look before running (check the setup, list the
plays, preview a play's messages); they write nothing to the org.

Registered by `revsched.cli` (no string annotations, as there)."""

import json
from typing import Annotated

import typer

from revsched.cli_params import (
    ConfigOption,
    JsonOption,
    PlayArgument,
    fails_cleanly,
    parse_date,
    play_named,
)
from revsched.errors import EXIT_CHECKS_FAILED, RevschedError
from revsched.session import Session, local_today, make_console


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
    from revsched import report_text
    from revsched.notify import markup_for, previews, renderer_for
    from revsched.runner import plan_play

    session = Session.open(config, as_json)
    play = play_named(session.settings, play_name)
    day = parse_date(as_of) or local_today(session.settings)
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
        report_text.print_previews(session.console, messages)


@fails_cleanly
def doctor(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Check config, state store, login, and every field, value, user and pool the plays use."""
    from rich.markup import escape

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


@fails_cleanly
def plays(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List the plays with their schedules (time and time zone), next run and purpose."""
    from revsched.plays_listing import listed_plays
    from revsched.plays_text import print_plays

    listed = listed_plays(config)
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
    else:
        print_plays(listed)
