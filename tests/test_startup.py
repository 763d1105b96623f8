"""A command loads only what it uses: `--help` and `plays` start without the heavy libraries.

Checked in a fresh interpreter (this test process has imported everything already), by
the set of modules loaded, not by time: the timing target is benchmarks/startup.py's.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "alembic",
    "simple_salesforce",
    "zeep",
    "slack_sdk",
    "werkzeug",
    "lark",
    "rapidfuzz",
    # The dedupe plays' data sets, loaded when they first match.
    "tldextract",
    "phonenumbers",
    "nameparser",
    "nicknames",
    "anyascii",
    "cleanco",
    # Parses Salesforce datetimes in a run; loads dateutil.tz and ctypes with it.
    "dateutil.parser",
    # Salesforce's SOAP calls (xml.sax, urllib.request), loaded when a run merges or converts.
    "revsched.salesforce_soap",
    # Built only for a stdlib dataclass in a model; Schedule declares its own schema.
    "pydantic.dataclasses",
    # The scheduler (and asyncio with it): `plays` finds next runs without it.
    "apscheduler",
    "asyncio",
)
# Loaded when pydantic first builds a validator (its plugins are entry points, scanned
# across every installed distribution): a command that reads the config needs them.
BUILT_A_MODEL = ("importlib.metadata", "pydantic.plugin._loader")

PROBE = """
import json, sys
from revsched.cli import app
try:
    app(sys.argv[1:], prog_name="revsched")
except SystemExit:
    pass
loaded = sorted(name for name in json.loads({heavy!r}) if name in sys.modules)
print("LOADED", json.dumps(loaded))
"""


def loaded_by(*args: str, watched: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    """The watched modules that `revsched ARGS` loads in a fresh interpreter, and its output."""
    code = PROBE.format(heavy=json.dumps(watched))
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    output, _, loaded = done.stdout.rpartition("LOADED ")
    return json.loads(loaded), output


@pytest.mark.parametrize("args", [(), ("--help",), ("run", "--help"), ("state", "--help")])
def test_help_loads_none_of_the_heavy_libraries(args: tuple[str, ...]):
    loaded, output = loaded_by(*args)
    assert loaded == []
    assert "Usage" in output


def test_the_top_level_help_builds_no_model():
    """Config defaults are made when a config is read (default_factory), not at import."""
    loaded, output = loaded_by("--help", watched=HEAVY + BUILT_A_MODEL)
    assert loaded == []
    assert "Usage" in output


# What only a command that reads the config or prints with rich needs. typer itself loads
# pydantic to convert the options' values, so a command's own --help has pydantic (typer's,
# with none of revsched's models); the top-level --help converts no value.
NOT_FOR_HELP = ("revsched.config", "revsched.play", "revsched.plan", "rich")


def test_the_top_level_help_loads_no_pydantic_config_or_rich():
    loaded, output = loaded_by("--help", watched=(*NOT_FOR_HELP, "pydantic"))
    assert loaded == []
    assert "Usage" in output


@pytest.mark.parametrize("args", [("run", "--help"), ("plays", "--help"), ("state", "--help")])
def test_a_command_help_loads_no_config_or_rich(args: tuple[str, ...]):
    loaded, output = loaded_by(*args, watched=NOT_FOR_HELP)
    assert loaded == []
    assert "Usage" in output


def test_plays_lists_the_plays_without_the_heavy_libraries():
    loaded, output = loaded_by("plays")
    assert loaded == []
    assert "win-back" in output
    assert "dedupe-accounts" in output


# What listing the plays leaves for a run: the dedupe matcher (its plays' config models
# live apart from it), and rich (the plays are listed as plain aligned text).
NOT_FOR_LISTING = (
    "revsched.dedupe.match",
    "revsched.dedupe.people",
    "revsched.dedupe.companies",
    "revsched.dedupe.planning",
    "rich",
)


def test_plays_lists_the_dedupe_plays_without_their_matcher():
    loaded, output = loaded_by("plays", watched=NOT_FOR_LISTING)
    assert loaded == []
    assert "dedupe-contacts" in output
    assert "Merge duplicate contacts" in output


def test_a_run_still_loads_what_it_uses():
    loaded, _ = loaded_by("history")
    assert {"sqlalchemy", "alembic"} <= set(loaded)


BUILT_MODELS = """
import sys
from revsched.cli import app
from revsched.config import load_settings
from revsched.play import load_plays
try:
    app(sys.argv[1:], prog_name="revsched")
except SystemExit:
    pass
for play in load_plays(load_settings(None)).values():
    if type(play.config_model.__pydantic_validator__).__name__ != "MockValSer":
        print("BUILT", play.name)
"""


def test_plays_builds_no_model_for_a_play_the_config_leaves_out():
    """A play's config model is built (tens of validators) only for a play with a section."""
    done = subprocess.run(
        [sys.executable, "-c", BUILT_MODELS, "plays"], capture_output=True, text=True, check=True
    )
    assert "win-back" in done.stdout
    assert "BUILT" not in done.stdout


def test_a_run_loads_the_alert_channel_it_sends_through_only():
    """The runner and the alert delivery load no Slack or SMTP client until a play's alerts
    go that way (the default prints them in the terminal)."""
    code = (
        "import sys, revsched.runner, revsched.notify, revsched.session\n"
        "print([m for m in ('slack_sdk', 'smtplib') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
