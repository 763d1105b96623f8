"""A usage episode's dips back under contract, remembered as fired stages.

A play that gives an episode grace days (a short dip keeps it and its clock) must
know, run after run, since when the dip has lasted; the state store's fired stages
carry that, so a fresh run or the org alone finds it again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from datetime import date


def dip_stage(start: date, dip: date) -> str:
    """The stage fired on the first day a run sees an episode at or under contract."""
    return f"dip {dip.isoformat()} of overage {start.isoformat()}"


def dip_ended_stage(start: date, dip: date) -> str:
    """The stage fired when the account is over contract again within the grace days."""
    return f"{dip_stage(start, dip)} ended"


DIP = re.compile(r"dip (\d{4}-\d{2}-\d{2}) of overage (\d{4}-\d{2}-\d{2})( ended)?")


def open_dips(fired: Collection[tuple[str, str]]) -> dict[tuple[str, date], date]:
    """(account, episode start) -> the first day of its dip still going on, from the fired
    stages: a dip whose `ended` stage has not fired."""
    began: dict[tuple[str, date], set[date]] = defaultdict(set)
    ended: set[tuple[str, date, date]] = set()
    for record_id, stage in fired:
        match = DIP.fullmatch(stage)
        if match is None:
            continue
        dip, start = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        if match[3]:
            ended.add((record_id, start, dip))
        else:
            began[record_id, start].add(dip)
    found = {}
    for (record_id, start), dips in began.items():
        going_on = [d for d in dips if (record_id, start, d) not in ended]
        if going_on:
            found[record_id, start] = max(going_on)
    return found
