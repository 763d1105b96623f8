"""add-drop-approvals: each request approved and rejected, the seed's alert, the demo org."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from revsched.alerts import AlertRenderer
from revsched.config import Settings
from revsched.errors import ConfigError
from revsched.jobs.add_drop_approvals import AddDropConfig, play, queries
from revsched.localorg import LocalOrg
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
REVOPS, AVA, BEN, ELI = (f"005{n:015d}" for n in range(1, 5))
USERS = {
    REVOPS: ("RevOps Team", "revops@demo.revsched.dev", True),
    AVA: ("Ava Patel", "ava.patel@demo.revsched.dev", True),
    BEN: ("Ben Okafor", "ben.okafor@demo.revsched.dev", True),
    ELI: ("Eli Novak", "eli.novak@demo.revsched.dev", False),
}
USER_ROWS = [
    {"Id": i, "Name": n, "Username": u, "Email": u, "IsActive": a} for i, (n, u, a) in USERS.items()
]
REQUESTS = {"add": "Add as Named", "keep": "Keep Account", "drop": "Drop Account"}


def _user(user_id: str | None) -> dict[str, Any] | None:
    return user_id and dict(zip(("Name", "Email", "IsActive"), USERS[user_id], strict=True))


def account(
    request: str,
    approval: str | None,
    *,
    owner: str = AVA,
    requester: str | None = AVA,
    ae: str | None = AVA,
    needs_review: str | None = "2026-10-01",
) -> dict[str, Any]:
    """An account as the query returns it; by default a named account of Ava's in review."""
    return {
        "Id": "001000000000000001",
        "Name": "Acme Co.",
        "OwnerId": owner,
        "Owner": _user(owner),
        "Add_Drop_Request__c": request,
        "Add_Drop_Approval__c": approval,
        "Add_Drop_Requested_By__c": requester,
        "Add_Drop_Requested_By__r": _user(requester),
        "Needs_Review_Date__c": needs_review,
        "Owner_Assigned_Date__c": "2026-01-05",
        "AE__c": ae,
    }


def add_request(approval: str | None, requester: str | None = BEN) -> dict[str, Any]:
    """Ben asks for an unassigned account held by RevOps."""
    return account(
        "Add as Named", approval, owner=REVOPS, requester=requester, ae=None, needs_review=None
    )


def decide(accounts: list[dict[str, Any]], as_of: date = TODAY, **config: Any):
    ctx = DecideContext(as_of=as_of, config=AddDropConfig(**config))
    return play.decide({"accounts": accounts, "users": USER_ROWS}, ctx)


def changes_of(plan) -> dict[str, tuple[Any, Any]]:
    return {c.field: (c.old, c.new) for c in plan.changes}


def render(plan) -> list[str]:
    renderer = AlertRenderer("https://acme.my.salesforce.com")
    return [renderer.render(alert).text for alert in plan.alerts]


@pytest.mark.parametrize(
    ("record", "changes"),
    [
        (
            add_request("Approved"),
            {
                "OwnerId": (REVOPS, BEN),
                "Owner_Assigned_Date__c": ("2026-01-05", "2026-11-23"),
                "AE__c": (None, BEN),
                "Add_Drop_Request__c": ("Add as Named", None),
                "Add_Drop_Approval__c": ("Approved", None),
            },
        ),
        (
            account("Keep Account", "Approved"),
            {
                "Needs_Review_Date__c": ("2026-10-01", None),
                "Owner_Assigned_Date__c": ("2026-01-05", "2026-11-23"),
                "Add_Drop_Request__c": ("Keep Account", None),
                "Add_Drop_Approval__c": ("Approved", None),
            },
        ),
        (
            account("Drop Account", "Approved"),
            {
                "OwnerId": (AVA, REVOPS),
                "AE__c": (AVA, None),
                "Needs_Review_Date__c": ("2026-10-01", None),
                "Add_Drop_Request__c": ("Drop Account", None),
                "Add_Drop_Approval__c": ("Approved", None),
            },
        ),
        (
            add_request("Rejected"),
            {
                "Add_Drop_Request__c": ("Add as Named", None),
                "Add_Drop_Approval__c": ("Rejected", None),
            },
        ),
        (
            account("Keep Account", "Rejected"),
            {
                "Add_Drop_Request__c": ("Keep Account", None),
                "Add_Drop_Approval__c": ("Rejected", None),
            },
        ),
        (
            # The account stays with Ava, still in review, as before the request.
            account("Drop Account", "Rejected"),
            {
                "Add_Drop_Request__c": ("Drop Account", None),
                "Add_Drop_Approval__c": ("Rejected", None),
            },
        ),
    ],
    ids=[
        "add-approved",
        "keep-approved",
        "drop-approved",
        "add-rejected",
        "keep-rejected",
        "drop-rejected",
    ],
)
def test_decided_request_is_carried_out_and_cleared(
    record: dict[str, Any], changes: dict[str, tuple[Any, Any]]
):
    plan = decide([record])

    [decision] = plan.decisions
    verb = {v: k for k, v in REQUESTS.items()}[record["Add_Drop_Request__c"]]
    outcome = record["Add_Drop_Approval__c"].lower()
    assert (decision.outcome, decision.stage) == ("selected", f"{verb}-{outcome}")
    assert decision.reason == f"{record['Add_Drop_Request__c']!r} {outcome} by a manager"
    assert changes_of(plan) == changes
    [alert] = plan.alerts
    requester = record["Add_Drop_Requested_By__c"]
    assert [(r.role, r.user_id) for r in alert.recipients] == [("requester", requester)]
    ending = "approved!" if outcome == "approved" else "rejected."
    assert render(plan) == [f"Heads up. Your request to {verb} Acme Co. has been {ending}"]
    assert plan.firings == ()


