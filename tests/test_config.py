"""Config loading: the example is the defaults, and every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from revsched.config import DEMO_POOLS, Settings, load_settings
from revsched.errors import ConfigError
from revsched.play import load_plays

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_example_config_spells_out_the_defaults():
    settings = load_settings(EXAMPLE)

    assert settings.pools == DEMO_POOLS
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
        ("time_zone = 'Mars/Olympus'", "time_zone: Value error, unknown time zone 'Mars/Olympus'"),
        ("timezone = 'UTC'", "timezone: unknown key (check the spelling"),
        ("[org]\nkind = 'sandbox'", "org.kind: Input should be 'local' or 'salesforce'"),
        ("[pools.x]\nmembers = []", "pools.x.members: List should have at least 1 item"),
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
