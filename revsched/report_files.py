"""Tables a play reports, written as CSV and HTML files for people who read them outside revsched.

A play stays pure: it puts named tables of rows on its plan (`Plan.reports`),
and the command line writes them to `--report-dir`. The file names carry the
play and the as-of date, so each day's report sits beside the last.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from pathlib import Path

from revsched.plan import Plan, Scalar
from revsched.private import private_folder, write_private

Row = dict[str, Scalar]


def _columns(rows: Sequence[Row]) -> list[str]:
    """Every column any row has, in the order they first appear."""
    return list(dict.fromkeys(column for row in rows for column in row))


def _cell(value: Scalar) -> str:
    return "" if value is None else str(value)


def _html(title: str, columns: list[str], rows: Sequence[Row]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    table = (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
        if rows
        else "<p>No rows.</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{table}\n</body>\n</html>\n"
    )


# What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Scalar) -> Scalar:
    """A text cell a spreadsheet would run as a formula, made plain text with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_reports(plan: Plan, directory: Path) -> list[Path]:
    """Write each report as <play>-<name>-<as of>.csv and .html; returns the paths written."""
    private_folder(directory)
    written = []
    for name, rows in plan.reports.items():
        stem = directory / f"{plan.play}-{name}-{plan.as_of.isoformat()}"
        columns = _columns(rows)
        csv_path = stem.with_suffix(".csv")
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({column: _inert(value) for column, value in row.items()} for row in rows)
        write_private(csv_path, table.getvalue())
        html_path = stem.with_suffix(".html")
        title = f"{plan.play}: {name}, {plan.as_of.isoformat()}"
        write_private(html_path, _html(title, columns, rows))
        written += [csv_path, html_path]
    return written
