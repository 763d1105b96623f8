"""Rendering alerts from Jinja templates and delivering them through a notifier.

Templates are looked up first in the user's template directories, then in the
shipped `templates/`, so a team overrides an alert by dropping in a file of the
same name. StrictUndefined makes a typo in a template an error at render time
in the dry run, not an empty field in the 6 am alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jinja2
from rich.console import Console

import revsched.templates
from revsched.errors import TemplateError
from revsched.plan import Alert, Recipient

# (record Id, stage): what one alert is about.
AlertKey = tuple[str, str]


class Mrkdwn(str):
    """Text already in Slack markup (a link, a mention): output as it is, never escaped again."""


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters, so a value named `<!channel>` is only text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_link(text: Any, url: str) -> str:
    """How a link reads in a terminal or an email body."""
    return f"{text} <{url}>"


def slack_link(text: Any, url: str) -> Mrkdwn:
    return Mrkdwn(f"<{escape_mrkdwn(url)}|{escape_mrkdwn(str(text))}>")


@dataclass(frozen=True)
class Markup:
    """How rendered values are written for one kind of channel: escaping and links."""

    escape: Callable[[str], str]
    link: Callable[[Any, str], str]
    # Slack user Id by email, for mentions; None when unknown.
    people: Callable[[str], str | None] = lambda email: None


PLAIN = Markup(escape=str, link=plain_link)
SLACK = Markup(escape=escape_mrkdwn, link=slack_link)


def shipped_template_dir() -> Path:
    return Path(next(iter(revsched.templates.__path__)))


@dataclass(frozen=True)
class RenderedAlert:
    alert: Alert
    text: str

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        return self.alert.recipients

    @property
    def key(self) -> AlertKey:
        return (self.alert.record_id, self.alert.stage)


class AlertRenderer:
    """Renders alert templates for one kind of channel.

    Every `{{ value }}` goes through the markup's escape (Jinja's finalize), so
    Salesforce data can never inject Slack control syntax, while what the `link`
    and `mention` filters produce is marked as markup and kept as it is.
    """

    def __init__(
        self,
        instance_url: str,
        template_dirs: Sequence[Path] = (),
        markup: Markup = PLAIN,
    ):
        loader = jinja2.FileSystemLoader([*template_dirs, shipped_template_dir()])
        self._markup = markup
        self._env = jinja2.Environment(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            finalize=self._finalize,
        )
        self._env.filters["link"] = markup.link
        self._env.filters["mention"] = self.mention
        self._env.globals["record_url"] = self.record_url
        self._instance_url = instance_url.rstrip("/")

    def _finalize(self, value: Any) -> str:
        return value if isinstance(value, Mrkdwn) else self._markup.escape(str(value))

    def record_url(self, sobject: str, record_id: str, related: str | None = None) -> str:
        """The Lightning URL of a record, as people open it from an alert; with `related` (a
        child relationship, e.g. Opportunities), its related list: where a record created by
        the run, whose Id an alert rendered before the write cannot know, is found."""
        page = f"related/{related}/view" if related else "view"
        return f"{self._instance_url}/lightning/r/{sobject}/{record_id}/{page}"

    def mention(self, person: Mapping[str, Any]) -> str:
        """A person (name, maybe email) as a Slack mention when known, else by name."""
        if not isinstance(person, Mapping) or "name" not in person:
            raise jinja2.UndefinedError(f"mention needs a person with a name, got {person!r}")
        email = person.get("email")
        user_id = self._markup.people(email) if email else None
        return Mrkdwn(f"<@{user_id}>") if user_id else str(person["name"])

    def render(self, alert: Alert) -> RenderedAlert:
        try:
            template = self._env.get_template(alert.template)
            return RenderedAlert(alert, template.render(**alert.context).strip())
        except jinja2.TemplateNotFound:
            raise TemplateError(
                f"alert template {alert.template!r} not found in the template directories"
            ) from None
        except jinja2.UndefinedError as error:
            raise TemplateError(f"template {alert.template}: {error.message}") from None
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(
                f"template {error.filename or alert.template} line {error.lineno}: {error.message}"
            ) from None


class Notifier(Protocol):
    """Delivers a run's alerts and says, per alert, whether every message carrying it was
    confirmed (None) or why not; it reports failures rather than raising them."""

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[AlertKey, str | None]: ...


class TerminalNotifier:
    """Alerts printed to the terminal (or cron mail, the journal): the channel when no
    Slack, webhook or email is configured. Printed in full even under --quiet, since this
    is their delivery, and as rendered (lines not re-wrapped), as a channel would get them."""

    def __init__(self, console: Console):
        self._console = console

    def deliver(self, alerts: Sequence[RenderedAlert]) -> dict[AlertKey, str | None]:
        for alert in alerts:
            to = ", ".join(f"{r.name} ({r.role})" for r in alert.recipients) or "nobody"
            self._console.rule(f"alert to {to}", align="left")
            self._console.print(alert.text, markup=False, highlight=False, soft_wrap=True)
        return {alert.key: None for alert in alerts}
