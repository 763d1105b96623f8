"""Logs go to stderr: human lines by default, JSON lines with --log-format json."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from revsched import logs
from revsched.cli import app


def test_json_log_format_writes_one_json_object_per_line_on_stderr():
    result = CliRunner().invoke(app, ["--log-format", "json", "run", "win-bak"])

    assert result.exit_code == 2
    assert result.stdout == ""
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert entries[-1]["level"] == "error"
    assert entries[-1]["message"].startswith("unknown play 'win-bak'")
    assert set(entries[-1]) == {"time", "level", "logger", "message"}


def test_human_log_format_is_one_error_line():
    result = CliRunner().invoke(app, ["run", "win-bak"])

    assert result.stderr.startswith("error: unknown play 'win-bak'")
    assert len(result.stderr.splitlines()) == 1


def test_unknown_log_format_is_a_usage_error():
    result = CliRunner().invoke(app, ["--log-format", "xml", "plays"])

    assert result.exit_code == 2


def test_progress_is_drawn_only_when_shown_on_a_terminal():
    from io import StringIO

    from rich.console import Console

    from revsched import progress

    with progress.task("reading Account", 10) as advance:
        advance(5)  # nothing is shown: a no-op
    screen = StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    with progress.shown(console), progress.task("writing Account", 400) as advance:
        advance(200)

    assert "writing Account" in screen.getvalue()


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    result = CliRunner().invoke(app, ["run", "win-back", "--dry-run"])

    assert result.exit_code == 0
    assert "reading Account" not in result.stderr and "\x1b[?25l" not in result.stderr


def test_apscheduler_info_chatter_is_debug(capsys: pytest.CaptureFixture[str]):
    logs.configure("human")

    logging.getLogger("apscheduler.executors.default").info("Running job win-back")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")

    err = capsys.readouterr().err
    assert "Running job" not in err
    assert "WARNING Run time of job was missed" in err
