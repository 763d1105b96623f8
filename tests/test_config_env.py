"""Config from the environment: any key as REVSCHED__SECTION__KEY, over the config file;
secrets still only as references; a bad variable is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import load_settings
from revsched.errors import ConfigError
from revsched.play import load_plays

CONFIG = """
time_zone = "Europe/Berlin"

[api]
max_attempts = 3

[alerts]
channel = "#revops"

[plays.win-back]
catch_up_days = 10

[plays.win-back.routes."No Budget"]
campaign = "Win-back: budget"
ae_pool = "win-back-ae"
sdr_pool = "win-back-sdr"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "revsched.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_variables_set_engine_and_play_keys_over_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVSCHED__TIME_ZONE", "America/Chicago")
    monkeypatch.setenv("REVSCHED__API__MAX_ATTEMPTS", "7")
    monkeypatch.setenv("REVSCHED__ALERTS__DIGEST", "true")
    monkeypatch.setenv("REVSCHED__PLAYS__WIN_BACK__ENABLED", "false")
    monkeypatch.setenv("REVSCHED__PLAYS__WIN_BACK__STAGES_MONTHS", "[3, 9]")
    monkeypatch.setenv("REVSCHED__PLAYS__WIN_BACK__ROUTES__NO_BUDGET__CAMPAIGN", "Budget is back")

    settings = load_settings(config)
    win_back = load_plays(settings)["win-back"].configure(settings)

    assert settings.time_zone == "America/Chicago"
    assert settings.api.max_attempts == 7
    assert settings.alerts.digest is True
    assert settings.alerts.channel == "#revops"  # the file's keys the environment leaves alone
    assert win_back.enabled is False
    assert win_back.stages_months == [3, 9]
    assert win_back.catch_up_days == 10
    assert win_back.routes["No Budget"].campaign == "Budget is back"
    assert win_back.routes["No Budget"].ae_pool == "win-back-ae"


def test_variables_apply_without_a_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVSCHED__ORG__KIND", "salesforce")
    monkeypatch.setenv("REVSCHED__ORG__USERNAME", "integration@acme.example")
    monkeypatch.setenv("REVSCHED__ORG__API_VERSION", "63.0")  # a text key keeps the text
    monkeypatch.setenv("REVSCHED__ALERTS__CHANNEL", '"  #ops "')  # quoted: TOML's string

    settings = load_settings()

    assert settings.source is None
    assert settings.org.kind == "salesforce"
    assert settings.org.username == "integration@acme.example"
    assert settings.org.api_version == "63.0"
    assert settings.alerts.channel == "  #ops "


def test_secrets_are_set_as_references(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVSCHED__ORG__PASSWORD__ENV", "ACME_SF_PASSWORD")
    monkeypatch.setenv("ACME_SF_PASSWORD", "pw-from-the-vault")
    monkeypatch.setenv("REVSCHED__ALERTS__SLACK__TOKEN", '{ file = "/run/secrets/slack" }')

    settings = load_settings(config)

    assert settings.org.password.env == "ACME_SF_PASSWORD"
    assert settings.org.password.read() == "pw-from-the-vault"
    assert settings.alerts.slack.token.file == Path("/run/secrets/slack")
    assert settings.alerts.slack.token.env is None


def test_a_secret_set_as_the_value_is_refused_and_never_echoed(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "3MVG9SECRETaBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
    monkeypatch.setenv("REVSCHED__ORG__CONSUMER_SECRET", secret)

    with pytest.raises(ConfigError) as error:
        load_settings(config)

    assert str(error.value).startswith("REVSCHED__ORG__CONSUMER_SECRET: org.consumer_secret: ")
    assert "secrets never go in the config file" in str(error.value)
    assert "SECRET" not in str(error.value).removeprefix("REVSCHED__ORG__CONSUMER_SECRET")
    refused = CliRunner().invoke(app, ["run", "win-back", "--dry-run", "-c", str(config)])
    assert refused.exit_code == 2
    assert secret not in refused.output + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "REVSCHED__API__MAX_ATTEMPTS",
            "many",
            "REVSCHED__API__MAX_ATTEMPTS: api.max_attempts = 'many': expected a whole number",
        ),
        (
            "REVSCHED__API__MAX_ATEMPTS",
            "3",
            "REVSCHED__API__MAX_ATEMPTS: api.max_atempts: unknown key",
        ),
        (
            "REVSCHED__API____MAX_ATTEMPTS",
            "3",
            "REVSCHED__API____MAX_ATTEMPTS: not a config key; name it REVSCHED__SECTION__KEY",
        ),
        (
            "REVSCHED__PLAYS__WIN_BACK__STAGES_MONTHS",
            "[3, 9",
            "REVSCHED__PLAYS__WIN_BACK__STAGES_MONTHS: not a valid TOML array, table or quoted",
        ),
        (
            "REVSCHED__TIME_ZONE__NAME",
            "UTC",
            "REVSCHED__TIME_ZONE__NAME: time_zone is a value in the config file, not a table",
        ),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(
    config: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as error:
        load_settings(config)

    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_a_bad_play_key_names_the_variable(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVSCHED__PLAYS__WIN_BACK__CATCH_UP_DAYS", "-1")
    settings = load_settings(config)

    with pytest.raises(ConfigError) as error:
        load_plays(settings)["win-back"].configure(settings)

    assert str(error.value).startswith(
        "REVSCHED__PLAYS__WIN_BACK__CATCH_UP_DAYS: plays.win-back.catch_up_days = '-1': "
    )
