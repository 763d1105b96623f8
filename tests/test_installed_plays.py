"""Plays from other packages: a package that names a play module under the
`revsched.plays` entry point group is found and run like a shipped play. The play is
the README's example, taken from the README as written."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.config import Settings
from revsched.errors import PlayError
from revsched.localorg import LocalOrg
from revsched.play import load_plays

README = Path(__file__).resolve().parents[1] / "README.md"
AS_OF = date(2026, 11, 23)


def readme_play() -> str:
    """The README's example play module, verbatim."""
    found = re.search(
        r"```python\n(# my_plays/renewal_nudge\.py\n.*?)```", README.read_text(), re.S
    )
    assert found, "README.md lost its example play"
    return found.group(1)


def install(site: Path, distribution: str, modules: dict[str, str], entry_points: str) -> None:
    """A package as pip leaves it in site-packages: its modules and a .dist-info with
    METADATA and entry_points.txt, which importlib.metadata reads from sys.path."""
    for dotted, source in modules.items():
        path = site.joinpath(*dotted.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    info = site / f"{distribution}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site-packages directory on sys.path for this test only."""
    path = tmp_path / "site-packages"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    before = set(sys.modules)
    yield path
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("my_plays", "other_plays"):
            del sys.modules[name]


def test_a_play_installed_through_the_entry_point_runs(site: Path, demo_org: Path) -> None:
    install(
        site,
        "my_plays",
        {"my_plays.renewal_nudge": readme_play()},
        "[revsched.plays]\nrenewal-nudge = my_plays.renewal_nudge\n",
    )

    result = CliRunner().invoke(
        app, ["run", "renewal-nudge", "--dry-run", "--as-of", AS_OF.isoformat(), "--json"]
    )

    assert result.exit_code == 0, result.output
    decisions = json.loads(result.stdout)["plan"]["decisions"]
    # The same selection, made here from every opportunity in the org.
    org = LocalOrg(demo_org)
    opportunities = org.salesforce().query_all(
        "SELECT Id, Type, IsClosed, CloseDate, StageName FROM Opportunity"
    )["records"]
    org.close()
    closes_by = (AS_OF + timedelta(days=120)).isoformat()
    due = [
        o
        for o in opportunities
        if o["Type"] == "Renewal" and not o["IsClosed"] and o["CloseDate"] <= closes_by
    ]
    early = {o["Id"] for o in due if o["StageName"] in ("Prospecting", "Qualification")}
    assert early and len(early) < len(due), "the demo org should have both outcomes"
    assert {d["record_id"] for d in decisions} == {o["Id"] for o in due}
    assert {d["record_id"] for d in decisions if d["outcome"] == "selected"} == early


def test_an_installed_play_may_not_take_a_shipped_plays_name(site: Path) -> None:
    install(
        site,
        "other_plays",
        {"other_plays.win_back": "from revsched.jobs.win_back import play\n"},
        "[revsched.plays]\nwin-back = other_plays.win_back\n",
    )

    with pytest.raises(PlayError, match="a play named 'win-back' already exists"):
        load_plays(Settings())


def test_an_entry_point_that_fails_to_import_is_named(site: Path) -> None:
    install(site, "other_plays", {}, "[revsched.plays]\nbroken = other_plays.missing\n")

    with pytest.raises(PlayError, match=r"entry point broken = 'other_plays.missing'"):
        load_plays(Settings())
