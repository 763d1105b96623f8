"""Shared fixtures: a state store per test, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from fakeslack import FakeSlack
from simple_salesforce.format import format_soql
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org

POSTGRES_ENV = "REVSCHED_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def revsched_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home: no test sees another's org, state or config."""
    home = tmp_path / "home"
    monkeypatch.setenv("REVSCHED_HOME", str(home))
    monkeypatch.delenv("REVSCHED_CONFIG", raising=False)
    for name in [n for n in os.environ if n.startswith("REVSCHED__")]:
        monkeypatch.delenv(name)  # config keys set in the shell that runs the tests
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


# The day the end-to-end demo org is built for (and the plays run as of).
DEMO_TODAY = date(2026, 11, 23)


@pytest.fixture
def demo_org(revsched_home: Path) -> Path:
    """The default org ($REVSCHED_HOME/demo-org.sqlite): 60 demo accounts dated DEMO_TODAY."""
    path = revsched_home / "demo-org.sqlite"
    path.parent.mkdir(parents=True)
    build_demo_org(path, accounts=60, seed=7, today=DEMO_TODAY).close()
    return path


@pytest.fixture
def run_json() -> Callable[..., dict[str, Any]]:
    """`revsched run ARGS --json` as a user runs it; the run must exit 0."""

    def run(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(app, ["run", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return run


@pytest.fixture
def org_values(demo_org: Path) -> Callable[[list[dict[str, Any]]], dict[tuple[str, str], Any]]:
    """The demo org's current value of every (record, field) that planned changes touch."""

    def values(changes: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        sf = LocalOrg(demo_org).salesforce()
        by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for change in changes:
            by_object[change["sobject"]].append(change)
        found: dict[tuple[str, str], Any] = {}
        for sobject, planned in by_object.items():
            fields = sorted({c["field"] for c in planned})
            soql = f"SELECT Id, {', '.join(fields)} FROM {sobject} WHERE Id IN {{}}"
            ids = sorted({c["record_id"] for c in planned})
            for row in sf.query_all(format_soql(soql, ids))["records"]:
                found |= {(row["Id"], field): row[field] for field in fields}
        return {(c["record_id"], c["field"]): found[c["record_id"], c["field"]] for c in changes}

    return values


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The wall clock set to the test's parameter (an aware datetime), ticking on from
    there: a run --as-of a day happens at the clock's time of day, which plays read
    (route-leads' digest from 08:00, working hours); the machine's must not decide."""
    with time_machine.travel(request.param, tick=True):
        yield request.param


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
