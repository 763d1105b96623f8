"""Every usage mistake is one line on stderr that says what to fix, with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from revsched.cli import app


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), prog_name="revsched")


MISTAKES = [
    (
        ["run", "win-back", "--as-of", "23/11/2026"],
        "error: Invalid value for '--as-of': '23/11/2026' is not a date; use YYYY-MM-DD",
    ),
    (["run"], "error: Invalid value for PLAY: name a play: account-review, add-drop-approvals"),
    (["run", "win-bak"], "error: unknown play 'win-bak'; known plays:"),
    (["run", "win-back", "--nope"], "error: No such option: --nope"),
    (
        ["run", "win-back", "--out", "plan.json"],
        "error: --out saves a plan for review: use it with --dry-run",
    ),
    (
        ["run", "win-back", "--scheduled", "--dry-run"],
        "error: --scheduled runs the current occurrence: drop --dry-run/--as-of",
    ),
    (
        ["show", "1", "--format", "xml"],
        "error: Invalid value for '--format': 'xml' is not one of 'text', 'csv', 'json'",
    ),
    (["history", "--limit", "x"], "error: Invalid value for '--limit': expected a whole number"),
    (["history", "--play", "win-bak"], "error: unknown play 'win-bak'; known plays:"),
    (["show", "999"], "error: no run 999; `revsched history` lists the runs"),
    (
        ["state", "prune", "--older-than", "3x"],
        "error: Invalid value for '--older-than': '3x' is not an age",
    ),
    (["plays", "--config", "missing.toml"], "error: missing.toml: config file not found"),
    (["--config", "missing.toml", "plays"], "error: missing.toml: config file not found"),
    (["nosuch"], "error: No such command 'nosuch'"),
]


@pytest.mark.parametrize(("args", "message"), MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_a_usage_mistake_is_one_line_and_exit_2(args: list[str], message: str):
    result = invoke(*args)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(message), line


CONFIG_MISTAKES = [
    (
        '[plays.win-back]\ncatch_up_days = "soon"\n',
        "error: revsched.toml: plays.win-back.catch_up_days = 'soon': expected a whole number",
    ),
    (
        '[plays.win-back]\nschedule = "daily 25:00"\n',
        "error: revsched.toml: plays.win-back.schedule = 'daily 25:00': 'daily 25:00': '25:00'"
        " is not a time of day (HH:MM, 24-hour)",
    ),
    ("[api]\nbudget_share = 2\n", "error: revsched.toml: api.budget_share = 2: expected less"),
    ("[plays.win-bak]\n", "error: plays.win-bak: no such play; known plays: account-review"),
]


@pytest.mark.parametrize(("text", "message"), CONFIG_MISTAKES)
def test_a_config_mistake_names_the_key_the_value_and_what_is_expected(
    tmp_path: Path, text: str, message: str
):
    (tmp_path / "revsched.toml").write_text(text, encoding="utf-8")

    result = invoke("plays")

    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(message), line
    assert "Input should" not in line and "Value error" not in line


def test_no_command_prints_the_help_and_exits_2():
    result = invoke()

    assert result.exit_code == 2
    assert "Usage: revsched [OPTIONS] COMMAND" in result.output


@pytest.mark.parametrize("group", ["org", "schedule", "state"])
def test_a_group_without_its_command_prints_its_help_and_exits_2(group: str):
    result = invoke(group)

    assert result.exit_code == 2
    assert result.stdout.startswith(f"Usage: revsched {group} [OPTIONS] COMMAND")
    assert result.stderr == ""


def test_version():
    result = invoke("--version")

    assert result.exit_code == 0
    assert result.stdout.startswith("revsched ")


COMMANDS = [
    ["run"],
    ["apply"],
    ["revert"],
    ["render"],
    ["plays"],
    ["history"],
    ["show"],
    ["demo"],
    ["scheduler"],
    ["doctor"],
    ["org", "serve"],
    ["schedule", "export"],
    ["state", "upgrade"],
    ["state", "prune"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_and_flags_show_no_placeholder(command: list[str], flag: str):
    result = invoke(*command, flag)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: revsched {' '.join(command)} ")
    assert "<bool>" not in result.stdout


def test_global_options_go_before_or_after_the_command(tmp_path: Path):
    config = tmp_path / "mine.toml"
    config.write_text('[plays.win-back]\nschedule = "daily 07:15"\n', encoding="utf-8")

    before = invoke("--config", str(config), "--log-format", "json", "plays", "--json")
    after = invoke("plays", "--json", "--config", str(config), "--log-format", "json")

    assert before.exit_code == after.exit_code == 0, before.output + after.output
    assert before.stdout == after.stdout
    assert '"schedule": "daily 07:15"' in before.stdout


# (a field the org does not know, as config names it; the one line `run` and `doctor` print)
UNKNOWN_FIELDS = [
    (
        "churn_date_field = 'Churn_Dat__c'",
        "plays.win-back.churn_date_field = Churn_Dat__c: no such field on Account;"
        " did you mean Churn_Date__c?",
    ),
    (
        "status_fields = { 'Owner' = 'Owner.Nam' }",
        "plays.win-back.status_fields.Owner = Owner.Nam: no such field on User; did you mean Name?",
    ),
    (
        "status_fields = { 'Owner' = 'Ownr.Name' }",
        "plays.win-back.status_fields.Owner = Ownr.Name: no such field on Account;"
        " did you mean Owner?",
    ),
]


@pytest.mark.parametrize("reads", ["rest", "bulk"])
@pytest.mark.parametrize(("setting", "line"), UNKNOWN_FIELDS)
def test_a_field_the_org_does_not_know_names_the_key_and_the_nearest_field(
    demo_org: Path, tmp_path: Path, reads: str, setting: str, line: str
):
    api = "[api]\nbulk_read_threshold = 0\n" if reads == "bulk" else ""
    config = f"{api}[plays.win-back]\n{setting}\n"
    (tmp_path / "revsched.toml").write_text(config, encoding="utf-8")

    dry_run = invoke("run", "win-back", "--dry-run", "--as-of", "2026-11-23")
    applied = invoke("run", "win-back", "--as-of", "2026-11-23")
    doctor = invoke("doctor")

    assert dry_run.exit_code == applied.exit_code == 2, dry_run.output + applied.output
    assert dry_run.stderr.splitlines() == applied.stderr.splitlines() == [f"error: {line}"]
    assert doctor.exit_code == 1
    assert f"FAIL win-back: Account fields: {line}" in doctor.stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "999"], "no run 999; `revsched history` lists the runs"),
        (["run", "win-bak"], "unknown play 'win-bak'; known plays:"),
    ],
)
def test_with_json_logs_every_error_is_one_json_line(args: list[str], message: str):
    result = invoke("--log-format", "json", *args)

    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    logged = json.loads(line)
    assert logged["level"] == "error"
    assert logged["message"].startswith(message)
