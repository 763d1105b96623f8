"""Errors a user can act on, each mapped to the exit code cron and CI see, and the
plain words their messages are put in (no pydantic needed: usage errors use them too)."""

from __future__ import annotations

import re

EXIT_RECORDS_FAILED = 1
EXIT_CHECKS_FAILED = 1  # revsched doctor: some check failed
EXIT_USAGE = 2
# A person answered no at the confirmation prompt: like a plan that needs --confirm, the run
# stopped before writing anything; nothing failed.
EXIT_DECLINED = EXIT_USAGE
EXIT_LOCKED = 3
EXIT_API_LIMIT = 4
EXIT_ORG_REFUSED = 5
# Ctrl-C: 128 + SIGINT, as shells report a command the interrupt ended.
EXIT_INTERRUPTED = 130


class RevschedError(Exception):
    """An error with a one-line message that says what to fix."""

    exit_code = EXIT_USAGE


class ConfigError(RevschedError):
    """The configuration file or a play's section of it is invalid."""


class PlayError(RevschedError):
    """A play is unknown, cannot be loaded, or declared itself wrongly."""


class OrgError(RevschedError):
    """Salesforce (or the local org) refused a call; the message carries its error code."""

    exit_code = EXIT_ORG_REFUSED


class TemplateError(RevschedError):
    """An alert template is missing or uses a value the play does not provide."""


class ConfirmationError(RevschedError):
    """The plan is one the play wants a person to confirm (`--confirm`) before it applies."""

    def __init__(self, play: str, reason: str, next_step: str | None = None) -> None:
        self.play, self.reason = play, reason
        step = next_step or (
            f"Review it with `revsched run {play} --dry-run`, then apply it with --confirm"
        )
        super().__init__(f"{play}: {reason}; nothing was written. {step}")

    def advising(self, next_step: str) -> ConfirmationError:
        """The same refusal with the exact commands of the command line that ran it."""
        return ConfirmationError(self.play, self.reason, next_step)


class LockedError(RevschedError):
    """Another run of the same play holds the lease."""

    exit_code = EXIT_LOCKED


class NotifierError(RevschedError):
    """The alert channel refused or failed to take an alert."""

    exit_code = EXIT_RECORDS_FAILED


class ApiLimitError(RevschedError):
    """The org's API allowance (or our share of it) is used up: stop cleanly, rerun later."""

    exit_code = EXIT_API_LIMIT


class StateSchemaError(RevschedError):
    """The state store's schema is not at the level this revsched needs."""


# pydantic's phrasing -> what a person is expected to write. Patterns, not compiled ones:
# `re` compiles (and caches) them when a message is first put in plain words, not at the
# start of every command.
_PLAIN = (
    (r"Value error, ", ""),
    (r"Input should be a valid integer[^.;]*", "expected a whole number"),
    (r"Input should be a valid number[^.;]*", "expected a number"),
    (r"Input should be a valid boolean[^.;]*", "expected true or false"),
    (r"Input should be a valid string", "expected text in quotes"),
    (r"Input should be a valid date[^.;]*", "expected a date, YYYY-MM-DD"),
    (r"Input should be ", "expected "),
    (r"(List|Dictionary|Tuple|Set|String) should have ", "expected "),
    (r"String should match pattern ", "expected text matching "),
)


def plain_message(message: str) -> str:
    """A validation message in plain words: "Input should be a valid integer, unable to
    parse string as an integer" reads "expected a whole number"."""
    for pattern, replacement in _PLAIN:
        message = re.sub(pattern, replacement, message)
    return message
