"""Every bad input gets one line on stderr and exit 2: no traceback, and no file created."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg import LocalOrg

UNREACHABLE_PG = "postgresql+psycopg://revsched:hunter2@127.0.0.1:1/state"


def write(path: Path, content: str | bytes) -> str:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


# (what, how to make the command line in a folder, what the one line says)
CASES = {
    "config not UTF-8": (
        lambda d: ["plays", "-c", write(d / "c.toml", b"\xff\xfe[org]\n")],
        "not UTF-8 text, so not a config file",
    ),
    "config is a directory": (lambda d: ["plays", "-c", str(d)], "a directory, not a config file"),
    "state url of an unknown kind": (
        lambda d: ["history", "-c", write(d / "c.toml", "[state]\nurl = 'nosuchdb://x/y'\n")],
        "state.url: nosuchdb://x/y is not a database URL",
    ),
    "state url unreachable": (
        lambda d: ["history", "-c", write(d / "c.toml", f"[state]\nurl = '{UNREACHABLE_PG}'\n")],
        "state.url: cannot open the state store at postgresql+psycopg://revsched:***@",
    ),
    "as-of in year 1": (
        lambda d: ["run", "win-back", "--dry-run", "--as-of", "0001-01-01"],
        "'0001-01-01' is outside 1900-01-01 to 2999-12-31",
    ),
    "as-of in year 9999": (
        lambda d: ["run", "win-back", "--dry-run", "--as-of", "9999-12-31"],
        "'9999-12-31' is outside",
    ),
    "prune older than a century": (
        lambda d: ["state", "prune", "--older-than", "999999d"],
        "--older-than: '999999d' is longer than 36500d",
    ),
    "plan file binary": (
        lambda d: ["apply", write(d / "p.json", b"\x00\x01\xff")],
        "not UTF-8 text, so not a plan file",
    ),
    "plan file without its plan": (
        lambda d: ["apply", write(d / "p.json", '{"format": 1}')],
        "not a revsched plan",
    ),
    "plan file is a directory": (lambda d: ["apply", str(d)], "a directory, not a plan file"),
    "unknown play": (lambda d: ["run", "win-bak", "--dry-run"], "win-bak"),
    "org serve on port 99999": (
        lambda d: ["org", "serve", "--port", "99999"],
        "--port: 99999 is not a port; use 1-65535",
    ),
    "org serve --db a folder": (
        lambda d: ["org", "serve", "--db", str(d)],
        "is a folder; give the org's SQLite file in it",
    ),
    "org serve --db under a file": (
        lambda d: ["org", "serve", "--db", str(Path(write(d / "f", "")) / "sub" / "org.sqlite")],
        "/f/sub/org.sqlite: Not a directory",
    ),
    "org serve --db not an org": (
        lambda d: ["org", "serve", "--db", write(d / "org.sqlite", "hello")],
        "/org.sqlite is not a local org (file is not a database)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2_and_creates_nothing(
    case: str, tmp_path: Path, revsched_home: Path
):
    build, message = CASES[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = build(inputs)
    before = sorted(tmp_path.rglob("*"))

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "hunter2" not in result.output + result.stderr
    assert sorted(tmp_path.rglob("*")) == before
    assert not revsched_home.exists()


def test_record_data_that_looks_like_markup_is_printed_as_it_is(demo_org: Path, run_json: Any):
    planned = run_json("win-back", "--dry-run", "--as-of", "2026-11-23")
    account_id = planned["plan"]["changes"][0]["record_id"]
    org = LocalOrg(demo_org)
    org.salesforce().Account.update(account_id, {"Name": "Acme [/] Corp [bold]"})
    org.close()

    ran = CliRunner().invoke(app, ["run", "win-back", "--as-of", "2026-11-23", "--all"])
    shown = CliRunner().invoke(app, ["show", "2"])

    assert ran.exit_code == 0, ran.output
    assert shown.exit_code == 0, shown.output
    assert "Acme [/] Corp [bold]" in ran.stdout
    assert "Acme [/] Corp [bold]" in shown.stdout


def test_braces_in_config_values_are_values(tmp_path: Path, demo_org: Path):
    config = tmp_path / "braces.toml"
    config.write_text(
        "[plays.win-back]\nformer_customer_value = 'Former {0} Customer'\n"
        "[plays.queue-recycle]\nsales_dev_roles = ['Sales {Development}']\n"
        "[plays.account-review]\nae_roles = ['Account {} Executive']\n",
        encoding="utf-8",
    )

    for play in ("win-back", "queue-recycle", "account-review"):
        result = CliRunner().invoke(app, ["run", play, "--dry-run", "-c", str(config)])
        assert result.exit_code == 0, (play, result.output)


def test_org_serve_on_a_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["org", "serve", "--db", str(tmp_path / "org.sqlite"), "--port", str(port)]
        )

    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"error: --port: cannot listen on {port}: Address already in use"
    )
    assert list(tmp_path.iterdir()) == []
