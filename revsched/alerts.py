"""Rendering alerts from Jinja templates and delivering them through a notifier.

Templates are looked up first in the user's template directories, then in the
shipped `templates/`, so a team overrides an alert by dropping in a file of the
same name. StrictUndefined makes a typo in a template an error at render time
in the dry run, not an empty field in the 6 am alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import jinja2
from rich.console import Console

import revsched.templates
from revsched.errors import TemplateError
from revsched.plan import Alert, Recipient

LinkStyle = Callable[[str, str], str]


def plain_link(text: str, url: str) -> str:
    """How a link reads in a terminal or an email body."""
    return f"{text} <{url}>"


def shipped_template_dir() -> Path:
    return Path(next(iter(revsched.templates.__path__)))


@dataclass(frozen=True)
class RenderedAlert:
    alert: Alert
    text: str

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        return self.alert.recipients


class AlertRenderer:
    def __init__(
        self,
        instance_url: str,
        template_dirs: Sequence[Path] = (),
        link_style: LinkStyle = plain_link,
    ):
        loader = jinja2.FileSystemLoader([*template_dirs, shipped_template_dir()])
        self._env = jinja2.Environment(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self._env.filters["link"] = link_style
        self._env.globals["record_url"] = self.record_url
        self._instance_url = instance_url.rstrip("/")

    def record_url(self, sobject: str, record_id: str) -> str:
        """The Lightning URL of a record, as people open it from an alert."""
        return f"{self._instance_url}/lightning/r/{sobject}/{record_id}/view"

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
    """Delivers a rendered alert; returns once the channel has confirmed it."""

    def send(self, alert: RenderedAlert) -> None: ...


class TerminalNotifier:
    """Alerts printed to the terminal: the channel when no Slack is configured."""

    def __init__(self, console: Console):
        self._console = console

    def send(self, alert: RenderedAlert) -> None:
        to = ", ".join(f"{r.name} ({r.role})" for r in alert.recipients) or "nobody"
        self._console.rule(f"alert to {to}", align="left")
        self._console.print(alert.text, markup=False, highlight=False)
