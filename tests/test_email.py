"""Email delivery through a local SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from rich.console import Console

from revsched.alerts import RenderedAlert
from revsched.config import Settings, SmtpSettings
from revsched.delivery import Dispatcher
from revsched.localorg.demo import build_demo_org
from revsched.mail import EmailChannel
from revsched.notify import alert_delivery
from revsched.org import OrgGateway
from revsched.plan import Alert, Recipient
from revsched.play import load_plays
from revsched.runner import RunResult, run_play
from revsched.state import StateStore

AVA = Recipient(role="AE", user_id="005A", name="Ava Patel", email="Ava.Patel@acme.example")
FAY = Recipient(role="SDR", user_id="005F", name="Fay Nguyen", email="fay@acme.example")
PASSWORD = "smtp-pass-5e1f"


class Inbox:
    def __init__(self) -> None:
        self.mail: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mail.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password.decode() == PASSWORD
    # handled=False: aiosmtpd answers 535 itself on a failure.
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def rendered(record_id: str, *recipients: Recipient) -> RenderedAlert:
    alert = Alert(
        template="win_back.j2",
        record_id=record_id,
        stage="6-month",
        recipients=recipients or (AVA, FAY),
        context={},
        reason="test",
    )
    return RenderedAlert(alert, f"*Win-back: {record_id} <https://x/{record_id}>*\nReach out.")


def dispatcher(port: int, tmp_path: Path, digest: bool = False, **smtp: Any) -> Dispatcher:
    settings = SmtpSettings(host="127.0.0.1", port=port, from_address="revsched@acme.example")
    channel = EmailChannel(settings.model_copy(update=smtp), PASSWORD, "win-back")
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    return Dispatcher("win-back", channel, store, digest)


def test_each_recipient_gets_the_alert_by_email(smtp_server, tmp_path: Path):
    inbox, port = smtp_server

    outcomes = dispatcher(port, tmp_path).deliver([rendered("001A")])

    assert outcomes == {("001A", "6-month"): None}
    assert [to for to, _ in inbox.mail] == [["ava.patel@acme.example"], ["fay@acme.example"]]
    message = inbox.mail[0][1]
    assert message["Subject"] == "Win-back: 001A <https://x/001A>"
    assert message["From"] == "revsched@acme.example"
    assert (
        message.get_payload().replace("\r\n", "\n").strip()
        == "*Win-back: 001A <https://x/001A>*\nReach out."
    )


def test_digest_is_one_email_per_recipient_and_each_is_sent_once(smtp_server, tmp_path: Path):
    inbox, port = smtp_server
    send = dispatcher(port, tmp_path, digest=True, username="revsched")

    send.deliver([rendered("001A"), rendered("001B")])
    send.deliver([rendered("001A"), rendered("001B")])

    assert [to for to, _ in inbox.mail] == [["ava.patel@acme.example"], ["fay@acme.example"]]
    body = inbox.mail[0][1].get_payload()
    assert inbox.mail[0][1]["Subject"] == "win-back: 2 alerts"
    assert "Win-back: 001A" in body and "Win-back: 001B" in body


def test_unreachable_server_fails_the_alert_in_one_line(tmp_path: Path):
    outcomes = dispatcher(_free_port(), tmp_path).deliver([rendered("001A", AVA)])

    [error] = outcomes.values()
    assert error is not None
    assert error.startswith("email:ava.patel@acme.example: smtp 127.0.0.1:")
    assert "ConnectionRefusedError" in error


def test_a_wrong_password_fails_without_showing_it(smtp_server, tmp_path: Path):
    _, port = smtp_server
    settings = SmtpSettings(host="127.0.0.1", port=port, username="revsched")
    channel = EmailChannel(settings, "wrong-password-77", "win-back")
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")

    [error] = Dispatcher("win-back", channel, store).deliver([rendered("001A", AVA)]).values()

    assert error is not None and "SMTPAuthenticationError" in error
    assert "wrong-password-77" not in error


def test_a_play_configured_for_email_mails_each_recipient_once(
    smtp_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    inbox, port = smtp_server
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    today = date(2026, 11, 23)
    org = OrgGateway(
        build_demo_org(tmp_path / "org.sqlite", accounts=60, seed=11, today=today).salesforce
    )
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    settings = Settings.model_validate(
        {
            "alerts": {
                "plays": {"win-back": {"kind": "email"}},
                "smtp": {"host": "127.0.0.1", "port": port, "username": "revsched"},
            }
        }
    )

    def run() -> RunResult:
        delivery = alert_delivery(settings, "win-back", store, org.instance_url, Console())
        return run_play(
            load_plays(settings)["win-back"],
            settings,
            as_of=today,
            dry_run=False,
            store=store,
            org=org,
            renderer=delivery.renderer,
            notifier=delivery.notifier,
        )

    first = run()
    second = run()

    assert first.status == "succeeded"
    assert len(inbox.mail) == 2 * len(first.alerts)
    assert all(to[0].endswith("@demo.revsched.dev") for to, _ in inbox.mail)
    assert (
        "<https://localorg.invalid/lightning/r/Account/"
        in inbox.mail[0][1].get_payload(decode=True).decode()
    )
    assert second.plan.alerts == ()
