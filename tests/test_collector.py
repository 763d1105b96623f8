"""A run makes Python's garbage collector run less often, and leaves it as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from harness import NoAlerts

from revsched.alerts import AlertRenderer
from revsched.collector import RUN_THRESHOLD, fewer_collections
from revsched.config import Settings
from revsched.errors import PlayError
from revsched.localorg import LocalOrg
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.play import DecideContext, Play, PlayConfig, Records
from revsched.runner import run_play
from revsched.state import StateStore


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def run(tmp_path: Path, decide) -> None:
    org = OrgGateway(LocalOrg(tmp_path / "org.sqlite").salesforce)
    play = Play("noted", "Notes the collector's thresholds", PlayConfig, lambda ctx: {}, decide)
    run_play(
        play,
        Settings(),
        as_of=date(2026, 11, 25),
        dry_run=False,
        store=StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}"),
        org=org,
        renderer=AlertRenderer(org.instance_url),
        notifier=NoAlerts(),
    )


def test_a_run_collects_less_often_and_restores_the_thresholds(tmp_path: Path):
    seen = []

    def decide(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
        seen.append(gc.get_threshold())
        return Plan(play="noted", as_of=ctx.as_of)

    run(tmp_path, decide)

    assert seen == [(RUN_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failed_run_restores_the_thresholds_too(tmp_path: Path):
    def decide(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
        raise PlayError("the play broke")

    with pytest.raises(PlayError):
        run(tmp_path, decide)

    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_runs_restore_when_the_last_one_ends():
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold() == (RUN_THRESHOLD, 10, 10)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_collection_turned_off_stays_off():
    gc.set_threshold(0)
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0
