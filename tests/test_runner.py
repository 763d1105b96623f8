"""The runner on a demo org: what it writes, sends and records, also when writes fail."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from harness import (
    TODAY,
    NoAlerts,
    RecordingNotifier,
    own_records,
    run_win_back,
    with_own_records,
)
from rich.console import Console

from revsched.alerts import AlertRenderer
from revsched.config import ApiSettings, Settings
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.org import OrgGateway
from revsched.plan import Plan, diff_changes
from revsched.play import DecideContext, Play, PlayConfig, Record, Records
from revsched.runner import run_play
from revsched.state import StateStore


class LockedRecordOrg(OrgGateway):
    """The demo org, with some records locked by another process as writes arrive."""

    def __init__(self, org: LocalOrg, locked: set[str]):
        super().__init__(org.salesforce)
        self.locked = locked

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        outcomes = super().update(sobject, [r for r in records if r["Id"] not in self.locked])
        for record in records:
            if record["Id"] in self.locked:
                outcomes[record["Id"]] = "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"
        return outcomes


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    return build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=11, today=TODAY)


def test_failed_record_is_audited_not_alerted_and_retried_next_run(org: LocalOrg, tmp_path: Path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    dry = run_win_back(OrgGateway(org.salesforce), store, dry_run=True)
    locked = next(c.record_id for c in dry.plan.changes if c.field == "OwnerId")
    notifier = RecordingNotifier()

    first = run_win_back(LockedRecordOrg(org, {locked}), store, notifier)

    assert first.status == "partial"
    assert first.failures == {locked: "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"}
    assert locked not in {a.alert.record_id for a in notifier.sent}
    assert len(notifier.sent) == len(first.alerts) - 1
    audit = store.run(first.run_id)
    assert audit is not None
    assert {c.status for c in audit.changes if c.record_id == locked} == {"failed"}
    assert {c.status for c in audit.changes if c.record_id != locked} == {"applied"}
    assert [a.status for a in audit.alerts if a.record_id == locked] == ["skipped"]
    assert all(record_id != locked for record_id, _ in store.fired("win-back"))

    retry_notifier = RecordingNotifier()
    second = run_win_back(OrgGateway(org.salesforce), store, retry_notifier)

    assert second.status == "succeeded"
    assert {d.record_id for d in second.plan.selected} == {locked}
    assert [a.alert.record_id for a in retry_notifier.sent] == [locked]


def test_terminal_notifier_prints_recipients_and_text(org: LocalOrg, tmp_path: Path):
    from revsched.alerts import TerminalNotifier

    console = Console(record=True, width=200)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    result = run_win_back(OrgGateway(org.salesforce), store, TerminalNotifier(console))

    printed = console.export_text()
    for alert in result.alerts:
        assert alert.text in printed
        assert ", ".join(f"{r.name} ({r.role})" for r in alert.recipients) in printed


class KilledAfterWrite(OrgGateway):
    """The demo org, with the process killed right after its first write lands."""

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        super().update(sobject, records)
        raise KeyboardInterrupt


def org_state(org: LocalOrg) -> list[dict]:
    fields = "Id, OwnerId, SDR__c, Win_Back_Campaign__c, Owner_Assigned_Date__c"
    return org.salesforce().query_all(f"SELECT {fields} FROM Account ORDER BY Id")["records"]


def test_killed_run_is_reported_and_the_next_run_converges(tmp_path: Path):
    killed_org = build_demo_org(tmp_path / "killed.sqlite", accounts=60, seed=11, today=TODAY)
    clean_org = build_demo_org(tmp_path / "clean.sqlite", accounts=60, seed=11, today=TODAY)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    notifier = RecordingNotifier()

    with pytest.raises(KeyboardInterrupt):
        run_win_back(KilledAfterWrite(killed_org.salesforce), store, notifier)
    assert notifier.sent == []
    [crashed] = store.runs()

    resumed = run_win_back(OrgGateway(killed_org.salesforce), store, notifier)
    clean_notifier = RecordingNotifier()
    run_win_back(
        OrgGateway(clean_org.salesforce),
        StateStore(f"sqlite:///{tmp_path / 'clean-state.sqlite'}"),
        clean_notifier,
    )

    assert resumed.interrupted == (crashed.id,)
    assert store.run(crashed.id).status == "interrupted"
    assert org_state(killed_org) == org_state(clean_org)
    assert [a.text for a in notifier.sent] == [a.text for a in clean_notifier.sent]


def test_a_second_run_while_one_holds_the_lease_is_refused(org: LocalOrg, tmp_path: Path):
    from revsched.errors import LockedError
    from revsched.runner import play_lease

    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with (
        play_lease(store, "win-back"),
        pytest.raises(LockedError, match="another run of win-back holds the lock"),
    ):
        run_win_back(OrgGateway(org.salesforce), store, RecordingNotifier())
    # Released once the holder finishes.
    assert (
        run_win_back(OrgGateway(org.salesforce), store, RecordingNotifier()).status == "succeeded"
    )


def _two_passes(records: Records, ctx: DecideContext[PlayConfig]) -> Plan:
    """Scores every account, then sets every account's industry: a record's changes apart."""
    accounts = records["accounts"]
    score = {"Health_Score__c": (50.0, "every account scores 50")}
    industry = {"Industry": ("Retail", "every account is retail")}
    changes = [c for a in accounts for c in diff_changes("Account", a, score)]
    changes += [c for a in accounts for c in diff_changes("Account", a, industry)]
    return Plan(play="two-passes", as_of=ctx.as_of, changes=tuple(changes))


class WritesSeen(OrgGateway):
    """The org, keeping every record each write call (REST or Bulk) was given."""

    def __init__(self, org: LocalOrg):
        super().__init__(org.salesforce)
        self.written: list[list[Record]] = []

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        self.written.append(list(records))
        return super().update(sobject, records)

    def bulk_update(
        self, sobject: str, records: Sequence[Record], *args: object, **kwargs: object
    ) -> dict[str, str | None]:
        self.written.append(list(records))
        return super().bulk_update(sobject, records, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("bulk_write_threshold", [10**6, 0], ids=["rest", "bulk"])
def test_a_record_changed_in_two_passes_is_written_once_with_all_its_fields(
    tmp_path: Path, bulk_write_threshold: int
):
    local = LocalOrg(tmp_path / "org.sqlite")
    rows = [
        {"Name": f"Account {n}", "Health_Score__c": 1.0, "Industry": "Finance"} for n in range(3)
    ]
    ids = local.insert("Account", rows)
    org = WritesSeen(local)
    settings = Settings(api=ApiSettings(bulk_write_threshold=bulk_write_threshold))
    org.api = settings.api
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    soql = "SELECT Id, Name, Health_Score__c, Industry FROM Account ORDER BY Name"
    play = Play(
        "two-passes",
        "Score and file every account",
        PlayConfig,
        lambda ctx: {"accounts": soql},
        _two_passes,
    )

    result = run_play(
        play,
        settings,
        as_of=TODAY,
        dry_run=False,
        store=store,
        org=org,
        renderer=AlertRenderer(org.instance_url),
        notifier=NoAlerts(),
    )

    expected = [{"Id": i, "Health_Score__c": 50.0, "Industry": "Retail"} for i in ids]
    assert org.written == [expected]
    assert result.status == "succeeded" and result.counts["applied"] == 6
    audit = store.run(result.run_id)
    assert audit is not None
    assert sorted((c.record_id, c.field, c.status) for c in audit.changes) == sorted(
        (i, field, "applied") for i in ids for field in ("Health_Score__c", "Industry")
    )


def test_a_plays_queries_and_follow_ups_read_its_records_by_its_name(tmp_path: Path):
    local = LocalOrg(tmp_path / "org.sqlite")
    accounts, contacts = with_own_records(local)
    org = OrgGateway(local.salesforce)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = run_play(
        own_records,
        Settings(),
        as_of=TODAY,
        dry_run=True,
        store=store,
        org=org,
        renderer=AlertRenderer(org.instance_url),
        notifier=NoAlerts(),
    )

    selected = [(d.sobject, d.record_id) for d in result.plan.decisions]
    assert selected == [("Account", accounts[0]), ("Contact", contacts[0])]
