"""contact-alignment: which contacts follow their account owner, the digest, the cap."""

from __future__ import annotations

import csv
import re
import shlex
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from harness import RecordingNotifier, demo_runs
from simple_salesforce.format import format_soql
from typer.testing import CliRunner

from revsched.alerts import AlertRenderer
from revsched.cli import app
from revsched.config import Settings
from revsched.errors import ConfigError
from revsched.jobs.contact_alignment import ContactAlignmentConfig, play, queries
from revsched.localorg import FaultProfile, LocalOrg
from revsched.play import DecideContext

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 23)
AVA, BEN, CARLA, ELI, REVOPS, INTEGRATION, PORTAL = (f"005{n:015d}" for n in range(1, 8))
USERS = {
    AVA: ("Ava Patel", "ava.patel@demo.revsched.dev", True),
    BEN: ("Ben Okafor", "ben.okafor@demo.revsched.dev", True),
    CARLA: ("Carla Mendez", "carla.mendez@demo.revsched.dev", True),
    ELI: ("Eli Novak", "eli.novak@demo.revsched.dev", False),
    REVOPS: ("RevOps Team", "revops@demo.revsched.dev", True),
    INTEGRATION: ("Integration User", "integration@demo.revsched.dev", True),
    PORTAL: ("Pat Portal", "pat.portal@partner.example", True),
}
USER_ROWS = [
    {"Id": i, "Name": n, "Username": u, "Email": u, "IsActive": a} for i, (n, u, a) in USERS.items()
]


def contact(n: int, owner: str, account_owner: str, **fields: Any) -> dict[str, Any]:
    name, _username, active = USERS[account_owner]
    return {
        "Id": f"003{n:015d}",
        "Name": f"Contact {n}",
        "OwnerId": owner,
        "Owner": {"Name": USERS[owner][0]},
        "AccountId": f"001{n:015d}",
        "Account": {
            "Name": f"Account {n}",
            "OwnerId": account_owner,
            "Owner": {"Name": name, "IsActive": active},
        },
        "Actively_Being_Sequenced__c": False,
        "Prospect_Share_Status__c": None,
        "Partner_Account__c": None,
        **fields,
    }


def decide(contacts: list[dict[str, Any]], as_of: date = TODAY, fired=frozenset(), **config: Any):
    ctx = DecideContext(as_of=as_of, config=ContactAlignmentConfig(**config), fired=fired)
    return play.decide({"contacts": contacts, "users": USER_ROWS}, ctx)


def test_contact_takes_its_account_owner_and_nothing_else():
    plan = decide([contact(1, BEN, AVA), contact(2, AVA, AVA)])

    assert [(c.record_id, c.field, c.old, c.new, c.reason) for c in plan.changes] == [
        ("003000000000000001", "OwnerId", BEN, AVA, "account Account 1 is owned by Ava Patel")
    ]
    assert [(d.record_id, d.outcome) for d in plan.decisions] == [
        ("003000000000000001", "selected")
    ]
    assert plan.confirmation is None
    assert plan.reports["contact-alignment"] == [
        {
            "contact_id": "003000000000000001",
            "contact": "Contact 1",
            "account_id": "001000000000000001",
            "account": "Account 1",
            "old_owner_id": BEN,
            "old_owner": "Ben Okafor",
            "new_owner_id": AVA,
            "new_owner": "Ava Patel",
        }
    ]


@pytest.mark.parametrize(
    ("record", "config", "reason"),
    [
        (
            contact(1, BEN, AVA, Prospect_Share_Status__c="Sending to Partner"),
            {},
            "partner-managed (Prospect_Share_Status__c = 'Sending to Partner')",
        ),
        (
            contact(1, BEN, AVA, Partner_Account__c="001000000000000099"),
            {},
            "partner-managed (Partner_Account__c is set)",
        ),
        (
            contact(1, BEN, REVOPS),
            {},
            "account Account 1 is unassigned: owned by the holding user RevOps Team",
        ),
        (
            contact(1, BEN, INTEGRATION),
            {},
            "account Account 1 is unassigned: owned by the integration user Integration User",
        ),
        (
            contact(1, BEN, ELI),
            {},
            "account Account 1 is unassigned: owner Eli Novak is inactive",
        ),
        (
            contact(1, PORTAL, AVA),
            {"protected_users": ["pat.portal@partner.example"]},
            "owned by Pat Portal, a protected user",
        ),
        (
            contact(1, BEN, AVA, Actively_Being_Sequenced__c=True),
            {},
            "in an active sequence (Actively_Being_Sequenced__c = true): retried next week",
        ),
        (
            contact(1, BEN, AVA, IsPersonAccount=True),
            {"person_account_field": "IsPersonAccount"},
            "a person account's contact",
        ),
    ],
)
def test_contacts_left_alone_with_the_reason(
    record: dict[str, Any], config: dict[str, Any], reason: str
):
    plan = decide([record], **config)

    assert plan.is_empty
    assert [(d.outcome, d.reason) for d in plan.decisions] == [("skipped", reason)]


