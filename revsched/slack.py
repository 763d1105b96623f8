"""Slack delivery: a bot on the Web API (direct messages, channels) or an incoming webhook.

Recipients are Salesforce users, found in Slack by email (users.lookupByEmail,
cached in the state store); someone with no Slack account gets the alert in
the play's fallback channel, which says so. Rate limits are honoured by
slack-sdk's retry handlers (Retry-After); every other Slack error becomes a
one-line NotifierError that names the call and Slack's error code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from http.client import HTTPException
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from revsched.alerts import RenderedAlert, escape_mrkdwn
from revsched.config import PlayAlerts, SlackSettings
from revsched.delivery import Outgoing, Part, Route
from revsched.errors import NotifierError
from revsched.messages import SlackMessage, slack_messages
from revsched.plan import Recipient
from revsched.state import StateStore

T = TypeVar("T")

# A call that failed to reach Slack at all (after the connection retry).
TRANSPORT_ERRORS = (OSError, HTTPException, SlackClientError)


def retry_handlers(rate_limit_retries: int) -> list[RetryHandler]:
    """A dropped connection retried once; a 429 retried after Slack's Retry-After."""
    return [
        ConnectionErrorRetryHandler(),
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
    ]


def web_client(settings: SlackSettings, token: str) -> WebClient:
    return WebClient(
        token=token,
        base_url=settings.base_url,
        timeout=settings.timeout_seconds,
        retry_handlers=retry_handlers(settings.rate_limit_retries),
    )


def slack_error(error: SlackApiError) -> str:
    return str(error.response.get("error") or f"HTTP {error.response.status_code}")


def call(what: str, request: Callable[[], T]) -> T:
    """Make a Slack call; any failure is a one-line NotifierError (never the token)."""
    try:
        return request()
    except SlackApiError as error:
        raise NotifierError(f"slack {what}: {slack_error(error)}") from None
    except TRANSPORT_ERRORS as error:
        raise NotifierError(f"slack {what}: {type(error).__name__}: {error}") from None


class SlackDirectory:
    """Salesforce users' Slack accounts by email, cached in the state store for a while."""

    def __init__(self, client: WebClient, store: StateStore, ttl: timedelta):
        self._client = client
        self._store = store
        self._ttl = ttl

    def find(self, email: str) -> str | None:
        """The Slack user Id with this email, None when nobody active in Slack has it."""
        email = email.strip().lower()
        cached = self._store.slack_user(email, self._ttl)
        if cached is not None:
            return cached.slack_user_id
        try:
            user = self._client.users_lookupByEmail(email=email)["user"]
        except SlackApiError as error:
            if slack_error(error) != "users_not_found":
                raise NotifierError(f"slack users.lookupByEmail: {slack_error(error)}") from None
            user_id = None
        except TRANSPORT_ERRORS as error:
            raise NotifierError(f"slack users.lookupByEmail: {type(error).__name__}") from None
        else:
            user_id = None if user.get("deleted") else user["id"]
        self._store.cache_slack_user(email, user_id)
        return user_id

    def mention(self, email: str) -> str | None:
        """For templates: a failed lookup shows the name instead of stopping the run."""
        try:
            return self.find(email)
        except NotifierError:
            return None


def _title(play: str, parts: Sequence[Part]) -> str:
    count = len(parts)
    return f"*{escape_mrkdwn(play)}*: {count} alert{'' if count == 1 else 's'}"


class SlackChannel:
    """Direct messages to each recipient, the play's channel, or both."""

    def __init__(self, client: WebClient, directory: SlackDirectory, alerts: PlayAlerts, play: str):
        self._client = client
        self._directory = directory
        self._alerts = alerts
        self._play = play
        self._dm_channels: dict[str, str] = {}

    def routes(self, alert: RenderedAlert) -> list[Route]:
        routes: dict[str, Route] = {}

        def add(route: Route) -> None:
            known = routes.get(route.destination)
            notes = [n for n in (known and known.note, route.note) if n]
            routes[route.destination] = Route(route.destination, " ".join(notes) or None)

        if self._alerts.deliver != "channel":
            for recipient in alert.recipients:
                user_id = self._directory.find(recipient.email) if recipient.email else None
                add(Route(f"slack:dm:{user_id}") if user_id else self._fallback(recipient))
        if self._alerts.deliver != "dm":
            add(Route(f"slack:channel:{self._alerts.channel}"))
        return list(routes.values())

    def _fallback(self, recipient: Recipient) -> Route:
        channel = self._alerts.fallback_channel or self._alerts.channel
        why = (
            f"has no Slack account for {recipient.email}"
            if recipient.email
            else "has no email address in Salesforce"
        )
        who = f"{recipient.name} ({recipient.role})"
        if not channel:
            raise NotifierError(
                f"{who} {why}, and there is no channel to fall back to "
                f"(set alerts.fallback_channel or alerts.plays.{self._play}.channel)"
            )
        note = f"For {who}, who {why}: posted here instead of a direct message."
        return Route(f"slack:channel:{channel}", escape_mrkdwn(note))

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        return slack_messages(parts, _title(self._play, parts) if digest else None)

    def send(self, destination: str, payload: Any) -> None:
        kind, target = destination.removeprefix("slack:").split(":", 1)
        channel = self._open_dm(target) if kind == "dm" else target
        message: SlackMessage = payload
        call(
            f"chat.postMessage to {target}",
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=list(message.blocks),
                unfurl_links=False,
                unfurl_media=False,
            ),
        )

    def _open_dm(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            response = call(
                f"conversations.open with {user_id}",
                lambda: self._client.conversations_open(users=user_id),
            )
            self._dm_channels[user_id] = response["channel"]["id"]
        return self._dm_channels[user_id]


class RedactFilter(logging.Filter):
    """Replaces a secret in log records: slack-sdk logs a webhook's URL, which is its secret."""

    def __init__(self, secret: str, shown_as: str):
        super().__init__()
        self._secret = secret
        self._shown_as = shown_as

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = message.replace(self._secret, self._shown_as), None
        return True


def _webhook_logger(play: str, url: str) -> logging.Logger:
    logger = logging.getLogger(f"revsched.webhook.{play}")
    logger.filters = [RedactFilter(url, "<webhook URL>")]
    return logger


class WebhookChannel:
    """A Slack incoming webhook: every alert to its one channel, no lookups, no mentions."""

    def __init__(self, url: str, play: str, settings: SlackSettings):
        self._url = url
        self._play = play
        self._client = WebhookClient(
            url,
            timeout=settings.timeout_seconds,
            logger=_webhook_logger(play, url),
            retry_handlers=retry_handlers(settings.rate_limit_retries),
        )

    def routes(self, alert: RenderedAlert) -> list[Route]:
        return [Route("webhook")]

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        return slack_messages(parts, _title(self._play, parts) if digest else None)

    def send(self, destination: str, payload: Any) -> None:
        message: SlackMessage = payload
        try:
            response = self._client.send(text=message.text, blocks=list(message.blocks))
        except TRANSPORT_ERRORS as error:
            # The URL is the webhook's secret: it never reaches a message.
            detail = str(error).replace(self._url, "<webhook URL>")
            raise NotifierError(f"slack webhook: {type(error).__name__}: {detail}") from None
        if response.status_code != 200 or response.body != "ok":
            raise NotifierError(
                f"slack webhook: HTTP {response.status_code} {response.body[:200]!r}"
            )
