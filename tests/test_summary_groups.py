"""A dry run's summary counts decisions by kind: a reason or stage naming a record, a
cluster or a date counts with the others of its kind, so 100k records read in ten seconds."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from revsched.cli import app
from revsched.plan import Decision, Plan
from revsched.summary import print_summary


def _lead(number: int) -> dict[str, str]:
    return {"Id": f"00Q{number:015d}", "Name": f"Lead {number}"}


def test_summary_counts_skips_by_kind_and_stages_without_their_dates():
    decisions = [
        *(
            Decision.of(
                "Lead",
                _lead(n),
                "skipped",
                f"account Account {n} is unassigned: owner inactive",
                kind="account unassigned",
            )
            for n in range(40)
        ),
        *(
            Decision.of(
                "Lead", _lead(n), "selected", "taken", f"plg_taken 2026-{n % 12 + 1:02d}-03"
            )
            for n in range(40, 70)
        ),
        Decision.of("Lead", _lead(70), "selected", "merged", "cluster 7: merge", kind="merge"),
    ]
    plan = Plan(play="demo", as_of=date(2026, 11, 23), decisions=tuple(decisions))
    out = io.StringIO()

    print_summary(Console(file=out, width=100, color_system=None), plan)

    lines = out.getvalue().splitlines()
    assert lines[lines.index("Selected (31), by stage") :] == [
        "Selected (31), by stage",
        "  plg_taken  30",
        "  merge       1",
        "Skipped (40), by reason",
        "  account unassigned  40",
    ]


def _section(output: str, title: str) -> list[str]:
    """The lines of the summary's section whose title starts with `title`."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    return lines[start:end]


@pytest.mark.parametrize(
    ("play", "title", "section"),
    [
        (
            "lead-status-hygiene",
            "Selected",
            [
                "Selected (31), by stage",
                "  remarket_reason          9",
                "  plg_taken                9",
                "  remarket_reason manager  7",
                "  opportunity_names        4",
                "  working_next_step        1",
                "  (1 other)                1",
            ],
        ),
        (
            "contact-alignment",
            "Skipped",
            [
                "Skipped (12), by reason",
                "  account unassigned  10",
                "  actively sequenced   1",
                "  partner-managed      1",
            ],
        ),
        (
            "dedupe-contacts",
            "Selected",
            ["Selected (17), by stage", "  master  10", "  merge    7"],
        ),
        (
            "dedupe-contacts",
            "Skipped",
            [
                "Skipped (5), by reason",
                "  possible duplicate, not merged  4",
                "  not a duplicate, though linked  1",
            ],
        ),
        (
            "queue-recycle",
            "Skipped",
            [
                "Skipped (5), by reason",
                "  Bad Data lead in an active sequence  2",
                "  Recycle lead in an active sequence   2",
                "  Inquiry lead in an active sequence   1",
            ],
        ),
        ("partner-overlap", "Selected", ["Selected (4), by stage", "  open  3", "  won   1"]),
    ],
)
def test_a_dry_runs_summary_groups_by_kind(
    demo_org: Path, play: str, title: str, section: list[str]
):
    result = CliRunner().invoke(
        app, ["run", play, "--dry-run", "--as-of", "2026-11-23"], env={"COLUMNS": "100"}
    )

    assert result.exit_code == 0, result.output
    assert _section(result.stdout, title) == section
