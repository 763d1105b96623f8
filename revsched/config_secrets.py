"""Secret references and the strict base model every settings model is built on.

Separate from the settings themselves because every section (org, alerts, enrollment)
uses them: a secret is named by where it is read from, never written in the config,
and the checks that refuse a pasted secret live in one place.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from revsched.errors import ConfigError


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt setting must not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# Keys whose values are secret references: a config error about them never echoes the input.
SECRET_KEYS = frozenset(
    {
        "consumer_key",
        "private_key",
        "consumer_secret",
        "password",
        "security_token",
        "token",
        "webhook_url",
    }
)


# Longer than any name people give a variable or a file, shorter than many tokens.
_LONGEST_NAME = 64


def looks_like_a_secret(text: str) -> bool:
    """A token pasted where its name belongs: very long, or random-looking (mixed case with
    digits, or a high entropy); UPPER_SNAKE names, as variables are named, never are."""
    if len(text) > _LONGEST_NAME:
        return True
    if re.fullmatch(r"[A-Z0-9_]*", text) or len(text) < 16:
        return False
    counts = Counter(text).values()
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts)
    mixed = all(re.search(chars, text) for chars in ("[a-z]", "[A-Z]", "[0-9]"))
    return entropy > 4.0 or (mixed and len(text) >= 20)


NOT_THE_SECRET = "the secret itself never goes in the config file"


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) or looks_like_a_secret(value):
        raise ValueError(
            f"must be the name of an environment variable (letters, digits, _); {NOT_THE_SECRET}"
        )
    return value


def _file_path(value: Path) -> Path:
    text = str(value)
    url = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", text)  # a Path keeps one slash of "://"
    if url or ("/" not in text and "." not in text and looks_like_a_secret(text)):
        raise ValueError(f"must be the path of the file holding the secret; {NOT_THE_SECRET}")
    return value


# The name of the environment variable holding a secret, so the secret stays out of the file.
EnvName = Annotated[str, AfterValidator(_env_name)]
# The path of the file holding a secret.
SecretPath = Annotated[Path, AfterValidator(_file_path)]


class SecretRef(StrictModel):
    """Where a secret is read from: an environment variable or a file, never the config text."""

    env: EnvName | None = None
    file: SecretPath | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_reference(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(
                'secrets never go in the config file: use { env = "NAME" } or { file = "PATH" }'
            )
        if len([k for k in ("env", "file") if value.get(k)]) != 1:
            raise ValueError('give exactly one of { env = "NAME" } or { file = "PATH" }')
        return value

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def read(self) -> str | None:
        """The secret, or None when the variable is unset or the file is missing or empty."""
        if self.env:
            return os.environ.get(self.env) or None
        assert self.file is not None
        try:
            return self.file.expanduser().read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None


def section_defaults(**values: Any) -> Any:
    """The default of a field holding a model: `values` (none: the model's own defaults),
    validated by the validator of the model holding the field when a config is read, not
    at import (`--help` builds no model). A default_factory calling the model would build
    that model's own validator too, at every start that reads a config."""
    return Field(values, validate_default=True)


def secret_from_env(env: str) -> Any:
    """A secret read from the environment variable `env` unless configured."""
    return section_defaults(env=env)


def secret(key: str, ref: SecretRef) -> str:
    """The secret a config key refers to; never logged or echoed."""
    value = ref.read()
    if value is None:
        raise ConfigError(
            f"{key}: {ref.describe()} is unset or empty (it holds the secret, "
            "which never goes in the config file)"
        )
    return value
