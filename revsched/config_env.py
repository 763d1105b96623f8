"""Config from the environment: any key of the config file can be set as
REVSCHED__SECTION__KEY, so CI and containers set switches and secret references without
writing a file (twelve-factor). A variable wins over the file.

The name is the key's path in upper case, each level after a double underscore:
`REVSCHED__ORG__KIND=salesforce` is `[org] kind`, `REVSCHED__PLAYS__WIN_BACK__ENABLED`
is `[plays.win-back] enabled` (under `plays`, `pools` and `alerts.plays` a name's `_`
stands for its `-`). A level matches a key the file already has when they are equal
ignoring case, `-`, `_` and spaces, so `..__ROUTES__NO_BUDGET__..` finds `"No Budget"`.
The value is text, which the key's type reads as the file's value would be read (`500`,
`true`, `2026-01-01`, `62.0` for a text key stays "62.0"); a value starting with `[`, `{`
or a quote is a TOML value: `["a", "b"]`, `{ env = "NAME" }`, `"  padded "`.

Secrets stay references: a secret's key takes `{ env = "NAME" }` or `{ file = "PATH" }`
(or `REVSCHED__ORG__PASSWORD__ENV=NAME`), and a secret pasted as the value is refused
like one pasted in the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revsched.errors import ConfigError

PREFIX = "REVSCHED__"
# Tables whose keys are play or pool names: kebab-case, which a variable cannot spell.
_NAMED_TABLES = {("plays",), ("pools",), ("alerts", "plays")}


@dataclass(frozen=True)
class EnvSetting:
    """One config key set by an environment variable."""

    variable: str
    path: tuple[str, ...]
    value: Any

    @property
    def key(self) -> str:
        return ".".join(self.path)


def _folded(name: str) -> str:
    return re.sub(r"[-_ ]", "", name).lower()


def _value(variable: str, text: str) -> Any:
    """An array, table or quoted string as TOML reads it; anything else as its text, for
    the key's type to read (pydantic turns "500" into 500 for a number, keeps it for text)."""
    if not text.lstrip().startswith(("[", "{", '"', "'")):
        return text
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (tomllib.TOMLDecodeError, KeyError):
        raise ConfigError(
            f"{variable}: not a valid TOML array, table or quoted string (a value starting "
            "with [, { or a quote is read as one)"
        ) from None


def _path(variable: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The config key a variable names, matched against the keys the file has."""
    levels = variable[len(PREFIX) :].split("__")
    if not all(levels):
        raise ConfigError(
            f"{variable}: not a config key; name it REVSCHED__SECTION__KEY, each level "
            "after a double underscore"
        )
    path: list[str] = []
    table: Any = data
    for level in levels:
        existing = table if isinstance(table, Mapping) else {}
        match = next((k for k in existing if _folded(k) == _folded(level)), None)
        if match is None:
            match = level.lower()
            if tuple(path) in _NAMED_TABLES:
                match = match.replace("_", "-")
        path.append(match)
        table = existing.get(match)
    return tuple(path)


def env_settings(environ: Mapping[str, str], data: Mapping[str, Any]) -> list[EnvSetting]:
    """The config keys the environment sets, in variable-name order."""
    return [
        EnvSetting(name, _path(name, data), _value(name, text))
        for name, text in sorted(environ.items())
        if name.startswith(PREFIX)
    ]


def with_env_settings(data: Mapping[str, Any], settings: list[EnvSetting]) -> dict[str, Any]:
    """The file's data with each environment setting put in place (the file unchanged)."""
    merged = _copy(data)
    for setting in settings:
        table = merged
        for depth, level in enumerate(setting.path[:-1]):
            child = table.setdefault(level, {})
            if not isinstance(child, dict):
                where = ".".join(setting.path[: depth + 1])
                raise ConfigError(
                    f"{setting.variable}: {where} is a value in the config file, not a table"
                )
            table = child
        table[setting.path[-1]] = setting.value
    return merged


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}
