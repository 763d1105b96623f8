"""Slack delivery through a bot on the Web API: direct messages, channels, or both.

Recipients are Salesforce users, found in Slack by email (users.lookupByEmail,
cached in the state store); someone with no Slack account gets the alert in
the play's fallback channel, which says so. Rate limits are honoured by
slack-sdk's retry handlers (Retry-After); every other Slack error becomes a
one-line NotifierError that names the call and Slack's error code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from http.client import HTTPException
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from revsched.alerts import RenderedAlert, escape_mrkdwn
from revsched.config import PlayAlerts, SlackSettings
from revsched.delivery import AlertRoute, Outgoing, Part
from revsched.errors import NotifierError
from revsched.messages import SlackMessage, digest_title, slack_messages
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


def describe_error(error: Exception) -> str:
    """Slack's error code, or what kept the call from reaching Slack; one line, no token."""
    if isinstance(error, SlackApiError):
        return slack_error(error)
    return " ".join(f"{type(error).__name__}: {error}".split())


def call(what: str, request: Callable[[], T]) -> T:
    """Make a Slack call; any failure is a one-line NotifierError."""
    try:
        return request()
    except (SlackApiError, *TRANSPORT_ERRORS) as error:
        raise NotifierError(f"slack {what}: {describe_error(error)}") from None


class SlackDirectory:
    """Salesforce users' Slack accounts by email, cached in the state store for a while."""

    def __init__(self, client: WebClient, store: StateStore, ttl: timedelta):
        self._client = client
        self._store = store
        self._ttl = ttl
        # Set when Slack could not be reached: the rest of the run fails fast instead
        # of waiting on every lookup (its alerts go out with the next run).
        self._unreachable: NotifierError | None = None

    def find(self, email: str) -> str | None:
        """The Slack user Id with this email, None when nobody active in Slack has it."""
        email = email.strip().lower()
        cached = self._store.slack_user(email, self._ttl)
        if cached is not None:
            return cached.slack_user_id
        if self._unreachable is not None:
            raise self._unreachable
        try:
            user = self._client.users_lookupByEmail(email=email)["user"]
        except SlackApiError as error:
            if slack_error(error) != "users_not_found":
                raise NotifierError(f"slack users.lookupByEmail: {describe_error(error)}") from None
            user_id = None
        except TRANSPORT_ERRORS as error:
            self._unreachable = NotifierError(f"slack users.lookupByEmail: {describe_error(error)}")
            raise self._unreachable from None
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


class SlackChannel:
    """Direct messages to each recipient, the play's channel, or both."""

    def __init__(self, client: WebClient, directory: SlackDirectory, alerts: PlayAlerts, play: str):
        self._client = client
        self._directory = directory
        self._alerts = alerts
        self._play = play
        self._dm_channels: dict[str, str] = {}

    def routes(self, alert: RenderedAlert) -> list[AlertRoute]:
        routes: dict[str, AlertRoute] = {}

        def add(route: AlertRoute) -> None:
            known = routes.get(route.destination)
            notes = [n for n in (known and known.note, route.note) if n]
            routes[route.destination] = AlertRoute(route.destination, " ".join(notes) or None)

        if self._alerts.deliver != "channel":
            for recipient in alert.recipients:
                user_id = self._directory.find(recipient.email) if recipient.email else None
                add(AlertRoute(f"slack:dm:{user_id}") if user_id else self._fallback(recipient))
        if self._alerts.deliver != "dm":
            add(AlertRoute(f"slack:channel:{self._alerts.channel}"))
        return list(routes.values())

    def _fallback(self, recipient: Recipient) -> AlertRoute:
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
        return AlertRoute(f"slack:channel:{channel}", escape_mrkdwn(note))

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        return slack_messages(parts, digest_title(self._play, parts) if digest else None)

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
