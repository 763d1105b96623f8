"""REST resources clients call besides query and writes (REST API Developer Guide):
"Versions", "Resources by Version", "Get Records Using sObject Collections" (GET and
POST), "sObject Get Updated" and "sObject Get Deleted"."""

from __future__ import annotations

import pytest

V = "/services/data/v62.0"


def call(sf, method: str, path: str, **kw):
    return sf.session.request(
        method,
        f"https://{sf.sf_instance}{path}",
        headers={"Authorization": f"Bearer {sf.session_id}"},
        **kw,
    )


def test_versions_list_needs_no_session_and_ends_at_the_served_version(sf):
    response = sf.session.get(f"https://{sf.sf_instance}/services/data/")
    assert response.status_code == 200
    versions = response.json()
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    by_version = {v["version"]: v["label"] for v in versions}
    assert by_version["60.0"] == "Spring '24"
    assert by_version["58.0"] == "Summer '23"
    assert by_version["20.0"] == "Winter '11"
    assert call(sf, "POST", "/services/data/").status_code == 405


def test_resources_of_a_version_name_what_the_org_serves(sf):
    resources = call(sf, "GET", f"{V}/").json()
    assert resources["sobjects"] == f"{V}/sobjects"
    assert resources["query"] == f"{V}/query"
    for url in resources.values():
        assert call(sf, "GET", url).status_code != 404, url


@pytest.fixture
def accounts(org):
    return org.insert("Account", [{"Name": "Acme", "Industry": "Retail"}, {"Name": "Beta"}])


def test_collection_retrieve_returns_records_in_order_with_null_for_the_rest(sf, org, accounts):
    acme, beta = accounts
    contact = org.insert("Contact", [{"LastName": "Lee"}])[0]
    sf.Account.delete(beta)
    ids = ",".join([beta, acme[:15], contact, "bogus"])
    response = call(sf, "GET", f"{V}/composite/sobjects/Account?ids={ids}&fields=Id,Name,Industry")
    assert response.status_code == 200
    assert response.json() == [
        None,
        {
            "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{acme}"},
            "Id": acme,
            "Name": "Acme",
            "Industry": "Retail",
        },
        None,
        None,
    ]


def test_collection_retrieve_post_form(sf, accounts):
    acme, beta = accounts
    response = call(
        sf,
        "POST",
        f"{V}/composite/sobjects/Account",
        json={"ids": [beta, acme], "fields": ["name"]},
    )
    assert [r["Name"] for r in response.json()] == ["Beta", "Acme"]


@pytest.mark.parametrize(
    ("method", "query", "body", "status", "code"),
    [
        ("GET", "?ids={acme}&fields=Nope", None, 400, "INVALID_FIELD"),
        ("GET", "?ids={acme}", None, 400, "INVALID_FIELD"),
        (
            "POST",
            "",
            {"ids": ["001000000000001AAA"] * 2001, "fields": ["Id"]},
            400,
            "EXCEEDED_ID_LIMIT",
        ),
        ("DELETE", "?ids={acme}&fields=Id", None, 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_collection_retrieve_errors(sf, accounts, method, query, body, status, code):
    path = f"{V}/composite/sobjects/Account{query.format(acme=accounts[0])}"
    response = call(sf, method, path, json=body)
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code


def test_get_updated_lists_ids_changed_in_the_span(sf, org):
    old, recent = org.insert(
        "Account",
        [
            {"Name": "Old", "SystemModstamp": "2026-11-20T09:00:00.000+0000"},
            {"Name": "Recent", "SystemModstamp": "2026-11-22T09:00:00.000+0000"},
        ],
    )
    result = call(
        sf,
        "GET",
        f"{V}/sobjects/Account/updated/",
        params={"start": "2026-11-21T00:00:00+00:00", "end": "2026-11-22T09:00:59Z"},
    ).json()
    # Seconds are ignored: the span ends at 09:00, which it includes.
    assert result == {"ids": [recent], "latestDateCovered": "2026-11-22T09:00:00.000+0000"}
    sf.Account.update(old, {"Name": "Old, renamed"})
    later = call(
        sf,
        "GET",
        f"{V}/sobjects/Account/updated/",
        params={"start": "2026-11-22T09:00:00Z", "end": "2026-12-30T00:00:00Z"},
    ).json()
    assert set(later["ids"]) == {old, recent}
    # An end in the future is covered up to now (the org clock says 2026-11-23).
    assert later["latestDateCovered"].startswith("2026-11-23T")


def test_get_deleted_lists_deleted_records_with_their_dates(sf, org):
    _, gone = org.insert("Account", [{"Name": "Keep"}, {"Name": "Gone"}])
    sf.Account.delete(gone)
    result = call(
        sf,
        "GET",
        f"{V}/sobjects/Account/deleted/",
        params={"start": "2026-11-23T00:00:00Z", "end": "2026-11-24T00:00:00Z"},
    ).json()
    assert [r["id"] for r in result["deletedRecords"]] == [gone]
    assert result["deletedRecords"][0]["deletedDate"].startswith("2026-11-23T")
    assert result["earliestDateAvailable"] == "2026-10-24T00:00:00.000+0000"
    assert set(result) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-22T10:00:00Z", "2026-11-22T10:00:30Z"),  # the same minute
        ("2026-11-22T10:00:00Z", "2026-11-21T10:00:00Z"),  # end before start
        ("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"),  # more than 30 days back
        ("yesterday", "2026-11-22T10:00:00Z"),
        (None, "2026-11-22T10:00:00Z"),
    ],
)
def test_replication_refuses_bad_spans(sf, start, end):
    response = call(
        sf, "GET", f"{V}/sobjects/Account/updated/", params={"start": start, "end": end}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_query_all_pages_through_deleted_rows(sf, org):
    ids = org.insert("Account", [{"Name": f"A{i:04}"} for i in range(450)])
    for chunk in (ids[:200], ids[200:400]):
        call(sf, "DELETE", f"{V}/composite/sobjects?ids={','.join(chunk)}")
    sf.session.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query_all_iter("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    rows = list(first)
    assert len(rows) == 450
    assert sum(r["IsDeleted"] for r in rows) == 400
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 50
