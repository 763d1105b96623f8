"""An alert channel for tests: it confirms every alert and keeps what it was given."""

from __future__ import annotations

from collections.abc import Sequence

from revsched.alerts import RenderedAlert


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[RenderedAlert] = []

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[tuple[str, str], str | None]:
        self.sent.extend(alerts)
        return {alert.key: None for alert in alerts}
