"""`revsched plays` is readable at 80 columns (cron mail, CI logs, a pipe): each play's
purpose reads in full, not squeezed into a column a word wide."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.play import load_plays


def test_plays_at_80_columns_show_each_purpose_whole(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")

    result = CliRunner().invoke(app, ["plays"])

    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for play in load_plays(Settings()).values():
        assert play.summary in text, play.name
        assert re.search(rf"^{re.escape(play.name)}\s+\S", result.stdout, re.M), play.name
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "…" not in result.stdout


def test_disabled_plays_at_80_columns_keep_their_next_run_whole(monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    config = tmp_path / "revsched.toml"
    config.write_text("[plays.lead-status-hygiene]\nenabled = false\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["plays", "-c", str(config)])

    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert re.search(r"^lead-status-hygiene\s.*\d\d:\d\d UTC$", result.stdout, re.M)
    summary = load_plays(Settings())["lead-status-hygiene"].summary
    assert f"(disabled) {summary}" in " ".join(result.stdout.split())
