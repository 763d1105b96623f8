"""Config loading: the example is the defaults, and every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings, demo_pools, load_settings, looks_like_a_secret
from revsched.errors import ConfigError
from revsched.play import load_plays

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_example_config_spells_out_the_defaults():
    settings = load_settings(EXAMPLE)

    assert settings.pools == demo_pools()
    assert settings.model_dump(exclude={"plays"}) == Settings().model_dump(exclude={"plays"})
    for play in load_plays(settings).values():
        assert play.configure(settings) == play.configure(Settings()), play.name


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "ops.toml"
    config.write_text('time_zone = "America/New_York"\n', encoding="utf-8")
    monkeypatch.setenv("REVSCHED_CONFIG", str(config))

    assert load_settings().time_zone == "America/New_York"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time_zone = 'Mars/Olympus'",
            "time_zone = 'Mars/Olympus': unknown time zone 'Mars/Olympus'; use an IANA name",
        ),
        ("timezone = 'UTC'", "timezone: unknown key (check the spelling"),
        ("[org]\nkind = 'sandbox'", "org.kind = 'sandbox': expected 'local' or 'salesforce'"),
        ("[pools.x]\nmembers = []", "pools.x.members = []: expected at least 1 item"),
        (
            "[enrollment]\nkind = 'hubspot'",
            "enrollment.kind = 'hubspot': expected 'salesforce-field', 'outreach' or 'fake'",
        ),
        (
            "[org]\nkind = 'salesforce'\n[enrollment]\nkind = 'fake'",
            "enrollment.kind = 'fake' enrolls nobody; on a real org use 'salesforce-field' or"
            " 'outreach'",
        ),
        (
            "[enrollment.outreach]\ntoken = 'abc123verysecretTOKENvalue99'",
            "enrollment.outreach.token: secrets never go in the config file",
        ),
        ("[org\nkind = 1", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str):
    config = tmp_path / "revsched.toml"
    config.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(config)

    assert str(error.value).startswith(f"{config}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_section_for_an_unknown_play_is_an_error():
    with pytest.raises(ConfigError, match=r"plays\.win-bak: no such play; known plays: .*win-back"):
        load_plays(Settings(plays={"win-bak": {}}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[alerts]\nkind = 'sms'", "alerts.kind = 'sms': expected 'terminal', 'slack', 'webhook'"),
        ("[alerts]\ndeliver = 'dms'", "alerts.deliver = 'dms': expected 'dm', 'channel' or 'both'"),
        ("[alerts]\ndigets = true", "alerts.digets: unknown key"),
        ("[alerts.slack]\nbase_url = 'slack.com'", "alerts.slack.base_url = 'slack.com': must be"),
        ("[alerts.slack]\nlookup_ttl_hours = 0", "alerts.slack.lookup_ttl_hours = 0: expected"),
        ("[alerts.smtp]\nport = 0", "alerts.smtp.port = 0: expected greater than or equal to 1"),
        (
            "[alerts.smtp]\nfrom_address = 'me'",
            "alerts.smtp.from_address = 'me': expected text matching",
        ),
        ("[alerts.plays.win-back]\nkind = 'fax'", "alerts.plays.win-back.kind = 'fax': expected"),
        (
            "[alerts]\nkind = 'slack'\ndeliver = 'both'",
            "alerts: deliver = 'both' needs a channel (set alerts.channel",
        ),
        (
            "[alerts.plays.win-back]\nkind = 'slack'\ndeliver = 'channel'",
            "alerts.plays.win-back: deliver = 'channel' needs a channel",
        ),
    ],
)
def test_bad_alerts_config_names_the_key(tmp_path: Path, text: str, message: str):
    config = tmp_path / "revsched.toml"
    config.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(config)

    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[alerts.slack]\ntoken = 'xoxb-1234-5678-SECRET'",
            "alerts.slack.token: secrets never go in the config file",
        ),
        (
            "[alerts.slack]\ntoken = { env = 'xoxb-1234-5678-SECRET' }",
            "alerts.slack.token.env: must be the name of an environment variable",
        ),
        (  # a valid variable name, but a token
            "[alerts.slack]\ntoken = { env = 'xoxb_1234567890_SECRETaBcDeFgHiJkLm' }",
            "alerts.slack.token.env: must be the name of an environment variable",
        ),
        (
            "[org]\nkind = 'salesforce'\nconsumer_secret = { env = '" + "SECRET9" * 10 + "' }",
            "org.consumer_secret.env: must be the name of an environment variable",
        ),
        (
            "[alerts.slack]\ntoken = { file = 'xoxb-1234567890-SECRETaBcDeFgHiJkLm' }",
            "alerts.slack.token.file: must be the path of the file",
        ),
        (
            "[alerts]\nwebhook_url = { file = 'https://hooks.slack.com/services/T0/B0/SECRET' }",
            "alerts.webhook_url.file: must be the path of the file",
        ),
    ],
)
def test_a_secret_pasted_into_the_config_is_refused_and_never_echoed(
    tmp_path: Path, text: str, message: str
):
    config = tmp_path / "revsched.toml"
    config.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(config)

    assert message in str(error.value)
    assert "SECRET" not in str(error.value)
    for log_format in ("human", "json"):
        args = ["--log-format", log_format, "run", "win-back", "--dry-run", "-c", str(config)]
        refused = CliRunner().invoke(app, args)
        assert refused.exit_code == 2
        assert "SECRET" not in refused.output + refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "name", ["SALESFORCE_CONSUMER_SECRET", "MY_SLACK_TOKEN", "slack_token", "RevschedSlackToken"]
)
def test_ordinary_variable_names_are_not_taken_for_secrets(name: str):
    assert not looks_like_a_secret(name)


def test_play_alerts_inherit_every_key_they_leave_out():
    settings = Settings.model_validate(
        {
            "alerts": {
                "kind": "slack",
                "channel": "#revops",
                "plays": {"win-back": {"deliver": "both", "digest": True}},
            }
        }
    )

    win_back = settings.alerts.for_play("win-back")
    other = settings.alerts.for_play("churn-intake")

    assert (win_back.kind, win_back.deliver, win_back.channel, win_back.digest) == (
        "slack",
        "both",
        "#revops",
        True,
    )
    assert (other.deliver, other.digest) == ("dm", False)


def test_alerts_section_for_an_unknown_play_is_an_error():
    settings = Settings.model_validate({"alerts": {"plays": {"win-bak": {"digest": True}}}})

    with pytest.raises(ConfigError, match=r"alerts\.plays\.win-bak: no such play"):
        load_plays(settings)


def test_missing_secret_is_one_line_naming_the_key(monkeypatch: pytest.MonkeyPatch):
    from revsched.config import SecretRef, secret

    monkeypatch.delenv("MY_SLACK_TOKEN", raising=False)

    with pytest.raises(ConfigError) as error:
        secret("alerts.slack.token", SecretRef(env="MY_SLACK_TOKEN"))

    assert str(error.value) == (
        "alerts.slack.token: environment variable MY_SLACK_TOKEN is unset or empty (it holds the"
        " secret, which never goes in the config file)"
    )
