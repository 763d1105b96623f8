"""`revsched history` and `revsched show`: reading past runs from the audit.

Registered by `revsched.cli` (no string annotations, as there)."""

import json
from typing import Annotated, Literal

import typer

from revsched import row_limits
from revsched.cli_params import (
    AllOption,
    ConfigOption,
    JsonOption,
    complete_play,
    fails_cleanly,
    limit_option,
)
from revsched.errors import RevschedError
from revsched.session import Session, make_console

ShowFormat = Literal["text", "csv", "json"]


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
    from revsched import report, report_text
    from revsched.play import get_play, load_plays

    session = Session.open(config, as_json)
    if play is not None:
        get_play(load_plays(session.settings), play)
    runs = session.store.runs(play, limit)
    if as_json:
        typer.echo(json.dumps(report.history_json(runs), indent=2))
    else:
        report_text.print_history(make_console(), runs)


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
        limit_option(
            f"text: rows of each table (default: {row_limits.SHOW_LIMIT}); csv and json hold"
            " every row."
        ),
    ] = None,
    show_all: AllOption = False,
    config: ConfigOption = None,
) -> None:
    """Show one run: its field changes (old -> new, status), records created, merges,
    conversions and alerts; text shows the first rows of each, csv and json every row."""
    from revsched import report, report_text

    found = Session.open(config, as_json).store.run(run_id)
    if found is None:
        raise RevschedError(f"no run {run_id}; `revsched history` lists the runs")
    if as_json or output_format == "json":
        typer.echo(json.dumps(report.show_json(found), indent=2))
    elif output_format == "csv":
        typer.echo(report.show_csv(found), nl=False)
    else:
        shown = None if show_all else row_limits.SHOW_LIMIT if limit is None else limit
        report_text.print_show(make_console(), found, shown)
