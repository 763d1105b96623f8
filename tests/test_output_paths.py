"""An output path that cannot be written (a typo, a file where a folder should be) is one
line naming the path and why, with exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app

# (command line, given a path that cannot be created)
CASES = {
    "run --report-dir": lambda bad: ["run", "win-back", "--dry-run", "--report-dir", bad],
    "run --out": lambda bad: ["run", "win-back", "--dry-run", "--out", f"{bad}/plan.json"],
    "schedule export --out": lambda bad: ["schedule", "export", "--format", "cron", "--out", bad],
    "forecast --report-dir": lambda bad: ["forecast", "win-back", "--report-dir", bad],
    "dashboard --out": lambda bad: ["dashboard", "--out", bad, "--days", "1"],
}


@pytest.mark.parametrize("case", CASES)
def test_unwritable_output_path_is_one_line_and_exit_2(case: str, tmp_path: Path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("", encoding="utf-8")
    bad = str(a_file / "out")

    result = CliRunner().invoke(app, CASES[case](bad))

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output + result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {bad}: Not a directory"


@pytest.mark.usefixtures("demo_org")
def test_quiet_run_with_a_report_dir_prints_one_line(tmp_path: Path):
    reports = tmp_path / "reports"

    result = CliRunner().invoke(
        app, ["run", "renewal-sla", "--dry-run", "--quiet", "--report-dir", str(reports)]
    )

    assert result.exit_code == 0, result.output
    assert (result.stdout + result.stderr).strip().splitlines() == [
        "Dry run 1: nothing was written or sent."
    ]
    assert [p.name for p in reports.glob("renewal-sla-*.html")]
