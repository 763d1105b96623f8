"""What a person reads: exact output of `plays`, a dry run's summary, `history` and `show`.

Golden files are in tests/golden/cli; the output is taken at 100 columns, with the
test's home directory and clock times replaced by placeholders.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from revsched.cli import app
from revsched.state import StateStore, open_engine

GOLDEN = Path(__file__).parent / "golden" / "cli"
AS_OF = ["--as-of", "2026-11-23"]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})


def normalized(text: str, home: Path) -> str:
    text = "\n".join(line.rstrip() for line in text.replace(str(home), "<home>").split("\n"))
    return re.sub(r"(\d{4}-)?\d\d-\d\d \d\d:\d\d(:\d\d|Z)?", "<time>", text)


def assert_golden(name: str, text: str) -> None:
    """Compare with the golden file; REVSCHED_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    if os.environ.get("REVSCHED_UPDATE_GOLDEN"):
        (GOLDEN / name).write_text(text, encoding="utf-8")
    assert text == (GOLDEN / name).read_text(encoding="utf-8")


# The plays every version ships; plays added later do not change this golden file.
CORE_PLAYS = ("account-review", "add-drop-approvals", "churn-intake", "win-back")


def test_plays_golden():
    result = CliRunner().invoke(app, ["plays"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    header, rule, *rows = normalized(result.stdout, Path("/nowhere")).splitlines()
    core = [row for row in rows if row.split(" ", 1)[0] in CORE_PLAYS]
    # Column widths follow the longest name of any play: compare the cells, not the padding.
    cells = ["  ".join(re.split(r" {2,}", line)) for line in [header, *core]]
    assert set(rule) == {"─"}
    assert_golden("plays.txt", "\n".join(cells) + "\n")


def test_dry_run_prints_a_summary_then_the_first_rows(demo_org: Path, revsched_home: Path):
    result = invoke("run", "win-back", "--dry-run", *AS_OF)

    assert result.exit_code == 0, result.output
    assert_golden("dry_run_summary.txt", normalized(result.stdout, revsched_home))


def test_dry_run_all_prints_every_row_and_every_alert(demo_org: Path):
    summary = invoke("run", "win-back", "--dry-run", *AS_OF).stdout
    everything = invoke("run", "win-back", "--dry-run", "--all", *AS_OF).stdout

    selected = re.search(r"win-back as of 2026-11-23: (\d+) selected, (\d+) skipped", summary)
    assert selected is not None
    decisions = int(selected[1]) + int(selected[2])
    assert f"Decisions ({decisions})" in everything
    assert everything.count("  selected ") + everything.count("  skipped ") == decisions
    alerts = re.search(r"(\d+) alerts", summary)
    assert alerts is not None and int(alerts[1]) > 0
    assert "would alert" not in summary
    assert everything.count("would alert") == int(alerts[1])
    assert "*Win-back, 6-month:" in everything
    assert "first 5 of" not in everything


def test_limit_sets_the_rows_shown(demo_org: Path):
    output = invoke("run", "win-back", "--dry-run", "--limit", "2", *AS_OF).stdout

    assert "Decisions (first 2 of" in output
    assert "Alerts (first 2 of 5)" in output


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_quiet_prints_one_line(demo_org: Path, flag: str):
    result = invoke("run", "win-back", "--dry-run", flag, *AS_OF)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Dry run 1: nothing was written or sent.",
    ]


def test_history_and_show_golden(demo_org: Path, revsched_home: Path):
    assert invoke("run", "win-back", "--dry-run", *AS_OF).exit_code == 0
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0

    history = invoke("history")
    shown = invoke("show", "2")

    assert history.exit_code == shown.exit_code == 0
    assert_golden("history.txt", normalized(history.stdout, revsched_home))
    assert_golden("show.txt", normalized(shown.stdout, revsched_home))


def test_show_csv_has_every_audited_row(demo_org: Path):
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0

    result = invoke("show", "1", "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    kinds = {row["kind"] for row in rows}
    assert kinds == {"change", "alert"}
    owner = next(r for r in rows if r["field"] == "OwnerId")
    assert owner["status"] == "applied" and owner["record_name"]
    assert sum(r["kind"] == "alert" for r in rows) == 5


def test_show_names_the_lookup_values_and_alerted_records(demo_org: Path):
    """The audit keeps the names the plan showed: an OwnerId's old and new users, the
    record each alert is about, in every format of `show`."""
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0

    rows = list(csv.DictReader(io.StringIO(invoke("show", "1", "--format", "csv").stdout)))
    shown = json.loads(invoke("show", "1", "--format", "json").stdout)

    owner = next(
        r for r in rows if r["record_name"] == "Calloway Print Works" and r["field"] == "OwnerId"
    )
    assert (owner["old"], owner["old_name"]) == ("0058L0000000005QAA", "RevOps Team")
    assert (owner["new"], owner["new_name"]) == ("0058L0000000009QAA", "Ava Patel")
    # Values that are not Ids have no name.
    dated = next(r for r in rows if r["field"] == "Owner_Assigned_Date__c")
    assert dated["old_name"] == dated["new_name"] == ""
    alerts = [r for r in rows if r["kind"] == "alert"]
    assert "Ostrander Medical" in {r["record_name"] for r in alerts}
    change = next(c for c in shown["changes"] if c["old"] == "0058L0000000005QAA")
    assert change["old_name"] == "RevOps Team" and change["new_name"]
    assert all(a["record_name"] for a in shown["alerts"])


def test_show_of_a_run_audited_without_names_shows_the_bare_ids(demo_org: Path):
    """Runs audited before names were kept still show (their Ids without names)."""
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0
    engine = open_engine(f"sqlite:///{demo_org.parent / 'state.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE changes SET old_name = NULL, new_name = NULL"))
        connection.execute(text("UPDATE alerts SET record_name = NULL"))

    shown = invoke("show", "1")
    as_json = json.loads(invoke("show", "1", "--json").stdout)

    assert shown.exit_code == 0
    assert (
        "OwnerId                0058L0000000005QAA -> 0058L0000000009QAA: applied" in shown.stdout
    )
    assert "RevOps Team" not in shown.stdout
    assert {c["old_name"] for c in as_json["changes"]} == {None}


def test_show_lists_conversions_and_creates_in_every_format(revsched_home: Path):
    """Every row a run audited reaches `show`: the leads it converted (named, with the
    account and the contact each became) and the records it created."""
    from datetime import date

    from revsched.plan import LeadConversion, Plan, RecordCreate

    revsched_home.mkdir(parents=True)
    store = StateStore(f"sqlite:///{revsched_home / 'state.sqlite'}")
    conversion = LeadConversion(
        lead_id="00Q000000000001AAA",
        lead_name="Lena Lead",
        account_id="001000000000001AAA",
        account_name="Acme",
        owner_id="005000000000001AAA",
        converted_status="Qualified",
        reason="works at Acme now",
    )
    create = RecordCreate(
        sobject="Task",
        key="job-changes:lena@acme.io:2026-11-01",
        fields={"Subject": "Call Lena"},
        reason="a new contact to call",
        parent_id="00Q000000000001AAA",
    )
    plan = Plan(
        play="job-changes", as_of=date(2026, 11, 23), conversions=(conversion,), creates=(create,)
    )
    run_id = store.start_run(plan, dry_run=False)
    store.record_conversions(run_id, {"00Q000000000001AAA": ("003000000000001AAA", None)}, {})

    text = CliRunner().invoke(app, ["show", str(run_id)], env={"COLUMNS": "200"})
    shown = json.loads(invoke("show", str(run_id), "--json").stdout)
    rows = list(csv.DictReader(io.StringIO(invoke("show", str(run_id), "--format", "csv").stdout)))

    assert text.exit_code == 0, text.output
    assert "Lead conversions (cannot be undone)" in text.stdout
    assert (
        "Lena Lead 00Q000000000001AAA onto Acme 001000000000001AAA, now contact"
        " 003000000000001AAA: converted" in text.stdout
    )
    [converted] = shown["conversions"]
    assert (converted["lead_name"], converted["contact_id"], converted["status"]) == (
        "Lena Lead",
        "003000000000001AAA",
        "converted",
    )
    [created] = shown["creates"]
    assert created["key"] == create.key and created["fields"] == {"Subject": "Call Lena"}
    [row] = [r for r in rows if r["kind"] == "conversion"]
    assert (row["record_name"], row["new_name"], row["status"]) == (
        "Lena Lead",
        "Acme",
        "converted",
    )


def test_a_run_that_converted_leads_says_so_and_its_revert_says_they_stay(demo_org: Path):
    applied = invoke("run", "job-changes", "--quiet", *AS_OF)
    converted = json.loads(invoke("show", "1", "--json").stdout)["conversions"]

    reverted = invoke("revert", "1", "--dry-run")

    assert applied.exit_code == reverted.exit_code == 0, applied.output + reverted.output
    leads = sum(c["status"] == "converted" for c in converted)
    assert leads > 0
    assert f", {leads} leads converted, 0 records failed," in applied.stdout.splitlines()[-1]
    assert f"Run 1 converted {leads} leads: a conversion cannot be undone" in reverted.stdout


@pytest.mark.parametrize("columns", ["80", "200"])
def test_a_default_summary_fits_sixty_lines_with_fewer_rows_when_it_must(
    demo_org: Path, columns: str
):
    """job-changes fills five tables (decisions, changes, creates, conversions, alerts):
    by default each shows fewer rows rather than the output passing 60 lines; an explicit
    --limit is kept as given."""
    env = {"COLUMNS": columns}
    fitted = CliRunner().invoke(app, ["run", "job-changes", "--dry-run", *AS_OF], env=env)
    given = CliRunner().invoke(
        app, ["run", "job-changes", "--dry-run", "--limit", "5", *AS_OF], env=env
    )

    assert fitted.exit_code == given.exit_code == 0, fitted.output + given.output
    assert len(fitted.stdout.splitlines()) <= 60
    assert len(given.stdout.splitlines()) > 60
    shown = re.findall(r"^Decisions \(first (\d) of \d+\)$", fitted.stdout, re.MULTILINE)
    assert shown and 2 <= int(shown[0]) < 5
    assert "Decisions (first 5 of" in given.stdout


def test_names_the_org_refuses_leave_bare_ids_and_the_run_goes_on(
    demo_org: Path, monkeypatch: pytest.MonkeyPatch
):
    from revsched.errors import OrgError
    from revsched.org import OrgGateway

    def refused(self: OrgGateway, values: Any) -> dict[str, str]:
        raise OrgError("Salesforce refused to run a query: REQUEST_TIMEOUT")

    monkeypatch.setattr(OrgGateway, "names", refused)

    result = invoke("run", "win-back", *AS_OF)
    shown = json.loads(invoke("show", "1", "--json").stdout)

    assert result.exit_code == 0, result.output
    assert "OwnerId                0058L0000000005QAA -> " in result.stdout
    owner = next(c for c in shown["changes"] if c["field"] == "OwnerId")
    assert owner["status"] == "applied" and owner["old_name"] is None
    # What the plan itself knows is still named: the new owner is alerted by name.
    assert owner["new_name"] is not None


def test_show_prints_the_first_rows_of_each_table_and_all_with_all(demo_org: Path):
    """`show` of a run with 100k changes must not print 100k rows to read: the first rows
    of each table, what was left out, and where every row is."""
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0

    wide = {"COLUMNS": "200"}
    cut = CliRunner().invoke(app, ["show", "1", "--limit", "3"], env=wide)
    everything = CliRunner().invoke(app, ["show", "1", "--all"], env=wide)

    assert cut.exit_code == everything.exit_code == 0, cut.output + everything.output
    assert "Changes (first 3 of 17): 17 applied" in cut.stdout
    assert cut.stdout.count(": applied") == 3
    assert cut.stdout.count("alert to ") == 3
    assert "... and 2 more alerts" in cut.stdout
    assert cut.stdout.splitlines()[-1] == (
        "--all prints every row; revsched show 1 --format csv|json exports them all"
    )
    assert "Changes (17): 17 applied" in everything.stdout
    assert everything.stdout.count(": applied") == 17
    assert everything.stdout.count("alert to ") == 5
    assert "--all prints every row" not in everything.stdout


def test_answering_no_at_the_prompt_applies_nothing_and_exits_2_not_records_failed(
    demo_org: Path, monkeypatch: pytest.MonkeyPatch
):
    # The prompt shows for a person at a terminal applying to a real org; here, to the demo.
    monkeypatch.setattr("revsched.cli._asks_to_apply", lambda session, yes: True)
    planned = invoke("run", "win-back", "--dry-run", *AS_OF).stdout
    selected = re.search(r"win-back as of 2026-11-23: \d+ selected", planned)
    assert selected is not None

    result = CliRunner().invoke(app, ["run", "win-back", *AS_OF], input="n\n")

    assert result.exit_code == 2, result.output
    assert "Aborted: nothing was applied." in result.stderr
    # Nothing was written: the same records are still selected.
    assert selected[0] in invoke("run", "win-back", "--dry-run", *AS_OF).stdout


def test_show_csv_leaves_an_empty_value_empty_where_text_says_empty(demo_org: Path):
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0

    rows = list(csv.DictReader(io.StringIO(invoke("show", "1", "--format", "csv").stdout)))

    campaigns = [r for r in rows if r["field"] == "Win_Back_Campaign__c"]
    assert campaigns and all(r["old"] == "" and r["new"] for r in campaigns)
    assert not any("(empty)" in value for row in rows for value in row.values())
    assert "(empty)" in invoke("show", "1", "--all").stdout


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_revert_quiet_prints_one_line_as_run_does(demo_org: Path, flag: str):
    assert invoke("run", "win-back", "--quiet", *AS_OF).exit_code == 0

    result = invoke("revert", "1", flag)

    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith("Run 2 of ") and "field changes written" in line
    assert "0 field changes written" not in line


def test_revert_quiet_still_says_what_it_cannot_undo(demo_org: Path):
    assert invoke("run", "job-changes", "--quiet", *AS_OF).exit_code == 0

    reverted = invoke("revert", "1", "--quiet")

    assert reverted.exit_code == 0, reverted.output
    *cannot, line = reverted.stdout.splitlines()
    assert cannot[0].startswith("Run 1 converted ") and "a conversion cannot be undone" in cannot[0]
    assert line.startswith("Run 2 of ")


def test_a_piped_preview_shows_where_it_cut_a_row(demo_org: Path):
    result = CliRunner().invoke(
        app, ["run", "account-review", "--dry-run", *AS_OF], env={"COLUMNS": "80"}
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("Decisions (first 5 of 61)")
    assert lines[start + 1 : start + 3] == [
        "  selected Aquaton Health 0018L000000000UQAQ needs-review: assigned 143 days, n…",
        "  selected Bellhaven Optics 0018L000000001HQAQ needs-review: assigned 90 days, …",
    ]


def test_history_in_80_columns_cuts_headers_visibly_never_a_run(demo_org: Path):
    dry_run = invoke("run", "lead-status-hygiene", "--dry-run", *AS_OF, "--quiet")
    assert dry_run.exit_code == 0, dry_run.output

    result = CliRunner().invoke(app, ["history"], env={"COLUMNS": "80"})

    lines = normalized(result.stdout, demo_org.parent).splitlines()
    assert lines[:2] == [
        f"{'aler…':>80}",
        "run play                as of      started      status  sele… writ… failed  sent",
    ]
    assert lines[3].split() == ["1", "lead-status-hygiene", "2026-11-23", "<time>", "dry-run", "31"]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_show_holds_a_merged_record_to_two_lines_its_values_cut_visibly(demo_org: Path):
    dry_run = invoke("run", "dedupe-accounts", "--dry-run", *AS_OF, "--quiet")
    assert dry_run.exit_code == 0, dry_run.output

    shown = CliRunner().invoke(app, ["show", "1"], env={"COLUMNS": "120"})

    lines = [line.rstrip() for line in shown.stdout.splitlines()]
    start = lines.index("Merged records (cannot be undone) (9)")
    assert lines[start + 4 : start + 7] == [
        " I.B.M.                          International Business Machines Corp.   planned"
        "   Name: I.B.M.; CreatedDate: 2026-…",
        " 0018L0000000009QAA              0018L0000000008QAA",
        " IBM                             International Business Machines Corp.   planned"
        "   Name: IBM; CreatedDate: 2026-08-…",
    ]


def test_history_too_wide_for_80_columns_leaves_out_the_start_not_the_counts(demo_org: Path):
    assert invoke("run", "lead-status-hygiene", "--quiet", *AS_OF).exit_code == 0
    engine = open_engine(f"sqlite:///{demo_org.parent / 'state.sqlite'}")
    big = '{"selected": 100081, "applied": 100081, "failed_records": 12, "alerts_sent": 3}'
    with engine.begin() as connection:
        connection.execute(text("UPDATE runs SET counts = :counts"), {"counts": big})

    result = CliRunner().invoke(app, ["history"], env={"COLUMNS": "80"})

    assert result.stdout.splitlines() == [
        "run play                as of      status    selected written failed alerts sent",
        "─" * 80,
        "  1 lead-status-hygiene 2026-11-23 succeeded  100,081 100,081     12           3",
    ]
