"""Round robin: who gets the next record, and why the others were skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from revsched.config import PoolSettings, Settings
from revsched.errors import ConfigError
from revsched.roundrobin import round_robin, user_fields

MONDAY_NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def user(name: str, active: bool = True, tz: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {
        "Id": f"005{name}",
        "Name": name.title(),
        "Username": f"{name}@x.example",
        "Email": f"{name}@x.example",
        "IsActive": active,
        "TimeZoneSidKey": tz,
        **extra,
    }


def picks(pool: dict[str, Any], users: list[dict[str, Any]], count: int, **kw: Any) -> list[str]:
    robin = round_robin(
        ["p"],
        {"p": PoolSettings.model_validate(pool)},
        users,
        kw.get("cursors", {}),
        kw.get("assigned", {}),
        kw.get("now", MONDAY_NOON_UTC),
    )
    chosen = [robin.next("p") for _ in range(count)]
    return [c.member.username.split("@")[0] if c else "-" for c in chosen]


USERS = [user("ann"), user("bob"), user("cy")]


def test_members_take_turns_from_the_saved_cursor():
    pool = {"members": ["ann@x.example", "bob@x.example", "cy@x.example"]}

    assert picks(pool, USERS, 4) == ["ann", "bob", "cy", "ann"]
    assert picks(pool, USERS, 2, cursors={"p": 2}) == ["cy", "ann"]


def test_weights_serve_members_in_proportion_interleaved():
    pool = {"members": [{"username": "ann@x.example", "weight": 2}, "bob@x.example"]}

    assert picks(pool, USERS, 6) == ["ann", "bob", "ann", "ann", "bob", "ann"]


def test_daily_cap_counts_earlier_runs_of_the_day():
    pool = {"members": ["ann@x.example", "bob@x.example"], "daily_cap": 2}

    assert picks(pool, USERS, 3, assigned={"p": {"ann@x.example": 2}}) == ["bob", "bob", "-"]


def test_out_of_office_dates_and_user_flag():
    pool = {
        "members": [
            {
                "username": "ann@x.example",
                "out_of_office": [{"start": "2026-11-20", "end": "2026-11-24"}],
            },
            "bob@x.example",
            "cy@x.example",
        ],
        "out_of_office_field": "Out_Of_Office__c",
    }
    users = [
        user("ann", Out_Of_Office__c=False),
        user("bob", Out_Of_Office__c=True),
        user("cy", Out_Of_Office__c=False),
    ]
    robin = round_robin(
        ["p"], {"p": PoolSettings.model_validate(pool)}, users, {}, {}, MONDAY_NOON_UTC
    )

    pick = robin.next("p")

    assert pick is not None and pick.member.name == "Cy"
    assert pick.skipped == (
        "Ann: out of office until 2026-11-24",
        "Bob: out of office (Out_Of_Office__c)",
    )
    assert user_fields([PoolSettings.model_validate(pool)])[-1] == "Out_Of_Office__c"


def test_working_hours_in_each_members_time_zone():
    pool = {
        "members": ["ann@x.example", "bob@x.example"],
        "working_hours": {"start": "09:00", "end": "17:00"},
    }
    users = [user("ann", tz="America/Los_Angeles"), user("bob", tz="Europe/Berlin")]
    # 12:00 UTC is 04:00 in Los Angeles and 13:00 in Berlin.
    robin = round_robin(
        ["p"], {"p": PoolSettings.model_validate(pool)}, users, {}, {}, MONDAY_NOON_UTC
    )

    pick = robin.next("p")

    assert pick is not None and pick.member.name == "Bob"
    assert pick.skipped == ("Ann: outside working hours (Mon 04:00 in America/Los_Angeles)",)
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert picks(pool, users, 1, now=saturday) == ["-"]


def test_inactive_members_are_skipped_and_explained():
    pool = {"members": ["ann@x.example", "bob@x.example"]}
    robin = round_robin(
        ["p"],
        {"p": PoolSettings.model_validate(pool)},
        [user("ann", active=False), user("bob")],
        {},
        {},
        MONDAY_NOON_UTC,
    )

    pick = robin.next("p")

    assert pick is not None
    assert pick.explain() == "round robin pool 'p' picked Bob (skipped Ann: inactive)"
    assert robin.assignments == {"p": {"bob@x.example": 1}}


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        (
            {"members": [{"username": "a", "weight": 0}]},
            "pools.p.members.0.weight = 0: expected greater than or equal to 1",
        ),
        ({"members": ["a"], "working_hours": {"days": [0]}}, "ISO weekdays"),
        (
            {
                "members": [
                    {
                        "username": "a",
                        "out_of_office": [{"start": "2026-11-24", "end": "2026-11-20"}],
                    }
                ]
            },
            "end 2026-11-20 is before start 2026-11-24",
        ),
    ],
)
def test_bad_pool_config_names_the_key(pool: dict[str, Any], message: str):
    from pydantic import ValidationError

    from revsched.config import describe_validation_error

    with pytest.raises(ValidationError) as error:
        Settings.model_validate({"pools": {"p": pool}})

    assert message in describe_validation_error(error.value, "", None)


def test_unknown_pool_and_unknown_member():
    with pytest.raises(ConfigError, match=r"pools\.q: no such pool"):
        round_robin(["q"], {}, USERS, {}, {}, MONDAY_NOON_UTC)
    with pytest.raises(
        ConfigError, match=r"pools\.p\.members: no user with Username 'zed@x.example'"
    ):
        picks({"members": ["zed@x.example"]}, USERS, 1)


def test_as_of_date_drives_out_of_office(monkeypatch: pytest.MonkeyPatch):
    pool = {
        "members": [
            {
                "username": "ann@x.example",
                "out_of_office": [{"start": "2026-12-01", "end": "2026-12-05"}],
            }
        ]
    }

    assert picks(pool, USERS, 1, now=datetime(2026, 12, 1, 12, tzinfo=UTC)) == ["-"]
    assert picks(pool, USERS, 1, now=datetime(2026, 12, 6, 12, tzinfo=UTC)) == ["ann"]
    assert date(2026, 12, 3) in PoolSettings.model_validate(pool).members[0].out_of_office[0]
