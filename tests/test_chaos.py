"""Kill a run at random points, rerun it, and get what one uninterrupted run gets.

Each shipped play runs on a copy of the demo org, is killed (a
BaseException, as SIGKILL leaves things: nothing after it runs) at a point
drawn with a fixed seed from the org writes, audit writes and alert sends of
an uninterrupted run, before or after the call, and is rerun. The org, the
records created, the alerts delivered and the audit must equal the
uninterrupted run's. (A kill between a channel's confirmation and the ledger
write is the documented window for one repeat, so it is not drawn.)
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fakeslack import FakeSlack
from harness import NoAlerts
from simple_salesforce import format_soql
from typer.testing import CliRunner

from revsched.alerts import AlertRenderer, RenderedAlert
from revsched.cli import app
from revsched.config import ApiSettings, Settings
from revsched.delivery import AlertRoute, Dispatcher, Outgoing, Part
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.notify import AlertDelivery
from revsched.org import OrgGateway
from revsched.play import load_plays
from revsched.runner import RunResult, revert_run, run_play, settle_other_plays
from revsched.state import LeaseRow, Run, StateStore

TODAY = date(2026, 11, 23)
PLAYS = [
    "churn-intake",
    "add-drop-approvals",
    "account-review",
    "renewal-sla",
    "queue-recycle",
    "win-back",
    "contact-alignment",
    "job-changes",
    "people-signals",
    "overage-upsell",
    "partner-overlap",
    "lead-status-hygiene",
    "route-leads",
    "dedupe-accounts",
    "dedupe-contacts",
    "dedupe-leads",
]
# Plays that merge and write but alert nobody.
MERGE_ONLY = {"dedupe-accounts", "dedupe-contacts", "dedupe-leads"}
# Plays also run with every change written by Bulk API 2.0 (the path of large runs).
BULK_PLAYS = ["churn-intake", "win-back", "contact-alignment", "queue-recycle", "route-leads"]
# Kills per play: a handful in the suite; REVSCHED_CHAOS_TRIALS=8 for the full check.
TRIALS = int(os.environ.get("REVSCHED_CHAOS_TRIALS", "3"))
# Fields a round robin fills (a killed run has already moved the rotation on, so the
# rerun may pick the next member) or that hold the moment of the run: checked to be
# set, not to be equal.
ROTATED = {
    "win-back": {"OwnerId", "SDR__c"},
    "job-changes": {"OwnerId", "SDR__c"},
    "route-leads": {"OwnerId", "Last_Routed_Date__c"},
}
# (object, method) pairs a kill is drawn among: org writes, audit writes, deliveries.
KILL_POINTS = [
    (OrgGateway, "update"),
    (OrgGateway, "bulk_update"),
    (OrgGateway, "upsert"),
    (OrgGateway, "delete"),
    (OrgGateway, "convert_leads"),
    (OrgGateway, "merge"),
    (StateStore, "start_run"),
    (StateStore, "record_batch"),
    (StateStore, "record_creates"),
    (StateStore, "record_deletes"),
    (StateStore, "record_conversions"),
    (StateStore, "record_merges"),
    (StateStore, "settle_alerts"),
]


class Killed(BaseException):
    """The process died here."""


@dataclass
class Killer:
    """Counts calls at the kill points; raises Killed at tick `at` (None: never)."""

    at: int | None = None
    ticks: int = 0

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks == self.at:
            raise Killed


@dataclass
class CountingChannel:
    """A channel that confirms every message and remembers what went where."""

    killer: Killer
    sent: list[tuple[str, tuple[str, str]]] = field(default_factory=list)

    def routes(self, alert: RenderedAlert) -> list[AlertRoute]:
        return [AlertRoute(f"to:{r.name}") for r in alert.recipients] or [AlertRoute("channel")]

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        return [Outgoing((part.key,), part.text) for part in parts]

    def send(self, destination: str, payload: Any) -> None:
        self.killer.tick()
        self.sent.append((destination, payload))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo org, and beside it an empty state store (copied per trial: migrating
    one each time would be most of the test's time)."""
    folder = tmp_path_factory.mktemp("chaos")
    build_demo_org(folder / "demo.sqlite", accounts=60, seed=7, today=TODAY).close()
    StateStore(f"sqlite:///{folder / 'state.sqlite'}").engine.dispose()
    return folder / "demo.sqlite"


