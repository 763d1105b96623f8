"""The state store's schema level: Alembic migrations, checked before every use.

A fresh database is created at the newest level automatically. A database at an
older level is never changed behind the operator's back: every command refuses
it with one line naming `revsched state upgrade`, which several servers sharing
one PostgreSQL store must all agree on. A database made by revsched before
migrations existed (tables with rows, no version) is recognised as the first level.

Every migration runs in one transaction that also stamps the version, holding
the database's write lock (SQLite: BEGIN IMMEDIATE, so DDL cannot autocommit
ahead of the stamp; PostgreSQL: an advisory lock), so a kill leaves the store as
it was and processes starting together migrate one after another. A store an
older revsched left half-made (tables, no version, no rows) is built afresh.
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, inspect, literal, select, text
from sqlalchemy.engine import Connection, Engine

from revsched.errors import StateSchemaError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

FIRST_REVISION = "0001"
# pg_advisory_xact_lock key for migrations ("revsched" as an integer).
_LOCK_KEY = int.from_bytes(b"revsched", "big") >> 1
# Alembic's migration context is global to the process: one migration at a time.
_in_process = threading.Lock()


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "revsched.state:migrations")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest schema level this revsched knows."""
    newest = _scripts().get_current_head()
    assert newest is not None
    return newest


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def current(engine: Engine) -> str | None:
    """The database's schema level; None for an empty (or half-made) database."""
    with engine.connect() as connection:
        return _level(connection)


def _level(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None and inspect(connection).has_table("runs") and _holds_rows(connection):
        return FIRST_REVISION  # created by create_all before migrations existed
    return revision


def _holds_rows(connection: Connection) -> bool:
    return any(
        connection.execute(select(literal(1)).select_from(table).limit(1)).first()
        for table in _tables(connection).sorted_tables
    )


def _tables(connection: Connection) -> MetaData:
    tables = MetaData()
    tables.reflect(connection)
    return tables


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Migrate to the newest (or `target`) level; returns (level before, level after)."""
    with _in_process:
        return _upgrade(engine, target)


def _upgrade(engine: Engine, target: str) -> tuple[str | None, str | None]:
    with engine.connect() as connection:
        _lock(connection)
        before = _level(connection)
        from alembic import command

        config = _config(connection)
        if before is None:
            # Left by a first use that died part-way: nothing in it to keep.
            _tables(connection).drop_all(connection)
        elif before == FIRST_REVISION and not _has_version_table(connection):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, target)
        after = _level(connection)
        connection.commit()
    return before, after


def _lock(connection: Connection) -> None:
    """Open the migration's transaction holding the database's write lock: processes
    starting together on a fresh database migrate one after another."""
    if connection.dialect.name == "sqlite":
        # pysqlite would run DDL outside any transaction; this one takes it all in.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _has_version_table(connection: Connection) -> bool:
    return inspect(connection).has_table("alembic_version")


# `revision = "0008"` and `down_revision = "0007"` (or None), as a migration file states them.
_STATED = re.compile(r"^(down_)?revision(?:: [^=]+)? = (?:None|[\"'](\w+)[\"'])$", re.MULTILINE)


def _stated_head() -> str | None:
    """The newest level as the migration files state it, read without loading Alembic (a
    tenth of a second and 12 MB at every start); None unless every file states both its
    levels plainly and they form one line (then Alembic decides)."""
    levels: set[str] = set()
    parents: set[str] = set()
    versions = resources.files("revsched.state.migrations").joinpath("versions")
    for script in versions.iterdir():
        if not script.name.endswith(".py") or script.name.startswith("_"):
            continue
        stated = {down: level for down, level in _STATED.findall(script.read_text("utf-8"))}
        if set(stated) != {"", "down_"} or not stated[""]:
            return None
        levels.add(stated[""])
        parents.add(stated["down_"])
    heads = levels - parents
    return heads.pop() if len(heads) == 1 else None


def _stamped(engine: Engine) -> str | None:
    """The level stamped in the database, None when it has no (single) stamp."""
    with engine.connect() as connection:
        if not _has_version_table(connection):
            return None
        levels = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(levels[0][0]) if len(levels) == 1 else None


def ensure_current(engine: Engine) -> None:
    """Create an empty database at the newest level; refuse one at another level."""
    stamped = _stamped(engine)
    if stamped is not None and stamped == _stated_head():
        return  # the usual case, decided without Alembic
    level, newest = current(engine), head()
    if level is None:
        upgrade(engine)
    elif level != newest:
        known = {script.revision for script in _scripts().walk_revisions()}
        if level not in known:
            raise StateSchemaError(
                f"the state store is at schema level {level}, newer than this revsched"
                f" knows ({newest}); upgrade revsched on this server"
            )
        raise StateSchemaError(
            f"the state store is at schema level {level}, this revsched needs {newest};"
            " run `revsched state upgrade` (once, from one server)"
        )
