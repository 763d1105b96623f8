"""`revsched dashboard --out DIR`: a static site from the state store, with each play's
runs, its latest run's report, its forecast, and the dedupe review queue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app

INSTANCE = "https://localorg.invalid"


@pytest.fixture
def site(demo_org: Path, run_json, tmp_path: Path) -> Path:
    """The dashboard after win-back was applied twice and renewal-sla dry-run once."""
    run_json("win-back", "--as-of", "2026-11-22")
    run_json("win-back", "--as-of", "2026-11-23")
    run_json("renewal-sla", "--dry-run", "--as-of", "2026-11-23")
    out = tmp_path / "site"
    result = CliRunner().invoke(app, ["dashboard", "--out", str(out), "--days", "5"])
    assert result.exit_code == 0, result.output
    return out


def test_each_play_shows_its_runs_latest_report_and_forecast(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")

    assert '<h2 id="win-back">win-back</h2>' in index
    # The latest applied run's report, read back from its audit, is linked and written.
    [latest] = set(re.findall(r'href="(runs/win-back-run\d+\.html)"', index))
    page = (site / latest).read_text(encoding="utf-8")
    assert "<dt>Mode</dt><dd>applied: succeeded</dd>" in page
    assert re.search(rf'<a href="{INSTANCE}/lightning/r/Account/001\w+/view">', page)
    # The new owners by the names the audit kept, not by Id.
    assert re.search(r"<td>(Ava Patel|Ben Okafor|Carla Mendez|Dev Sharma|Eli Novak)</td>", page)
    # renewal-sla has only a dry run: that is its latest report.
    assert re.search(r'href="runs/renewal-sla-run\d+\.html">run \d+, 2026-11-23 \(dry run\)', index)
    # Runs over time (applied ones charted), the forecast per enabled play.
    assert "win-back: applied runs" in index
    assert "win-back: selected per day" in index
    assert "No runs yet." in index  # the plays never run still show their forecast
    assert index.count("selected per day") >= 10


def test_the_review_queue_lists_the_flagged_clusters_linked(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    review = index.split('<h2 id="review">', 1)[1]

    assert "dedupe-contacts: Review:" in review
    assert re.search(rf'<a href="{INSTANCE}/lightning/r/Contact/003\w+/view">', review)
    assert "<td>flag</td>" in review


def test_the_site_has_no_secret_and_loads_nothing_from_elsewhere(
    demo_org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    secret = "xoxb-not-to-be-published"
    monkeypatch.setenv("SLACK_BOT_TOKEN", secret)
    out = tmp_path / "site"

    result = CliRunner().invoke(app, ["dashboard", "--out", str(out), "--days", "2"])

    assert result.exit_code == 0, result.output
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert secret not in text
            assert "<script" not in text  # readable with JavaScript off
            assert not re.search(r'(src|href)="(https?:)?//(?!localorg\.invalid/)', text), path


def test_the_latest_report_says_what_was_selected_and_skipped_and_why(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    [latest] = set(re.findall(r'href="(runs/win-back-run\d+\.html)"', index))
    page = (site / latest).read_text(encoding="utf-8")

    # Counts by kind of reason first, then the records, named and linked.
    reasons = page.split('id="reasons"', 1)[1].split("</table>", 1)[0]
    counts = re.findall(
        r"<td>(selected|skipped)</td>\s*<td>([^<]+)</td>\s*<td[^>]*>([\d,]+)</td>", reasons
    )
    assert counts and all(int(n.replace(",", "")) > 0 for _, _, n in counts)
    selected = page.split('id="selected"', 1)[1].split("</table>", 1)[0]
    assert re.search(
        rf'<a href="{INSTANCE}/lightning/r/Account/001\w+/view">[^<0-9][^<]*</a>', selected
    )
    total = sum(int(n.replace(",", "")) for outcome, _, n in counts if outcome == "selected")
    assert selected.count("<tr>") - 1 == min(total, 1000)  # rows beyond 1,000 are in the CSV
    [csv] = set(re.findall(r'href="(win-back-selected-run\d+\.csv)"', page))
    assert len((site / "runs" / csv).read_text(encoding="utf-8").splitlines()) == total + 1


def test_a_forecast_of_a_play_run_several_times_a_day_is_marked_approximated(site: Path):
    index = (site / "index.html").read_text(encoding="utf-8")
    section = index.split('<h2 id="add-drop-approvals">', 1)[1].split("<h2", 1)[0]
    daily = index.split('<h2 id="win-back">', 1)[1].split("<h2", 1)[0]

    assert "Approximated: add-drop-approvals runs several times a day" in section
    assert "Approximated" not in daily
