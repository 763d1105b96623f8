"""Settings for the services revsched reaches besides Salesforce: where alerts go
(terminal, Slack, webhook, email) and how plays enroll people in sequences (Outreach).

Separate from `revsched.config` because only the delivery and enrollment modules read
them; the engine's own settings (org, API, state, pools) stay there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from revsched.config_secrets import SecretRef, StrictModel, secret_from_env, section_defaults

AlertKind = Literal["terminal", "slack", "webhook", "email"]
Delivery = Literal["dm", "channel", "both"]


def base_url(value: str, example: str) -> str:
    """An API's base URL, ending with / so paths are appended to it."""
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"must be an http(s) URL such as {example!r}")
    return value if value.endswith("/") else value + "/"


def http_url(example: str) -> AfterValidator:
    """Checks a base URL setting, naming `example` when it is not an http(s) URL."""
    return AfterValidator(lambda value: base_url(value, example))


class SlackSettings(StrictModel):
    """The Slack Web API, with a bot token read from the environment."""

    token: SecretRef = secret_from_env("SLACK_BOT_TOKEN")
    # Enterprise Grid, a proxy, or a fake in tests; must end with /api/.
    base_url: Annotated[str, http_url("https://slack.com/api/")] = "https://slack.com/api/"
    # How long an email -> Slack user lookup (found or not) is trusted.
    lookup_ttl_hours: float = Field(24, gt=0)
    timeout_seconds: int = Field(30, ge=1)
    # Retries of a rate-limited (429) call, each after its Retry-After.
    rate_limit_retries: int = Field(3, ge=0)


class SmtpSettings(StrictModel):
    """The mail server alerts go through when a play's alerts are `email`."""

    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    from_address: str = Field("revsched@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    starttls: bool = False
    # "" sends without logging in; otherwise the password is read from `password`.
    username: str = ""
    password: SecretRef = secret_from_env("SMTP_PASSWORD")
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
    webhook_url: SecretRef = secret_from_env("SLACK_WEBHOOK_URL")
    slack: SlackSettings = section_defaults()
    smtp: SmtpSettings = section_defaults()
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
        """Made of values both models validated already, so without validating them again
        (which would build PlayAlerts' validator at every start that reads a config)."""
        own = self.plays.get(play)
        merged: dict[str, object] = {}
        for key in PlayAlerts.model_fields:
            value = None if own is None else getattr(own, key)
            merged[key] = getattr(self, key) if value is None else value
        return PlayAlerts.model_construct(**merged)


EnrollmentKind = Literal["salesforce-field", "outreach", "fake"]
ENROLLMENT_TRIES = 3


class OutreachOAuthSettings(StrictModel):
    """Refreshing Outreach's access tokens, which live two hours, so a scheduler running for
    days keeps enrolling. Outreach rotates the refresh token at each refresh (the old one
    stops working), and the environment cannot be written back, so the current pair is kept
    in the state store every server shares, sealed with a key derived from client_secret,
    refreshed under the store's lease (one refresh at a time for all of them)."""

    client_id: str
    client_secret: SecretRef = secret_from_env("OUTREACH_CLIENT_SECRET")
    redirect_uri: str
    # The pair an earlier revsched kept in a file: the seed of the store's, when it exists.
    token_file: Path | None = None
    # The refresh token of the first authorization: the seed of the pair in the state store
    # (a different one configured later starts the pair again from it).
    refresh_token: SecretRef = secret_from_env("OUTREACH_REFRESH_TOKEN")
    token_url: str = "https://api.outreach.io/oauth/token"
    # Refresh this long before the access token expires, rather than after a 401.
    refresh_margin_seconds: int = Field(300, ge=0)


class OutreachSettings(StrictModel):
    """Outreach's REST API (v2, JSON:API), with an OAuth access token read from the
    environment or a file, or (with [enrollment.outreach.oauth]) refreshed by revsched."""

    token: SecretRef = secret_from_env("OUTREACH_ACCESS_TOKEN")
    oauth: OutreachOAuthSettings | None = None
    # A proxy, or a fake in tests.
    base_url: Annotated[str, http_url("https://api.outreach.io/api/v2/")] = (
        "https://api.outreach.io/api/v2/"
    )
    timeout_seconds: int = Field(30, ge=1)
    # A 5xx or a dropped connection: tries in all, with exponential backoff between them.
    max_attempts: int = Field(4, ge=1)
    retry_base_seconds: float = Field(1, ge=0)
    # Retries of a rate-limited (429) call, each after Outreach's Retry-After (at most this).
    rate_limit_retries: int = Field(3, ge=0)
    max_retry_after_seconds: float = Field(300, ge=0)


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
    outreach: OutreachSettings = section_defaults()
