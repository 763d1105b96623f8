"""`run --report-dir` writes a report people read outside revsched: one HTML page (header,
totals, charts, tables with names linked to Salesforce) and one CSV per table."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.plan import Alert, Decision, FieldChange, Plan, Recipient
from revsched.play import load_plays
from revsched.reports.model import Header
from revsched.reports.pages import write_report
from revsched.reports.run_report import plan_report

GOLDEN = Path(__file__).parent / "golden" / "reports"
INSTANCE = "https://acme.my.salesforce.com"
ACCOUNT = "001000000000000001"
AVA = "005000000000000001"

ROWS = [
    {"opportunity": "Acme <Renewal>", "opportunity_id": "006000000000000001", "days": 58},
    {"opportunity": "Beta & Co", "opportunity_id": "006000000000000002", "note": None},
]


def header(play: str = "p") -> Header:
    return Header(title=f"{play} report", play=play, as_of="2028-02-29", mode="dry run", org="org")


def write(plan: Plan, directory: Path, names: dict[str, str] | None = None) -> list[Path]:
    report = plan_report(plan, header(plan.play), INSTANCE, names=names)
    return write_report(report, directory, plan.play, plan.as_of.isoformat())


def test_the_page_links_names_to_records_and_escapes_salesforce_data(tmp_path: Path):
    plan = Plan(
        play="p",
        as_of=date(2028, 2, 29),
        decisions=(
            Decision(
                sobject="Account",
                record_id=ACCOUNT,
                record_name="Acme <b>",
                outcome="selected",
                reason="due",
                stage="6-month",
            ),
        ),
        changes=(
            FieldChange(
                sobject="Account",
                record_id=ACCOUNT,
                record_name="Acme <b>",
                field="OwnerId",
                old=None,
                new=AVA,
                reason="round robin",
            ),
        ),
        alerts=(
            Alert(
                template="t.j2",
                record_id=ACCOUNT,
                stage="6-month",
                recipients=(Recipient(role="AE", user_id=AVA, name="Ava Patel"),),
                context={},
                reason="due",
            ),
        ),
        reports={"at-risk-list": ROWS},
    )

    written = write(plan, tmp_path / "out", names={AVA: "Ava Patel"})

    assert [p.name for p in written] == [
        "p-2028-02-29.html",
        "p-at-risk-list-2028-02-29.csv",
        "p-reasons-2028-02-29.csv",
        "p-selected-2028-02-29.csv",
        "p-changes-2028-02-29.csv",
        "p-alerts-2028-02-29.csv",
    ]
    page = written[0].read_text(encoding="utf-8")
    assert "<title>p report</title>" in page
    assert "<dt>Mode</dt><dd>dry run</dd>" in page
    # Names link to the records, Ids named, Salesforce data escaped.
    assert f'<a href="{INSTANCE}/lightning/r/Account/{ACCOUNT}/view">Acme &lt;b&gt;</a>' in page
    assert f'<a href="{INSTANCE}/006000000000000001">Acme &lt;Renewal&gt;</a>' in page
    assert "<td>Ava Patel</td>" in page and AVA not in page.split("<h2")[2]
    assert "<b>" not in page
    # Headers read as words; each table links its CSV.
    assert "<th>Owner</th><th>Owner (was)</th>" in page
    assert 'href="p-changes-2028-02-29.csv"' in page
    # Charts are inline SVG with no script and nothing fetched from elsewhere.
    assert page.count("<svg") >= 1 and "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//(?!acme\.my\.salesforce\.com)', page)
    with written[1].open(encoding="utf-8") as stream:
        assert list(csv.reader(stream)) == [
            ["opportunity", "opportunity_id", "days", "note"],
            ["Acme <Renewal>", "006000000000000001", "58", ""],
            ["Beta & Co", "006000000000000002", "", ""],
        ]


def test_cells_a_spreadsheet_would_run_as_formulas_are_plain_text(tmp_path: Path):
    starts = ['=HYPERLINK("http://x","click")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    rows = [{"name": text, "days": -5} for text in starts] + [{"name": "Acme = Co", "days": 1}]
    plan = Plan(play="p", as_of=date(2026, 11, 25), reports={"r": rows})

    [_page, csv_path] = write(plan, tmp_path)

    with csv_path.open(encoding="utf-8", newline="") as stream:
        cells = list(csv.reader(stream))[1:]
    assert [row[0] for row in cells] == [f"'{text}" for text in starts] + ["Acme = Co"]
    assert {row[1] for row in cells} == {"-5", "1"}  # numbers stay numbers


def test_at_risk_renewals_have_totals_by_am_and_reason_with_charts(tmp_path: Path):
    rows = [
        {
            "opportunity": "A",
            "opportunity_id": "006000000000000001",
            "owner": "Jade",
            "amount": 50000.0,
            "stage": "Prospecting",
            "days_to_renewal": 58,
            "at_risk_because": "health score below 40; no quote",
        },
        {
            "opportunity": "B",
            "opportunity_id": "006000000000000002",
            "owner": "Jade",
            "amount": 20000.0,
            "stage": "Qualification",
            "days_to_renewal": 95,
            "at_risk_because": "no quote",
        },
        {
            "opportunity": "C",
            "opportunity_id": "006000000000000003",
            "owner": "Omar",
            "amount": 5000.0,
            "stage": "Prospecting",
            "days_to_renewal": 20,
            "at_risk_because": "no quote",
        },
    ]
    plan = Plan(play="renewal-sla", as_of=date(2026, 11, 25), reports={"at-risk": rows})

    written = {p.name: p for p in write(plan, tmp_path)}

    by_am = written["renewal-sla-at-risk-by-am-2026-11-25.csv"].read_text(encoding="utf-8")
    assert list(csv.DictReader(io.StringIO(by_am))) == [
        {"am": "Jade", "renewals": "2", "arr": "70000.0"},
        {"am": "Omar", "renewals": "1", "arr": "5000.0"},
    ]
    by_reason = written["renewal-sla-at-risk-by-reason-2026-11-25.csv"].read_text(encoding="utf-8")
    assert next(csv.DictReader(io.StringIO(by_reason))) == {
        "reason": "no quote",
        "renewals": "3",
        "arr": "75000.0",
    }
    page = written["renewal-sla-2026-11-25.html"].read_text(encoding="utf-8")
    assert '<span class="figure">75,000</span><span class="name">at-risk ARR</span>' in page
    for title in (
        "At-risk renewals by AM",
        "At-risk ARR by reason",
        "by days to renewal and stage",
    ):
        assert title in page


def test_a_template_in_the_configured_paths_overrides_the_shipped_one(tmp_path: Path):
    mine = tmp_path / "mine" / "reports"
    mine.mkdir(parents=True)
    (mine / "run.html.j2").write_text(
        "<h1>{{ report.header.play }}: {{ report.totals[0][1] }} {{ '<x>' }}</h1>", encoding="utf-8"
    )
    plan = Plan(play="p", as_of=date(2026, 11, 25))
    report = plan_report(plan, header(), INSTANCE)

    [page] = write_report(report, tmp_path / "out", "p", "2026-11-25", [tmp_path / "mine"])

    assert page.read_text(encoding="utf-8") == "<h1>p: 0 &lt;x&gt;</h1>"


PLAY = """
from revsched.plan import Plan
from revsched.play import Play, PlayConfig


