"""connect() against serve() running over real HTTP on a free local port."""

from __future__ import annotations

import logging

import pytest
import requests

from revsched.localorg import LocalOrg, connect

from .test_auth import start_server


def test_connect_to_served_org(tmp_path):
    path = tmp_path / "org.sqlite"
    seed = LocalOrg(path)
    seed.insert("Account", [{"Name": f"A{i:04d}"} for i in range(2100)])
    seed.close()
    url = start_server(path)
    sf = connect(url)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2100
    records = sf.query_all("SELECT Name FROM Account ORDER BY Name")["records"]
    assert len(records) == 2100 and records[-1]["Name"] == "A2099"
    created = sf.Account.create({"Name": "Over HTTP"})
    assert sf.Account.get(created["id"])["Name"] == "Over HTTP"
    unauthenticated = requests.get(f"{url}/services/data/v62.0/limits/")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()[0]["errorCode"] == "INVALID_SESSION_ID"


@pytest.mark.parametrize("access_log", [False, True])
def test_access_log_only_when_asked(tmp_path, caplog, access_log: bool):
    LocalOrg(tmp_path / "org.sqlite").close()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        url = start_server(tmp_path / "org.sqlite", access_log=access_log)
        connect(url).query("SELECT Id FROM Account")
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /services/data/v62.0/query" in line for line in lines) == access_log
