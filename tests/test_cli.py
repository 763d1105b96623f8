"""revsched from the command line, end to end on a demo org, as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.format import format_soql
from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg import LocalOrg

TODAY = date(2026, 11, 23)
AS_OF = ["--as-of", TODAY.isoformat()]
RunJson = Callable[..., dict[str, Any]]
OrgValues = Callable[[list[dict[str, Any]]], dict[tuple[str, str], Any]]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def account_id_churned_on(path: Path, churn: str) -> str:
    sf = LocalOrg(path).salesforce()
    rows = sf.query_all(
        format_soql(
            "SELECT Id FROM Account WHERE Type = 'Former Customer' AND Churn_Date__c = {}",
            date.fromisoformat(churn),
        )
    )["records"]
    assert len(rows) == 1, rows
    return rows[0]["Id"]


def test_dry_run_shows_the_plan_and_changes_nothing(
    demo_org: Path, run_json: RunJson, org_values: OrgValues
):
    output = run_json("win-back", *AS_OF, "--dry-run")
    plan = output["plan"]

    decisions = {d["record_id"]: d for d in plan["decisions"]}
    six_months = account_id_churned_on(demo_org, "2026-05-23")
    twelve_months = account_id_churned_on(demo_org, "2025-11-23")
    near_miss = account_id_churned_on(demo_org, "2026-05-25")
    assert (decisions[six_months]["outcome"], decisions[six_months]["stage"]) == (
        "selected",
        "6-month",
    )
    assert (decisions[twelve_months]["outcome"], decisions[twelve_months]["stage"]) == (
        "selected",
        "12-month",
    )
    assert decisions[near_miss]["outcome"] == "skipped"
    assert decisions[near_miss]["reason"].startswith("not yet due")
    assert plan["changes"] and output["alerts"]
    assert output["dry_run"] and output["status"] == "dry-run"
    # Nothing written: every field still holds its planned old value.
    current = org_values(plan["changes"])
    assert {(c["record_id"], c["field"]): c["old"] for c in plan["changes"]} == current


def test_dry_run_all_lists_decisions_changes_and_alerts(demo_org: Path):
    result = invoke("run", "win-back", "--dry-run", "--all", *AS_OF)

    assert result.exit_code == 0, result.output
    assert "win-back as of 2026-11-23:" in result.output
    assert "not yet due" in result.output
    assert "Win_Back_Campaign__c" in result.output
    assert "would alert" in result.output
    assert "*Win-back, 6-month:" in result.output
    assert "nothing was written or sent" in result.output


def test_apply_writes_exactly_the_plan_then_a_rerun_plans_nothing(
    demo_org: Path, run_json: RunJson, org_values: OrgValues
):
    planned = run_json("win-back", *AS_OF, "--dry-run")["plan"]["changes"]

    applied = run_json("win-back", *AS_OF)

    assert applied["status"] == "succeeded"
    assert applied["plan"]["changes"] == planned
    current = org_values(planned)
    assert {(c["record_id"], c["field"]): c["new"] for c in planned} == current
    rerun = run_json("win-back", *AS_OF)
    assert rerun["plan"]["changes"] == [] and rerun["alerts"] == []
    assert all(d["outcome"] == "skipped" for d in rerun["plan"]["decisions"])


def test_unassigned_accounts_are_spread_over_the_pool(demo_org: Path, run_json: RunJson):
    changes = run_json("win-back", *AS_OF)["plan"]["changes"]

    owners = [c["new"] for c in changes if c["field"] == "OwnerId"]
    assert len(owners) >= 2 and len(set(owners)) == len(owners)


def test_history_and_show(demo_org: Path, run_json: RunJson):
    dry_id = run_json("win-back", *AS_OF, "--dry-run")["run_id"]
    applied = run_json("win-back", *AS_OF)

    history = invoke("history", "--json")
    assert history.exit_code == 0
    runs = json.loads(history.stdout)
    assert [(r["id"], r["dry_run"], r["status"]) for r in runs] == [
        (applied["run_id"], False, "succeeded"),
        (dry_id, True, "dry-run"),
    ]

    shown = json.loads(invoke("show", str(applied["run_id"]), "--json").stdout)
    assert [
        (c["record_id"], c["field"], c["old"], c["new"], c["status"]) for c in shown["changes"]
    ] == [
        (c["record_id"], c["field"], c["old"], c["new"], "applied")
        for c in applied["plan"]["changes"]
    ]
    assert [a["text"] for a in shown["alerts"]] == [a["text"] for a in applied["alerts"]]
    assert {a["status"] for a in shown["alerts"]} == {"sent"}

    text = invoke("show", str(applied["run_id"]))
    assert text.exit_code == 0
    assert f"Run {applied['run_id']}: win-back as of 2026-11-23 (apply), succeeded" in text.output
    listing = invoke("history").output
    assert f"{applied['run_id']}" in listing and "succeeded" in listing and "dry-run" in listing


def test_show_unknown_run(demo_org: Path):
    result = invoke("show", "999")

    assert result.exit_code == 2
    assert "no run 999" in result.stderr


def test_unknown_field_in_config_is_a_config_error(demo_org: Path, tmp_path: Path):
    config = tmp_path / "revsched.toml"
    config.write_text(
        '[plays.win-back]\nstatus_fields = { "Tier" = "Partner_Tir__c" }\n', encoding="utf-8"
    )

    result = invoke("run", "win-back", "--dry-run", *AS_OF)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: plays.win-back.status_fields.Tier = Partner_Tir__c: no such field on Account;"
        " did you mean Partner_Tier__c?"
    ]


def test_demo_refuses_to_overwrite_without_force(demo_org: Path):
    result = invoke("demo")

    assert result.exit_code == 2
    assert "pass --force to replace it" in result.stderr
    assert invoke("demo", "--force", "--accounts", "20", *AS_OF).exit_code == 0


def test_daily_cap_holds_across_runs_of_the_day(demo_org: Path, tmp_path: Path, run_json: RunJson):
    (tmp_path / "revsched.toml").write_text(
        '[pools.win-back-ae]\nmembers = ["ava.patel@demo.revsched.dev"]\ndaily_cap = 1\n'
        '[pools.win-back-sdr]\nmembers = ["fay.nguyen@demo.revsched.dev"]\n',
        encoding="utf-8",
    )

    first = run_json("win-back", *AS_OF)
    second = run_json("win-back", *AS_OF)

    assigned = [c for c in first["plan"]["changes"] if c["field"] == "OwnerId"]
    assert len(assigned) == 1
    capped = [d for d in second["plan"]["decisions"] if "daily cap" in d["reason"]]
    assert capped and all(
        d["reason"] == "unassigned and nobody in pool 'win-back-ae' can take it "
        "(Ava Patel: reached the daily cap of 1)"
        for d in capped
    )
    assert not any(c["field"] == "OwnerId" for c in second["plan"]["changes"])


def test_org_serve_rejects_a_bad_fault_file(tmp_path: Path):
    faults = tmp_path / "faults.toml"
    faults.write_text("error_rate = 2\n", encoding="utf-8")

    result = invoke("org", "serve", "--db", str(tmp_path / "org.sqlite"), "--faults", str(faults))

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --faults: error_rate must be between 0 and 1"


def test_org_serve_answers_simple_salesforce_with_its_faults(tmp_path: Path):
    import socket
    import subprocess
    import sys
    import time

    from revsched.localorg import connect

    faults = tmp_path / "faults.toml"
    faults.write_text("api_limit_after = 1\n", encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revsched",
            "org",
            "serve",
            "--db",
            str(tmp_path / "o.sqlite"),
            "--port",
            str(port),
            "--faults",
            str(faults),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "org serve did not start"
                time.sleep(0.05)
        sf = connect(f"http://127.0.0.1:{port}")
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
        with pytest.raises(Exception, match="REQUEST_LIMIT_EXCEEDED"):
            sf.query("SELECT COUNT() FROM Account")
    finally:
        server.terminate()
        server.wait()


def test_an_interrupted_run_says_a_rerun_is_safe_and_exits_130(
    demo_org: Path, monkeypatch: pytest.MonkeyPatch
):
    """Ctrl-C may come after writes began: the message must not claim nothing was applied."""
    import revsched.runner

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(revsched.runner, "run_play", interrupted)

    result = invoke("run", "win-back", *AS_OF)

    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == (
        "Interrupted: what was written is in the audit (revsched history);"
        " rerunning the same command is safe and finishes the run."
    )
