"""Shared fixtures: a state store per test, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakeslack import FakeSlack
from sqlalchemy import create_engine, text

POSTGRES_ENV = "REVSCHED_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def revsched_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home: no test sees another's org, state or config."""
    home = tmp_path / "home"
    monkeypatch.setenv("REVSCHED_HOME", str(home))
    monkeypatch.delenv("REVSCHED_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty state database URL on each backend revsched supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.sqlite'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"set {POSTGRES_ENV} to run the PostgreSQL state tests")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """slack-sdk's retry waits, recorded instead of slept, so rate-limit tests stay fast."""
    from slack_sdk.http_retry import builtin_handlers, handler

    slept: list[float] = []
    for module in (builtin_handlers, handler):
        monkeypatch.setattr(module, "time", SimpleNamespace(sleep=slept.append))
    return slept
