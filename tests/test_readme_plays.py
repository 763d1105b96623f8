"""The README's play table is where a user picks plays: it lists every shipped play, with
its default schedule as `revsched plays` shows it (as written, or its cron form)."""

from __future__ import annotations

import re
from pathlib import Path

from revsched.config import Settings
from revsched.play import load_plays

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def readme_schedules() -> dict[str, str]:
    """Play -> the schedule cell of the table of plays."""
    section = README.split("\n| play | schedule | what it does |\n", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^\| `([a-z-]+)` \| ([^|]+?) \|", section, re.M))


def test_readme_lists_every_play_with_its_default_schedule():
    settings = Settings()
    listed = readme_schedules()
    plays = load_plays(settings)

    assert sorted(listed) == sorted(plays)
    for name, play in plays.items():
        schedule = play.configure(settings).schedule
        cell = listed[name]
        written = cell.split(" (", 1)[0]
        crons = re.findall(r"`([^`]+)`", cell)
        assert written == schedule.text or schedule.cron in crons, (name, cell, schedule.text)
