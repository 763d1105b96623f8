"""Email delivery through SMTP (stdlib smtplib), for teams that live in their inbox.

Each recipient gets the alert at their Salesforce email address; a digest is
one email per recipient per run. An email is confirmed when the server has
accepted it for the recipient.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from revsched.alerts import RenderedAlert
from revsched.config import SmtpSettings
from revsched.delivery import AlertRoute, Outgoing, Part, count_alerts
from revsched.errors import NotifierError

SEPARATOR = "\n\n" + "-" * 60 + "\n\n"


def _subject(text: str) -> str:
    return text.splitlines()[0].strip("* ") if text else ""


class EmailChannel:
    def __init__(self, settings: SmtpSettings, password: str | None, play: str):
        self._settings = settings
        self._password = password
        self._play = play

    def routes(self, alert: RenderedAlert) -> list[AlertRoute]:
        missing = [r for r in alert.recipients if not r.email]
        if missing:
            raise NotifierError(
                f"{missing[0].name} ({missing[0].role}) has no email address in Salesforce"
            )
        return [AlertRoute(f"email:{r.email.lower()}") for r in alert.recipients if r.email]

    def compose(self, parts: Sequence[Part], digest: bool) -> list[Outgoing]:
        subject = f"{self._play}: {count_alerts(len(parts))}" if digest else _subject(parts[0].text)
        body = SEPARATOR.join(
            f"{part.note}\n\n{part.text}" if part.note else part.text for part in parts
        )
        return [Outgoing(tuple(part.key for part in parts), (subject, body))]

    def send(self, destination: str, payload: Any) -> None:
        subject, body = payload
        message = EmailMessage()
        message["From"] = self._settings.from_address
        message["To"] = destination.removeprefix("email:")
        message["Subject"] = subject
        message.set_content(body)
        settings = self._settings
        try:
            with smtplib.SMTP(
                settings.host, settings.port, timeout=settings.timeout_seconds
            ) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise NotifierError(
                f"smtp {settings.host}:{settings.port}: {type(error).__name__}: {error}"
            ) from None
