"""Loading and validating revsched's TOML configuration.

Engine settings are validated here; each play's own section is validated
against the config model the play declares (see `revsched.play`), so a typo in
any key is an error that names the key, never a silently ignored setting.
Secret references live in `revsched.config_secrets`, the alert and enrollment
channels' settings in `revsched.config_channels`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from revsched.config_channels import AlertSettings, EnrollmentSettings

# Re-exported: the settings of the alert and enrollment channels, as callers import them.
from revsched.config_channels import OutreachOAuthSettings as OutreachOAuthSettings
from revsched.config_channels import OutreachSettings as OutreachSettings
from revsched.config_channels import PlayAlerts as PlayAlerts
from revsched.config_channels import SlackSettings as SlackSettings
from revsched.config_channels import SmtpSettings as SmtpSettings
from revsched.config_env import env_settings, with_env_settings
from revsched.config_secrets import (
    SECRET_KEYS,
    SecretRef,
    StrictModel,
    secret_from_env,
    section_defaults,
)
from revsched.config_secrets import looks_like_a_secret as looks_like_a_secret
from revsched.config_secrets import secret as secret
from revsched.errors import ConfigError, plain_message
from revsched.locations import find_config_file, revsched_home
from revsched.soql import FieldName


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
    consumer_key: SecretRef = secret_from_env("SALESFORCE_CONSUMER_KEY")
    private_key: SecretRef = secret_from_env("SALESFORCE_PRIVATE_KEY")
    consumer_secret: SecretRef = secret_from_env("SALESFORCE_CONSUMER_SECRET")
    password: SecretRef = secret_from_env("SALESFORCE_PASSWORD")
    security_token: SecretRef = secret_from_env("SALESFORCE_SECURITY_TOKEN")
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
    # Above this many rows (the first page tells the size), read the rest with a Bulk
    # API 2.0 query job; 0: Bulk for every query it can serve.
    bulk_read_threshold: int = Field(10_000, ge=0)
    # Above this many records of one object, write with a Bulk API 2.0 ingest job.
    bulk_write_threshold: int = Field(2_000, ge=0)
    # Rows per Bulk query results page.
    bulk_page_size: int = Field(50_000, ge=1)


class StateSettings(StrictModel):
    """The state store: runs, audit, fired stages, round-robin cursors."""

    url: str | None = None
    # Also record each firing in the org (Revsched_Firing__c, shipped in salesforce/) and
    # read it back before deciding, so a new machine never repeats an alert. Off only for
    # orgs that cannot deploy the object: `revsched doctor` then warns.
    org_memory: bool = True
    # Every applied run's report (revsched.report_files) is also written here; unset: none.
    report_dir: Path | None = None

    def database_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{revsched_home() / 'state.sqlite'}"


class SchedulerSettings(StrictModel):
    """`revsched scheduler`: how late a play may still run after its time."""

    # An occurrence missed by up to this (server down, process paused) runs once
    # when the scheduler is back; older ones are skipped until the next occurrence.
    misfire_grace_seconds: int = Field(6 * 3600, ge=1)


class DateRange(StrictModel):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


class PoolMember(StrictModel):
    username: str
    # Served this many times per turn of the rotation.
    weight: int = Field(1, ge=1, le=100)
    # At most this many assignments a day (default: the pool's).
    daily_cap: int | None = Field(None, ge=0)
    out_of_office: list[DateRange] = []


class WorkingHours(StrictModel):
    """When members take work, in each member's own time zone (User.TimeZoneSidKey)."""

    start: time = time(9)
    end: time = time(17)
    # ISO weekdays: 1 = Monday ... 7 = Sunday.
    days: list[int] = Field([1, 2, 3, 4, 5], min_length=1)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in days):
            raise ValueError("days are ISO weekdays, 1 = Monday ... 7 = Sunday")
        return days


class PoolSettings(StrictModel):
    """A round-robin pool: users by Username (or tables with weight, cap, absences)."""

    # A plain Username is a member of weight 1 with the pool's cap.
    members: list[PoolMember] = Field(min_length=1)
    daily_cap: int | None = Field(None, ge=0)
    # A User checkbox that marks someone out of office (e.g. Out_Of_Office__c).
    out_of_office_field: FieldName | None = None
    working_hours: WorkingHours | None = None

    @field_validator("members", mode="before")
    @classmethod
    def _usernames_are_members(cls, members: Any) -> Any:
        if not isinstance(members, list):
            return members
        return [{"username": m} if isinstance(m, str) else m for m in members]

    @property
    def usernames(self) -> list[str]:
        return [member.username for member in self.members]


class TemplateSettings(StrictModel):
    """Directories searched for alert templates before the shipped ones."""

    paths: list[Path] = []


# The demo org's users' Usernames end with this; none may reach a real org as a default.
DEMO_USER_DOMAIN = "@demo.revsched.dev"


