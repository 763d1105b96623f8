"""`revsched schedule export`: the enabled plays' schedules as crontab lines or systemd units.

Each entry runs `revsched run PLAY --scheduled`, which claims the occurrence in
the state store first, so cron on two servers, or cron beside a scheduler,
still runs each occurrence once.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from revsched.schedule import expand_weekdays

if TYPE_CHECKING:
    from revsched.config import Settings
    from revsched.play import Play
    from revsched.schedule import Schedule

ExportFormat = Literal["cron", "systemd"]
SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
# The lowest value of each cron field, where systemd's "start/step" begins for "*/step".
_FIELD_START = {"minute": 0, "hour": 0, "day": 1, "month": 1}


def enabled_schedules(settings: Settings, plays: Mapping[str, Play[Any]]) -> dict[str, Schedule]:
    """Each enabled play's schedule, by play name."""
    shown = {name: play.enabled_schedule(settings) for name, play in plays.items()}
    return {name: schedule for name, (enabled, schedule) in shown.items() if enabled}


def run_command(executable: str, play: str, config: Path | None) -> str:
    args = [executable, "--log-format", "json", "run", play, "--scheduled"]
    if config is not None:
        args += ["--config", str(config.resolve())]
    return shlex.join(args)


def crontab(settings: Settings, plays: Mapping[str, Play[Any]], executable: str) -> str:
    """A crontab fragment: CRON_TZ (cronie; elsewhere run cron in this zone) and one line a play."""
    lines = [
        "# revsched plays (from `revsched schedule export --format cron`).",
        f"# Times are in {settings.time_zone}: CRON_TZ is honoured by cronie; with other crons,",
        "# set the host's time zone to it. Logs are JSON lines on stderr.",
        f"CRON_TZ={settings.time_zone}",
    ]
    for name, schedule in enabled_schedules(settings, plays).items():
        command = run_command(executable, name, settings.source)
        lines.append(f"{schedule.cron} {command}  # {name}: {schedule}")
    return "\n".join(lines) + "\n"


def on_calendar(schedule: Schedule, zone: str) -> str:
    """A cron schedule as a systemd OnCalendar= expression in the given time zone."""
    minute, hour, day, month = (
        _systemd_field(value, _FIELD_START[name])
        for name, value in (
            ("minute", schedule.minute),
            ("hour", schedule.hour),
            ("day", schedule.day),
            ("month", schedule.month),
        )
    )
    days = (
        ""
        if schedule.day_of_week == "*"
        else ",".join(SYSTEMD_DAYS[d] for d in expand_weekdays(schedule.day_of_week)) + " "
    )
    return f"{days}*-{month}-{day} {hour}:{minute}:00 {zone}"


def _systemd_field(value: str, start: int) -> str:
    """One cron field in systemd's syntax: a-b is a..b, */n is start/n, numbers two digits."""
    if value == "*":
        return "*"
    parts = []
    for part in value.split(","):
        base, _, step = part.partition("/")
        base = str(start) if base == "*" else base
        bounds = "..".join(f"{int(b):02d}" for b in base.split("-"))
        parts.append(f"{bounds}/{step}" if step else bounds)
    return ",".join(parts)


def systemd_units(
    settings: Settings, plays: Mapping[str, Play[Any]], executable: str
) -> dict[str, str]:
    """A oneshot .service and a Persistent .timer per enabled play, by file name."""
    units: dict[str, str] = {}
    for name, schedule in enabled_schedules(settings, plays).items():
        unit = f"revsched-{name}"
        units[f"{unit}.service"] = (
            "[Unit]\n"
            f"Description=revsched play {name}\n"
            "Wants=network-online.target\n"
            "After=network-online.target\n"
            "\n"
            "[Service]\n"
            "Type=oneshot\n"
            "User=revsched\n"
            "# Secrets (SALESFORCE_*), one NAME=value a line, readable by root only.\n"
            "EnvironmentFile=-/etc/revsched/env\n"
            f"ExecStart={run_command(executable, name, settings.source)}\n"
            "# On stop, give a running play time to finish its writes.\n"
            "TimeoutStopSec=15min\n"
        )
        units[f"{unit}.timer"] = (
            "[Unit]\n"
            f"Description=revsched play {name}: {schedule} ({settings.time_zone})\n"
            "\n"
            "[Timer]\n"
            f"OnCalendar={on_calendar(schedule, settings.time_zone)}\n"
            "# A run missed while the server was down happens once when it is back.\n"
            "Persistent=true\n"
            f"Unit={unit}.service\n"
            "\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        )
    return units
