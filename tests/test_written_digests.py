"""A digest lists (and counts) only the records its run wrote, also when the run is killed
between its writes and its alerts: the rerun's settle sends it as the finished run would
have, exactly once."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import RecordingNotifier, demo_runs

import revsched.apply
from revsched.localorg import FaultProfile, LocalOrg
from revsched.runner import RunResult
from revsched.state import LeaseRow, StateStore


class Killed(BaseException):
    """The process dies (as SIGKILL leaves it: nothing after it runs)."""


def _die_after_the_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run dies once its last structural write returns: everything is written and
    audited, nothing told or alerted yet."""
    real = revsched.apply.write_merges

    def then_die(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(revsched.apply, "write_merges", then_die)


def _lease_let_go(store: StateStore, play: str) -> None:
    """A killed process's lease lapses within minutes; the test lets it go at once."""
    with store.session() as session:
        lease = session.get(LeaseRow, f"play:{play}")
        holder = lease.holder if lease else ""
    store.release_lease(f"play:{play}", holder)


def _sent_over_two_runs(
    play: str,
    org_path: Path,
    workdir: Path,
    failing: Callable[[LocalOrg, Callable[..., RunResult]], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch | None,
) -> tuple[Counter[tuple[tuple[str, str], str]], RunResult, StateStore]:
    """A run of `play` on a copy of the org with the writes of `failing` records refused,
    killed after its writes when `monkeypatch` is given, then a run with no fault: every
    (alert key, text) sent over both, the second run's result and the store."""
    workdir.mkdir()
    shutil.copy(org_path, workdir / "org.sqlite")
    local, store, run = demo_runs(play, workdir / "org.sqlite", workdir)
    local.faults = FaultProfile(fail_records=failing(local, run))
    told = RecordingNotifier()
    if monkeypatch is None:
        run(told)
    else:
        with monkeypatch.context() as patch:
            _die_after_the_writes(patch)
            with pytest.raises(Killed):
                run(told)
        _lease_let_go(store, play)
    local.faults = None
    rerun = run(told)
    return Counter((a.key, a.text) for a in told.sent), rerun, store


def _bluedale(local: LocalOrg, _run: Callable[..., RunResult]) -> dict[str, str]:
    [account] = local.salesforce().query("SELECT Id FROM Account WHERE Name = 'Bluedale Credit'")[
        "records"
    ]
    return {account["Id"]: "FIELD_CUSTOM_VALIDATION_EXCEPTION"}


def test_a_digest_of_a_run_killed_after_its_writes_goes_out_once_as_the_finished_run_told_it(
    demo_org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """overage-upsell's leadership digest lists each account in overage; Bluedale's write
    fails. Killed before the digest was told again without Bluedale, the rerun's settle
    sends it as the finished run did: without Bluedale, saying one was left out, once."""
    finished, _, _ = _sent_over_two_runs(
        "overage-upsell", demo_org, tmp_path / "finished", _bluedale, None
    )
    killed, rerun, store = _sent_over_two_runs(
        "overage-upsell", demo_org, tmp_path / "killed", _bluedale, monkeypatch
    )

    [(digest, count)] = [(text, n) for (key, text), n in killed.items() if key[0].startswith("005")]
    assert count == 1
    assert "Bluedale Credit" not in digest and "Clearwave Holdings" in digest
    [dead] = rerun.interrupted
    assert digest.endswith(
        f"\n\nLeft out: 1 record whose write did not go through (`revsched show {dead}`"
        " says why); a later run tries again."
    )
    # Run 1 in both stores: the very messages of the runs that were not killed.
    assert killed == finished
    assert store.plays_owing() == set()


def _a_recycled_lead(_local: LocalOrg, run: Callable[..., RunResult]) -> dict[str, str]:
    """The first lead queue-recycle moves (as its dry run plans it): its write is refused."""
    return {run(dry_run=True).plan.changes[0].record_id: "UNABLE_TO_LOCK_ROW"}


def test_a_counting_digest_of_a_killed_run_counts_only_the_leads_moved_and_the_next_the_rest(
    demo_org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """queue-recycle's manager digest counts the leads moved by status and rep; one lead's
    write fails and the run is killed before telling it. The settle tells it counting the
    leads moved, one left out; the rerun moves that lead and counts it in a digest of its
    own: every lead counted once, as the runs that were not killed count them."""
    finished, _, _ = _sent_over_two_runs(
        "queue-recycle", demo_org, tmp_path / "finished", _a_recycled_lead, None
    )
    killed, _, store = _sent_over_two_runs(
        "queue-recycle", demo_org, tmp_path / "killed", _a_recycled_lead, monkeypatch
    )

    assert killed == finished and max(killed.values()) == 1
    counts = [int(n) for _, text in killed for n in re.findall(r", (\d+) leads? your team", text)]
    runs = [store.run(r.id) for r in store.runs("queue-recycle")]
    moved = [c.record_id for r in runs if r for c in r.changes if c.status == "applied"]
    assert sum(counts) == len(moved) == len(set(moved)) > len(counts)
    assert sum("\n\nLeft out: 1 record whose write" in text for _, text in killed) == 1
