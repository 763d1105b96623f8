"""Loading and validating revsched's TOML configuration.

Engine settings are validated here; each play's own section is validated
against the config model the play declares (see `revsched.play`), so a typo in
any key is an error that names the key, never a silently ignored setting.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from revsched.config_env import env_settings, with_env_settings
from revsched.errors import ConfigError
from revsched.soql import FieldName

CONFIG_ENV = "REVSCHED_CONFIG"
HOME_ENV = "REVSCHED_HOME"


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt setting must not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def revsched_home() -> Path:
    """Where revsched keeps its state and the embedded demo org by default."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "revsched"


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


def _secret(env: str) -> Any:
    """A secret read from the environment variable `env` unless configured. Made when a
    config is read, not at import: `--help` builds no model."""
    return Field(default_factory=lambda: SecretRef(env=env))


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
    consumer_key: SecretRef = _secret("SALESFORCE_CONSUMER_KEY")
    private_key: SecretRef = _secret("SALESFORCE_PRIVATE_KEY")
    consumer_secret: SecretRef = _secret("SALESFORCE_CONSUMER_SECRET")
    password: SecretRef = _secret("SALESFORCE_PASSWORD")
    security_token: SecretRef = _secret("SALESFORCE_SECURITY_TOKEN")
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


AlertKind = Literal["terminal", "slack", "webhook", "email"]
Delivery = Literal["dm", "channel", "both"]


def base_url(value: str, example: str) -> str:
    """An API's base URL, ending with / so paths are appended to it."""
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"must be an http(s) URL such as {example!r}")
    return value if value.endswith("/") else value + "/"