def decide(records, ctx):
    return Plan(play="reporter", as_of=ctx.as_of, reports={"rows": [{"a": 1}]})


play = Play(
    name="reporter", summary="reports", config_model=PlayConfig, queries=lambda ctx: {},
    decide=decide,
)
"""


def test_run_writes_reports_only_with_report_dir(tmp_path: Path):
    plays = tmp_path / "plays"
    plays.mkdir()
    (plays / "reporter.py").write_text(PLAY, encoding="utf-8")
    (tmp_path / "revsched.toml").write_text(f"play_paths = [{str(plays)!r}]\n", encoding="utf-8")
    runner = CliRunner()

    plain = runner.invoke(app, ["run", "reporter", "--dry-run", "--as-of", "2026-11-30"])
    assert plain.exit_code == 0, plain.output
    assert "Report written" not in plain.output

    result = runner.invoke(
        app,
        ["run", "reporter", "--dry-run", "--as-of", "2026-11-30", "--report-dir", "reports"],
    )

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "reporter-2026-11-30.html",
        "reporter-rows-2026-11-30.csv",
    ]
    assert f"Report written to {Path('reports') / 'reporter-2026-11-30.html'}" in result.output
    page = (tmp_path / "reports" / "reporter-2026-11-30.html").read_text(encoding="utf-8")
    assert "<dt>Run</dt><dd>2</dd>" in page  # the second dry run


@pytest.mark.usefixtures("demo_org")
def test_every_shipped_play_writes_a_report_and_the_csvs_match_the_golden_files(tmp_path: Path):
    out = tmp_path / "out"
    for name in load_plays(Settings()):
        result = CliRunner().invoke(
            app,
            [
                "run",
                name,
                "--dry-run",
                "--quiet",
                "--as-of",
                "2026-11-23",
                "--report-dir",
                str(out),
            ],
        )
        assert result.exit_code == 0, f"{name}: {result.output}"
        page = out / f"{name}-2026-11-23.html"
        assert "<h1>" in page.read_text(encoding="utf-8"), name
    for golden in sorted(GOLDEN.glob("*.csv")):
        assert (out / golden.name).read_text(encoding="utf-8") == golden.read_text(
            encoding="utf-8"
        ), golden.name


@pytest.mark.usefixtures("demo_org")
def test_every_applied_run_keeps_its_report_in_the_configured_folder(tmp_path: Path):
    kept = tmp_path / "kept"
    (tmp_path / "revsched.toml").write_text(f"[state]\nreport_dir = {str(kept)!r}\n")
    args = ["run", "win-back", "--quiet", "--as-of", "2026-11-23"]

    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert not kept.exists()

    applied = CliRunner().invoke(app, args)

    assert applied.exit_code == 0, applied.output
    page = (kept / "win-back-2026-11-23.html").read_text(encoding="utf-8")
    assert "<dt>Mode</dt><dd>applied: succeeded</dd>" in page
    assert '<span class="name">written</span>' in page


def test_an_id_in_a_play_table_shows_as_its_name_and_stays_an_id_in_the_csv(tmp_path: Path):
    rows = [{"account": "Acme", "account_id": ACCOUNT, "am": AVA}]
    plan = Plan(play="p", as_of=date(2026, 11, 25), reports={"owners": rows})

    [page, table] = write(plan, tmp_path, names={AVA: "Ava Patel"})

    assert "<td>Ava Patel</td>" in page.read_text(encoding="utf-8")
    assert table.read_text(encoding="utf-8").splitlines()[1] == f"Acme,{ACCOUNT},{AVA}"


def test_a_long_table_shows_its_first_thousand_rows_and_the_csv_holds_all(tmp_path: Path):
    rows = [{"n": n} for n in range(1_001)]
    plan = Plan(play="p", as_of=date(2026, 11, 25), reports={"long": rows})

    [page, table] = write(plan, tmp_path)

    html = page.read_text(encoding="utf-8")
    assert '<td class="number">999</td>' in html and '<td class="number">1,000</td>' not in html
    assert "The first 1,000 of 1,001 rows; every row is in the" in html
    assert len(table.read_text(encoding="utf-8").splitlines()) == 1_002


def test_a_changed_field_that_was_or_becomes_empty_is_an_empty_cell(tmp_path: Path):
    changes = (
        FieldChange("Account", ACCOUNT, "Acme", "Campaign__c", None, "Win Back", "why"),
        FieldChange("Account", "001000000000000002", "Beta", "Campaign__c", "Old", None, "why"),
    )
    plan = Plan(play="p", as_of=date(2026, 11, 25), changes=changes)

    paths = write(plan, tmp_path)

    [changed] = [p for p in paths if p.name == "p-changes-2026-11-25.csv"]
    rows = list(csv.DictReader(io.StringIO(changed.read_text(encoding="utf-8"))))
    assert [(r["Campaign__c was"], r["Campaign__c"]) for r in rows] == [
        ("", "Win Back"),
        ("Old", ""),
    ]
