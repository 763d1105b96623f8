"""Opening the state database, and the plain-SQL bulk writes the store's modules share.

SQLAlchemy over SQLite by default, any SQLAlchemy URL (PostgreSQL for several ops
servers) when configured. Apart from the store's reads and writes so each of its
modules (runs, outbox, progress, leases) builds on one session and one insert path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

from revsched import migrate
from revsched.errors import ConfigError
from revsched.private import private_file
from revsched.state.models import (
    Base,
)

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


SQLITE_BUSY_SECONDS = 30


def open_engine(url: str) -> Engine:
    """An engine on the state database (its SQLite directory created), schema unchecked."""
    database = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and database not in ("", ":memory:"):
        private_file(Path(database).expanduser())
    if not url.startswith("sqlite:///"):
        return create_engine(url)
    # A run, the scheduler and `show` may share the file: wait for a writer, as long as a
    # long batch may hold the lock, rather than failing after pysqlite's default 5 s.
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
    event.listen(engine, "connect", _write_ahead_log)
    return engine


def _write_ahead_log(connection: Any, _: Any) -> None:
    """SQLite in WAL mode, synced at checkpoints rather than at every commit: a run saves
    its outcomes a batch at a time, and a sync per batch cost more than the writes. A crash
    may lose the last batches, never the file; the next run reads those back from the org."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _shown(url: str) -> str:
    """The URL as an error may show it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url.split("@")[-1])


# Rows per executemany call.
CHUNK = 1000
# SQLite's oldest limit of bound values in one statement.
MAX_VALUES = 999
# Values in one IN (...): under that limit.
IN_CHUNK = 500


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def driver_sql(session: Session, sql: str) -> str:
    """SQL written with `?` placeholders (and no value of its own) in the driver's style."""
    return sql if session.get_bind().dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def executemany(session: Session, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows of plain values straight to the driver's executemany, in chunks: SQLAlchemy's
    per-row parameter handling cost more than the database's work at 100k rows."""
    sql = driver_sql(session, sql)
    connection = session.connection()
    for batch in chunks(rows):
        connection.exec_driver_sql(sql, batch)


def insert(session: Session, model: type[Base], rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is not None:
        columns = tuple(first)
        values = (tuple(row[name] for name in columns) for row in itertools.chain([first], rows))
        insert_values(session, model, columns, values)


def insert_values(
    session: Session, model: type[Base], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples in the order of `columns`, each value through its
    column's bind processing (timestamps in UTC) as SQLAlchemy would; many rows a
    statement (a statement a row cost SQLite a quarter more CPU on a run's plan)."""
    table = model.__table__
    dialect = session.get_bind().dialect
    processors = [
        (i, process)
        for i, name in enumerate(columns)
        if (process := table.c[name].type.bind_processor(dialect)) is not None
    ]

    def processed(row: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(row)
        for i, process in processors:
            out[i] = process(out[i])
        return tuple(out)

    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    row = f"({', '.join('?' for _ in columns)})"
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES "
    per_statement = max(1, MAX_VALUES // len(columns))
    many = driver_sql(session, sql + ", ".join([row] * per_statement))
    connection = session.connection()
    for batch in chunks(map(processed, rows) if processors else rows):
        whole = len(batch) - len(batch) % per_statement
        for start in range(0, whole, per_statement):
            values = tuple(itertools.chain.from_iterable(batch[start : start + per_statement]))
            connection.exec_driver_sql(many, values)
        if whole < len(batch):
            connection.exec_driver_sql(driver_sql(session, sql + row), batch[whole:])


def _is_locked(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


# SQLite answers "database is locked" at once, busy timeout or not, to a connection that
# switches a file being created to WAL while another one does: servers starting together
# on a fresh store retry rather than fail.
@retry(
    retry=retry_if_exception(_is_locked),
    wait=wait_random(0.05, 0.5),
    stop=stop_after_delay(SQLITE_BUSY_SECONDS),
    reraise=True,
)
def _ensure_current(engine: Engine) -> None:
    migrate.ensure_current(engine)


class Database:
    """The state database's engine (its schema made current) and sessions on it."""

    def __init__(self, url: str):
        try:
            self.engine = open_engine(url)
            _ensure_current(self.engine)
        except (ArgumentError, NoSuchModuleError):
            raise ConfigError(
                f"state.url: {_shown(url)} is not a database URL SQLAlchemy can open"
                " (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
            ) from None
        except OperationalError as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            raise ConfigError(
                f"state.url: cannot open the state store at {_shown(url)}: {reason}"
            ) from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session
