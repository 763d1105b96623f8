"""Loading and validating revsched's TOML configuration.

Engine settings are validated here; each play's own section is validated
against the config model the play declares (see `revsched.play`), so a typo in
any key is an error that names the key, never a silently ignored setting.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from revsched.errors import ConfigError
from revsched.soql import FieldName

CONFIG_ENV = "REVSCHED_CONFIG"
HOME_ENV = "REVSCHED_HOME"


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt setting must not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def revsched_home() -> Path:
    """Where revsched keeps its state and the embedded demo org by default."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "revsched"


# Keys whose values are secret references: a config error about them never echoes the input.
SECRET_KEYS = frozenset(
    {"consumer_key", "private_key", "consumer_secret", "password", "security_token"}
)


class SecretRef(StrictModel):
    """Where a secret is read from: an environment variable or a file, never the config text."""

    env: str | None = None
    file: Path | None = None

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


class OrgSettings(StrictModel):
    """Which Salesforce org to talk to.

    `local` is the embedded SQLite org (built with demo data on first use) or,
    with `url`, a local org served by `revsched org serve`.
    """

    kind: Literal["local", "salesforce"] = "local"
    path: Path | None = None
    url: str | None = None
    demo_accounts: int = Field(300, ge=1)
    demo_seed: int = 7
    # kind = "salesforce": how to log in, and where each secret is read from.
    auth: Literal["jwt", "client_credentials", "password"] = "jwt"
    username: str | None = None
    # "login", "test" (sandboxes) or a My Domain such as "acme.my" (client_credentials needs it).
    domain: str = "login"
    consumer_key: SecretRef = SecretRef(env="SALESFORCE_CONSUMER_KEY")
    private_key: SecretRef = SecretRef(env="SALESFORCE_PRIVATE_KEY")
    consumer_secret: SecretRef = SecretRef(env="SALESFORCE_CONSUMER_SECRET")
    password: SecretRef = SecretRef(env="SALESFORCE_PASSWORD")
    security_token: SecretRef = SecretRef(env="SALESFORCE_SECURITY_TOKEN")
    api_version: str = "62.0"
    # External ID field, on every object revsched creates records of, holding the
    # deterministic key it upserts on: Salesforce itself refuses a duplicate.
    key_field: FieldName = "Revsched_Key__c"

    def local_path(self) -> Path:
        return (self.path or revsched_home() / "demo-org.sqlite").expanduser()


class ApiSettings(StrictModel):
    """How revsched spends the org's API allowance, which every integration shares."""

    # Rows per REST query page (Salesforce allows 200..2000).
    query_batch_size: int = Field(2000, ge=200, le=2000)
    # sObject Collections calls in flight at once.
    max_in_flight: int = Field(4, ge=1, le=25)
    # Tries per call on 5xx, timeouts, dropped connections and locked rows.
    max_attempts: int = Field(5, ge=1)
    retry_base_seconds: float = Field(0.5, ge=0)
    retry_max_seconds: float = Field(30, ge=0)
    # Stop before pushing the org's daily API usage past this share of its limit.
    budget_share: float = Field(0.8, gt=0, le=1)


class StateSettings(StrictModel):
    """The state store: runs, audit, fired stages, round-robin cursors."""

    url: str | None = None

    def database_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{revsched_home() / 'state.sqlite'}"


class SchedulerSettings(StrictModel):
    """`revsched scheduler`: how late a play may still run after its time."""

    # An occurrence missed by up to this (server down, process paused) runs once
    # when the scheduler is back; older ones are skipped until the next occurrence.
    misfire_grace_seconds: int = Field(6 * 3600, ge=1)


class PoolSettings(StrictModel):
    """A round-robin pool: users by Username, served in order."""

    members: list[str] = Field(min_length=1)


class TemplateSettings(StrictModel):
    """Directories searched for alert templates before the shipped ones."""

    paths: list[Path] = []


def _demo_pool(*names: str) -> PoolSettings:
    return PoolSettings(members=[f"{name}@demo.revsched.dev" for name in names])


# Pools of the demo org's users, so the shipped plays run with no config at all.
DEMO_POOLS = {
    "win-back-ae": _demo_pool("ava.patel", "ben.okafor", "carla.mendez", "dev.sharma", "eli.novak"),
    "win-back-sdr": _demo_pool("fay.nguyen", "gus.romero", "hana.kim", "ivan.petrov"),
}


class Settings(StrictModel):
    time_zone: str = "UTC"
    org: OrgSettings = OrgSettings()
    api: ApiSettings = ApiSettings()
    state: StateSettings = StateSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    templates: TemplateSettings = TemplateSettings()
    # Extra directories of play modules, loaded beside the shipped `jobs/`.
    play_paths: list[Path] = []
    pools: dict[str, PoolSettings] = DEMO_POOLS
    # Raw per-play sections; each play validates its own.
    plays: dict[str, dict[str, Any]] = {}
    source: Path | None = Field(None, exclude=True)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'America/Los_Angeles'"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def describe_validation_error(error: ValidationError, prefix: str, source: Path | None) -> str:
    """One line naming the first bad key and what is wrong with it."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    where = f"{source}: " if source else ""
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against config.example.toml)"
    elif "input" in first and first["type"] != "missing" and not SECRET_KEYS & set(first["loc"]):
        message = f"{message} (got {first['input']!r})"
    return f"{where}{key}: {message}"


def find_config_file(explicit: Path | None) -> Path | None:
    """--config, then $REVSCHED_CONFIG, then ./revsched.toml; None means all defaults."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path("revsched.toml")
    return local if local.exists() else None


def load_settings(path: Path | None = None) -> Settings:
    config_file = find_config_file(path)
    if config_file is None:
        return Settings()
    try:
        data = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_file}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_file}: not valid TOML: {error}") from None
    try:
        return Settings.model_validate({**data, "source": config_file})
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, "", config_file)) from None
