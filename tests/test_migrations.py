"""The state store's schema comes from Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text, update
from typer.testing import CliRunner

from revsched import migrate
from revsched.cli import app
from revsched.errors import StateSchemaError
from revsched.plan import Decision, Firing, Merge, MergedRecord, Plan
from revsched.state import Base, OccurrenceRow, OutboxEntry, Run, StateStore, open_engine


def test_migrations_build_exactly_the_models(state_url: str):
    """A model change without its migration fails here: add one (see README, State)."""
    engine = open_engine(state_url)
    migrate.upgrade(engine)

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert differences == []
    assert migrate.current(engine) == migrate.head()


def test_fresh_database_is_created_at_the_newest_level(state_url: str):
    store = StateStore(state_url)

    assert migrate.current(store.engine) == migrate.head()


def test_older_level_is_refused_until_state_upgrade(state_url: str, tmp_path: Path):
    engine = open_engine(state_url)
    migrate.upgrade(engine, "0001")

    with pytest.raises(StateSchemaError, match=r"level 0001, .* run `revsched state upgrade`"):
        StateStore(state_url)

    config_file = tmp_path / "revsched.toml"
    config_file.write_text(f"[state]\nurl = '{state_url}'\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(app, ["history", "--config", str(config_file)])
    upgraded = runner.invoke(app, ["state", "upgrade", "--config", str(config_file)])
    again = runner.invoke(app, ["state", "upgrade", "--config", str(config_file)])

    assert refused.exit_code == 2 and "revsched state upgrade" in refused.stderr
    assert upgraded.exit_code == 0
    assert f"upgraded from schema level 0001 to {migrate.head()}" in upgraded.stdout
    assert again.stdout.startswith("State store already at schema level")
    StateStore(state_url)


def test_database_made_before_migrations_is_upgraded_in_place(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite'}"
    engine = open_engine(url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO runs (play, dry_run, as_of, started_at, status, counts)"
                " VALUES ('win-back', 0, '2026-11-01', '2026-11-01 06:00:00', 'succeeded', '{}')"
            )
        )

    assert migrate.current(engine) == "0001"
    with pytest.raises(StateSchemaError):
        StateStore(url)
    assert migrate.upgrade(engine) == ("0001", migrate.head())
    assert [run.play for run in StateStore(url).runs()] == ["win-back"]


def test_newer_level_than_this_revsched_is_refused(state_url: str):
    engine = open_engine(state_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(StateSchemaError, match="newer than this revsched knows"):
        StateStore(state_url)


def test_timestamps_come_back_timezone_aware(state_url: str):
    store = StateStore(state_url)
    store.claim_occurrence("win-back", "2026-11-23", "ops-1")

    with store.session() as session:
        claimed = session.query(OccurrenceRow).one().claimed_at

    assert claimed.tzinfo is not None
    assert abs(claimed - datetime.now(UTC)) < timedelta(minutes=5)


def test_prune_deletes_old_audit_and_claims_but_keeps_fired_runs(state_url: str):
    store = StateStore(state_url)
    plan = Plan(
        play="win-back", as_of=date(2026, 1, 1), firings=(Firing(record_id="001A", stage="6"),)
    )
    alert = OutboxEntry("001A", "6", "[]", "hello", fires=True)
    store.start_run(plan, dry_run=True, alerts=[alert])
    fired = store.start_run(plan, dry_run=False, alerts=[alert])
    [owed] = store.owed_alerts("win-back")
    store.settle_alerts("win-back", {owed.id: None})
    recent = store.start_run(plan, dry_run=True)
    merge = Merge(
        sobject="Contact",
        master_id="003M",
        master_name="Ann Lee",
        merged=(MergedRecord(record_id="003D", record_name="Ann Lee", fields={}),),
        master_before={},
        master_after={},
        reason="same email",
    )
    decision = Decision(
        sobject="Contact",
        record_id="003M",
        record_name="Ann Lee",
        outcome="selected",
        reason="same email",
        stage="cluster 1: master",
    )
    deduped = Plan(
        play="dedupe-contacts",
        as_of=date(2026, 1, 1),
        decisions=(decision,),
        merges=(merge,),
        reports={"review": [{"cluster": 1, "score": 0.8}]},
    )
    deduped_run = store.start_run(deduped, False)
    assert store.decisions(deduped_run) == [decision]
    assert store.reports(deduped_run) == {"review": [{"cluster": 1, "score": 0.8}]}
    store.claim_occurrence("win-back", "2026-01-01", "ops-1")
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as session:
        session.execute(update(Run).where(Run.id != recent).values(started_at=long_ago))
        session.execute(update(OccurrenceRow).values(claimed_at=long_ago))

    counts = store.prune(datetime.now(UTC) - timedelta(days=90))

    assert counts["alerts"] == 2 and counts["merges"] == 1
    assert counts["decisions"] == 1 and counts["report_rows"] == 1
    assert counts["runs"] == 2 and counts["occurrences"] == 1
    assert [run.id for run in store.runs()] == [recent, fired]
    assert store.fired("win-back") == {("001A", "6")}
    assert store.claim_occurrence("win-back", "2026-01-01", "ops-2") is None


@pytest.mark.parametrize(
    ("age", "exit_code", "output"),
    [
        ("90d", 0, "Pruned before"),
        ("12w", 0, "0 runs"),
        ("3 months", 2, "use days or weeks"),
        ("999999d", 2, "longer than 36500d"),
    ],
)
def test_state_prune_command(age: str, exit_code: int, output: str):
    result = CliRunner().invoke(app, ["state", "prune", "--older-than", age])

    assert result.exit_code == exit_code
    assert output in result.output


def test_servers_starting_together_on_a_fresh_database_both_start(state_url: str):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: StateStore(state_url), range(4)))

    assert all(migrate.current(store.engine) == migrate.head() for store in stores)


def test_a_first_use_killed_before_the_version_stamp_leaves_nothing_half_made(state_url: str):
    engine = open_engine(state_url)

    @event.listens_for(engine, "before_cursor_execute")
    def die_at_the_stamp(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO alembic_version"):
            raise KeyboardInterrupt  # the process is killed here

    with pytest.raises(KeyboardInterrupt):
        migrate.upgrade(engine)
    event.remove(engine, "before_cursor_execute", die_at_the_stamp)

    assert inspect(engine).get_table_names() == []
    assert migrate.current(StateStore(state_url).engine) == migrate.head()


def test_a_store_an_older_revsched_left_half_made_is_rebuilt(state_url: str, tmp_path: Path):
    # Tables made outside the transaction, the version row rolled back: no rows anywhere.
    engine = open_engine(state_url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
    config_file = tmp_path / "revsched.toml"
    config_file.write_text(f"[state]\nurl = '{state_url}'\n", encoding="utf-8")

    upgraded = CliRunner().invoke(app, ["state", "upgrade", "--config", str(config_file)])

    assert upgraded.exit_code == 0, upgraded.output
    assert migrate.current(engine) == migrate.head()
    assert StateStore(state_url).runs() == []


def test_processes_starting_together_on_a_fresh_sqlite_store_all_start(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    script = "import sys; from revsched.state import StateStore; StateStore(sys.argv[1])"
    starts = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]

    errors = [p.communicate(timeout=120)[1].decode() for p in starts]

    assert [p.returncode for p in starts] == [0, 0, 0, 0], errors
    assert migrate.current(open_engine(url)) == migrate.head()


def test_changes_audited_before_names_were_kept_survive_the_upgrade(state_url: str):
    engine = open_engine(state_url)
    migrate.upgrade(engine, "0008")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (id, play, dry_run, as_of, started_at, status, counts)"
                " VALUES (1, 'win-back', false, '2026-11-01', '2026-11-01 06:00:00',"
                " 'succeeded', '{}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO changes (run_id, sobject, record_id, record_name, field, old, new,"
                " reason, status, reconciled) VALUES (1, 'Account', '001000000000001AAA',"
                " 'Acme', 'OwnerId', '\"005000000000001AAA\"', '\"005000000000002AAA\"',"
                " 'round robin', 'applied', false)"
            )
        )

    migrate.upgrade(engine)

    run = StateStore(state_url).run(1)
    assert run is not None
    change = run.changes[0]
    assert (change.record_name, change.old_name, change.new_name) == ("Acme", None, None)


def test_a_store_at_the_newest_level_opens_without_loading_alembic(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    StateStore(url)  # created (and stamped) with Alembic
    probe = f"import sys; from revsched.state import StateStore; StateStore({url!r});"
    probe += " print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_the_level_the_migration_files_state_is_alembics_head():
    assert migrate._stated_head() == migrate.head()
