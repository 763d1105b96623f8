"""`revsched plays` is readable at 80 columns (cron mail, CI logs, a pipe): each play's
purpose reads in full, not squeezed into a column a word wide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings, load_settings
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


REAL_ORG = "[org]\nkind = 'salesforce'\nusername = 'revsched@acme.com'\n"


@pytest.mark.parametrize("org", ["", REAL_ORG], ids=["demo org", "real org"])
def test_plays_the_config_leaves_out_show_what_configure_finds(org: str, tmp_path: Path):
    """Unconfigured plays are listed from their defaults without building their models:
    the same enabled flag and schedule a run would validate."""
    config = tmp_path / "revsched.toml"
    config.write_text(org + "[plays.win-back]\nschedule = 'weekly tue'\n", encoding="utf-8")
    settings = load_settings(config)

    for play in load_plays(settings).values():
        validated = play.configure(settings)
        assert play.enabled_schedule(settings) == (validated.enabled, validated.schedule)
    assert load_plays(settings)["win-back"].enabled_schedule(settings)[1].text == "weekly tue"


def test_plays_still_names_a_bad_key_in_a_configured_play(tmp_path: Path):
    config = tmp_path / "revsched.toml"
    config.write_text("[plays.win-back]\nschedul = 'daily'\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["plays", "-c", str(config)])

    assert result.exit_code == 2
    assert "plays.win-back.schedul" in result.output


def test_plays_wide_give_each_purpose_its_column_within_the_width(monkeypatch):
    """From 110 columns a purpose is a last column, wrapped between words down its lines."""
    monkeypatch.setenv("COLUMNS", "120")

    result = CliRunner().invoke(app, ["plays"])

    assert result.exit_code == 0, result.output
    header, rule, *lines = result.stdout.splitlines()
    assert header.split() == ["play", "schedule", "next", "run", "what", "it", "does"]
    assert set(rule) == {"─"}
    assert all(len(line) <= 120 for line in result.stdout.splitlines())
    column = header.index("what it does")
    purposes = " ".join(" ".join(line[column:] for line in lines).split())
    for play in load_plays(Settings()).values():
        assert play.summary in purposes, play.name
