"""Report pages rendered from Jinja templates (`templates/reports/`), which users
override like alert templates: a file of the same name in a `[templates] paths`
directory wins. Everything is autoescaped; only the SVG charts revsched draws are
inserted as markup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from revsched.alerts import shipped_template_dir
from revsched.errors import TemplateError
from revsched.plan import Scalar
from revsched.private import private_folder, write_private
from revsched.reports.model import Report, label, table_csv


def cell(value: Scalar) -> str:
    """A value as a page shows it: numbers grouped by thousands, nothing as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def environment(template_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*template_dirs, shipped_template_dir()]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["label"] = label
    env.filters["svg"] = Markup  # only ever given the charts revsched drew
    return env


def render(template: str, template_dirs: Sequence[Path] = (), **context: Any) -> str:
    try:
        page = environment(template_dirs).get_template(template)
        return page.render(generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), **context)
    except jinja2.TemplateNotFound as error:
        raise TemplateError(f"report template {error.name!r} not found") from None
    except (jinja2.UndefinedError, jinja2.TemplateSyntaxError) as error:
        raise TemplateError(f"report template {template}: {error.message}") from None


def write_report(
    report: Report,
    directory: Path,
    prefix: str,
    suffix: str,
    template_dirs: Sequence[Path] = (),
    template: str = "reports/run.html.j2",
) -> list[Path]:
    """Write each table as `<prefix>-<table>-<suffix>.csv` and the page as
    `<prefix>-<suffix>.html`, which links to them; returns the paths written."""
    private_folder(directory)
    written: list[Path] = []
    files: dict[str, str] = {}
    for table in report.tables:
        path = directory / f"{prefix}-{table.name}-{suffix}.csv"
        write_private(path, table_csv(table))
        files[table.name] = path.name
        written.append(path)
    page = directory / f"{prefix}-{suffix}.html"
    write_private(page, render(template, template_dirs, report=report, csv_files=files))
    return [page, *written]
