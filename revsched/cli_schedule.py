"""`revsched scheduler` and `revsched schedule export`: running the plays on their
schedules, in-process or from cron and systemd.

Registered by `revsched.cli` (no string annotations, as there)."""

import functools
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from revsched import export
from revsched.cli_params import ConfigOption, fails_cleanly
from revsched.errors import RevschedError
from revsched.logs import logger
from revsched.session import Session

if TYPE_CHECKING:
    from revsched.play import Play


def _fire(session: Session, plays: "dict[str, Play[Any]]", name: str) -> None:
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


@fails_cleanly
def scheduler(config: ConfigOption = None) -> None:
    """Run every enabled play on its schedule until SIGTERM (one per server, or several)."""
    from revsched.config import load_settings
    from revsched.play import load_plays
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


def _this_revsched() -> str:
    """This installation's revsched, by absolute path: cron and systemd have a short PATH."""
    beside = Path(sys.executable).parent / "revsched"
    return str(beside) if beside.exists() else shutil.which("revsched") or "revsched"


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
    from revsched.config import load_settings
    from revsched.play import load_plays

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
