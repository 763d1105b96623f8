"""config.example.toml is where a user learns the keys: every key a section or a play's
config model reads is in it, set to its default or shown commented out."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from revsched.config import PoolSettings, Settings
from revsched.play import load_plays

EXAMPLE = (Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8")
# Settings the loader fills in itself (where the file was found, the environment it read).
NOT_KEYS = {"source", "environment"}
PLAYS = load_plays(Settings())


def keys(model: type[BaseModel]) -> list[str]:
    """The model's keys, and those of the models it holds (a table, a list of tables)."""
    found: list[str] = []
    for name, field in model.model_fields.items():
        found.append(field.alias or name)
        for inner in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                found += keys(inner)
    return found


def written(key: str, text: str) -> bool:
    """`key = ...`, `# key = ...`, `{ key = ... }`, or a table `[...key]` / `[...key.x]`."""
    key = re.escape(key)
    assigned = rf"(^|[\s#{{,]){key}\s*="
    table = rf"\[(?:[^\]\n]*\.)?{key}[.\]]"
    return bool(re.search(assigned, text, re.M) or re.search(table, text))


def play_section(name: str) -> str:
    """The lines from `[plays.NAME]` to the next table of another play or section."""
    lines = EXAMPLE.splitlines()
    start = lines.index(f"[plays.{name}]")
    end = start + 1
    while end < len(lines) and not re.match(
        rf"\[(?!plays\.{re.escape(name)}[.\]])[a-z]", lines[end]
    ):
        end += 1
    return "\n".join(lines[start:end])


def test_every_settings_key_is_in_the_example():
    sections = [
        field.annotation
        for name, field in Settings.model_fields.items()
        if name not in {"plays", "pools"}
        and isinstance(field.annotation, type)
        and issubclass(field.annotation, BaseModel)
    ]
    top = [k for k in Settings.model_fields if k not in NOT_KEYS]

    missing = [k for m in sections for k in keys(m) if not written(k, EXAMPLE)]
    missing += [k for k in top if not written(k, EXAMPLE)]

    assert missing == []


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_every_play_key_is_in_its_example_section(name: str):
    section = play_section(name)

    missing = [k for k in keys(PLAYS[name].config_model) if not written(k, section)]

    assert missing == []


def test_every_pool_key_is_in_the_example():
    missing = [k for k in keys(PoolSettings) if not written(k, EXAMPLE)]

    assert missing == []
