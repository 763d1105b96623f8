"""SOQL helpers: values are quoted, teams are matched by role or Username along a path."""

from __future__ import annotations

from revsched.soql import users_filter


def test_users_filter_by_role_and_username_along_a_path():
    assert users_filter(["Account Executive"], ["o'neil@x.dev"], "Owner.") == (
        "Owner.UserRole.Name IN ('Account Executive') OR Owner.Username IN ('o\\'neil@x.dev')"
    )


def test_users_filter_by_role_only():
    assert users_filter(["Sales Development"], []) == "UserRole.Name IN ('Sales Development')"
