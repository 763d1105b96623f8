"""No demo default reaches a real org: pools and users are named by the config, plays are
enabled one by one, and dedupe merges stay off until `merge = true`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import DEMO_TODAY
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings, load_settings
from revsched.play import load_plays

REAL_ORG = "[org]\nkind = 'salesforce'\nusername = 'revsched@acme.com'\n"


def _settings(toml: str, tmp_path: Path) -> Settings:
    path = tmp_path / "revsched.toml"
    path.write_text(toml)
    return load_settings(path)


def test_a_dry_run_without_pools_exits_2_naming_every_key_to_set(tmp_path: Path) -> None:
    (tmp_path / "revsched.toml").write_text(REAL_ORG)

    result = CliRunner().invoke(app, ["run", "win-back", "--dry-run"])

    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert (
        "win-back on a real org needs plays.win-back.holding_users, [pools.win-back-ae],"
        " [pools.win-back-sdr] set to your org's Usernames" in message
    )


def test_named_users_and_pools_pass_validation(tmp_path: Path) -> None:
    settings = _settings(
        REAL_ORG
        + "[pools.win-back-ae]\nmembers = ['ae@acme.com']\n"
        + "[pools.win-back-sdr]\nmembers = ['sdr@acme.com']\n"
        + "[plays.win-back]\nenabled = true\nholding_users = ['revops@acme.com']\n",
        tmp_path,
    )

    config = load_plays(settings)["win-back"].configure(settings, to_run=True)

    assert config.enabled and config.holding_users == ["revops@acme.com"]


def test_no_play_is_enabled_by_default_on_a_real_org(tmp_path: Path) -> None:
    settings = _settings(REAL_ORG, tmp_path)

    enabled = [n for n, p in load_plays(settings).items() if p.configure(settings).enabled]

    assert enabled == []
    assert settings.pools == {}
    assert all(p.configure(Settings()).enabled for p in load_plays(Settings()).values())


def test_doctor_warns_that_no_play_is_enabled(tmp_path: Path) -> None:
    (tmp_path / "revsched.toml").write_text(REAL_ORG)

    result = CliRunner().invoke(app, ["doctor"])

    assert result.stdout.splitlines()[0] == (
        "warn config: revsched.toml; no play is enabled: set enabled = true in its [plays.<name>]"
    )


def test_an_enabled_play_with_a_demo_default_is_a_config_error(tmp_path: Path) -> None:
    settings = _settings(REAL_ORG + "[plays.churn-intake]\nenabled = true\n", tmp_path)

    result = CliRunner().invoke(app, ["doctor", "--config", str(tmp_path / "revsched.toml")])

    assert result.exit_code == 1
    assert "plays.churn-intake.holding_user" in result.stdout
    assert settings.org.kind == "salesforce"


def test_dedupe_merges_are_off_on_a_real_org_until_merge_is_true(tmp_path: Path) -> None:
    section = "[plays.dedupe-contacts]\nenabled = true\nintegration_users = []\n"
    off = _settings(REAL_ORG + section, tmp_path)
    on = _settings(REAL_ORG + section + "merge = true\n", tmp_path)

    assert load_plays(off)["dedupe-contacts"].configure(off).merge is False
    assert load_plays(on)["dedupe-contacts"].configure(on).merge is True
    assert load_plays(Settings())["dedupe-contacts"].configure(Settings()).merge is True


def test_merge_false_flags_the_sure_duplicates_instead(
    demo_org: Path, tmp_path: Path, run_json: Callable[..., dict[str, Any]]
) -> None:
    merging = run_json("dedupe-contacts", "--dry-run", "--as-of", DEMO_TODAY.isoformat())
    sure = {r["record_id"] for m in merging["plan"]["merges"] for r in m["merged"]}
    assert sure
    (tmp_path / "revsched.toml").write_text("[plays.dedupe-contacts]\nmerge = false\n")

    plan = run_json("dedupe-contacts", "--dry-run", "--as-of", DEMO_TODAY.isoformat())["plan"]

    assert plan["merges"] == []
    flagged = {c["record_id"] for c in plan["changes"] if c["field"] == "Possible_Duplicate_Of__c"}
    assert sure <= flagged
    reasons = [d["reason"] for d in plan["decisions"] if d["record_id"] in sure]
    assert all("not merged (merge = false)" in reason for reason in reasons)
