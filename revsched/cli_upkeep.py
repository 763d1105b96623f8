"""`revsched demo`, `org serve`, `state upgrade` and `state prune`: keeping the local org
and the state store, apart from running plays.

Registered by `revsched.cli` (no string annotations, as there)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from revsched.cli_params import ConfigOption, fails_cleanly, parse_date
from revsched.errors import ConfigError, RevschedError
from revsched.session import Session, local_today


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
    from revsched.config import load_settings
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
        today=parse_date(as_of) or local_today(settings),
    ).close()
    typer.echo(f"Demo org written to {path}")


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
    import tomllib

    from revsched.config import load_settings
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


@fails_cleanly
def state_upgrade(config: ConfigOption = None) -> None:
    """Migrate the state store to the schema this revsched needs (safe to repeat)."""
    from revsched import migrate
    from revsched.config import load_settings
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