class SlackSettings(StrictModel):
    """The Slack Web API, with a bot token read from the environment."""

    token: SecretRef = _secret("SLACK_BOT_TOKEN")
    # Enterprise Grid, a proxy, or a fake in tests; must end with /api/.
    base_url: str = "https://slack.com/api/"
    # How long an email -> Slack user lookup (found or not) is trusted.
    lookup_ttl_hours: float = Field(24, gt=0)
    timeout_seconds: int = Field(30, ge=1)
    # Retries of a rate-limited (429) call, each after its Retry-After.
    rate_limit_retries: int = Field(3, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return base_url(value, "https://slack.com/api/")


class SmtpSettings(StrictModel):
    """The mail server alerts go through when a play's alerts are `email`."""

    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    from_address: str = Field("revsched@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    starttls: bool = False
    # "" sends without logging in; otherwise the password is read from `password`.
    username: str = ""
    password: SecretRef = _secret("SMTP_PASSWORD")
    timeout_seconds: int = Field(30, ge=1)


class PlayAlertSettings(StrictModel):
    """One play's alert delivery; every key left out is taken from [alerts]."""

    kind: AlertKind | None = None
    deliver: Delivery | None = None
    channel: str | None = None
    fallback_channel: str | None = None
    digest: bool | None = None


class PlayAlerts(StrictModel):
    """How one play's alerts are delivered, [alerts] merged with [alerts.plays.<name>]."""

    kind: AlertKind
    deliver: Delivery
    channel: str
    fallback_channel: str
    digest: bool


class AlertSettings(StrictModel):
    """Where alerts go: the terminal, Slack (bot or incoming webhook) or email."""

    kind: AlertKind = "terminal"
    # Slack: a direct message to each recipient, the play's channel, or both.
    deliver: Delivery = "dm"
    # Channel ID or #name; "" for none.
    channel: str = ""
    # Where an alert for someone with no Slack account goes ("" = the play's channel).
    fallback_channel: str = ""
    # One message per recipient per run listing the records, instead of one per record.
    digest: bool = False
    webhook_url: SecretRef = _secret("SLACK_WEBHOOK_URL")
    slack: SlackSettings = Field(default_factory=SlackSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    plays: dict[str, PlayAlertSettings] = {}

    @model_validator(mode="after")
    def _channels_where_needed(self) -> AlertSettings:
        for name in ["", *self.plays]:
            play = self.for_play(name)
            key = f"alerts.plays.{name}" if name else "alerts"
            if play.kind == "slack" and play.deliver != "dm" and not play.channel:
                raise ValueError(
                    f"{key}: deliver = {play.deliver!r} needs a channel "
                    f"(set {key}.channel, or alerts.channel)"
                )
        return self

    def for_play(self, play: str) -> PlayAlerts:
        own = self.plays.get(play, PlayAlertSettings())
        merged = {
            key: getattr(self, key) if value is None else value
            for key, value in own.model_dump().items()
        }
        return PlayAlerts(**merged)


EnrollmentKind = Literal["salesforce-field", "outreach", "fake"]
ENROLLMENT_TRIES = 3


class OutreachOAuthSettings(StrictModel):
    """Refreshing Outreach's access tokens, which live two hours, so a scheduler running for
    days keeps enrolling. Outreach rotates the refresh token at each refresh (the old one
    stops working), so the current pair is kept in `token_file`: 0600, replaced atomically,
    refreshed under a lock (one refresh for all the processes on this host). The
    environment cannot be written back, and the state store is read by everyone who reads
    the audit: neither can hold a token that changes every two hours."""

    client_id: str
    client_secret: SecretRef = _secret("OUTREACH_CLIENT_SECRET")
    redirect_uri: str
    # Where the current access and refresh tokens are kept (created 0600 on first refresh).
    token_file: Path
    # The refresh token of the first authorization, read only while token_file is missing.
    refresh_token: SecretRef = _secret("OUTREACH_REFRESH_TOKEN")
    token_url: str = "https://api.outreach.io/oauth/token"
    # Refresh this long before the access token expires, rather than after a 401.
    refresh_margin_seconds: int = Field(300, ge=0)


class OutreachSettings(StrictModel):
    """Outreach's REST API (v2, JSON:API), with an OAuth access token read from the
    environment or a file, or (with [enrollment.outreach.oauth]) refreshed by revsched."""

    token: SecretRef = _secret("OUTREACH_ACCESS_TOKEN")
    oauth: OutreachOAuthSettings | None = None
    # A proxy, or a fake in tests.
    base_url: str = "https://api.outreach.io/api/v2/"
    timeout_seconds: int = Field(30, ge=1)
    # A 5xx or a dropped connection: tries in all, with exponential backoff between them.
    max_attempts: int = Field(4, ge=1)
    retry_base_seconds: float = Field(1, ge=0)
    # Retries of a rate-limited (429) call, each after Outreach's Retry-After (at most this).
    rate_limit_retries: int = Field(3, ge=0)
    max_retry_after_seconds: float = Field(300, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return base_url(value, "https://api.outreach.io/api/v2/")


class EnrollmentSettings(StrictModel):
    """How plays enroll people in sequences: `salesforce-field` writes the sequence into
    the play's field for an Outreach trigger; `outreach` creates the sequence state through
    Outreach's API (writing the field when Outreach refuses); `fake` enrolls nobody
    (tests)."""

    kind: EnrollmentKind = "salesforce-field"
    # Runs that ask about an enrollment failing for a reason that may pass (a 5xx, a 429
    # after its retries, a dropped connection, a locked row), the first included; then it
    # stays failed, reported. A refusal (an unknown sequence, no prospect) is never retried.
    tries: int = Field(ENROLLMENT_TRIES, ge=1)
    outreach: OutreachSettings = Field(default_factory=OutreachSettings)


def secret(key: str, ref: SecretRef) -> str:
    """The secret a config key refers to; never logged or echoed."""
    value = ref.read()
    if value is None:
        raise ConfigError(
            f"{key}: {ref.describe()} is unset or empty (it holds the secret, "
            "which never goes in the config file)"
        )
    return value


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
    org: OrgSettings = Field(default_factory=OrgSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    enrollment: EnrollmentSettings = Field(default_factory=EnrollmentSettings)
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


# pydantic's phrasing -> what a person is expected to write.
_PLAIN = (
    (re.compile(r"Value error, "), ""),
    (re.compile(r"Input should be a valid integer[^.;]*"), "expected a whole number"),
    (re.compile(r"Input should be a valid number[^.;]*"), "expected a number"),
    (re.compile(r"Input should be a valid boolean[^.;]*"), "expected true or false"),
    (re.compile(r"Input should be a valid string"), "expected text in quotes"),
    (re.compile(r"Input should be a valid date[^.;]*"), "expected a date, YYYY-MM-DD"),
    (re.compile(r"Input should be "), "expected "),
    (re.compile(r"(List|Dictionary|Tuple|Set|String) should have "), "expected "),
    (re.compile(r"String should match pattern "), "expected text matching "),
)


def plain_message(message: str) -> str:
    """A validation message in plain words: "Input should be a valid integer, unable to
    parse string as an integer" reads "expected a whole number"."""
    for pattern, replacement in _PLAIN:
        message = pattern.sub(replacement, message)
    return message


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


def find_config_file(explicit: Path | None) -> Path | None:
    """--config, then $REVSCHED_CONFIG, then ./revsched.toml; None means all defaults."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path("revsched.toml")
    return local if local.exists() else None


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
