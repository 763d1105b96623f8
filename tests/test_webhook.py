"""Incoming-webhook delivery to a fake Slack on 127.0.0.1: for teams that cannot install a bot."""

from __future__ import annotations

from pathlib import Path

from fakeslack import FakeSlack

from revsched.alerts import RenderedAlert
from revsched.config import SlackSettings
from revsched.delivery import Dispatcher
from revsched.plan import Alert, Recipient
from revsched.state import StateStore
from revsched.webhook import WebhookChannel

AVA = Recipient(role="AE", user_id="005A", name="Ava Patel", email="ava@acme.example")


def rendered(record_id: str) -> RenderedAlert:
    alert = Alert(
        template="win_back.j2",
        record_id=record_id,
        stage="6-month",
        recipients=(AVA,),
        context={},
        reason="test",
    )
    return RenderedAlert(alert, f"*Win-back: {record_id}*")


def dispatcher(url: str, tmp_path: Path, digest: bool = False) -> Dispatcher:
    channel = WebhookChannel(url, "win-back", SlackSettings())
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    return Dispatcher("win-back", channel, store, digest)


def test_alerts_are_posted_to_the_webhook_once(fake_slack: FakeSlack, tmp_path: Path):
    send = dispatcher(fake_slack.webhook_url, tmp_path)

    assert send.deliver([rendered("001A"), rendered("001B")]) == {
        ("001A", "6-month"): None,
        ("001B", "6-month"): None,
    }
    send.deliver([rendered("001A")])

    posted = fake_slack.posted("webhook")
    assert [m["text"] for m in posted] == ["*Win-back: 001A*", "*Win-back: 001B*"]
    assert posted[0]["blocks"][0]["text"]["text"] == "*Win-back: 001A*"


def test_digest_is_one_post(fake_slack: FakeSlack, tmp_path: Path):
    dispatcher(fake_slack.webhook_url, tmp_path, digest=True).deliver(
        [rendered("001A"), rendered("001B")]
    )

    [post] = fake_slack.posted("webhook")
    assert post["blocks"][0]["text"]["text"] == "*win-back*: 2 alerts"


def test_a_refused_post_fails_the_alert_without_showing_the_url(
    fake_slack: FakeSlack, tmp_path: Path
):
    fake_slack.fail("webhook", "invalid_payload")

    [error] = dispatcher(fake_slack.webhook_url, tmp_path).deliver([rendered("001A")]).values()

    assert error == "webhook: slack webhook: HTTP 400 'invalid_payload'"


def test_an_unknown_webhook_fails_the_alert_without_showing_the_url(
    fake_slack: FakeSlack, tmp_path: Path
):
    url = fake_slack.webhook_url + "-revoked"

    [error] = dispatcher(url, tmp_path).deliver([rendered("001A")]).values()

    assert error == "webhook: slack webhook: HTTP 404 'no_service'"


def test_a_dropped_connection_is_retried_then_fails_without_showing_the_url(
    fake_slack: FakeSlack, tmp_path: Path, waits: list[float]
):
    fake_slack.fail("webhook", "drop")
    send = dispatcher(fake_slack.webhook_url, tmp_path)
    assert send.deliver([rendered("001A")]) == {("001A", "6-month"): None}

    fake_slack.fail("webhook", "drop", "drop")
    [error] = send.deliver([rendered("001B")]).values()

    assert error is not None and error.startswith("webhook: slack webhook: ")
    assert "fake-webhook-secret" not in error
