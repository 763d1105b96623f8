"""`revsched scheduler`: one in-memory APScheduler job per enabled play.

Each process builds its own scheduler from config (APScheduler 3 cannot share
a job store between processes); several servers may run one each, because
every fire claims its occurrence in the state store before it runs. A server
that was down catches up on start: a play whose latest occurrence is within
the misfire grace runs once (the claim stops it if it already ran).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler

from revsched.config import Settings
from revsched.cron_trigger import ScheduleTrigger
from revsched.logs import logger
from revsched.play import Play


def job_id(play: str) -> str:
    return f"play:{play}"


def catch_up_due(play: Play[Any], settings: Settings, now: datetime) -> bool:
    """Whether the play's latest occurrence is recent enough to run now, on start."""
    schedule = play.configure(settings).schedule
    latest = schedule.latest(now, settings.zone)
    return now - latest <= timedelta(seconds=settings.scheduler.misfire_grace_seconds)


def build_scheduler(
    settings: Settings,
    plays: Mapping[str, Play[Any]],
    fire: Callable[[str], None],
    now: datetime | None = None,
) -> BlockingScheduler:
    """A scheduler with one job per enabled play, its id `play:<name>`, in the config's zone."""
    now = now or datetime.now(UTC)
    scheduler = BlockingScheduler(
        timezone=settings.zone,
        job_defaults={
            # A fire delayed (process paused, busy executor) by up to this still runs, once.
            "misfire_grace_time": settings.scheduler.misfire_grace_seconds,
            "coalesce": True,
            "max_instances": 1,
        },
    )
    for name, play in plays.items():
        config = play.configure(settings)
        if not config.enabled:
            continue
        extra = {"next_run_time": now} if catch_up_due(play, settings, now) else {}
        scheduler.add_job(
            fire,
            ScheduleTrigger(config.schedule, settings.zone),
            args=[name],
            id=job_id(name),
            name=f"{name} ({config.schedule})",
            **extra,
        )
    return scheduler


def run_until_stopped(scheduler: BlockingScheduler) -> None:
    """Run until SIGTERM or SIGINT, then let a play that is running finish, and return."""

    stopping = threading.Thread(target=scheduler.shutdown, name="shutdown")

    def stop(signum: int, frame: FrameType | None) -> None:
        logger.info(
            "%s: stopping; a play that is running finishes first", signal.Signals(signum).name
        )
        # Off the signal handler: shutdown(wait=True) blocks until running jobs are done.
        if not stopping.is_alive():
            stopping.start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    scheduler.start()
    if stopping.ident is not None:
        stopping.join()
    logger.info("scheduler stopped")