def test_partner_status_outside_the_list_is_aligned():
    plan = decide([contact(1, BEN, AVA, Prospect_Share_Status__c="Rejected by Partner")])

    assert [c.new for c in plan.changes] == [AVA]


def test_one_digest_counted_by_new_owner_and_skip_reason():
    plan = decide(
        [
            contact(1, BEN, AVA),
            contact(2, CARLA, AVA),
            contact(3, AVA, CARLA),
            contact(4, BEN, REVOPS),
            contact(5, BEN, AVA, Actively_Being_Sequenced__c=True),
            contact(6, AVA, ELI),
        ]
    )

    [digest] = plan.alerts
    assert (digest.record_id, digest.stage) == (REVOPS, "2026-W48")
    assert [(r.role, r.name) for r in digest.recipients] == [("RevOps", "RevOps Team")]
    text = AlertRenderer("https://x").render(digest).text
    assert "\n*New owner*\n- Ava Patel: 2\n- Carla Mendez: 1\n" in text
    assert text.endswith("*Left alone*\n- account unassigned: 2\n- actively sequenced: 1")
    assert [(f.record_id, f.stage) for f in plan.firings] == [(REVOPS, "2026-W48")]


def test_no_changes_no_digest_even_with_skips():
    plan = decide([contact(1, BEN, REVOPS)])

    assert plan.alerts == () and plan.firings == ()


def test_second_digest_in_a_week_gets_its_own_stage():
    plan = decide([contact(1, BEN, AVA)], as_of=date(2026, 11, 26), fired={(REVOPS, "2026-W48")})

    assert plan.alerts[0].stage == "2026-W48 2026-11-26"


def test_digest_covers_the_contacts_it_lists():
    plan = decide([contact(1, BEN, AVA), contact(2, BEN, REVOPS), contact(3, CARLA, AVA)])

    [digest] = plan.alerts
    assert [(f.record_id, f.stage) for f in digest.covers] == [
        (f"003{1:015d}", "2026-W48"),
        (f"003{3:015d}", "2026-W48"),
    ]


def test_contacts_a_digest_of_the_week_listed_are_moved_but_not_listed_again():
    """A run killed before its writes were done: its digest went out, the rerun writes the rest."""
    listed = {(REVOPS, "2026-W48"), (f"003{1:015d}", "2026-W48"), (f"003{2:015d}", "2026-W48")}

    rerun = decide([contact(1, BEN, AVA), contact(2, CARLA, AVA)], fired=listed)
    more = decide([contact(1, BEN, AVA), contact(3, CARLA, AVA)], fired=listed)

    assert [c.new for c in rerun.changes] == [AVA, AVA]
    assert rerun.alerts == () and rerun.firings == ()
    [digest] = more.alerts
    assert digest.stage == "2026-W48 2026-11-23"
    assert "\n1 contact now follows its account owner." in AlertRenderer("x").render(digest).text
    assert [f.record_id for f in digest.covers] == [f"003{3:015d}"]


def test_digest_text_matches_golden():
    plan = decide(
        [
            contact(1, BEN, AVA),
            contact(2, CARLA, AVA),
            contact(3, AVA, CARLA),
            contact(4, BEN, REVOPS),
            contact(5, BEN, AVA, Prospect_Share_Status__c="Sending to Partner"),
        ]
    )

    text = AlertRenderer("https://acme.my.salesforce.com").render(plan.alerts[0]).text

    assert text == (GOLDEN / "contact_alignment.txt").read_text(encoding="utf-8").rstrip("\n")


def test_digest_of_one_contact_reads_in_the_singular():
    plan = decide([contact(1, BEN, AVA)])

    text = AlertRenderer("https://acme.my.salesforce.com").render(plan.alerts[0]).text

    assert "1 contact now follows its account owner." in text
    assert "Left alone" not in text


