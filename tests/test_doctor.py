"""`revsched doctor`: a checklist of what a run depends on, non-zero on any failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakeslack import TOKEN, FakeSlack
from harness import TODAY, own_records
from typer.testing import CliRunner

from revsched import migrate
from revsched.cli import app
from revsched.config import Settings
from revsched.config_fields import Describes
from revsched.doctor import run_checks
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.state import open_engine


@pytest.fixture
def demo_org(revsched_home: Path) -> Path:
    path = revsched_home / "demo-org.sqlite"
    path.parent.mkdir(parents=True)
    build_demo_org(path, accounts=30, seed=7).close()
    return path


def doctor(config: str | None = None, tmp_path: Path | None = None) -> tuple[int, list[str]]:
    args = ["doctor"]
    if config is not None and tmp_path is not None:
        path = tmp_path / "revsched.toml"
        path.write_text(config, encoding="utf-8")
        args += ["--config", str(path)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout.splitlines()


def test_a_healthy_setup_passes_every_check(demo_org: Path):
    code, lines = doctor()

    assert code == 0, lines
    assert lines[-1].endswith(" ok, 0 failed")
    assert " ok  Salesforce login: logged in to https://localorg.invalid" in lines
    assert " ok  win-back: Account fields: 9 fields exist" in lines
    assert " ok  win-back: pool win-back-ae: 4 of 5 members active" in lines
    assert " ok  Slack: no enabled play alerts through the Slack bot (skipped)" in lines
    assert " ok  churn-intake: accounts query: every object and field it reads exists" in lines


def test_every_misconfiguration_is_its_own_failed_line(demo_org: Path, tmp_path: Path):
    config = (
        "[pools.win-back-sdr]\nmembers = ['ghost@demo.revsched.dev']\n"
        "[plays.win-back]\n"
        "campaign_field = 'Win_Back_Campaign_X__c'\n"
        "former_customer_value = 'Ex Customer'\n"
        "holding_users = ['nobody@demo.revsched.dev']\n"
    )

    code, lines = doctor(config, tmp_path)

    assert code == 1
    assert (
        "FAIL win-back: Account fields: plays.win-back.campaign_field = Win_Back_Campaign_X__c:"
        " no such field on Account; did you mean Win_Back_Campaign__c?" in lines
    )
    assert any(
        line.startswith("FAIL win-back: Account.Type = 'Ex Customer': not an active picklist")
        for line in lines
    )
    assert (
        "FAIL win-back: user nobody@demo.revsched.dev: no such user;"
        " set plays.win-back.holding_users to an active user's Username" in lines
    )
    assert (
        "FAIL win-back: pool win-back-sdr: 0 of 1 members active;"
        " no such user: ghost@demo.revsched.dev" in lines
    )
    assert " ok  win-back: Opportunity fields: 6 fields exist" in lines
    assert lines[-1].endswith(" failed") and not lines[-1].endswith(" 0 failed")


def test_bad_config_fails_the_first_check(tmp_path: Path):
    code, lines = doctor("[plays.win-back]\nschedule = 'sometimes'\n", tmp_path)

    assert code == 1
    assert lines[0].startswith("FAIL config: ") and "'sometimes' is not a schedule" in lines[0]


def test_state_store_behind_and_failed_login_are_reported(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    migrate.upgrade(open_engine(url), "0001")

    code, lines = doctor(f"[state]\nurl = '{url}'\n[org]\nkind = 'salesforce'\n", tmp_path)

    assert code == 1
    assert any(
        line.startswith("FAIL state store: schema level 0001, needs")
        and "revsched state upgrade" in line
        for line in lines
    )
    assert "FAIL Salesforce login: org.username: required for jwt login" in lines


def test_ci_smoke_run_is_doctor_then_a_dry_run(demo_org: Path):
    runner = CliRunner()

    assert runner.invoke(app, ["doctor"]).exit_code == 0
    assert runner.invoke(app, ["run", "win-back", "--dry-run"]).exit_code == 0


def test_slack_token_is_checked_with_auth_test(
    demo_org: Path, tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
):
    config = (
        "[alerts]\nkind = 'slack'\nfallback_channel = '#win-back'\n"
        "[alerts.slack]\ntoken = { env = 'TEST_SLACK_TOKEN' }\n"
        f"base_url = '{fake_slack.base_url}'\n"
    )
    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)

    code, lines = doctor(config, tmp_path)

    assert " ok  Slack: bot revsched in workspace Acme" in lines, lines
    assert code == 0
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-wrong-1234")
    code, lines = doctor(config, tmp_path)
    assert code == 1
    assert "FAIL Slack: slack auth.test: invalid_auth" in lines
    assert not any("xoxb-wrong-1234" in line for line in lines)


def test_a_play_without_declared_requirements_has_its_queries_checked(
    demo_org: Path, tmp_path: Path
):
    code, lines = doctor("[plays.churn-intake]\nchurn_date_field = 'Churned_On__c'\n", tmp_path)

    assert code == 1
    [failed] = [line for line in lines if line.startswith("FAIL churn-intake: accounts query")]
    assert "INVALID_FIELD" in failed and "Churned_On__c" in failed
    assert "check the field names in [plays.churn-intake]" in " ".join(lines)


def test_each_play_declares_the_values_users_and_queues_it_needs(demo_org: Path, tmp_path: Path):
    config = (
        "[plays.queue-recycle.status_queues]\nRecycle = 'Recycle_Q'\n"
        "[plays.add-drop-approvals]\napproved_value = 'OK'\n"
        "[plays.renewal-sla]\nleadership_users = ['vp@demo.revsched.dev']\n"
    )

    code, lines = doctor(config, tmp_path)

    assert code == 1
    failed = [line for line in lines if line.startswith("FAIL")]
    assert any(line.startswith("FAIL queue-recycle: queue Recycle_Q") for line in failed)
    assert any(
        line.startswith("FAIL add-drop-approvals: Account.Add_Drop_Approval__c = 'OK'")
        for line in failed
    )
    assert any(line.startswith("FAIL renewal-sla: user vp@demo.revsched.dev") for line in failed)
    assert len(failed) == 3, failed


def test_a_typo_in_a_field_name_gets_the_key_and_the_nearest_field(demo_org: Path, tmp_path: Path):
    code, lines = doctor("[plays.win-back]\nchurn_date_field = 'Churn_Dat__c'\n", tmp_path)

    assert code == 1
    expected = (
        "plays.win-back.churn_date_field = Churn_Dat__c: no such field on Account;"
        " did you mean Churn_Date__c?"
    )
    assert f"FAIL win-back: Account fields: {expected}" in lines
    [query] = [line for line in lines if line.startswith("FAIL win-back: accounts query: ")]
    assert (
        query.startswith(f"FAIL win-back: accounts query: {expected} (")
        and "INVALID_FIELD" in query
    )


def test_a_field_the_integration_user_cannot_update_is_named(demo_org: Path, tmp_path: Path):
    code, lines = doctor("[plays.win-back]\ncampaign_field = 'LastActivityDate'\n", tmp_path)

    assert code == 1
    assert (
        "FAIL win-back: Account writes: plays.win-back.campaign_field = LastActivityDate:"
        " Account.LastActivityDate is not updateable by this user; grant edit on it"
        " (permission set Revsched_Integration) or name another field" in lines
    )
    assert " ok  win-back: Account fields: 9 fields exist" in lines


def test_doctor_checks_what_a_run_writes_creates_and_merges(demo_org: Path):
    code, lines = doctor()

    assert code == 0, lines
    assert " ok  win-back: Account writes: 4 fields writable" in lines
    # Created Tasks need their fields createable and the key an External ID.
    assert " ok  renewal-sla: Task writes: 8 fields writable" in lines
    assert (
        " ok  dedupe-contacts: Contact merges: Delete on Contact (merge() deletes the"
        " merged records)" in lines
    )
    assert " ok  org memory: Revsched_Firing__c is there and writable" in lines


def test_org_memory_off_is_a_warning(demo_org: Path, tmp_path: Path):
    code, lines = doctor("[state]\norg_memory = false\n", tmp_path)

    assert code == 0
    assert (
        "warn org memory: off ([state] org_memory = false): a run on a new machine, with an"
        " empty state store, would repeat the alerts, Tasks and stages already fired" in lines
    )


def test_a_relationship_path_in_any_case_is_found(demo_org: Path, tmp_path: Path):
    """SOQL reads field names in any case: doctor does too."""
    _, lines = doctor("[plays.win-back]\nstatus_fields = { 'Owner' = 'owner.NAME' }\n", tmp_path)

    assert " ok  win-back: Account fields: 7 fields exist" in lines, lines


def test_the_fields_a_query_reads_are_checked_without_being_declared(
    demo_org: Path, tmp_path: Path
):
    """churn-intake declares no field: the ones its queries read are checked all the same,
    each misspelt one named by its config key, through relationship paths too."""
    config = (
        "[plays.churn-intake]\nchurn_date_field = 'Churned_On__c'\n"
        "[plays.partner-overlap]\nps_consultant_field = 'PS_Consultnt__c'\n"
    )

    code, lines = doctor(config, tmp_path)

    assert code == 1
    assert (
        "FAIL churn-intake: Account fields: plays.churn-intake.churn_date_field = Churned_On__c:"
        " no such field on Account; did you mean Churn_Date__c?" in lines
    )
    assert (
        "FAIL partner-overlap: Opportunity fields: plays.partner-overlap.ps_consultant_field"
        " = PS_Consultnt__c: no such field on Account; did you mean PS_Consultant__c?" in lines
    )
    assert " ok  account-review: User fields: 3 fields exist" in lines


def _without(monkeypatch: pytest.MonkeyPatch, sobject: str, right: str) -> None:
    """The integration user lacks an object right: its describe says false."""
    described = Describes.describe

    def describe(self: Describes, name: str) -> dict[str, Any] | str:
        found = described(self, name)
        return found | {right: False} if name == sobject and isinstance(found, dict) else found

    monkeypatch.setattr(Describes, "describe", describe)


def test_a_play_that_converts_needs_create_on_account(
    demo_org: Path, monkeypatch: pytest.MonkeyPatch
):
    """convertLead needs Create and Edit on Account, Contact and Opportunity besides the
    permission: an integration user without Create on Account converts nothing."""
    _without(monkeypatch, "Account", "createable")

    code, lines = doctor()

    assert code == 1
    assert (
        "FAIL job-changes: Convert Leads: the integration user lacks Create on Account, so"
        " every matched lead would fail to convert; assign the permission set"
        " Revsched_Integration (it grants them)" in lines
    )


def test_a_firing_object_without_delete_is_a_warning(
    demo_org: Path, monkeypatch: pytest.MonkeyPatch
):
    _without(monkeypatch, "Revsched_Firing__c", "deletable")

    code, lines = doctor()

    assert code == 0
    assert (
        "warn org memory: Revsched_Firing__c is there and writable, but not deletable:"
        " `revsched revert` cannot forget the firings of what it reverts; grant Delete on it"
        " (permission set Revsched_Integration)" in lines
    )


def test_a_typo_in_an_object_name_gets_the_key_and_the_nearest_object(
    demo_org: Path, tmp_path: Path
):
    config = "[plays.partner-overlap]\noverlap_object = 'Crossbeam_Overlap__c'\n"
    expected = (
        "plays.partner-overlap.overlap_object = Crossbeam_Overlap__c: no such object for the"
        " integration user; did you mean Crossbeam_Ecosystem_Overlap__c?"
    )

    code, lines = doctor(config, tmp_path)

    assert code == 1
    assert f"FAIL partner-overlap: Crossbeam_Overlap__c fields: {expected}" in lines
    assert any(
        line.startswith(f"FAIL partner-overlap: overlaps query: {expected}") for line in lines
    )
    run = CliRunner().invoke(
        app, ["run", "partner-overlap", "--dry-run", "-c", str(tmp_path / "revsched.toml")]
    )
    assert run.exit_code == 2
    assert run.output.splitlines()[-1] == f"error: {expected}"


def test_a_bad_setting_a_plays_queries_refuse_is_named_by_its_key(tmp_path: Path):
    org = OrgGateway(LocalOrg(tmp_path / "org.sqlite").salesforce)
    settings = Settings(plays={"own-records": {"prefix": "own:records"}})

    checks = run_checks(settings, {"own-records": own_records}, TODAY, lambda *_: org)

    [failed] = [c for c in checks if c.name.startswith("own-records") and not c.ok]
    assert failed.name == "own-records: queries"
    assert failed.detail == "plays.own-records.prefix: 'own:records' holds the colon that ends it"
