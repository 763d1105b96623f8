"""Whole runs delivering to a fake Slack: exactly once across failures and a killed run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakeslack import TOKEN, FakeSlack
from harness import TODAY, run_win_back
from rich.console import Console

from revsched.alerts import TerminalNotifier
from revsched.config import Settings
from revsched.localorg import LocalOrg
from revsched.localorg.demo import build_demo_org
from revsched.notify import alert_delivery
from revsched.org import OrgGateway
from revsched.runner import RunResult
from revsched.slack import SlackChannel
from revsched.state import StateStore

PEOPLE = ["ava.patel", "ben.okafor", "carla.mendez", "dev.sharma", "fay.nguyen", "gus.romero"]


@pytest.fixture
def org(tmp_path: Path) -> LocalOrg:
    return build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=11, today=TODAY)


@pytest.fixture
def slack(fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """The demo's people in Slack, except Hana Kim and Ivan Petrov."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    fake_slack.users = {f"{p}@demo.revsched.dev": f"U0{p.upper()[:3]}" for p in PEOPLE}
    return fake_slack


def run(org: LocalOrg, store: StateStore, slack: FakeSlack, **alerts: Any) -> RunResult:
    settings = Settings.model_validate(
        {
            "alerts": {
                "kind": "slack",
                "fallback_channel": "#win-back",
                "slack": {"base_url": slack.base_url},
            }
            | alerts
        }
    )
    gateway = OrgGateway(org.salesforce)
    delivery = alert_delivery(settings, "win-back", store, gateway.instance_url, Console())
    return run_win_back(
        gateway, store, delivery.notifier, settings=settings, renderer=delivery.renderer
    )


def deliveries(slack: FakeSlack) -> list[tuple[str, str]]:
    """(channel, headline) of every message Slack accepted."""
    return [(m["channel"], m["text"].splitlines()[0]) for m in slack.posted()]


def test_every_recipient_gets_each_alert_once_with_mentions_and_links(
    org: LocalOrg, slack: FakeSlack, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = run(org, store, slack)

    assert result.status == "succeeded"
    sent = deliveries(slack)
    assert len(sent) == len(set(sent)) == 2 * len(result.alerts)
    # Hana Kim and Ivan Petrov have no Slack account: their alerts went to the channel.
    assert {channel for channel, _ in sent} == {f"D{u}" for u in slack.users.values()} | {
        "#win-back"
    }
    first = slack.posted()[0]["text"]
    assert first.startswith("*Win-back, 12-month: <https://localorg.invalid/lightning/r/Account/")
    assert "<@U0AVA> (AE) / <@U0FAY> (SDR)" in first
    assert run(org, store, slack).plan.alerts == ()
    assert len(slack.posted()) == len(sent)


def test_a_record_named_like_a_slack_command_pings_nobody(
    org: LocalOrg, slack: FakeSlack, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    dry = run_win_back(
        OrgGateway(org.salesforce),
        store,
        TerminalNotifier(Console()),
        renderer=alert_delivery(Settings(), "win-back", store, "https://x", Console()).renderer,
        dry_run=True,
    )
    account_id = dry.plan.alerts[0].record_id
    org.salesforce().Account.update(account_id, {"Name": "<!channel> Smith & <@U0AVA>"})

    run(org, store, slack)

    texts = [m["text"] for m in slack.posted()] + [
        b["text"]["text"] for m in slack.posted() for b in m["blocks"] if "text" in b
    ]
    assert not any("<!channel>" in t or "<@U0AVA>>" in t for t in texts)
    assert any("&lt;!channel&gt; Smith &amp; &lt;@U0AVA&gt;" in t for t in texts)


def test_slack_failing_half_way_sends_the_rest_next_run_and_repeats_none(
    org: LocalOrg, slack: FakeSlack, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    slack.fail("chat.postMessage", "pass", "pass", "pass", "fatal_error", "pass", "fatal_error")

    first = run(org, store, slack)

    assert first.status == "partial"
    failed = [a for a in store.run(first.run_id).alerts if a.status == "failed"]
    assert len(failed) == 2
    assert all("fatal_error" in (a.error or "") for a in failed)
    assert len(store.fired("win-back")) == len(first.alerts) - 2

    second = run(org, store, slack)

    # The outbox delivers the two owed alerts before the play plans anything.
    assert second.status == "succeeded"
    assert second.settled.alerts_sent == 2 and second.alerts == ()
    assert {a.record_id for a in store.run(first.run_id).alerts if a.status == "sent"} == {
        a.alert.record_id for a in first.alerts
    }
    assert len(store.fired("win-back")) == len(first.alerts)
    sent = deliveries(slack)
    assert len(sent) == len(set(sent)) == 2 * len(first.alerts)


def test_a_run_killed_while_alerting_sends_the_rest_next_run_and_repeats_none(
    org: LocalOrg, slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    send = SlackChannel.send
    confirmed = []

    def send_then_die(self: SlackChannel, destination: str, payload: Any) -> None:
        if len(confirmed) == 5:
            raise KeyboardInterrupt
        send(self, destination, payload)
        confirmed.append(destination)

    monkeypatch.setattr(SlackChannel, "send", send_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(org, store, slack)
    assert len(slack.posted()) == 5
    [killed] = store.runs()
    monkeypatch.setattr(SlackChannel, "send", send)

    resumed = run(org, store, slack)

    assert resumed.interrupted == (killed.id,)
    assert resumed.status == "succeeded"
    owed = store.run(killed.id).alerts
    assert resumed.settled.alerts_sent == len(owed) and resumed.plan.alerts == ()
    sent = deliveries(slack)
    assert len(sent) == len(set(sent)) == 2 * len(owed)
    assert run(org, store, slack).plan.alerts == ()


def test_digest_run_sends_one_message_per_recipient(
    org: LocalOrg, slack: FakeSlack, tmp_path: Path
):
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    result = run(org, store, slack, plays={"win-back": {"digest": True}})

    assert result.status == "succeeded"
    channels = [m["channel"] for m in slack.posted()]
    assert len(channels) == len(set(channels))
    ben = next(m for m in slack.posted() if m["channel"] == "DU0BEN")
    assert ben["blocks"][0]["text"]["text"] == "*win-back*: 3 alerts"
    assert len(store.fired("win-back")) == len(result.alerts)