def _demo_pool(*names: str) -> PoolSettings:
    return PoolSettings(members=[f"{name}{DEMO_USER_DOMAIN}" for name in names])


def demo_pools() -> dict[str, PoolSettings]:
    """Pools of the demo org's users, so the shipped plays run with no config at all."""
    return {
        "win-back-ae": _demo_pool(
            "ava.patel", "ben.okafor", "carla.mendez", "dev.sharma", "eli.novak"
        ),
        "win-back-sdr": _demo_pool("fay.nguyen", "gus.romero", "hana.kim", "ivan.petrov"),
        "job-changes-ae": _demo_pool("ava.patel", "ben.okafor", "carla.mendez", "dev.sharma"),
        "job-changes-sdr": _demo_pool("fay.nguyen", "gus.romero", "hana.kim", "ivan.petrov"),
        "route-leads-amer": _demo_pool("fay.nguyen", "gus.romero"),
        "route-leads-emea": _demo_pool("hana.kim", "ivan.petrov"),
        "route-leads-pubsec": _demo_pool("gus.romero"),
        "route-leads-default": _demo_pool("fay.nguyen", "gus.romero", "hana.kim", "ivan.petrov"),
    }


class Settings(StrictModel):
    time_zone: str = "UTC"
    org: OrgSettings = section_defaults()
    api: ApiSettings = section_defaults()
    state: StateSettings = section_defaults()
    scheduler: SchedulerSettings = section_defaults()
    templates: TemplateSettings = section_defaults()
    alerts: AlertSettings = section_defaults()
    enrollment: EnrollmentSettings = section_defaults()
    # Extra directories of play modules, loaded beside the shipped `jobs/`.
    play_paths: list[Path] = []
    pools: dict[str, PoolSettings] = Field(default_factory=demo_pools)
    # Raw per-play sections; each play validates its own.
    plays: dict[str, dict[str, Any]] = {}
    source: Path | None = Field(None, exclude=True)
    # Keys set by REVSCHED__ variables (key -> variable), for errors to name the variable.
    environment: dict[str, str] = Field({}, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _no_demo_pools_on_a_real_org(cls, data: Any) -> Any:
        """The demo pools are defaults on the demo org only: a real org names its own."""
        if isinstance(data, dict) and "pools" not in data:
            org = data.get("org")
            kind = org.get("kind") if isinstance(org, dict) else getattr(org, "kind", None)
            if kind == "salesforce":
                return {**data, "pools": {}}
        return data

    @model_validator(mode="after")
    def _real_enrollments_on_a_real_org(self) -> Settings:
        """The fake channel enrolls nobody: on a real org it would report enrollments
        that never happened."""
        if self.org.kind == "salesforce" and self.enrollment.kind == "fake":
            raise ValueError(
                "enrollment.kind = 'fake' enrolls nobody; on a real org use"
                " 'salesforce-field' or 'outreach'"
            )
        return self

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


def _echo_input(error: Any) -> bool:
    """Whether the bad value helps the message: not whole sections, and never anything under
    a secret's key (a secret pasted where its reference belongs must not reach a log)."""
    return (
        "input" in error
        and error["type"] != "missing"
        and not isinstance(error["input"], dict)
        and not SECRET_KEYS & set(error["loc"])
    )


def describe_validation_error(
    error: ValidationError,
    prefix: str,
    source: Path | None,
    environment: Mapping[str, str] | None = None,
) -> str:
    """One line naming the first bad key, its value and what is expected instead, and
    where it was set: the config file, or the REVSCHED__ variable (`environment`: keys
    set from the environment -> their variables)."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    variable = next(
        (
            name
            for set_key, name in (environment or {}).items()
            if f"{key}.".startswith(f"{set_key}.") or set_key.startswith(f"{key}.")
        ),
        None,
    )
    where = f"{variable}: " if variable else f"{source}: " if source else ""
    if first["type"] == "extra_forbidden":
        return f"{where}{key}: unknown key (check the spelling against config.example.toml)"
    message = plain_message(first["msg"])
    if _echo_input(first):
        return f"{where}{key} = {first['input']!r}: {message}"
    return f"{where}{key}: {message}"


def read_user_file(path: Path, what: str) -> str:
    """The text of a file the user named, or one line saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not a {what}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text, so not a {what}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {what} ({error.strerror})") from None


def load_settings(path: Path | None = None) -> Settings:
    """The config file's settings, with any REVSCHED__SECTION__KEY variable over them."""
    config_file = find_config_file(path)
    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = tomllib.loads(read_user_file(config_file, "config file"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{config_file}: not valid TOML: {error}") from None
    from_env = env_settings(os.environ, data)
    environment = {setting.key: setting.variable for setting in from_env}
    try:
        return Settings.model_validate(
            {
                **with_env_settings(data, from_env),
                "source": config_file,
                "environment": environment,
            }
        )
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, "", config_file, environment)) from None
