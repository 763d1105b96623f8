"""Paging through nextRecordsUrl at batchSize boundaries, as simple-salesforce drives it."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


@pytest.fixture
def load(org):
    def _load(count: int) -> list[str]:
        return org.insert("Account", [{"Name": f"A{i:05d}"} for i in range(count)])

    return _load


def test_exactly_one_default_batch_is_done_in_one_page(sf, load):
    load(2000)
    result = sf.query("SELECT Id FROM Account")
    assert result["totalSize"] == 2000
    assert result["done"] is True
    assert "nextRecordsUrl" not in result
    assert len(result["records"]) == 2000


def test_one_more_than_a_batch_pages(sf, load):
    load(2001)
    first = sf.query("SELECT Name FROM Account ORDER BY Name")
    assert first["totalSize"] == 2001
    assert first["done"] is False
    assert len(first["records"]) == 2000
    locator = first["nextRecordsUrl"]
    assert locator.startswith("/services/data/v62.0/query/01g")
    assert locator.endswith("-2000")
    second = sf.query_more(locator, identifier_is_url=True)
    assert second["done"] is True
    assert second["totalSize"] == 2001
    assert [r["Name"] for r in second["records"]] == ["A02000"]
    assert "nextRecordsUrl" not in second


def test_batch_size_header_and_query_all_iter(sf, load):
    load(450)
    sf.session.headers["Sforce-Query-Options"] = "batchSize=200"
    first = sf.query("SELECT Name FROM Account ORDER BY Name DESC")
    assert len(first["records"]) == 200
    assert first["nextRecordsUrl"].endswith("-200")
    streamed = [r["Name"] for r in sf.query_all_iter("SELECT Name FROM Account ORDER BY Name")]
    assert streamed == [f"A{i:05d}" for i in range(450)]
    everything = sf.query_all("SELECT Name FROM Account WHERE Name > 'A00400'")
    assert everything["totalSize"] == 49
    assert everything["done"] is True
    assert len(everything["records"]) == 49


def test_batch_size_is_clamped_to_salesforce_range(sf, load):
    load(250)
    sf.session.headers["Sforce-Query-Options"] = "batchSize=10"
    assert len(sf.query("SELECT Id FROM Account")["records"]) == 200


def test_limit_applies_across_pages(sf, load):
    load(700)
    sf.session.headers["Sforce-Query-Options"] = "batchSize=200"
    result = sf.query_all("SELECT Name FROM Account ORDER BY Name LIMIT 450 OFFSET 10")
    assert result["totalSize"] == 450
    assert [r["Name"] for r in result["records"]][:1] == ["A00010"]
    assert result["records"][-1]["Name"] == "A00459"


def test_unknown_locator_is_invalid_query_locator(sf, load):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query_more("01gXXXXXXXXXXXXXXX-2000")
    assert err.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(("rows", "pages"), [(200, 1), (201, 2), (400, 2), (401, 3)])
def test_pages_at_batch_size_200_boundaries(sf, load, rows, pages):
    load(rows)
    sf.session.headers["Sforce-Query-Options"] = "batchSize=200"
    result = sf.query("SELECT Id FROM Account")
    seen = [len(result["records"])]
    while not result["done"]:
        result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
        assert result["totalSize"] == rows
        seen.append(len(result["records"]))
    assert len(seen) == pages
    assert sum(seen) == rows
    assert all(n == 200 for n in seen[:-1])


def test_a_page_can_be_read_again_until_the_cursor_idles_out(sf, load, monkeypatch):
    """After a dropped response a client reads the same page again, the last one too."""
    from revsched.localorg import query

    load(2001)
    locator = sf.query("SELECT Name FROM Account ORDER BY Name")["nextRecordsUrl"]
    last = sf.query_more(locator, identifier_is_url=True)

    assert sf.query_more(locator, identifier_is_url=True) == last

    idle = query.CURSOR_IDLE_SECONDS + 1
    real = query.time.monotonic
    monkeypatch.setattr(query.time, "monotonic", lambda: real() + idle)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query_more(locator, identifier_is_url=True)
    assert err.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