@dataclass
class Outcome:
    org: dict[tuple[str, str, str], Any]
    # The messages sent but digests: (destination, text).
    sent: Counter[tuple[str, str]]
    applied: set[tuple[str, str, str]]
    created: Counter[str]
    fired: frozenset[tuple[str, str]]
    # (master, merged record) pairs the audit shows merged.
    merged: set[tuple[str, str]] = field(default_factory=set)
    # The digests sent, and the (record, stage) they list as written by their run.
    digests: Counter[tuple[str, str]] = field(default_factory=Counter)
    listed: Counter[tuple[str, str]] = field(default_factory=Counter)


def _with_kills(monkeypatch: pytest.MonkeyPatch, killer: Killer) -> None:
    for owner, name in KILL_POINTS:
        real = getattr(owner, name)

        def wrapped(*args: Any, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            killer.tick()
            result = _real(*args, **kwargs)
            killer.tick()  # done, but not yet recorded by whoever called it
            return result

        monkeypatch.setattr(owner, name, wrapped)


def _trial(
    demo: Path,
    workdir: Path,
    play_name: str,
    monkeypatch: pytest.MonkeyPatch,
    kill_at: int | None,
    bulk: bool = False,
) -> tuple[Outcome, Killer, RunResult]:
    org_path = workdir / "org.sqlite"
    shutil.copy(demo, org_path)
    shutil.copy(demo.with_name("state.sqlite"), workdir / "state.sqlite")
    org = LocalOrg(org_path, today=lambda: TODAY)
    store = StateStore(f"sqlite:///{workdir / 'state.sqlite'}")
    killer = Killer(kill_at)
    channel = CountingChannel(killer)
    run = _runner(play_name, org, store, channel, bulk)
    with monkeypatch.context() as patch:
        _with_kills(patch, killer)
        try:
            result = run()
        except Killed:
            killer.at = None
            store.release_lease(f"play:{play_name}", _holder(store, play_name))
            result = run()
    outcome = _outcome(org, store, play_name, channel)
    org.close()
    return outcome, killer, result


def _runner(
    play_name: str, org: LocalOrg, store: StateStore, channel: CountingChannel, bulk: bool = False
) -> Callable[[], RunResult]:
    """The play's run on TODAY, as `revsched run PLAY` does it, alerting through `channel`
    (with `bulk`, writing every change with Bulk API 2.0)."""
    settings = Settings()
    api = ApiSettings(bulk_write_threshold=0) if bulk else None

    def run() -> RunResult:
        return run_play(
            load_plays(settings)[play_name],
            settings,
            as_of=TODAY,
            dry_run=False,
            store=store,
            org=OrgGateway(org.salesforce, api),
            renderer=AlertRenderer("https://x"),
            notifier=Dispatcher(play_name, channel, store),
        )

    return run


def _holder(store: StateStore, play: str) -> str:
    """The dead run's lease holder: a killed process's lease is left to lapse; the test
    lets it go at once instead of waiting out the lease."""
    with store.session() as session:
        lease = session.get(LeaseRow, f"play:{play}")
        return lease.holder if lease else ""


def _outcome(org: LocalOrg, store: StateStore, play: str, channel: CountingChannel) -> Outcome:
    runs = [store.run(r.id) for r in store.runs(play, limit=100)]
    applied = {
        (c.record_id, c.field, c.new)
        for run in runs
        if run is not None
        for c in run.changes
        if c.status == "applied"
    }
    created = Counter(
        c.key for run in runs if run is not None for c in run.creates if c.status == "created"
    )
    sf = org.salesforce()
    values: dict[tuple[str, str, str], Any] = {}
    by_object: dict[str, set[str]] = {}
    for run in runs:
        for change in run.changes if run else ():
            by_object.setdefault(change.sobject, set()).add(change.field)
            values[(change.sobject, change.record_id, change.field)] = None
    for sobject, fields in by_object.items():
        ids = sorted({rid for (s, rid, _) in values if s == sobject})
        soql = format_soql(
            f"SELECT Id, {', '.join(sorted(fields))} FROM {sobject} WHERE Id IN {{}}", ids
        )
        for record in sf.query_all(soql)["records"]:
            for name in fields:
                if (sobject, record["Id"], name) in values:
                    values[(sobject, record["Id"], name)] = record[name]
    # A field only a dead run planned (for a lead it never converted, say) and nobody
    # wrote is no outcome of the run: left out when the org still holds its old value.
    changes = [c for run in runs if run is not None for c in run.changes]
    written = {(c.sobject, c.record_id, c.field) for c in changes if c.status == "applied"}
    untouched = {
        (c.sobject, c.record_id, c.field)
        for c in changes
        if values.get((c.sobject, c.record_id, c.field)) == json.loads(c.old)
    } - written
    values = {k: v for k, v in values.items() if k not in untouched}
    # Records created on a key (Tasks; overage-upsell's Opportunities), each counted: a
    # rerun must not create one twice.
    for sobject in ("Task", "Opportunity"):
        keyed = sf.query_all(f"SELECT Revsched_Key__c FROM {sobject} WHERE Revsched_Key__c != null")
        created_in_org = Counter(r["Revsched_Key__c"] for r in keyed["records"])
        values |= {(sobject, key, "count"): n for key, n in created_in_org.items()}
    digests = [a for run in runs if run is not None for a in run.alerts if a.covers]
    digests = [a for a in digests if a.status == "sent"]
    texts = {a.text for a in digests}
    return Outcome(
        org=values,
        sent=Counter(m for m in channel.sent if m[1] not in texts),
        applied=applied,
        created=created,
        fired=store.fired(play),
        merged={
            (m.master_id, m.merged_id)
            for run in runs
            if run is not None
            for m in run.merges
            if m.status == "merged"
        },
        digests=Counter(m for m in channel.sent if m[1] in texts),
        listed=Counter(
            (record, stage)
            for a in digests
            for record, stage in json.loads(a.covers or "[]")
            if record in store.written(a.run_id)
        ),
    )


def _comparable(outcome: Outcome, play: str) -> Outcome:
    """Rotated fields left out (a rerun may also move the records a dead run converted or
    created under the member it drew); alert texts naming them cut short."""
    rotated = ROTATED.get(play, set())
    if not rotated:
        return outcome
    return Outcome(
        org={k: v for k, v in outcome.org.items() if k[2] not in rotated},
        sent=Counter({("", text[:40]): n for (_, text), n in outcome.sent.items()}),
        applied={(r, f, v) for r, f, v in outcome.applied if f not in rotated},
        created=outcome.created,
        fired=outcome.fired,
        merged=outcome.merged,
        digests=outcome.digests,
        listed=outcome.listed,
    )


def _rotated_unset(clean: Outcome, killed: Outcome, play: str) -> list[tuple[str, str, str]]:
    """The rotated fields the uninterrupted run filled that the killed one left empty."""
    rotated = ROTATED.get(play, set())
    return [k for k, v in clean.org.items() if k[2] in rotated and v and not killed.org.get(k)]


@pytest.mark.parametrize(
    ("play_name", "bulk"),
    [(play, False) for play in PLAYS] + [(play, True) for play in BULK_PLAYS],
    ids=[*PLAYS, *(f"{play}-bulk" for play in BULK_PLAYS)],
)
def test_a_killed_run_rerun_converges_on_the_uninterrupted_run(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, play_name: str, bulk: bool
):
    (tmp_path / "clean").mkdir()
    clean, counter, result = _trial(demo, tmp_path / "clean", play_name, monkeypatch, None, bulk)
    assert result.status == "succeeded"
    sent = clean.sent or clean.digests
    assert sent or play_name in MERGE_ONLY, f"{play_name} sent no alert: nothing to test"
    expected = _comparable(clean, play_name)
    rng = random.Random(play_name)
    for trial, kill_at in enumerate(
        rng.sample(range(1, counter.ticks + 1), min(TRIALS, counter.ticks))
    ):
        workdir = tmp_path / f"kill-{trial}"
        workdir.mkdir()
        killed, _, rerun = _trial(demo, workdir, play_name, monkeypatch, kill_at, bulk)
        got = _comparable(killed, play_name)
        where = f"{play_name} killed at tick {kill_at} of {counter.ticks}"
        assert rerun.status == "succeeded", where
        assert got.org == expected.org, where
        assert _rotated_unset(clean, killed, play_name) == [], where
        assert got.sent == expected.sent, where
        assert got.applied == expected.applied, where
        assert got.created == expected.created, where
        assert got.fired == expected.fired, where
        assert got.merged == expected.merged, where
        # A digest lists only what its run wrote, each record once: a run killed among its
        # writes tells what it wrote, leaving the rest out (and saying so), and the rerun
        # writes the rest, listing it in its own digest when the play sends a second one.
        assert set(got.listed) <= set(expected.listed) and max(got.listed.values(), default=1) == 1
        if not any("\n\nLeft out: " in text for _, text in got.digests):
            assert got.digests == expected.digests, where


def _die_after(monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    """The process dies right after the first OrgGateway `call` returns: Salesforce has
    done it, nobody has recorded it."""
    killer, real = Killer(at=1), getattr(OrgGateway, call)

    def then_die(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        killer.tick()
        return result

    monkeypatch.setattr(OrgGateway, call, then_die)


def _killed_and_rerun(
    demo: Path, workdir: Path, play: str
) -> tuple[LocalOrg, StateStore, CountingChannel, Run, RunResult]:
    """Run the play on a copy of the demo org until a patched call raises Killed, then
    rerun it: (org, store, channel, the killed run, the rerun's result)."""
    shutil.copy(demo, workdir / "org.sqlite")
    org = LocalOrg(workdir / "org.sqlite", today=lambda: TODAY)
    store = StateStore(f"sqlite:///{workdir / 'state.sqlite'}")
    channel = CountingChannel(Killer())
    run = _runner(play, org, store, channel)
    with pytest.raises(Killed):
        run()
    [killed] = store.runs(play)
    store.release_lease(f"play:{play}", _holder(store, play))
    return org, store, channel, killed, run()


@pytest.mark.parametrize("play_name", ["churn-intake", "route-leads"])
def test_writes_a_killed_run_made_are_reconciled_alerted_and_revertable(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, play_name: str
):
    """Killed after Salesforce saved the first write call, before the audit recorded it
    (route-leads writes dateTimes, which Salesforce reads back written differently)."""
    _die_after(monkeypatch, "update")
    org, store, channel, killed, rerun = _killed_and_rerun(demo, tmp_path, play_name)

    audit = store.run(killed.id)
    assert audit is not None and audit.changes and audit.alerts
    assert {(c.status, c.reconciled) for c in audit.changes} == {("applied", True)}
    assert rerun.settled.reconciled == len(audit.changes)
    assert rerun.plan.changes == ()  # the org already holds every change
    assert {a.status for a in audit.alerts} == {"sent"}
    assert sorted(key for _, key in channel.sent) == sorted(key for _, key in set(channel.sent))
    assert rerun.settled.alerts_sent == len(audit.alerts)

    reverted = revert_run(
        killed.id, store=store, org=OrgGateway(org.salesforce), notifier=NoAlerts()
    )
    assert reverted.status == "succeeded"
    assert reverted.counts["applied"] == len(audit.changes)


def test_a_run_of_another_play_finishes_what_a_killed_run_owes(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    shutil.copy(demo, tmp_path / "org.sqlite")
    org = LocalOrg(tmp_path / "org.sqlite", today=lambda: TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    channel = CountingChannel(Killer(at=1))
    with pytest.raises(Killed):  # churn-intake dies on its first alert, after every write
        _runner("churn-intake", org, store, channel)()
    [killed] = store.runs("churn-intake")
    store.release_lease("play:churn-intake", _holder(store, "churn-intake"))
    assert store.plays_owing() == {"churn-intake"}

    settled = settle_other_plays(
        "win-back",
        store,
        OrgGateway(org.salesforce),
        lambda p: AlertDelivery(AlertRenderer("https://x"), Dispatcher(p, channel, store)),
    )

    audit = store.run(killed.id)
    assert audit is not None and audit.alerts
    assert settled["churn-intake"].interrupted == (killed.id,)
    assert settled["churn-intake"].alerts_sent == len(audit.alerts)
    assert {a.status for a in audit.alerts} == {"sent"}
    assert store.plays_owing() == set()


def test_leads_a_killed_run_converted_are_recorded_with_their_contacts(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Killed after Salesforce converted the leads, before the audit recorded it."""
    _die_after(monkeypatch, "convert_leads")
    org, store, _, killed, rerun = _killed_and_rerun(demo, tmp_path, "job-changes")

    audit = store.run(killed.id)
    assert audit is not None and audit.conversions
    sf = org.salesforce()
    leads = sf.query_all(
        format_soql(
            "SELECT Id, ConvertedContactId FROM Lead WHERE Id IN {}",
            [c.lead_id for c in audit.conversions],
        )
    )["records"]
    assert {(c.lead_id, c.status, c.contact_id) for c in audit.conversions} == {
        (lead["Id"], "converted", lead["ConvertedContactId"]) for lead in leads
    }
    # What the dead run planned for the leads is audited against their contacts.
    assert not {c.record_id for c in audit.changes} & {c.lead_id for c in audit.conversions}
    assert rerun.status == "succeeded" and rerun.plan.conversions == ()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _served(db: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`revsched org serve --access-log` on db: (its URL, the server)."""
    port = _free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "revsched", "org", "serve", "--db", str(db)),
            *("--port", str(port), "--access-log"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no org served"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.terminate()
        server.wait()


def _run_command(workdir: Path, org: str, webhook_url: str) -> tuple[list[str], dict[str, str]]:
    """`revsched run churn-intake` as an operator runs it, alerting a webhook: its arguments
    and environment. `org` is the [org] table's location line (a path or a served URL)."""
    config = workdir / "revsched.toml"
    config.write_text(
        f'[org]\nkind = "local"\n{org}\n'
        f'[state]\nurl = "sqlite:///{workdir / "state.sqlite"}"\n'
        '[alerts]\nkind = "webhook"\n',
        encoding="utf-8",
    )
    env = {"REVSCHED_HOME": str(workdir / "home"), "SLACK_WEBHOOK_URL": webhook_url}
    return ["run", "churn-intake", "--config", str(config), "--as-of", TODAY.isoformat()], env


def _org_and_audit(workdir: Path) -> tuple[dict[tuple[str, str, str], Any], set[Any]]:
    """The fields the runs planned, as the org holds them, and the changes audited applied."""
    store = StateStore(f"sqlite:///{workdir / 'state.sqlite'}")
    runs = [run for r in store.runs("churn-intake") if (run := store.run(r.id)) is not None]
    changes = [c for run in runs for c in run.changes]
    store.engine.dispose()
    sf = LocalOrg(workdir / "org.sqlite", today=lambda: TODAY).salesforce()
    org: dict[tuple[str, str, str], Any] = {}
    for sobject in {c.sobject for c in changes}:
        fields = sorted({c.field for c in changes if c.sobject == sobject})
        ids = sorted({c.record_id for c in changes if c.sobject == sobject})
        soql = format_soql(f"SELECT Id, {', '.join(fields)} FROM {sobject} WHERE Id IN {{}}", ids)
        for record in sf.query_all(soql)["records"]:
            org |= {(sobject, record["Id"], name): record[name] for name in fields}
    applied = {(c.record_id, c.field, c.new) for c in changes if c.status == "applied"}
    return org, applied


def _unfinished(workdir: Path) -> bool:
    """Whether a run is left running (its process died), letting its lease go: a killed
    process's lease lapses within minutes; the test does not wait for it."""
    store = StateStore(f"sqlite:///{workdir / 'state.sqlite'}")
    running = [r for r in store.runs("churn-intake") if r.status == "running"]
    store.release_lease("play:churn-intake", _holder(store, "churn-intake"))
    store.engine.dispose()
    return bool(running)


def test_a_sigkilled_run_against_a_served_org_converges_on_rerun(
    demo: Path, tmp_path: Path, fake_slack: FakeSlack
):
    """A real `revsched run` process, SIGKILLed once the served org has answered its write
    call (saved, but not yet recorded or alerted); rerun, it matches an uninterrupted run
    from the same copy (in this process, on the org file) in org, audit and webhook posts."""
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    for workdir in (clean_dir, killed_dir):
        workdir.mkdir()
        shutil.copy(demo, workdir / "org.sqlite")
    clean_hook = FakeSlack()
    try:
        args, env = _run_command(
            clean_dir, f'path = "{clean_dir / "org.sqlite"}"', clean_hook.webhook_url
        )
        clean = CliRunner().invoke(app, args, env=env)
        assert clean.exit_code == 0, clean.output
        with _served(killed_dir / "org.sqlite") as (url, server):
            args, env = _run_command(killed_dir, f'url = "{url}"', fake_slack.webhook_url)
            command, env = [sys.executable, "-m", "revsched", *args], os.environ | env
            killed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
            assert server.stderr is not None
            # A run that never writes must not hang the test: the server stops, the log ends.
            watchdog = threading.Timer(120, server.terminate)
            watchdog.start()
            for line in server.stderr:  # the org has answered the write call: kill now
                if '"PATCH ' in line:
                    os.kill(killed.pid, signal.SIGKILL)
                    break
            watchdog.cancel()
            assert killed.wait(timeout=120) == -signal.SIGKILL
            assert _unfinished(killed_dir), "the run finished before it was killed"
            rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        expected_org, expected_applied = _org_and_audit(clean_dir)
        got_org, got_applied = _org_and_audit(killed_dir)
        # Links name the org each run used: the same record's link reads alike.
        posts = [
            Counter(
                re.sub(r"https?://[^/]+/lightning", "org", str(p)) for p in hook.posted("webhook")
            )
            for hook in (clean_hook, fake_slack)
        ]
    finally:
        clean_hook.close()

    assert expected_applied and expected_org and posts[0]
    assert got_org == expected_org
    assert got_applied == expected_applied
    assert posts[1] == posts[0]


def test_a_weekly_digest_of_a_run_killed_before_any_write_goes_out_once_with_the_rerun(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """contact-alignment killed before its first write: the dead run's digest lists only
    contacts it never moved, so it is held back; the rerun moves them and sends its own."""
    (tmp_path / "clean").mkdir()
    clean, _, _ = _trial(demo, tmp_path / "clean", "contact-alignment", monkeypatch, None)

    killer, real = Killer(at=1), OrgGateway.update

    def die_first(self: OrgGateway, sobject: str, records: Any) -> Any:
        killer.tick()
        return real(self, sobject, records)

    monkeypatch.setattr(OrgGateway, "update", die_first)
    _, store, channel, killed, rerun = _killed_and_rerun(demo, tmp_path, "contact-alignment")

    assert len(channel.sent) == 1  # one digest, not one per run
    assert Counter(channel.sent) == clean.sent + clean.digests
    assert rerun.counts["applied"] == len(rerun.plan.changes) == len(clean.applied) > 0
    assert len(rerun.plan.alerts) == rerun.counts["alerts_sent"] == 1
    audit = store.run(killed.id)
    assert audit is not None and [a.status for a in audit.alerts] == ["skipped"]
    assert audit.alerts[0].error.startswith("not sent: none of the")


def test_merges_a_killed_run_made_are_recorded_as_merged(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Killed after Salesforce merged, before the audit recorded it: read back with queryAll
    (the record merged away is deleted with its master as MasterRecordId)."""
    _die_after(monkeypatch, "merge")
    _, store, _, killed, rerun = _killed_and_rerun(demo, tmp_path, "dedupe-contacts")

    audit = store.run(killed.id)
    assert audit is not None and audit.merges
    first_round = {m.master_id for m in audit.merges}  # each master's first merge landed
    assert {m.status for m in audit.merges if m.status != "merged"} <= {"failed"}
    assert {m.master_id for m in audit.merges if m.status == "merged"} == first_round
    assert rerun.status == "succeeded"
    assert rerun.settled.reconciled >= len(first_round)
