"""The options and arguments the commands share, and the one way an error leaves a
command: a line on stderr and the error's exit code.

Every command's module imports this one, and `revsched --help` imports every command's
module: the config and the plays are loaded when a command uses them, not here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from revsched import logs, row_limits
from revsched.errors import EXIT_USAGE, ConfigError, RevschedError

if TYPE_CHECKING:
    from revsched.config import Settings
    from revsched.play import Play

F = TypeVar("F", bound=Callable[..., Any])


def fails_cleanly(command: F) -> F:
    """Turn revsched's errors, and a path the user gave that cannot be read or written,
    into one line on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RevschedError as error:
            logs.error(str(error))
            raise typer.Exit(error.exit_code) from None
        except OSError as error:
            if error.filename is None:  # not a path (a dropped connection): a real failure
                raise
            logs.error(f"{error.filename}: {error.strerror}")
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper  # type: ignore[return-value]


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $REVSCHED_CONFIG, ./revsched.toml)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def complete_play(incomplete: str) -> list[str]:
    """Shell completion of play names (the configured ones; nothing when config is broken)."""
    from revsched.config import load_settings
    from revsched.play import load_plays

    try:
        names = load_plays(load_settings())
    except RevschedError:
        return []
    return [name for name in names if name.startswith(incomplete)]


def play_named(settings: Settings, name: str | None) -> Play[Any]:
    """The play a command names; none named is a usage error listing them."""
    from revsched.play import get_play, load_plays

    plays = load_plays(settings)
    if name is None:
        raise typer.BadParameter(f"name a play: {', '.join(plays)}", param_hint="PLAY")
    return get_play(plays, name)


PlayArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="PLAY", show_default=False, autocompletion=complete_play, help="The play."
    ),
]


def limit_option(help_text: str) -> Any:
    """--limit N: rows of each table; not given, the command's default."""
    return typer.Option("--limit", min=0, metavar="N", show_default=False, help=help_text)


LimitOption = Annotated[
    int | None,
    limit_option(
        f"Rows of each table after the summary (default: {row_limits.DEFAULT_LIMIT}, fewer"
        f" when the whole would not fit {row_limits.SCREEN_LINES} lines)."
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


# --as-of dates a play can count calendar months and years from without leaving the calendar.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def parse_date(value: str | None) -> date | None:
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
