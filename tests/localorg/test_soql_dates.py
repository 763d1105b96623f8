"""SOQL date literals and date functions (SOQL and SOSL Reference, "Date Formats and Date
Literals", "Date Functions"). The org clock says Monday 2026-11-23; en_US weeks start on
Sunday."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from revsched.localorg import FiscalYear, LocalOrg
from revsched.localorg.soql_dates import date_range

TODAY = date(2026, 11, 23)
CLOSE_DATES = [
    "2024-06-30",
    "2025-12-31",
    "2026-01-01",
    "2026-03-31",
    "2026-04-01",
    "2026-09-30",
    "2026-10-01",
    "2026-11-08",
    "2026-11-14",
    "2026-11-15",
    "2026-11-21",
    "2026-11-22",
    "2026-11-28",
    "2026-11-29",
    "2026-12-05",
    "2026-12-06",
    "2027-01-01",
    "2027-03-31",
    "2027-04-01",
]


@pytest.fixture
def opportunities(org):
    org.insert(
        "Opportunity",
        [{"Name": d, "StageName": "Prospecting", "CloseDate": d} for d in CLOSE_DATES],
    )


def closing(sf, literal: str) -> list[str]:
    result = sf.query_all(
        f"SELECT Name FROM Opportunity WHERE CloseDate = {literal} ORDER BY CloseDate"
    )
    return [r["Name"] for r in result["records"]]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("THIS_WEEK", ["2026-11-22", "2026-11-28"]),
        ("LAST_WEEK", ["2026-11-15", "2026-11-21"]),
        ("NEXT_WEEK", ["2026-11-29", "2026-12-05"]),
        ("LAST_N_WEEKS:2", ["2026-11-08", "2026-11-14", "2026-11-15", "2026-11-21"]),
        ("NEXT_N_WEEKS:1", ["2026-11-29", "2026-12-05"]),
        ("N_WEEKS_AGO:2", ["2026-11-08", "2026-11-14"]),
        (
            "THIS_QUARTER",
            [
                "2026-10-01",
                "2026-11-08",
                "2026-11-14",
                "2026-11-15",
                "2026-11-21",
                "2026-11-22",
                "2026-11-28",
                "2026-11-29",
                "2026-12-05",
                "2026-12-06",
            ],
        ),
        ("LAST_QUARTER", ["2026-09-30"]),
        ("NEXT_QUARTER", ["2027-01-01", "2027-03-31"]),
        ("LAST_N_QUARTERS:2", ["2026-04-01", "2026-09-30"]),
        ("NEXT_N_QUARTERS:2", ["2027-01-01", "2027-03-31", "2027-04-01"]),
        ("N_QUARTERS_AGO:3", ["2026-01-01", "2026-03-31"]),
        ("LAST_N_YEARS:1", ["2025-12-31"]),
        ("N_YEARS_AGO:2", ["2024-06-30"]),
        ("NEXT_N_YEARS:1", ["2027-01-01", "2027-03-31", "2027-04-01"]),
        ("NEXT_YEAR", ["2027-01-01", "2027-03-31", "2027-04-01"]),
    ],
)
def test_week_quarter_and_year_literals(sf, opportunities, literal, expected):
    assert closing(sf, literal) == expected


def test_literals_on_datetime_fields_cover_whole_days(sf, org):
    org.insert(
        "Task",
        [
            {"Subject": "sat", "ActivityDate": "2026-11-21"},
        ],
    )
    result = sf.query("SELECT COUNT() FROM Task WHERE CreatedDate = THIS_WEEK")
    assert result["totalSize"] == 1


def test_fiscal_literals_follow_the_configured_fiscal_year():
    april = FiscalYear(start_month=4)
    assert date_range("THIS_FISCAL_YEAR", TODAY, april) == (date(2026, 4, 1), date(2027, 3, 31))
    assert date_range("THIS_FISCAL_QUARTER", TODAY, april) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert date_range("LAST_FISCAL_YEAR", TODAY, april) == (date(2025, 4, 1), date(2026, 3, 31))
    assert date_range("NEXT_N_FISCAL_QUARTERS:2", TODAY, april) == (
        date(2027, 1, 1),
        date(2027, 6, 30),
    )
    # A fiscal year starting in February: November is in its fourth quarter.
    february = FiscalYear(start_month=2)
    assert date_range("THIS_FISCAL_QUARTER", TODAY, february) == (
        date(2026, 11, 1),
        date(2027, 1, 31),
    )
    with pytest.raises(ValueError, match="1-12"):
        FiscalYear(start_month=13)


def test_date_functions_in_select_where_and_group_by(sf, opportunities):
    rows = sf.query(
        "SELECT CALENDAR_YEAR(CloseDate) y, CALENDAR_QUARTER(CloseDate) q, COUNT(Id) n "
        "FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) >= 2026 "
        "GROUP BY CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate) "
        "ORDER BY CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate)"
    )["records"]
    assert [(r["y"], r["q"], r["n"]) for r in rows] == [
        (2026, 1, 2),
        (2026, 2, 1),
        (2026, 3, 1),
        (2026, 4, 10),
        (2027, 1, 2),
        (2027, 2, 1),
    ]


@pytest.mark.parametrize(
    ("function", "value"),
    [
        # 2026-11-28 is a Saturday, the 332nd day of the year.
        ("CALENDAR_MONTH", 11),
        ("DAY_IN_MONTH", 28),
        ("DAY_IN_WEEK", 7),
        ("DAY_IN_YEAR", 332),
        ("WEEK_IN_MONTH", 4),
        ("WEEK_IN_YEAR", 48),
        ("FISCAL_MONTH", 11),
        ("FISCAL_QUARTER", 4),
        ("FISCAL_YEAR", 2026),
    ],
)
def test_each_date_function_value(sf, opportunities, function, value):
    rows = sf.query(
        f"SELECT {function}(CloseDate) v FROM Opportunity WHERE CloseDate = 2026-11-28 "
        f"GROUP BY {function}(CloseDate)"
    )["records"]
    assert rows == [{"attributes": {"type": "AggregateResult"}, "v": value}]


@pytest.mark.parametrize(
    ("named_by_start", "year"),
    [(False, 2027), (True, 2026)],
)
def test_fiscal_functions_use_the_orgs_fiscal_year(tmp_path: Path, named_by_start, year):
    org = LocalOrg(
        tmp_path / "org.sqlite",
        today=lambda: TODAY,
        fiscal_year=FiscalYear(start_month=4, named_by_start=named_by_start),
    )
    org.insert(
        "Opportunity", [{"Name": "o", "StageName": "Prospecting", "CloseDate": "2026-11-28"}]
    )
    row = org.salesforce().query(
        "SELECT FISCAL_YEAR(CloseDate) y, FISCAL_QUARTER(CloseDate) q, FISCAL_MONTH(CloseDate) m "
        "FROM Opportunity GROUP BY FISCAL_YEAR(CloseDate), FISCAL_QUARTER(CloseDate), "
        "FISCAL_MONTH(CloseDate)"
    )["records"][0]
    assert (row["y"], row["q"], row["m"]) == (year, 3, 8)
    org.close()


def test_datetime_functions(sf, org):
    org.insert("Task", [{"Subject": "t", "ActivityDate": "2026-11-23"}])
    row = sf.query(
        "SELECT DAY_ONLY(CreatedDate) d, HOUR_IN_DAY(convertTimezone(CreatedDate)) h FROM Task "
        "GROUP BY DAY_ONLY(CreatedDate), HOUR_IN_DAY(convertTimezone(CreatedDate))"
    )["records"][0]
    assert row["d"] == "2026-11-23"
    assert 0 <= row["h"] <= 23
    found = sf.query("SELECT Subject FROM Task WHERE DAY_ONLY(CreatedDate) = TODAY")
    assert found["totalSize"] == 1


def test_datetime_only_functions_refuse_date_fields(sf):
    with pytest.raises(Exception) as err:
        sf.query("SELECT Id FROM Opportunity WHERE HOUR_IN_DAY(CloseDate) = 1")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"