def test_over_the_cap_the_plan_asks_for_confirmation():
    contacts = [contact(n, BEN, AVA) for n in range(1, 4)]

    assert decide(contacts, max_changes=3).confirmation is None
    assert decide(contacts, max_changes=2).confirmation == (
        "3 contact owner changes are more than plays.contact-alignment.max_changes (2)"
    )


def test_unknown_username_is_a_config_error():
    with pytest.raises(ConfigError) as error:
        decide([], protected_users=["nobody@x.example"])

    assert str(error.value) == (
        "plays.contact-alignment.protected_users: no user with Username 'nobody@x.example'"
        " in the org"
    )


def test_queries_read_contacts_with_an_account_and_only_the_fields_switched_on():
    config = ContactAlignmentConfig(
        partner_account_field="", person_account_field="IsPersonAccount"
    )
    soql = queries(DecideContext(as_of=TODAY, config=config))

    assert soql["contacts"] == (
        "SELECT Id, Name, OwnerId, Owner.Name, AccountId, Account.Name, Account.OwnerId,"
        " Account.Owner.Name, Account.Owner.IsActive, Actively_Being_Sequenced__c,"
        " Prospect_Share_Status__c, IsPersonAccount FROM Contact WHERE AccountId != null"
        " ORDER BY AccountId, Name, Id"
    )
    assert soql["users"] == (
        "SELECT Id, Name, Username, Email, IsActive FROM User WHERE Username IN"
        " ('integration@demo.revsched.dev','revops@demo.revsched.dev')"
    )


def test_bad_config_names_the_key():
    with pytest.raises(ConfigError) as error:
        play.configure(Settings(plays={"contact-alignment": {"max_changes": -1}}))

    assert "plays.contact-alignment.max_changes = -1: expected greater than or equal to 0" in (
        str(error.value)
    )


# --- End to end, on the demo org ---------------------------------------------------------


def owners(path: Path) -> dict[str, dict[str, Any]]:
    """Every contact's owner, account owner and account."""
    sf = LocalOrg(path).salesforce()
    rows = sf.query_all("SELECT Id, Name, OwnerId, AccountId, Account.OwnerId FROM Contact")
    return {
        row["Id"]: {
            "owner": row["OwnerId"],
            "account": row["AccountId"],
            "account_owner": (row["Account"] or {}).get("OwnerId"),
            "name": row["Name"],
        }
        for row in rows["records"]
    }


def user_id(path: Path, local: str) -> str:
    sf = LocalOrg(path).salesforce()
    soql = format_soql("SELECT Id FROM User WHERE Username = {}", f"{local}@demo.revsched.dev")
    return sf.query(soql)["records"][0]["Id"]


def test_dry_run_apply_rerun_and_a_fresh_state_store(
    demo_org: Path,
    revsched_home: Path,
    tmp_path: Path,
    run_json: Callable[..., dict[str, Any]],
    org_values: Callable[..., dict[tuple[str, str], Any]],
):
    sf = LocalOrg(demo_org).salesforce()
    orphan = sf.Contact.create({"LastName": "Orphan", "OwnerId": user_id(demo_org, "ava.patel")})
    before = owners(demo_org)

    dry = run_json("contact-alignment", "--dry-run", "--as-of", TODAY.isoformat())
    plan = dry["plan"]
    decisions = {d["record_id"]: (d["outcome"], d["reason"]) for d in plan["decisions"]}
    selected = {i for i, (outcome, _r) in decisions.items() if outcome == "selected"}
    assert selected and {o for o, _r in decisions.values()} == {"selected", "skipped"}
    # The fixtures: an inactive owner's account, a partner contact, a sequenced one.
    reasons = {r for _o, r in decisions.values()}
    assert "account Kestrel Freight is unassigned: owner Eli Novak is inactive" in reasons
    assert "partner-managed (Prospect_Share_Status__c = 'Sending to Partner')" in reasons
    assert any(r.startswith("in an active sequence") for r in reasons)
    assert orphan["id"] not in decisions
    misaligned = {i for i, r in before.items() if r["account"] and r["owner"] != r["account_owner"]}
    assert set(decisions) == misaligned
    planned_old = {(c["record_id"], c["field"]): c["old"] for c in plan["changes"]}
    assert org_values(plan["changes"]) == planned_old
    assert {c["field"] for c in plan["changes"]} == {"OwnerId"}
    [digest] = dry["alerts"]
    assert f"{len(selected)} contacts now follow their account owner" in digest["text"]
    assert owners(demo_org) == before

    applied = run_json(
        "contact-alignment", "--as-of", TODAY.isoformat(), "--report-dir", str(tmp_path / "r")
    )

    assert applied["status"] == "succeeded"
    after = owners(demo_org)
    assert {i for i in after if after[i] != before[i]} == selected
    assert all(after[i]["owner"] == after[i]["account_owner"] for i in selected)
    assert after[orphan["id"]] == before[orphan["id"]]
    [report] = (tmp_path / "r").glob("contact-alignment-contact-alignment-*.csv")
    with report.open() as stream:
        assert {row["contact_id"] for row in csv.DictReader(stream)} == selected

    rerun = run_json("contact-alignment", "--as-of", TODAY.isoformat())
    assert rerun["plan"]["changes"] == [] and rerun["alerts"] == []
    assert {d["outcome"] for d in rerun["plan"]["decisions"]} == {"skipped"}

    (revsched_home / "state.sqlite").unlink()
    fresh = run_json("contact-alignment", "--as-of", TODAY.isoformat())
    assert fresh["plan"]["changes"] == [] and fresh["alerts"] == []


