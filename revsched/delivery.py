"""Exactly-once delivery of a run's alerts over any channel, one message each or a digest.

A channel (Slack bot, incoming webhook, email) says where each alert goes, how
its messages look and how to send one; the dispatcher skips what the ledger in
the state store says was already confirmed, groups the rest per destination
(a message per alert, or a digest listing them), and writes each message to
the ledger as soon as the channel confirms it. A run that stops half-way thus
sends the rest on the next run and repeats none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from revsched.alerts import AlertKey, RenderedAlert
from revsched.errors import NotifierError
from revsched.state import StateStore


@dataclass(frozen=True)
class AlertRoute:
    """One destination of an alert, and what its message there should say about why."""

    destination: str
    note: str | None = None


@dataclass(frozen=True)
class Part:
    """An alert's share of a message: its text, and the route's note if any."""

    key: AlertKey
    text: str
    note: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message ready to send, and the alerts it completes once confirmed."""

    completes: tuple[AlertKey, ...]
    payload: Any


def count_alerts(count: int) -> str:
    """How a digest's title counts its alerts."""
    return f"{count} alert{'' if count == 1 else 's'}"


class Channel(Protocol):
    def routes(self, alert: RenderedAlert) -> list[AlertRoute]:
        """Where the alert goes; raises NotifierError when it cannot go anywhere."""
        ...

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        """The messages carrying these parts to one destination."""
        ...

    def send(self, destination: str, payload: Any) -> None:
        """Send one message; returns once the channel has confirmed it, else NotifierError."""
        ...


class Dispatcher:
    """The Notifier of every channel but the terminal: routing, digests and the ledger."""

    def __init__(self, play: str, channel: Channel, store: StateStore, digest: bool = False):
        self._play = play
        self._channel = channel
        self._store = store
        self._digest = digest

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[AlertKey, str | None]:
        outcomes: dict[AlertKey, str | None] = {alert.key: None for alert in alerts}
        done = self._store.delivered(self._play, {alert.alert.record_id for alert in alerts})
        pending: dict[str, list[Part]] = {}
        for alert in alerts:
            try:
                routes = self._channel.routes(alert)
            except NotifierError as error:
                outcomes[alert.key] = str(error)
                continue
            for route in routes:
                if (*alert.key, route.destination) not in done:
                    part = Part(alert.key, alert.text, route.note)
                    pending.setdefault(route.destination, []).append(part)
        for destination, parts in pending.items():
            groups = [parts] if self._digest else [[part] for part in parts]
            for group in groups:
                error = self._send_group(destination, group)
                if error is not None:
                    for key in error[1]:
                        outcomes[key] = f"{destination}: {error[0]}"
        return outcomes

    def _send_group(self, destination: str, group: list[Part]) -> tuple[str, list[AlertKey]] | None:
        """Send a group's messages in order; on a failure, the error and the alerts left."""
        left = [part.key for part in group]
        for message in self._channel.compose(group, self._digest):
            try:
                self._channel.send(destination, message.payload)
            except NotifierError as error:
                return str(error), left
            self._store.record_delivery(self._play, message.completes, destination)
            left = [key for key in left if key not in message.completes]
        return None
