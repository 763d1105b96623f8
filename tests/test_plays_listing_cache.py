"""`revsched plays` lists from its saved rows only while nothing they depend on changed:
the same output as listing from the plays themselves, and a fresh listing after any
change to the code, the plays, the config or the REVSCHED variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import revsched.jobs.win_back
from revsched import plays_listing
from revsched.cli import app

# A moment the listing's next runs are found from, so two listings a minute apart agree.
NOW = datetime(2026, 11, 26, 8, 7, tzinfo=UTC)


class FixedClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return NOW.astimezone(tz)


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The listings made from the plays themselves (a miss), by config argument."""
    made: list[str] = []
    listing = plays_listing._listing

    def counted(config: Path | None) -> Any:
        made.append(str(config))
        return listing(config)

    monkeypatch.setattr(plays_listing, "_listing", counted)
    monkeypatch.setattr(plays_listing, "datetime", FixedClock)
    yield made


def plays(*args: str) -> str:
    result = CliRunner().invoke(app, ["plays", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


SCHEDULES = """
[plays.win-back]
schedule = 'weekly tue 07:30'
[plays.account-review]
enabled = false
"""


@pytest.mark.parametrize("config", ["", SCHEDULES], ids=["demo", "schedule overrides"])
@pytest.mark.parametrize("args", [(), ("--json",)], ids=["text", "json"])
def test_a_listing_from_the_cache_is_the_listing_from_the_plays(
    config: str, args: tuple[str, ...], listings: list[str], tmp_path: Path
):
    (tmp_path / "revsched.toml").write_text(config, encoding="utf-8")

    missed = plays(*args)
    hit = plays(*args)

    assert len(listings) == 1
    assert hit == missed
    assert "win-back" in hit


def test_the_schedule_overrides_are_listed(listings: list[str], tmp_path: Path):
    (tmp_path / "revsched.toml").write_text(SCHEDULES, encoding="utf-8")
    plays()

    listed = {play["name"]: play for play in json.loads(plays("--json"))}

    assert len(listings) == 1
    assert listed["win-back"]["schedule"] == "weekly tue 07:30"
    assert listed["win-back"]["next_run"] == "2026-12-01T07:30:00+00:00"
    assert listed["account-review"]["enabled"] is False


@pytest.fixture
def shipped_play_touched() -> Iterator[Callable[[], None]]:
    """Touch a shipped play module a second later (its text unchanged), then put its
    time back."""
    path = Path(revsched.jobs.win_back.__file__)
    before = path.stat()

    def touch() -> None:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))

    yield touch
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_touching_a_shipped_play_module_lists_from_the_plays(
    listings: list[str], shipped_play_touched: Callable[[], None]
):
    plays()
    shipped_play_touched()
    plays()
    assert len(listings) == 2


USER_PLAY = """
from revsched.play import Play, PlayConfig

play = Play(name={name!r}, summary={summary!r}, config_model=PlayConfig,
            queries=lambda ctx: {{}}, decide=lambda records, ctx: None)
"""


def user_play(folder: Path, name: str, summary: str) -> None:
    module = folder / f"{name.replace('-', '_')}.py"
    module.write_text(USER_PLAY.format(name=name, summary=summary), encoding="utf-8")


def test_a_play_added_or_edited_in_play_paths_is_listed(listings: list[str], tmp_path: Path):
    folder = tmp_path / "plays"
    folder.mkdir()
    user_play(folder, "first-play", "the first")
    (tmp_path / "revsched.toml").write_text(f"play_paths = [{str(folder)!r}]\n", encoding="utf-8")
    plays()
    assert "the first" in plays()
    assert len(listings) == 1

    user_play(folder, "second-play", "the second")
    assert "the second" in plays()
    assert len(listings) == 2

    user_play(folder, "first-play", "the first, edited")
    assert "the first, edited" in " ".join(plays().split())
    assert len(listings) == 3


def test_editing_the_config_lists_from_the_plays(listings: list[str], tmp_path: Path):
    config = tmp_path / "revsched.toml"
    config.write_text("", encoding="utf-8")
    plays()

    config.write_text("[plays.win-back]\nenabled = false\n", encoding="utf-8")
    listed = {play["name"]: play for play in json.loads(plays("--json"))}

    assert len(listings) == 2
    assert listed["win-back"]["enabled"] is False


def test_a_bad_config_still_fails_after_a_cached_listing(listings: list[str], tmp_path: Path):
    config = tmp_path / "revsched.toml"
    config.write_text("", encoding="utf-8")
    plays()
    plays()
    config.write_text("[plays.win-back]\nschedule = 'fortnightly'\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["plays"])

    assert result.exit_code != 0
    assert "plays.win-back.schedule" in result.output
    assert "'fortnightly' is not a schedule" in result.output


def test_a_schedule_variable_lists_from_the_plays(
    listings: list[str], monkeypatch: pytest.MonkeyPatch
):
    plays()
    monkeypatch.setenv("REVSCHED__PLAYS__WIN_BACK__SCHEDULE", "daily 06:15")

    listed = {play["name"]: play for play in json.loads(plays("--json"))}

    assert len(listings) == 2
    assert listed["win-back"]["schedule"] == "daily 06:15"


def test_the_cache_holds_a_digest_of_the_variables_not_their_values(
    revsched_home: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REVSCHED__ORG__DEMO_SEED", "424242")
    plays()
    assert "424242" not in (revsched_home / plays_listing.CACHE_FILE).read_text(encoding="utf-8")


def test_a_corrupt_cache_is_listed_past_and_rebuilt(listings: list[str], revsched_home: Path):
    missed = plays()
    cache = revsched_home / plays_listing.CACHE_FILE
    cache.write_text('{"key": "', encoding="utf-8")

    assert plays() == missed
    assert plays() == missed
    assert len(listings) == 2
    assert json.loads(cache.read_text(encoding="utf-8"))["plays"]


def test_a_home_that_cannot_be_written_still_lists(
    listings: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("REVSCHED_HOME", str(blocked / "home"))

    assert "win-back" in plays()
    assert "win-back" in plays()
    assert len(listings) == 2


PROBE = """
import sys
from revsched.cli import app
try:
    app(["plays"], prog_name="revsched")
except SystemExit:
    pass
print("LOADED", sorted(m for m in sys.modules if m == "revsched.config"
                       or m.startswith("revsched.jobs.") or m == "revsched.play"))
"""


def test_a_cached_listing_loads_no_play_module_and_no_config_model():
    def loaded() -> str:
        done = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
        )
        assert "win-back" in done.stdout
        return done.stdout.rpartition("LOADED ")[2].strip()

    assert "revsched.jobs.win_back" in loaded()
    assert loaded() == "[]"
