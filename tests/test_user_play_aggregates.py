"""A user's own play (from `play_paths`) whose query uses GROUP BY and HAVING, as the
SOQL documentation writes it, runs through `revsched run` on the local org."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg import LocalOrg

PLAY = """
from revsched.plan import Plan
from revsched.play import Play, PlayConfig


class Config(PlayConfig):
    min_accounts: int = 3


def queries(ctx):
    return {
        "owners": (
            "SELECT OwnerId, Owner.Name, COUNT(Id) accounts, MAX(NumberOfEmployees) "
            "FROM Account WHERE Type != null GROUP BY OwnerId, Owner.Name "
            f"HAVING COUNT(Id) >= {ctx.config.min_accounts} ORDER BY COUNT(Id) DESC, OwnerId"
        )
    }


def decide(records, ctx):
    rows = [
        {"owner": r["Name"], "owner_id": r["OwnerId"], "accounts": r["accounts"],
         "largest": r["expr0"]}
        for r in records["owners"]
    ]
    return Plan(play="book-sizes", as_of=ctx.as_of, reports={"owners": rows})


play = Play(
    name="book-sizes", summary="accounts per owner", config_model=Config, queries=queries,
    decide=decide,
)
"""


def test_group_by_having_play_runs_on_the_local_org(tmp_path: Path, demo_org: Path):
    plays = tmp_path / "plays"
    plays.mkdir()
    (plays / "book_sizes.py").write_text(PLAY, encoding="utf-8")
    (tmp_path / "revsched.toml").write_text(
        f"play_paths = [{str(plays)!r}]\n[plays.book-sizes]\nmin_accounts = 3\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(
        app,
        ["run", "book-sizes", "--dry-run", "--as-of", "2026-11-23", "--report-dir", "out"],
    )

    assert result.exit_code == 0, result.output
    with (tmp_path / "out" / "book-sizes-owners-2026-11-23.csv").open(encoding="utf-8") as f:
        reported = list(csv.DictReader(f))
    # The same figures, counted here from the plain records.
    org = LocalOrg(demo_org)
    accounts = org.salesforce().query_all(
        "SELECT OwnerId, Owner.Name, NumberOfEmployees FROM Account WHERE Type != null"
    )["records"]
    org.close()
    counts = Counter(a["OwnerId"] for a in accounts)
    expected = sorted(
        ((-n, owner) for owner, n in counts.items() if n >= 3),
    )
    assert expected, "the demo org should have owners with 3+ typed accounts"
    assert any(n < 3 for n in counts.values()), "HAVING should leave an owner out"
    assert [(r["owner_id"], int(r["accounts"])) for r in reported] == [
        (owner, -n) for n, owner in expected
    ]
    for row in reported:
        sizes = [
            a["NumberOfEmployees"]
            for a in accounts
            if a["OwnerId"] == row["owner_id"] and a["NumberOfEmployees"] is not None
        ]
        assert row["largest"] == (str(max(sizes)) if sizes else "")
        names = {a["Owner"]["Name"] for a in accounts if a["OwnerId"] == row["owner_id"]}
        assert names == {row["owner"]}
