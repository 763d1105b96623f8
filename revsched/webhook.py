"""Slack delivery through an incoming webhook, for teams that cannot install a bot.

Every alert goes to the webhook's one channel, with no lookups and no
mentions. The webhook's URL is its secret: it never reaches an error message,
and slack-sdk's log lines that carry it are redacted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.webhook import WebhookClient

from revsched.alerts import RenderedAlert
from revsched.config import SlackSettings
from revsched.delivery import AlertRoute, Outgoing, Part
from revsched.errors import NotifierError
from revsched.messages import SlackMessage, digest_title, slack_messages
from revsched.slack import TRANSPORT_ERRORS, describe_error, retry_handlers


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
    def __init__(self, url: str, play: str, settings: SlackSettings):
        self._url = url
        self._play = play
        self._client = WebhookClient(
            url,
            timeout=settings.timeout_seconds,
            logger=_webhook_logger(play, url),
            retry_handlers=retry_handlers(settings.rate_limit_retries),
        )

    def routes(self, alert: RenderedAlert) -> list[AlertRoute]:
        return [AlertRoute("webhook")]

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        return slack_messages(parts, digest_title(self._play, parts) if digest else None)

    def send(self, destination: str, payload: Any) -> None:
        message: SlackMessage = payload
        try:
            response = self._client.send(text=message.text, blocks=list(message.blocks))
        except TRANSPORT_ERRORS as error:
            # The URL is the webhook's secret: it never reaches a message.
            detail = describe_error(error).replace(self._url, "<webhook URL>")
            raise NotifierError(f"slack webhook: {detail}") from None
        if response.status_code != 200 or response.body != "ok":
            raise NotifierError(
                f"slack webhook: HTTP {response.status_code} {response.body[:200]!r}"
            )
