"""A second client: jsforce 3 (JavaScript, through Node.js) makes ordinary calls against a
served local org (tests/clients/jsforce/conformance.js). simple-salesforce is the client
every other test uses; jsforce builds its own URLs, headers and paging, so it catches
answers that only happen to suit simple-salesforce. Skipped, with the reason, when Node.js
or the npm packages are absent (`npm ci --prefix tests/clients/jsforce`; .ci/run does it
when npm is there)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from revsched.localorg import LocalOrg, serve

CLIENT = Path(__file__).parents[1] / "clients" / "jsforce"


def _served(path: Path) -> str:
    """The org at path served over HTTP on a free port, as `revsched org serve` does."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    threading.Thread(target=serve, args=(path,), kwargs={"port": port}, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(f"{url}/services/data/", timeout=1)
            return url
        except requests.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_jsforce_calls_answer_as_salesforce_documents(tmp_path: Path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the jsforce conformance check is skipped")
    if not (CLIENT / "node_modules" / "jsforce").is_dir():
        pytest.skip(f"jsforce is not installed: run `npm ci --prefix {CLIENT}` to check it")
    path = tmp_path / "org.sqlite"
    LocalOrg(path).close()
    url = _served(path)

    done = subprocess.run(
        [node, str(CLIENT / "conformance.js"), url, "any-token"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["created"] == 250
    assert out["updated"] == 10
    assert out["upserted"] == [[True, True], [True, True]]
    assert out["groups"] == [["Energy", 10], ["Retail", 120], ["Software", 120]]
    assert out["aggregate"] == [249, sum(range(250))]
    assert out["fieldsStandard"] == ["JS000", 0, True]
    assert out["since2000"] == 250
    assert out["retrieved"] == ["JS000", "JS001", "JS002"]
    assert out["retrievedGet"] == ["JS001", "JS000"]
    assert {"sobjects", "query", "queryAll", "limits", "composite"} <= set(out["resources"])
    assert out["deleted"] == 10
    gone = sorted(out["getDeleted"])
    assert len(gone) == 10
    assert out["getUpdated"] == 240
    assert out["queryAll"] == {"firstPage": [250, False, 200], "size": 250, "deleted": gone}
    assert out["describe"] == {"name": "Account", "hasName": True}
    assert out["bulkIngest"] == {"ok": 2100, "failed": 0}
    assert out["firstPage"] == {"totalSize": 2100, "done": False, "size": 2000}
    assert out["paged"] == {"size": 2100, "last": "C2099"}
    assert out["bulkQuery"] == {"size": 2100, "first": "C0000"}
    assert out["versions"] == "62.0"
    # What jsforce wrote is what the org holds.
    sf = LocalOrg(path).salesforce()
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 240
    assert sf.query("SELECT COUNT() FROM Account WHERE Industry = 'Energy'")["totalSize"] == 10
    keys = sf.query("SELECT Revsched_Key__c FROM Task ORDER BY Revsched_Key__c")["records"]
    assert [k["Revsched_Key__c"] for k in keys] == ["js-1", "js-2"]
