"""Reports on a plan are written as CSV and HTML by `run --report-dir`, and only then."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from revsched.cli import app
from revsched.plan import Plan
from revsched.report_files import write_reports

ROWS = [
    {"opportunity": "Acme <Renewal>", "days": 58, "at_risk": True},
    {"opportunity": "Beta & Co", "days": 61, "note": None},
]


def test_each_report_is_a_csv_and_an_html_file(tmp_path: Path):
    plan = Plan(play="p", as_of=date(2028, 2, 29), reports={"at-risk": ROWS, "empty": []})

    written = write_reports(plan, tmp_path / "out")

    assert [p.name for p in written] == [
        "p-at-risk-2028-02-29.csv",
        "p-at-risk-2028-02-29.html",
        "p-empty-2028-02-29.csv",
        "p-empty-2028-02-29.html",
    ]
    with written[0].open(encoding="utf-8") as stream:
        assert list(csv.reader(stream)) == [
            ["opportunity", "days", "at_risk", "note"],
            ["Acme <Renewal>", "58", "True", ""],
            ["Beta & Co", "61", "", ""],
        ]
    page = written[1].read_text(encoding="utf-8")
    assert "<title>p: at-risk, 2028-02-29</title>" in page
    assert "<th>opportunity</th><th>days</th><th>at_risk</th><th>note</th>" in page
    assert "<td>Acme &lt;Renewal&gt;</td><td>58</td><td>True</td><td></td>" in page
    assert "<td>Beta &amp; Co</td>" in page
    assert "<p>No rows.</p>" in written[3].read_text(encoding="utf-8")


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
        "reporter-rows-2026-11-30.csv",
        "reporter-rows-2026-11-30.html",
    ]
    assert f"Report written to {Path('reports') / 'reporter-rows-2026-11-30.csv'}" in result.output


def test_cells_a_spreadsheet_would_run_as_formulas_are_plain_text(tmp_path: Path):
    starts = ['=HYPERLINK("http://x","click")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    rows = [{"name": text, "days": -5} for text in starts] + [{"name": "Acme = Co", "days": 1}]
    plan = Plan(play="p", as_of=date(2026, 11, 25), reports={"r": rows})

    [csv_path, _] = write_reports(plan, tmp_path)

    with csv_path.open(encoding="utf-8", newline="") as stream:
        cells = list(csv.reader(stream))[1:]
    assert [row[0] for row in cells] == [f"'{text}" for text in starts] + ["Acme = Co"]
    assert {row[1] for row in cells} == {"-5", "1"}  # numbers stay numbers
