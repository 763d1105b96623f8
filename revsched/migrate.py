"""The state store's schema level: Alembic migrations, checked before every use.

A fresh database is created at the newest level automatically. A database at an
older level is never changed behind the operator's back: every command refuses
it with one line naming `revsched state upgrade`, which several servers sharing
one PostgreSQL store must all agree on. A database made by revsched before
migrations existed (tables, no version) is recognised as the first level.
"""

from __future__ import annotations

import threading

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from revsched.errors import StateSchemaError

FIRST_REVISION = "0001"
# pg_advisory_xact_lock key for migrations ("revsched" as an integer).
_LOCK_KEY = int.from_bytes(b"revsched", "big") >> 1
# Alembic's migration context is global to the process: one migration at a time.
_in_process = threading.Lock()


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "revsched:migrations")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest schema level this revsched knows."""
    newest = _scripts().get_current_head()
    assert newest is not None
    return newest


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def current(engine: Engine) -> str | None:
    """The database's schema level; None for an empty database."""
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision is None and inspect(connection).has_table("runs"):
            return FIRST_REVISION  # created by create_all before migrations existed
        return revision


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Migrate to the newest (or `target`) level; returns (level before, level after)."""
    with _in_process:
        return _upgrade(engine, target)


def _upgrade(engine: Engine, target: str) -> tuple[str | None, str | None]:
    before = current(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Servers starting together on a fresh database migrate one after another.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config = _config(connection)
        if before == FIRST_REVISION and not _has_version_table(connection):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, target)
    return before, current(engine)


def _has_version_table(connection: Connection) -> bool:
    return inspect(connection).has_table("alembic_version")


def ensure_current(engine: Engine) -> None:
    """Create an empty database at the newest level; refuse one at another level."""
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
