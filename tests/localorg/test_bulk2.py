"""Bulk API 2.0 ingest and query jobs, driven by simple-salesforce's sf.bulk2."""

from __future__ import annotations

import csv
import io
import time

from revsched.localorg import FaultProfile


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_update_upsert_delete(org, sf):
    inserted = sf.bulk2.Account.insert(
        records=[{"Name": f"A{i}", "NumberOfEmployees": i} for i in range(5)], wait=0
    )
    assert inserted[0]["numberRecordsProcessed"] == 5
    assert inserted[0]["numberRecordsFailed"] == 0
    job_id = inserted[0]["job_id"]
    ok = rows(sf.bulk2.Account.get_successful_records(job_id))
    assert [r["sf__Created"] for r in ok] == ["true"] * 5
    assert {r["Name"] for r in ok} == {f"A{i}" for i in range(5)}
    ids = [r["sf__Id"] for r in ok]
    updated = sf.bulk2.Account.update(
        records=[{"Id": ids[0], "Industry": "Retail"}, {"Id": "001bad", "Industry": "Retail"}],
        wait=0,
    )
    assert updated[0]["numberRecordsFailed"] == 1
    failed = rows(sf.bulk2.Account.get_failed_records(updated[0]["job_id"]))
    assert failed[0]["sf__Error"].startswith("MALFORMED_ID:")
    assert sf.Account.get(ids[0])["Industry"] == "Retail"
    upserted = sf.bulk2.Task.upsert(
        records=[{"Revsched_Key__c": "k1", "Subject": "s"}, {"Revsched_Key__c": "k2"}],
        external_id_field="Revsched_Key__c",
        wait=0,
    )
    assert upserted[0]["numberRecordsFailed"] == 0
    again = sf.bulk2.Task.upsert(
        records=[{"Revsched_Key__c": "k1", "Subject": "changed"}],
        external_id_field="Revsched_Key__c",
        wait=0,
    )
    ok = rows(sf.bulk2.Task.get_successful_records(again[0]["job_id"]))
    assert ok[0]["sf__Created"] == "false"
    deleted = sf.bulk2.Account.delete(records=[{"Id": i} for i in ids[:2]], wait=0)
    assert deleted[0]["numberRecordsProcessed"] == 2
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 3


def test_required_fields_and_null_markers(org, sf):
    result = sf.bulk2.Contact.insert(
        records=[{"LastName": "Lee", "Title": "CEO"}, {"LastName": "", "Title": "x"}], wait=0
    )[0]
    assert result["numberRecordsFailed"] == 1
    failed = rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    contact = sf.query("SELECT Id FROM Contact")["records"][0]["Id"]
    sf.bulk2.Contact.update(records=[{"Id": contact, "Title": "#N/A"}], wait=0)
    assert sf.Contact.get(contact)["Title"] is None


def test_record_faults_apply_to_ingest(org, sf):
    accounts = org.insert("Account", [{"Name": f"A{i}"} for i in range(3)])
    org.faults = FaultProfile(fail_records={accounts[1]: "UNABLE_TO_LOCK_ROW"})
    result = sf.bulk2.Account.update(
        records=[{"Id": i, "Industry": "Retail"} for i in accounts], wait=0
    )[0]
    assert result["numberRecordsFailed"] == 1
    failed = rows(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert failed[0]["sf__Id"] == accounts[1]
    assert failed[0]["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:")


def test_query_job_pages_with_locator_and_max_records(org, sf):
    org.insert("Account", [{"Name": f"A{i:03d}", "NumberOfEmployees": i} for i in range(250)])
    pages = list(
        sf.bulk2.Account.query(
            "SELECT Name, NumberOfEmployees, Owner.Name FROM Account ORDER BY Name",
            max_records=100,
            wait=0,
        )
    )
    assert len(pages) == 3
    records = [r for page in pages for r in rows(page)]
    assert len(records) == 250
    assert records[0] == {"Name": "A000", "NumberOfEmployees": "0", "Owner.Name": "Local Admin"}
    assert org.wsgi_app._limits()["DailyBulkV2QueryJobs"]["Remaining"] == 9999


def wait_for(sf, url: str) -> dict:
    """Poll a job until it is done, checking it only moves forward through Salesforce's
    job states."""
    order = ["UploadComplete", "InProgress", "JobComplete"]
    seen = "UploadComplete"
    for _ in range(500):
        info = sf.session.get(url, headers=sf.headers).json()
        assert order.index(info["state"]) >= order.index(seen), (seen, info["state"])
        seen = info["state"]
        if seen == "JobComplete":
            return info
        time.sleep(0.01)
    raise AssertionError(f"the job is still {seen}")


def test_ingest_job_runs_in_the_background_reporting_its_progress(org, sf):
    base = sf.bulk2_url
    created = sf.session.post(
        base + "ingest", json={"object": "Account", "operation": "insert"}, headers=sf.headers
    )
    url = base + f"ingest/{created.json()['id']}"
    names = "".join(f"A{n:05d}\n" for n in range(5_000))
    sf.session.put(
        url + "/batches", data="Name\n" + names, headers={**sf.headers, "Content-Type": "text/csv"}
    )
    # The org's lock held (as by a request in progress): the job cannot start meanwhile.
    with org.storage.lock:
        closed = sf.session.patch(url, json={"state": "UploadComplete"}, headers=sf.headers)
        assert closed.json()["state"] == "UploadComplete"
        waiting = sf.session.get(url, headers=sf.headers).json()
        assert waiting["state"] == "UploadComplete"
        assert waiting["numberRecordsProcessed"] == 0

    done = wait_for(sf, url)

    assert done["numberRecordsProcessed"] == 5_000 and done["numberRecordsFailed"] == 0
    count = sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'A0%'")["totalSize"]
    assert count == 5_000


def test_job_info_states_and_errors(org, sf):
    base = sf.bulk2_url
    headers = {**sf.headers}
    created = sf.session.post(
        base + "ingest", json={"object": "Account", "operation": "insert"}, headers=headers
    )
    assert created.status_code == 200
    info = created.json()
    assert info["state"] == "Open" and info["object"] == "Account"
    assert info["contentUrl"].endswith(f"/jobs/ingest/{info['id']}/batches")
    upload = sf.session.put(
        base + f"ingest/{info['id']}/batches",
        data="Name\nX\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    closed = sf.session.patch(
        base + f"ingest/{info['id']}", json={"state": "UploadComplete"}, headers=headers
    )
    assert closed.json()["state"] == "UploadComplete"
    polled = wait_for(sf, base + f"ingest/{info['id']}")
    assert polled["state"] == "JobComplete" and polled["numberRecordsProcessed"] == 1
    late = sf.session.put(
        base + f"ingest/{info['id']}/batches",
        data="Name\nY\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert late.status_code == 400
    missing = sf.session.get(base + "ingest/7508L0000000099AAA", headers=headers)
    assert missing.status_code == 404
    assert sf.session.delete(base + f"ingest/{info['id']}", headers=headers).status_code == 204
    assert org.wsgi_app._limits()["DailyBulkApiBatches"]["Remaining"] == 14999
