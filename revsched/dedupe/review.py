"""The review report: clusters a dedupe run only flagged, for a person to decide on.

Written from a plan (its decisions carry each cluster's roles and links), as CSV for
a spreadsheet or as HTML from the shipped template (autoescaped: record names are
data, not markup).
"""

from __future__ import annotations

import csv
from pathlib import Path

import jinja2

from revsched.alerts import shipped_template_dir
from revsched.errors import ConfigError
from revsched.plan import Plan

COLUMNS = ("cluster", "role", "sobject", "record_id", "record_name", "why")
TEMPLATE = "dedupe_review.html.j2"
SUFFIXES = (".csv", ".html", ".htm")


def review_rows(plan: Plan) -> list[dict[str, str]]:
    """Every member of each cluster that has a flagged record, master first."""
    clusters: dict[str, list[dict[str, str]]] = {}
    for decision in plan.decisions:
        label, _sep, role = (decision.stage or "").partition(": ")
        if not label.startswith("cluster ") or not role:
            continue
        clusters.setdefault(label, []).append(
            {
                "cluster": label.removeprefix("cluster "),
                "role": role,
                "sobject": decision.sobject,
                "record_id": decision.record_id,
                "record_name": decision.record_name,
                "why": decision.reason,
            }
        )
    order = {"master": 0, "merge": 1, "flag": 2}
    return [
        row
        for rows in clusters.values()
        if any(r["role"] == "flag" for r in rows)
        for row in sorted(rows, key=lambda r: (order[r["role"]], r["record_name"]))
    ]


def write_review(plan: Plan, path: Path) -> int:
    """Write the review report (.csv or .html, by the file's suffix); returns its row count."""
    rows = review_rows(plan)
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix in SUFFIXES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(shipped_template_dir()),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        html = env.get_template(TEMPLATE).render(plan=plan, rows=rows)
        path.write_text(html, encoding="utf-8")
    else:
        raise ConfigError(f"--review {path}: name a .csv or .html file")
    return len(rows)