def test_alert_texts_match_golden():
    plans = [
        decide([add_request(approval) if verb == "add" else account(request, approval)])
        for approval in ("Approved", "Rejected")
        for verb, request in REQUESTS.items()
    ]

    texts = "\n".join(text for plan in plans for text in render(plan))

    assert texts == (GOLDEN / "add_drop_approvals.txt").read_text(encoding="utf-8").rstrip("\n")


@pytest.mark.parametrize(
    ("approval", "reason"),
    [
        ("Pending", "'Keep Account' awaiting a manager (Add_Drop_Approval__c = 'Pending')"),
        (None, "'Keep Account' awaiting a manager (Add_Drop_Approval__c is empty)"),
    ],
)
def test_undecided_request_waits(approval: str | None, reason: str):
    plan = decide([account("Keep Account", approval)])

    [decision] = plan.decisions
    assert (decision.outcome, decision.reason) == ("skipped", reason)
    assert plan.is_empty


@pytest.mark.parametrize(
    ("requester", "reason"),
    [
        (None, "approved add request names no requester (Add_Drop_Requested_By__c is empty)"),
        (ELI, "approved add request by Eli Novak, who is inactive"),
    ],
)
def test_approved_add_with_nobody_to_assign_is_left_for_a_person(
    requester: str | None, reason: str
):
    plan = decide([add_request("Approved", requester=requester)])

    [decision] = plan.decisions
    assert (decision.outcome, decision.stage, decision.reason) == (
        "skipped",
        "add-approved",
        reason,
    )
    assert plan.is_empty


def test_request_without_requester_tells_the_owning_ae():
    plan = decide([account("Keep Account", "Rejected", requester=None)])

    assert [(r.role, r.user_id) for r in plan.alerts[0].recipients] == [("owner", AVA)]


def test_rejected_add_without_requester_is_cleared_and_nobody_told():
    plan = decide([add_request("Rejected", requester=None)])

    assert plan.decisions[0].reason == "'Add as Named' rejected by a manager; nobody active to tell"
    assert set(changes_of(plan)) == {"Add_Drop_Request__c", "Add_Drop_Approval__c"}
    assert plan.alerts == ()


def test_approved_drop_of_an_account_revops_holds_only_clears():
    plan = decide([account("Drop Account", "Approved", owner=REVOPS, ae=None, needs_review=None)])

    assert set(changes_of(plan)) == {"Add_Drop_Request__c", "Add_Drop_Approval__c"}


@pytest.mark.parametrize("as_of", [date(2026, 11, 30), date(2026, 12, 1), date(2028, 2, 29)])
def test_clock_restarts_on_the_run_date(as_of: date):
    keep = decide([account("Keep Account", "Approved")], as_of=as_of)
    add = decide([add_request("Approved")], as_of=as_of)

    for plan in (keep, add):
        assert changes_of(plan)["Owner_Assigned_Date__c"] == ("2026-01-05", as_of.isoformat())


