"""Slack delivery against a fake Slack on 127.0.0.1: routing, fallbacks, errors, digests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakeslack import TOKEN, FakeSlack

from revsched.alerts import RenderedAlert
from revsched.config import PlayAlerts, SlackSettings
from revsched.delivery import Dispatcher
from revsched.messages import MAX_BLOCKS, MAX_SECTION_CHARS
from revsched.plan import Alert, Recipient
from revsched.slack import SlackChannel, SlackDirectory, web_client
from revsched.state import StateStore

AVA = Recipient(role="AE", user_id="005A", name="Ava Patel", email="Ava.Patel@acme.example")
FAY = Recipient(role="SDR", user_id="005F", name="Fay <Nguyen>", email="fay@acme.example")


def rendered(record_id: str, *recipients: Recipient, text: str | None = None) -> RenderedAlert:
    alert = Alert(
        template="win_back.j2",
        record_id=record_id,
        stage="6-month",
        recipients=recipients or (AVA,),
        context={},
        reason="test",
    )
    return RenderedAlert(alert, text or f"*Win-back: {record_id}*\nPlease reach out.")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")


def notifier(
    fake: FakeSlack,
    store: StateStore,
    *,
    ttl: timedelta = timedelta(hours=24),
    digest: bool = False,
    rate_limit_retries: int = 3,
    **alerts: Any,
) -> Dispatcher:
    """What one run delivers through: a fresh client, the shared state store."""
    settings = SlackSettings(base_url=fake.base_url, rate_limit_retries=rate_limit_retries)
    client = web_client(settings, TOKEN)
    play_alerts = PlayAlerts(
        **{
            "kind": "slack",
            "deliver": "dm",
            "channel": "",
            "fallback_channel": "",
            "digest": digest,
        }
        | alerts
    )
    directory = SlackDirectory(client, store, ttl)
    channel = SlackChannel(client, directory, play_alerts, "win-back")
    return Dispatcher("win-back", channel, store, digest)


def test_direct_message_found_by_email_with_blocks_and_text(fake_slack: FakeSlack, store):
    fake_slack.users = {"ava.patel@acme.example": "U0AVA"}

    outcomes = notifier(fake_slack, store).deliver([rendered("001A")])

    assert outcomes == {("001A", "6-month"): None}
    assert fake_slack.posted("users.lookupByEmail") == [{"email": "ava.patel@acme.example"}]
    assert fake_slack.posted("conversations.open") == [{"users": "U0AVA"}]
    [message] = fake_slack.posted()
    assert message["channel"] == "DU0AVA"
    assert message["text"] == "*Win-back: 001A*\nPlease reach out."
    assert message["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": message["text"]}}
    ]
    assert message["unfurl_links"] is False


def test_lookups_are_cached_in_the_state_store_until_they_expire(fake_slack: FakeSlack, store):
    fake_slack.users = {"ava.patel@acme.example": "U0AVA"}

    notifier(fake_slack, store).deliver([rendered("001A")])
    notifier(fake_slack, store).deliver([rendered("001B")])
    assert len(fake_slack.calls("users.lookupByEmail")) == 1

    notifier(fake_slack, store, ttl=timedelta(0)).deliver([rendered("001C")])
    assert len(fake_slack.calls("users.lookupByEmail")) == 2
    assert len(fake_slack.posted()) == 3


def test_someone_without_slack_gets_the_alert_in_the_channel_which_says_so(
    fake_slack: FakeSlack, store
):
    outcomes = notifier(fake_slack, store, channel="#win-back").deliver([rendered("001A", FAY)])

    assert outcomes == {("001A", "6-month"): None}
    [message] = fake_slack.posted()
    assert message["channel"] == "#win-back"
    assert message["blocks"][0]["text"]["text"] == (
        "_For Fay &lt;Nguyen&gt; (SDR), who has no Slack account for fay@acme.example:"
        " posted here instead of a direct message._"
    )


def test_no_slack_account_and_no_channel_to_fall_back_to_fails_the_alert(
    fake_slack: FakeSlack, store
):
    outcomes = notifier(fake_slack, store).deliver([rendered("001A", FAY)])

    assert outcomes == {
        ("001A", "6-month"): "Fay <Nguyen> (SDR) has no Slack account for fay@acme.example, and"
        " there is no channel to fall back to (set alerts.fallback_channel or"
        " alerts.plays.win-back.channel)"
    }
    assert fake_slack.posted() == []


def test_channel_not_found_is_a_one_line_failure_and_nothing_is_recorded(
    fake_slack: FakeSlack, store
):
    outcomes = notifier(fake_slack, store, deliver="channel", channel="#nope").deliver(
        [rendered("001A")]
    )

    assert outcomes == {
        ("001A", "6-month"): "slack:channel:#nope: slack chat.postMessage to #nope:"
        " channel_not_found"
    }
    assert store.delivered("win-back", ["001A"]) == set()


def test_both_a_direct_message_and_the_channel(fake_slack: FakeSlack, store):
    fake_slack.users = {"ava.patel@acme.example": "U0AVA"}

    notifier(fake_slack, store, deliver="both", channel="#win-back").deliver(
        [rendered("001A", AVA, FAY)]
    )

    posted = fake_slack.posted()
    assert [m["channel"] for m in posted] == ["DU0AVA", "#win-back"]
    # Fay's fallback and the play's channel are the same place: one message, with the note.
    assert "For Fay &lt;Nguyen&gt; (SDR), who has no Slack account" in posted[1]["text"]


def test_rate_limited_call_waits_for_retry_after_then_succeeds(
    fake_slack: FakeSlack, store, waits: list[float]
):
    fake_slack.fail("chat.postMessage", "ratelimited")

    outcomes = notifier(fake_slack, store, channel="#win-back", deliver="channel").deliver(
        [rendered("001A")]
    )

    assert outcomes == {("001A", "6-month"): None}
    assert [r.answered for r in fake_slack.calls("chat.postMessage")] == ["ratelimited", "ok"]
    assert len(waits) == 1 and 1 <= waits[0] < 2


def test_rate_limited_past_the_retries_fails_the_alert(
    fake_slack: FakeSlack, store, waits: list[float]
):
    fake_slack.fail("chat.postMessage", "ratelimited", "ratelimited", "ratelimited")

    outcomes = notifier(
        fake_slack, store, channel="#win-back", deliver="channel", rate_limit_retries=2
    ).deliver([rendered("001A")])

    assert outcomes == {
        ("001A", "6-month"): "slack:channel:#win-back: slack chat.postMessage to #win-back:"
        " ratelimited"
    }
    assert len(waits) == 2


def test_dropped_connection_is_retried_once(fake_slack: FakeSlack, store, waits: list[float]):
    fake_slack.fail("chat.postMessage", "drop")
    send = notifier(fake_slack, store, channel="#win-back", deliver="channel")

    assert send.deliver([rendered("001A")]) == {("001A", "6-month"): None}

    fake_slack.fail("chat.postMessage", "drop", "drop")
    [error] = send.deliver([rendered("001B")]).values()
    assert error is not None
    assert error.startswith("slack:channel:#win-back: slack chat.postMessage to #win-back: ")
    assert "\n" not in error


def test_digest_is_one_message_per_recipient_listing_the_records(fake_slack: FakeSlack, store):
    fake_slack.users = {"ava.patel@acme.example": "U0AVA", "fay@acme.example": "U0FAY"}
    alerts = [rendered(f"001{n}", AVA, FAY) for n in "ABC"]

    outcomes = notifier(fake_slack, store, digest=True).deliver(alerts)

    assert set(outcomes.values()) == {None}
    posted = fake_slack.posted()
    assert [m["channel"] for m in posted] == ["DU0AVA", "DU0FAY"]
    for message in posted:
        assert message["blocks"][0]["text"]["text"] == "*win-back*: 3 alerts"
        assert [b["type"] for b in message["blocks"]].count("divider") == 2
        for n in "ABC":
            assert f"*Win-back: 001{n}*" in message["text"]


def test_long_digest_is_split_within_slacks_limits(fake_slack: FakeSlack, store):
    fake_slack.users = {"ava.patel@acme.example": "U0AVA"}
    paragraphs = "\n\n".join(f"Paragraph {i}" for i in range(4))
    long_line = "x" * (MAX_SECTION_CHARS + 10)
    alerts = [rendered(f"001{n:02}", text=f"*Win-back {n}*\n\n{paragraphs}") for n in range(30)]
    alerts.append(rendered("001ZZ", text=long_line))

    outcomes = notifier(fake_slack, store, digest=True).deliver(alerts)

    assert set(outcomes.values()) == {None}
    posted = fake_slack.posted()
    assert len(posted) == 4
    assert all(len(m["blocks"]) <= MAX_BLOCKS for m in posted)
    texts = [b["text"]["text"] for m in posted for b in m["blocks"] if b["type"] == "section"]
    assert all(len(t) <= MAX_SECTION_CHARS for t in texts)
    for n in range(30):
        assert sum(t == f"*Win-back {n}*" for t in texts) == 1
    assert "".join(t for t in texts if t.startswith("x")) == long_line


def test_a_failed_digest_is_sent_next_run_and_nothing_is_repeated(fake_slack: FakeSlack, store):
    fake_slack.users = {"ava.patel@acme.example": "U0AVA", "fay@acme.example": "U0FAY"}
    alerts = [rendered(f"001{n}", AVA, FAY) for n in "AB"]
    fake_slack.fail("chat.postMessage", "pass", "fatal_error")

    first = notifier(fake_slack, store, digest=True).deliver(alerts)

    assert set(first.values()) == {"slack:dm:U0FAY: slack chat.postMessage to U0FAY: fatal_error"}
    second = notifier(fake_slack, store, digest=True).deliver(alerts)

    assert set(second.values()) == {None}
    assert [m["channel"] for m in fake_slack.posted()] == ["DU0AVA", "DU0FAY"]


def test_once_slack_cannot_be_reached_the_run_stops_trying(
    fake_slack: FakeSlack, store, waits: list[float]
):
    fake_slack.fail("users.lookupByEmail", "drop", "drop")

    outcomes = notifier(fake_slack, store).deliver([rendered("001A", AVA), rendered("001B", FAY)])

    assert len(fake_slack.calls("users.lookupByEmail")) == 2  # the first lookup and its retry
    assert set(outcomes.values()) == {
        "slack users.lookupByEmail: RemoteDisconnected: Remote end closed connection without"
        " response"
    }
