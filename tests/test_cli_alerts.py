"""Alerts from the command line: `revsched render`, and secrets kept out of every output."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fakeslack import TOKEN, FakeSlack
from harness import everything_written
from typer.testing import CliRunner

from revsched.cli import app
from revsched.localorg.demo import build_demo_org

TODAY = date(2026, 11, 23)
AS_OF = ["--as-of", TODAY.isoformat()]
WEBHOOK_SECRET = "fake-webhook-secret"


@pytest.fixture
def demo_org(revsched_home: Path) -> Path:
    path = revsched_home / "demo-org.sqlite"
    path.parent.mkdir(parents=True)
    build_demo_org(path, accounts=60, seed=7, today=TODAY).close()
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def slack_config(tmp_path: Path, fake: FakeSlack, extra: str = "") -> Path:
    config = tmp_path / "revsched.toml"
    config.write_text(
        "[alerts]\nkind = 'slack'\nfallback_channel = '#win-back'\n"
        "[alerts.slack]\ntoken = { env = 'TEST_SLACK_TOKEN' }\n"
        f"base_url = '{fake.base_url}'\n{extra}",
        encoding="utf-8",
    )
    return config


def test_render_previews_text_without_sending(demo_org: Path):
    result = invoke("render", "win-back", *AS_OF)

    assert result.exit_code == 0, result.output
    assert "*Win-back, 6-month: " in result.stdout
    assert "Block Kit" not in result.stdout  # terminal alerts are plain text
    assert invoke("run", "win-back", *AS_OF, "--dry-run").exit_code == 0


def test_render_shows_slack_block_kit_for_one_record(
    demo_org: Path, fake_slack: FakeSlack, tmp_path: Path
):
    config = str(slack_config(tmp_path, fake_slack))
    everything = json.loads(invoke("render", "win-back", *AS_OF, "--json", "-c", config).stdout)
    record = everything[1]["alerts"][0]["record_id"]

    result = invoke("render", "win-back", *AS_OF, "--record", record, "--json", "-c", config)

    assert result.exit_code == 0, result.output
    [alert] = json.loads(result.stdout)
    assert alert == everything[1]
    [message] = alert["slack_messages"]
    assert message["text"].startswith("*Win-back, ")
    assert message["blocks"][0]["type"] == "section"
    assert "|" in message["blocks"][0]["text"]["text"]  # a Slack link <url|name>
    assert fake_slack.requests == []  # nothing sent, nobody looked up, no token needed


def test_render_of_a_record_without_an_alert_says_why(demo_org: Path):
    result = invoke("render", "win-back", *AS_OF, "--record", "001000000000000XYZ")

    assert result.exit_code == 2
    assert "win-back has no alert for record 001000000000000XYZ on 2026-11-23" in result.stderr


def test_a_run_without_the_token_is_a_one_line_error_naming_the_key(
    demo_org: Path, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("TEST_SLACK_TOKEN", raising=False)

    result = invoke("run", "win-back", *AS_OF, "-c", str(slack_config(tmp_path, fake_slack)))

    assert result.exit_code == 2
    assert result.stderr == (
        "error: alerts.slack.token: environment variable TEST_SLACK_TOKEN is unset or empty"
        " (it holds the secret, which never goes in the config file)\n"
    )


def test_secrets_never_reach_output_logs_state_or_plans(
    demo_org: Path,
    fake_slack: FakeSlack,
    tmp_path: Path,
    revsched_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_WEBHOOK_URL", fake_slack.webhook_url)
    fake_slack.users = {"ava.patel@demo.revsched.dev": "U0AVA"}
    config = str(
        slack_config(
            tmp_path,
            fake_slack,
            "[alerts.plays.churn-intake]\nkind = 'webhook'\n"
            "[alerts.plays.win-back]\ndeliver = 'both'\nchannel = '#win-back'\n",
        ).rename(tmp_path / "ops.toml")
    )
    config_text = Path(config).read_text(encoding="utf-8")
    Path(config).write_text(
        config_text.replace("[alerts]\n", "[alerts]\nwebhook_url = { env = 'TEST_WEBHOOK_URL' }\n"),
        encoding="utf-8",
    )
    fake_slack.fail("chat.postMessage", "pass", "invalid_auth", "pass", "ratelimited")
    fake_slack.fail("webhook", "pass", "drop", "drop")
    outputs = [
        invoke(
            "run", "win-back", *AS_OF, "--dry-run", "--out", str(tmp_path / "p.json"), "-c", config
        ),
        invoke("run", "win-back", *AS_OF, "-c", config),
        invoke("run", "win-back", *AS_OF, "--json", "-c", config),
        invoke("run", "churn-intake", *AS_OF, "-c", config),
        invoke("history", "--json", "-c", config),
        invoke("show", "2", "--json", "-c", config),
        invoke("render", "win-back", *AS_OF, "--json", "-c", config),
    ]
    assert [r.exit_code for r in outputs[:4]] == [0, 1, 0, 1]
    assert len(fake_slack.posted()) > 5
    assert "invalid_auth" in outputs[5].stdout  # the failure is there, the token is not

    written = everything_written(
        tmp_path,
        revsched_home,
        *(r.output for r in outputs),
        *(r.stderr for r in outputs),
        caplog.text,
    )

    assert TOKEN not in written
    assert WEBHOOK_SECRET not in written
    assert "POST <webhook URL>" in caplog.text  # slack-sdk logs the URL: redacted


def test_render_of_a_digest_play_shows_one_message_per_recipient(
    demo_org: Path, fake_slack: FakeSlack, tmp_path: Path
):
    config = str(slack_config(tmp_path, fake_slack, "[alerts.plays.win-back]\ndigest = true\n"))

    digests = json.loads(invoke("render", "win-back", *AS_OF, "--json", "-c", config).stdout)

    people = [d["to"][0]["name"] for d in digests]
    assert len(people) == len(set(people)) > 1
    for digest in digests:
        title = digest["slack_messages"][0]["blocks"][0]["text"]["text"]
        assert title == f"*win-back*: {len(digest['alerts'])} alert" + (
            "s" if len(digest["alerts"]) > 1 else ""
        )


RESULT_LINE = (
    "Run 1 of win-back succeeded: 17 field changes written, 0 records created, 0 records"
    " merged, 0 records failed, 0 left alone as stale, "
)


@pytest.mark.parametrize("flag", ["--quiet", "--scheduled"])
def test_quiet_prints_each_alert_in_full_when_printing_is_their_delivery(demo_org: Path, flag: str):
    """With no alert channel configured, the terminal (cron mail, the journal) is where the
    alerts go: --quiet and --scheduled still print each one whole, as rendered, then the
    one result line, which says they were printed rather than sent; no plan is shown."""
    args = ["run", "win-back", flag] + ([] if flag == "--scheduled" else AS_OF)
    result = CliRunner().invoke(app, args, env={"COLUMNS": "60"})

    assert result.exit_code == 0, result.output
    shown = json.loads(invoke("show", "1", "--json").stdout)
    assert len(shown["alerts"]) > 0 and {a["status"] for a in shown["alerts"]} == {"sent"}
    for alert in shown["alerts"]:
        # Whole and not re-wrapped at the 60 columns, as a channel would get it.
        assert alert["text"] in result.stdout
    assert result.stdout.count("alert to ") == len(shown["alerts"])
    last = result.stdout.splitlines()[-1]
    assert last.endswith(
        f"{len(shown['alerts'])} alerts printed above (no alert channel is configured)."
    )
    assert "Selected (" not in result.stdout and "Field changes" not in result.stdout


def test_quiet_with_an_alert_channel_prints_one_line(
    demo_org: Path, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_SLACK_TOKEN", TOKEN)
    config = str(slack_config(tmp_path, fake_slack))

    result = invoke("run", "win-back", "--quiet", *AS_OF, "-c", config)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [RESULT_LINE + "5 alerts sent."]
    assert len(fake_slack.posted()) == 5