def test_configured_names_and_values_are_used():
    record = {
        **account("Drop Account", "Approved"),
        "Add_Drop_Request__c": "Drop",
        "Add_Drop_Approval__c": "OK",
        "Named_AE__c": AVA,
    }
    plan = decide([record], drop_value="Drop", approved_value="OK", ae_fields=["Named_AE__c"])

    assert plan.decisions[0].stage == "drop-approved"
    assert changes_of(plan) == {
        "OwnerId": (AVA, REVOPS),
        "Named_AE__c": (AVA, None),
        "Needs_Review_Date__c": ("2026-10-01", None),
        "Add_Drop_Request__c": ("Drop", None),
        "Add_Drop_Approval__c": ("OK", None),
    }


def test_query_reads_every_request_and_every_field_written():
    soql = queries(DecideContext(as_of=TODAY, config=AddDropConfig(drop_value="Drop'It")))

    assert (
        "WHERE Add_Drop_Request__c IN ('Add as Named','Keep Account','Drop\\'It')"
        in soql["accounts"]
    )
    for field in (
        "OwnerId",
        "AE__c",
        "Needs_Review_Date__c",
        "Owner_Assigned_Date__c",
        "Add_Drop_Approval__c",
        "Add_Drop_Requested_By__r.IsActive",
    ):
        assert field in soql["accounts"]


def test_unknown_holding_user_is_a_config_error():
    with pytest.raises(ConfigError, match=r"plays\.add-drop-approvals\.holding_user: no user"):
        decide([], holding_user="ops@demo.revsched.dev")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"keep_value": "Add as Named"}, "add_value, keep_value and drop_value must differ"),
        ({"rejected_value": "Approved"}, "approved_value and rejected_value must differ"),
        (
            {"ae_fields": ["AE c"]},
            "plays.add-drop-approvals.ae_fields.0 = 'AE c': expected text matching",
        ),
        ({"shedule": "daily"}, "plays.add-drop-approvals.shedule: unknown key"),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"add-drop-approvals": section}))

    assert message in str(error.value)


# --- End to end, on the demo org ---------------------------------------------------------


def requests_in(path: Path) -> dict[str, dict[str, Any]]:
    sf = LocalOrg(path).salesforce()
    rows = sf.query_all(
        "SELECT Id, OwnerId, Add_Drop_Request__c, Add_Drop_Approval__c,"
        " Add_Drop_Requested_By__c FROM Account"
        " WHERE Add_Drop_Request__c IN ('Add as Named', 'Keep Account', 'Drop Account')"
    )["records"]
    return {row["Id"]: row for row in rows}


def test_dry_run_then_apply_then_a_rerun_that_plans_nothing(
    demo_org: Path,
    run_json: Callable[..., dict[str, Any]],
    org_values: Callable[..., dict[tuple[str, str], Any]],
):
    before = requests_in(demo_org)
    decided = {
        i for i, r in before.items() if r["Add_Drop_Approval__c"] in ("Approved", "Rejected")
    }
    waiting = set(before) - decided
    assert decided and waiting, "the demo org has decided requests and one awaiting a manager"

    dry = run_json("add-drop-approvals", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    by_outcome = {
        outcome: {d["record_id"] for d in plan["decisions"] if d["outcome"] == outcome}
        for outcome in ("selected", "skipped")
    }
    assert by_outcome == {"selected": decided, "skipped": waiting}
    planned_old = {(c["record_id"], c["field"]): c["old"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_old
    texts = {a["record_id"]: a["text"] for a in dry["alerts"]}
    for record_id in decided:
        request = before[record_id]
        verb = {v: k for k, v in REQUESTS.items()}[request["Add_Drop_Request__c"]]
        ending = "approved!" if request["Add_Drop_Approval__c"] == "Approved" else "rejected."
        assert texts[record_id].startswith(f"Heads up. Your request to {verb} ")
        assert texts[record_id].endswith(f" has been {ending}")

    applied = run_json("add-drop-approvals", "--as-of", TODAY.isoformat())

    assert applied["status"] == "succeeded"
    assert applied["plan"]["changes"] == plan["changes"]
    planned_new = {(c["record_id"], c["field"]): c["new"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_new
    after = requests_in(demo_org)
    assert set(after) == waiting
    approved_adds = [
        r
        for r in before.values()
        if (r["Add_Drop_Request__c"], r["Add_Drop_Approval__c"])
        == (
            "Add as Named",
            "Approved",
        )
    ]
    assert approved_adds, "the demo org has an approved add"
    for request in approved_adds:
        assert planned_new[request["Id"], "OwnerId"] == request["Add_Drop_Requested_By__c"]

    rerun = run_json("add-drop-approvals", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["changes"] == [] and rerun["alerts"] == []
    assert {d["record_id"] for d in rerun["plan"]["decisions"]} == waiting
