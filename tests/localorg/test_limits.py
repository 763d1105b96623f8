"""API usage: every call counted per day, reported by limits/ and Sforce-Limit-Info."""

from __future__ import annotations

from datetime import date

import pytest
from simple_salesforce.exceptions import SalesforceRefusedRequest, SalesforceResourceNotFound

from revsched.localorg import LocalOrg


def test_limits_resource_and_header_count_every_call(org, sf):
    assert org.api_usage() == (0, 100_000)
    sf.query("SELECT Id FROM Account")
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 100_000 - 2}
    assert org.api_usage() == (2, 100_000)
    response = sf.session.get(sf.base_url + "limits/", headers={"Authorization": "Bearer t"})
    assert response.headers["Sforce-Limit-Info"] == "api-usage=3/100000"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("001000000000000AAA")
    assert org.api_usage() == (4, 100_000)
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == 5


def test_usage_is_per_day_and_enforced(tmp_path):
    day = [date(2026, 11, 23)]
    org = LocalOrg(tmp_path / "org.sqlite", today=lambda: day[0], daily_api_limit=2)
    sf = org.salesforce()
    sf.limits()
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.limits()
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    day[0] = date(2026, 11, 24)
    assert sf.limits()["DailyApiRequests"] == {"Max": 2, "Remaining": 1}
    assert org.api_usage() == (1, 2)
    org.close()
