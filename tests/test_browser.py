"""A run report and the dashboard in a real browser (Debian's headless Chromium): they
load without a console message, their charts are drawn, their links open the records.

Skipped where Chromium is not installed (`apt-get install chromium`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app

INSTANCE = "https://localorg.invalid"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
# Chromium logs each console message of the page on stderr: `INFO:CONSOLE:12] "…"`.
CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")


def load(page: Path, tmp_path: Path) -> str:
    """The page's DOM once Chromium has loaded it; fails on any console message. Every
    host but none resolves nowhere: a page fetching from elsewhere cannot."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert CONSOLE.findall(done.stderr) == []
    return done.stdout


def rendered_charts(dom: str) -> list[str]:
    """The titles of the SVG charts in the DOM that hold drawn shapes."""
    charts = re.findall(r"<svg\b.*?</svg>", dom, flags=re.DOTALL)
    return [
        title
        for svg in charts
        if re.search(r"<(rect|path)\b", svg)
        for title in re.findall(r'<text[^>]*class="title[^"]*"[^>]*>([^<]*)</text>', svg)[:1]
    ]


@pytest.mark.usefixtures("demo_org")
def test_a_run_report_in_the_browser(tmp_path: Path):
    args = ["run", "renewal-sla", "--dry-run", "--quiet", "--as-of", "2026-11-23"]
    result = CliRunner().invoke(app, [*args, "--report-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output

    dom = load(tmp_path / "out" / "renewal-sla-2026-11-23.html", tmp_path)

    assert "At-risk renewals by AM" in rendered_charts(dom)
    assert "At-risk ARR by reason" in rendered_charts(dom)
    links = re.findall(r'<a href="([^"]+)">', dom)
    assert any(
        re.fullmatch(rf"{INSTANCE}/lightning/r/Opportunity/006\w{{15}}/view", u) for u in links
    )
    assert any(re.fullmatch(rf"{INSTANCE}/006\w{{15}}", u) for u in links)  # at-risk, by Id


@pytest.mark.usefixtures("demo_org")
def test_the_dashboard_in_the_browser(run_json, tmp_path: Path):
    run_json("win-back", "--as-of", "2026-11-23")
    result = CliRunner().invoke(app, ["dashboard", "--out", str(tmp_path / "site"), "--days", "5"])
    assert result.exit_code == 0, result.output

    dom = load(tmp_path / "site" / "index.html", tmp_path)

    charts = rendered_charts(dom)
    assert "win-back: applied runs" in charts
    assert "win-back: selected per day" in charts
    links = re.findall(r'<a href="([^"]+)">', dom)
    assert any(re.fullmatch(rf"{INSTANCE}/lightning/r/Contact/003\w{{15}}/view", u) for u in links)
    [latest] = {u for u in links if u.startswith("runs/win-back-run")}
    report = load(tmp_path / "site" / latest, tmp_path)
    assert any(
        re.fullmatch(rf"{INSTANCE}/lightning/r/Account/001\w{{15}}/view", u)
        for u in re.findall(r'<a href="([^"]+)">', report)
    )
