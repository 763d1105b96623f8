"""Claiming a scheduled occurrence, so it runs once however many times it fires.

Two schedulers, a scheduler plus a cron entry, or a DST fall-back that fires
01:30 twice all race for the same (play, period key) row in the state store;
its UNIQUE constraint lets exactly one of them win.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from revsched.schedule import Schedule
from revsched.state import StateStore


@dataclass(frozen=True)
class Claim:
    play: str
    period_key: str
    occurrence: datetime
    # None when this process won the claim; else who had it first, and when.
    taken_by: str | None = None
    taken_at: datetime | None = None

    def message(self) -> str:
        if self.taken_by is None:
            return f"{self.play}: claimed the {self.period_key} occurrence"
        return (
            f"{self.play}: the {self.period_key} occurrence already ran or is running"
            f" (claimed by {self.taken_by} at {self.taken_at:%Y-%m-%d %H:%M:%S} UTC); nothing to do"
        )


def claim_latest(
    store: StateStore, play: str, schedule: Schedule, zone: ZoneInfo, now: datetime
) -> Claim:
    """Claim the play's most recent occurrence at or before `now`."""
    occurrence = schedule.latest(now, zone)
    key = schedule.period_key(occurrence)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    existing = store.claim_occurrence(play, key, holder)
    if existing is None:
        return Claim(play, key, occurrence)
    return Claim(play, key, occurrence, existing.holder, existing.claimed_at)
