"""Which renderer and notifier a play's alerts use, from its [alerts] settings.

Secrets (bot token, webhook URL, SMTP password) are read from the environment
here, only for a kind a run actually uses, and handed straight to the client.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from revsched.messages import digest_title, slack_messages
from revsched.plan import Recipient
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
    # Each channel's client (slack_sdk, smtplib) loads only for a run that sends through it.
    if alerts.kind == "email":
        from revsched.mail import EmailChannel

        smtp = settings.alerts.smtp
        password = secret("alerts.smtp.password", smtp.password) if smtp.username else None
        channel = EmailChannel(smtp, password, play)
    elif alerts.kind == "webhook":
        from revsched.webhook import WebhookChannel

        url = secret("alerts.webhook_url", settings.alerts.webhook_url)
        channel = WebhookChannel(url, play, settings.alerts.slack)
    else:
        from revsched.slack import SlackChannel, SlackDirectory, web_client

        slack = settings.alerts.slack
        client = web_client(slack, secret("alerts.slack.token", slack.token))
        directory = SlackDirectory(client, store, timedelta(hours=slack.lookup_ttl_hours))
        renderer = renderer_for(
            settings, play, instance_url, replace(SLACK, people=directory.mention)
        )
        channel = SlackChannel(client, directory, alerts, play)
    return AlertDelivery(renderer, Dispatcher(play, channel, store, alerts.digest))


def previews(
    alerts: Sequence[RenderedAlert], markup: Markup, digest: bool, play: str
) -> list[dict[str, Any]]:
    """The messages a run would send now: one per alert, or per recipient for a digest."""
    if not digest:
        return [_preview(alert.recipients, [alert], markup, None) for alert in alerts]
    by_person: dict[str, tuple[Recipient, list[RenderedAlert]]] = {}
    for alert in alerts:
        for person in alert.recipients:
            by_person.setdefault(person.user_id or person.name, (person, []))[1].append(alert)
    return [_preview((person,), items, markup, play) for person, items in by_person.values()]


def _preview(
    recipients: Sequence[Recipient],
    alerts: Sequence[RenderedAlert],
    markup: Markup,
    digest_of: str | None,
) -> dict[str, Any]:
    parts = [Part(alert.key, alert.text) for alert in alerts]
    title = digest_title(digest_of, parts) if digest_of else None
    slack = [m.payload for m in slack_messages(parts, title)] if markup is not PLAIN else []
    return {
        "to": [r.model_dump() for r in recipients],
        "alerts": [{"record_id": a.alert.record_id, "stage": a.alert.stage} for a in alerts],
        "text": "\n\n".join(alert.text for alert in alerts),
        "slack_messages": [message.as_json() for message in slack],
    }
