"""How the command line parses: a usage mistake is one line on stderr, never the help on
stdout, and the global options may come after the command. Apart from the commands, so
`cli.py` reads as the list of what revsched does."""

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from revsched import logs
from revsched.errors import EXIT_INTERRUPTED, EXIT_RECORDS_FAILED, EXIT_USAGE, plain_message


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
