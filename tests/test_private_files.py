"""Every file revsched writes that holds org data is 0600 in a 0700 folder, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_demo_org_truth_plans_and_reports_are_private(
    usual_umask: None, revsched_home: Path, tmp_path: Path
):
    plan = tmp_path / "plans" / "p.json"
    reports = tmp_path / "reports" / "today"

    args = ["--dry-run", "--as-of", "2026-11-23", "--out", str(plan), "--report-dir", str(reports)]
    result = CliRunner().invoke(app, ["run", "renewal-sla", *args])

    assert result.exit_code == 0, result.output
    files = [
        revsched_home / "demo-org.sqlite",
        revsched_home / "demo-org.duplicates.json",
        revsched_home / "state.sqlite",
        plan,
        *reports.iterdir(),
    ]
    assert len(files) > 5
    assert {str(f): oct(mode(f)) for f in files} == {str(f): "0o600" for f in files}
    folders = [revsched_home, plan.parent, reports, reports.parent]
    assert {str(f): oct(mode(f)) for f in folders} == {str(f): "0o700" for f in folders}