def test_account_owner_changes_and_its_contacts_follow_next_week(
    demo_org: Path, run_json: Callable[..., dict[str, Any]]
):
    run_json("contact-alignment", "--as-of", TODAY.isoformat())
    sf = LocalOrg(demo_org).salesforce()
    account = sf.query("SELECT Id FROM Account WHERE Name = 'Larkspur Analytics'")["records"][0]
    ben = user_id(demo_org, "ben.okafor")
    sf.Account.update(account["Id"], {"OwnerId": ben})

    plan = run_json("contact-alignment", "--as-of", "2026-11-30")["plan"]

    moved = {c["record_id"] for c in plan["changes"]}
    contacts = {i for i, r in owners(demo_org).items() if r["account"] == account["Id"]}
    assert moved and moved <= contacts
    assert all(owners(demo_org)[i]["owner"] == ben for i in moved)
    # The partner-managed contact stays with its partner owner; the sequenced one waits.
    left = {d["reason"] for d in plan["decisions"] if d["record_id"] in contacts - moved}
    assert any(r.startswith("partner-managed") for r in left)


def test_over_the_cap_nothing_is_written_without_confirm(demo_org: Path, tmp_path: Path):
    (tmp_path / "revsched.toml").write_text(
        "[plays.contact-alignment]\nmax_changes = 5\n", encoding="utf-8"
    )
    before = owners(demo_org)

    refused = CliRunner().invoke(app, ["run", "contact-alignment", "--as-of", TODAY.isoformat()])

    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: contact-alignment: ")
    assert "contact owner changes are more than plays.contact-alignment.max_changes (5);" in (
        refused.stderr
    )
    assert refused.stderr.strip().endswith(
        "nothing was written. Review it with `revsched run contact-alignment --dry-run`,"
        " then apply it with --confirm"
    )
    assert owners(demo_org) == before

    confirmed = CliRunner().invoke(
        app, ["run", "contact-alignment", "--as-of", TODAY.isoformat(), "--confirm"]
    )

    assert confirmed.exit_code == 0, confirmed.output
    assert owners(demo_org) != before


def test_saved_plan_over_the_cap_needs_confirm_too(demo_org: Path, tmp_path: Path):
    (tmp_path / "revsched.toml").write_text(
        "[plays.contact-alignment]\nmax_changes = 5\n", encoding="utf-8"
    )
    saved = tmp_path / "plan.json"
    dry = CliRunner().invoke(
        app, ["run", "contact-alignment", "--dry-run", "--as-of", TODAY.isoformat(), "--out", saved]
    )
    assert dry.exit_code == 0, dry.output
    assert "Applying needs --confirm: " in dry.stdout
    before = owners(demo_org)

    refused = CliRunner().invoke(app, ["apply", str(saved)])
    assert refused.exit_code == 2 and owners(demo_org) == before

    confirmed = CliRunner().invoke(app, ["apply", str(saved), "--confirm"])
    assert confirmed.exit_code == 0, confirmed.output
    assert owners(demo_org) != before


