"""`revsched schedule export`: crontab lines and systemd units that mean the configured schedule."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.cron_trigger import ScheduleTrigger
from revsched.export import on_calendar
from revsched.play import load_plays
from revsched.schedule import parse_schedule


def only_win_back() -> str:
    """Config sections that disable every shipped play but win-back."""
    others = sorted(set(load_plays(Settings())) - {"win-back"})
    return "".join(f"[plays.{name}]\nenabled = false\n" for name in others)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "revsched.toml"
    path.write_text(
        'time_zone = "America/New_York"\n'
        '[plays.win-back]\nschedule = "weekly mon 07:00"\n' + only_win_back(),
        encoding="utf-8",
    )
    return path


def export(*args: str) -> str:
    result = CliRunner().invoke(app, ["schedule", "export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cron_export_has_one_line_per_enabled_play(config: Path):
    text = export("--format", "cron", "--config", str(config), "--executable", "/opt/rs/revsched")

    assert "CRON_TZ=America/New_York\n" in text
    lines = [line for line in text.splitlines() if not line.startswith(("#", "CRON_TZ"))]
    assert lines == [
        f"0 7 * * 1 /opt/rs/revsched --log-format json run win-back --scheduled --config {config}"
        "  # win-back: weekly mon 07:00"
    ]


def test_systemd_export_writes_a_persistent_timer_and_a_oneshot_service(
    config: Path, tmp_path: Path
):
    out = tmp_path / "units"

    export("--format", "systemd", "--config", str(config), "--out", str(out))

    assert sorted(p.name for p in out.iterdir()) == [
        "revsched-win-back.service",
        "revsched-win-back.timer",
    ]
    timer = (out / "revsched-win-back.timer").read_text()
    service = (out / "revsched-win-back.service").read_text()
    assert "OnCalendar=Mon *-*-* 07:00:00 America/New_York\n" in timer
    assert "Persistent=true\n" in timer and "WantedBy=timers.target" in timer
    assert "Type=oneshot\n" in service
    assert re.search(r"ExecStart=/\S+/revsched --log-format json run win-back --scheduled", service)


SCHEDULES = [
    "daily 06:00",
    "weekly sun 07:00",
    "monthly 1 00:30",
    "every 15 minutes",
    "every 6 hours",
    "30 8 * * 1-5",
    "0 9 * * 0,6",
    "0 0 15 */3 *",
    "0 1-5 * * *",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 06:00", "*-*-* 06:00:00 UTC"),
        ("weekly sun 07:00", "Sun *-*-* 07:00:00 UTC"),
        ("every 15 minutes", "*-*-* *:00/15:00 UTC"),
        ("30 8 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 08:30:00 UTC"),
        ("0 0 15 */3 *", "*-01/3-15 00:00:00 UTC"),
        ("0 1-5 * * *", "*-*-* 01..05:00:00 UTC"),
    ],
)
def test_on_calendar_expressions(text: str, expected: str):
    assert on_calendar(parse_schedule(text), "UTC") == expected


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("text", SCHEDULES)
def test_systemd_agrees_with_the_scheduler_on_the_next_fire_times(text: str):
    zone = ZoneInfo("America/New_York")
    schedule = parse_schedule(text)
    result = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", on_calendar(schedule, zone.key)],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )
    now = datetime.now(UTC)
    systemd = re.findall(r"(?:Next elapse|Iter\. #\d): \w+ (\S+ \S+) UTC", result.stdout)
    trigger = ScheduleTrigger(schedule, zone)
    ours, fire = [], trigger.get_next_fire_time(None, now)
    for _ in range(3):
        ours.append(f"{fire.astimezone(UTC):%Y-%m-%d %H:%M:%S}")
        fire = trigger.get_next_fire_time(None, fire.astimezone(UTC) + timedelta(seconds=1))
    if systemd != ours and text == "every 15 minutes":
        pytest.skip("a quarter hour passed between the two computations")
    assert systemd == ours
