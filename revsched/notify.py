"""Which renderer and notifier a play's alerts use, from its [alerts] settings.

Secrets (bot token, webhook URL, SMTP password) are read from the environment
here, only for a kind a run actually uses, and handed straight to the client.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from rich.console import Console

from revsched.alerts import (
    PLAIN,
    SLACK,
    AlertRenderer,
    Markup,
    Notifier,
    RenderedAlert,
    TerminalNotifier,
)
from revsched.config import Settings, secret
from revsched.delivery import Channel, Dispatcher, Part
from revsched.mail import EmailChannel
from revsched.messages import SlackMessage, slack_messages
from revsched.slack import SlackChannel, SlackDirectory, WebhookChannel, web_client
from revsched.state import StateStore


@dataclass(frozen=True)
class AlertDelivery:
    renderer: AlertRenderer
    notifier: Notifier


def markup_for(settings: Settings, play: str) -> Markup:
    """Slack markup for what goes to Slack, plain text for the terminal and email."""
    return SLACK if settings.alerts.for_play(play).kind in ("slack", "webhook") else PLAIN


def renderer_for(
    settings: Settings, play: str, instance_url: str, markup: Markup | None = None
) -> AlertRenderer:
    return AlertRenderer(
        instance_url, settings.templates.paths, markup or markup_for(settings, play)
    )


def alert_delivery(
    settings: Settings, play: str, store: StateStore, instance_url: str, console: Console
) -> AlertDelivery:
    alerts = settings.alerts.for_play(play)
    renderer = renderer_for(settings, play, instance_url)
    channel: Channel
    if alerts.kind == "terminal":
        return AlertDelivery(renderer, TerminalNotifier(console))
    if alerts.kind == "email":
        smtp = settings.alerts.smtp
        password = secret("alerts.smtp.password_env", smtp.password_env) if smtp.username else None
        channel = EmailChannel(smtp, password, play)
    elif alerts.kind == "webhook":
        url = secret("alerts.webhook_url_env", settings.alerts.webhook_url_env)
        channel = WebhookChannel(url, play, settings.alerts.slack)
    else:
        slack = settings.alerts.slack
        client = web_client(slack, secret("alerts.slack.token_env", slack.token_env))
        directory = SlackDirectory(client, store, timedelta(hours=slack.lookup_ttl_hours))
        renderer = renderer_for(
            settings, play, instance_url, replace(SLACK, people=directory.mention)
        )
        channel = SlackChannel(client, directory, alerts, play)
    return AlertDelivery(renderer, Dispatcher(play, channel, store, alerts.digest))


def preview(alert: RenderedAlert, markup: Markup) -> dict[str, Any]:
    """One alert as it would be sent: its text and, for Slack, the messages' Block Kit."""
    messages: list[SlackMessage] = (
        [m.payload for m in slack_messages([Part(alert.key, alert.text)])]
        if markup is not PLAIN
        else []
    )
    return {
        "record_id": alert.alert.record_id,
        "stage": alert.alert.stage,
        "recipients": [r.model_dump() for r in alert.recipients],
        "text": alert.text,
        "slack_messages": [m.payload() for m in messages],
    }
