"""Every file revsched writes that holds org data is 0600 in a 0700 folder, whatever the umask."""

from __future__ import annotations

import os
import socket
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


def test_org_serve_into_a_missing_folder_makes_it_private_and_serves_a_new_org(
    usual_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    served: list[Path] = []
    monkeypatch.setattr("revsched.localorg.serve", lambda path, **_: served.append(path))
    db = tmp_path / "orgs" / "new" / "org.sqlite"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = str(free.getsockname()[1])

    result = CliRunner().invoke(app, ["org", "serve", "--db", str(db), "--port", port])

    assert result.exit_code == 0, result.output
    assert served == [db]
    assert oct(mode(db)) == "0o600"
    assert {oct(mode(f)) for f in (db.parent, db.parent.parent)} == {"0o700"}