def test_the_saved_plan_hint_is_the_exact_command_with_its_config_and_confirm(
    demo_org: Path, tmp_path: Path
):
    (tmp_path / "capped.toml").write_text(
        "[plays.contact-alignment]\nmax_changes = 5\n", encoding="utf-8"
    )
    args = ["run", "contact-alignment", "--dry-run", "--as-of", TODAY.isoformat()]
    dry = CliRunner().invoke(app, ["-c", "capped.toml", *args, "--out", "plan.json"])
    assert dry.exit_code == 0, dry.output
    hint = re.search(r"apply it with `revsched ([^`]+)`", dry.stdout)
    assert hint is not None, dry.stdout
    assert hint[1] == "apply plan.json -c capped.toml --confirm"
    before = owners(demo_org)

    applied = CliRunner().invoke(app, shlex.split(hint[1]))

    assert applied.exit_code == 0, applied.output
    assert owners(demo_org) != before


def test_the_saved_plan_hint_of_the_default_config_has_no_options(demo_org: Path):
    dry = CliRunner().invoke(
        app,
        ["run", "contact-alignment", "--dry-run", "--as-of", TODAY.isoformat(), "--out", "p.json"],
    )

    assert dry.exit_code == 0, dry.output
    assert "apply it with `revsched apply p.json`." in dry.stdout


def test_a_quiet_dry_run_over_the_cap_says_in_its_one_line_that_confirm_is_needed(
    demo_org: Path, tmp_path: Path
):
    (tmp_path / "revsched.toml").write_text(
        "[plays.contact-alignment]\nmax_changes = 5\n", encoding="utf-8"
    )

    dry = CliRunner().invoke(
        app, ["run", "contact-alignment", "--dry-run", "--quiet", "--as-of", TODAY.isoformat()]
    )

    assert dry.exit_code == 0, dry.output
    (line,) = dry.stdout.splitlines()
    assert line.startswith("Dry run 1: nothing was written or sent; applying needs --confirm: ")
    assert "more than plays.contact-alignment.max_changes (5)" in line


def test_the_refusal_names_the_config_the_run_used_in_its_commands(demo_org: Path, tmp_path: Path):
    (tmp_path / "capped.toml").write_text(
        "[plays.contact-alignment]\nmax_changes = 5\n", encoding="utf-8"
    )
    as_of = ["--as-of", TODAY.isoformat()]
    dry = CliRunner().invoke(
        app,
        ["-c", "capped.toml", "run", "contact-alignment", "--dry-run", *as_of, "--out", "p.json"],
    )
    assert dry.exit_code == 0, dry.output

    ran = CliRunner().invoke(app, ["run", "contact-alignment", *as_of, "-c", "capped.toml"])
    applied = CliRunner().invoke(app, ["apply", "p.json", "-c", "capped.toml"])

    assert ran.exit_code == applied.exit_code == 2
    assert ran.stderr.strip().endswith(
        "Review it with `revsched run contact-alignment -c capped.toml --dry-run`,"
        " then apply it with --confirm"
    )
    assert applied.stderr.strip().endswith(
        "apply it with `revsched apply p.json -c capped.toml --confirm`"
    )


def test_a_digest_counts_only_the_contacts_moved_and_says_how_many_were_not(
    demo_org: Path, tmp_path: Path
):
    local, store, run = demo_runs("contact-alignment", demo_org, tmp_path)
    planned = run(dry_run=True).plan
    moved = [c.record_id for c in planned.changes]
    owner_of = {c.record_id: c.new for c in planned.changes}
    local.faults = FaultProfile(fail_records={moved[0]: "UNABLE_TO_LOCK_ROW"})

    told = RecordingNotifier()
    failed = run(told)

    assert set(failed.failures) == {moved[0]}
    [digest] = [a.text for a in told.sent]
    # It counts the contacts the audit shows moved, by new owner, and says the other apart.
    audit = store.run(failed.run_id)
    assert audit is not None
    applied = [c.record_id for c in audit.changes if c.status == "applied"]
    assert len(applied) == len(moved) - 1
    assert f"\n{len(applied)} contacts now follow their account owner." in digest
    names = {
        u["Id"]: u["Name"] for u in local.salesforce().query("SELECT Id, Name FROM User")["records"]
    }
    for owner in {owner_of[c] for c in applied}:
        count = sum(owner_of[c] == owner for c in applied)
        assert f"\n- {names[owner]}: {count}\n" in f"{digest}\n"
    assert digest.endswith(
        "\n\nLeft out: 1 record whose write did not go through"
        f" (`revsched show {failed.run_id}` says why); a later run tries again."
    )

    local.faults = None
    again = RecordingNotifier()
    run(again)

    # The next run moves it and counts it in a digest of its own: each contact counted once.
    [second] = [a.text for a in again.sent]
    assert "\n1 contact now follows its account owner." in second
