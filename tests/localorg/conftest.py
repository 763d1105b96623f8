"""Fixtures: a fresh local org per test, with a fixed org clock, and its simple-salesforce
client."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from revsched.localorg import LocalOrg

TODAY = date(2026, 11, 23)


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    local = LocalOrg(tmp_path / "org.sqlite", today=lambda: TODAY)
    yield local
    local.close()


@pytest.fixture
def sf(org: LocalOrg) -> Salesforce:
    return org.salesforce()


@pytest.fixture
def users(org: LocalOrg) -> list[str]:
    return org.insert(
        "User",
        [
            {
                "FirstName": "Ann",
                "LastName": "Lee",
                "Username": "ann@x.test",
                "Email": "ann@x.test",
            },
            {"LastName": "Bo", "Username": "bo@x.test", "Email": "bo@x.test"},
        ],
    )
