"""Outreach's REST API (v2, JSON:API) as a sequence enrollment channel.

What it relies on (developers.outreach.io): every call carries the OAuth bearer token
and `Content-Type: application/vnd.api+json`; prospects are found by email
(`filter[emails]`), sequences by name, mailboxes by email; sequence states can be
filtered by relationship Ids only; errors come as JSON:API `{"errors": [{"id", "title",
"detail"}]}`; a rate-limited call answers 429 with Retry-After. Outreach has no
idempotency key, so a create is never retried blindly: after a 5xx the channel looks
for the sequence state again before creating it, and a person already in the sequence
(a rerun after a crash) is reported `already`, never enrolled twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

from revsched.config_channels import ENROLLMENT_TRIES, OutreachSettings
from revsched.enroll import EnrollmentChannel
from revsched.errors import ConfigError
from revsched.logs import logger
from revsched.outreach_auth import AccessToken, FixedToken, RefreshFailed
from revsched.plan import Enrollment
from revsched.state import EnrollmentOutcome

JSON_API = "application/vnd.api+json"
# Sequence states in which a prospect is being worked by a sequence.
ACTIVE_STATES = frozenset({"active", "pending", "paused"})


class OutreachCallError(Exception):
    """A call Outreach did not carry out; the message is one line, without the token."""


class Transient(OutreachCallError):
    """Worth retrying: a 5xx, a dropped connection, or a 429 (after its Retry-After)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Transient):
    pass


class Refused(OutreachCallError):
    """A 4xx about this request (validation, not found, not allowed): retrying won't help."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, an HTTP date, or (Outreach's maintenance 503)
    an ISO-8601 time; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsers: tuple[Callable[[str], datetime], ...] = (parsedate_to_datetime, datetime.fromisoformat)
    for parse in parsers:
        try:
            when = parse(value.strip())
        except (TypeError, ValueError):
            continue
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return None


def _why(response: requests.Response) -> str:
    """Outreach's first JSON:API error as `id: detail`, else the HTTP status."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        what = first.get("detail") or first.get("title") or ""
        return " ".join(f"{first.get('id') or response.status_code}: {what}".split())
    return f"HTTP {response.status_code} {response.reason or ''}".strip()


class OutreachClient:
    """Outreach's API over one HTTP session; 429s wait for Retry-After, reads retry 5xx,
    and a call refused with 401 is made once more with a refreshed token."""

    def __init__(
        self,
        settings: OutreachSettings,
        token: str | AccessToken,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self._token = (
            FixedToken(token, settings.token.describe()) if isinstance(token, str) else token
        )
        self._session = session or requests.Session()
        self._session.headers.update({"Content-Type": JSON_API, "Accept": JSON_API})
        self._sleep = sleep

    def retrying(self, server_errors: bool) -> Retrying:
        """429s retried after Retry-After (capped); with `server_errors`, 5xx and dropped
        connections too, after their Retry-After if any, else with exponential backoff."""
        settings = self.settings
        backoff = wait_exponential(multiplier=settings.retry_base_seconds, max=60)

        def retryable(error: BaseException) -> bool:
            return isinstance(error, RateLimited) or (
                server_errors and isinstance(error, Transient)
            )

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            limit = (
                settings.rate_limit_retries + 1
                if isinstance(error, RateLimited)
                else settings.max_attempts
            )
            return state.attempt_number >= limit

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            # A 429, or a 503 during maintenance, says when to come back.
            if isinstance(error, Transient) and error.retry_after is not None:
                return min(error.retry_after, settings.max_retry_after_seconds)
            return float(backoff(state))

        return Retrying(
            retry=retry_if_exception(retryable),
            stop=stop,
            wait=wait,
            sleep=self._sleep,
            reraise=True,
        )

    def find(self, resource: str, filters: dict[str, str]) -> list[dict[str, Any]]:
        """The resources matching `filters`: `{"emails": "a@b.c"}` is `filter[emails]=a@b.c`,
        `{"prospect.id": "7"}` is `filter[prospect][id]=7`."""
        params = {
            "filter" + "".join(f"[{part}]" for part in name.split(".")): value
            for name, value in filters.items()
        } | {"count": "false"}
        for attempt in self.retrying(server_errors=True):
            with attempt:
                data = self._call("GET", resource, params=params).get("data") or []
        return list(data)

    def create(self, resource: str, kind: str, relationships: dict[str, tuple[str, str]]) -> str:
        """Create a resource related to others (name -> (type, Id)); returns its Id. Only a
        429 is retried here: a 5xx may have created it (the caller looks before retrying)."""
        body = {
            "data": {
                "type": kind,
                "relationships": {
                    name: {"data": {"type": type_, "id": int(id_) if id_.isdigit() else id_}}
                    for name, (type_, id_) in relationships.items()
                },
            }
        }
        for attempt in self.retrying(server_errors=False):
            with attempt:
                created = self._call("POST", resource, body=body)
        return str(created["data"]["id"])

    def _call(
        self,
        method: str,
        resource: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        what = f"{method} {resource}"
        try:
            token = self._token.current()
            response = self._send(method, resource, token, params, body)
            newer = self._token.refreshed(token) if response.status_code == 401 else None
            if newer is not None:
                response = self._send(method, resource, newer, params, body)
        except requests.RequestException as error:
            raise Transient(f"{what}: {type(error).__name__}") from None
        except RefreshFailed as error:
            raise Transient(str(error)) from None
        status = response.status_code
        if status == 401 or (status == 403 and "Scope" in _why(response)):
            raise ConfigError(
                f"outreach: {what} refused the access token in "
                f"{self._token.describe()} ({_why(response)}); renew the token or"
                " grant it the prospects.read, sequences.read, mailboxes.read and"
                " sequenceStates.all scopes"
            )
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise RateLimited(f"{what}: rate limited ({_why(response)})", wait)
        if status >= 500:
            raise Transient(
                f"{what}: {_why(response)}",
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 400:
            raise Refused(status, f"{what}: {_why(response)}")
        return response.json() if response.content else {}

    def _send(
        self,
        method: str,
        resource: str,
        token: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
    ) -> requests.Response:
        return self._session.request(
            method,
            self.settings.base_url + resource,
            params=params,
            data=json.dumps(body) if body is not None else None,
            headers={"Authorization": f"Bearer {token}"},
            timeout=self.settings.timeout_seconds,
        )


class OutreachChannel:
    """Enrolls through Outreach: the prospect found by email, the sequence by name, the
    sender's mailbox by email; a person Outreach cannot enroll gets the Salesforce field
    written instead (the trigger's way), and the outcome says why."""

    name = "outreach"

    def __init__(
        self,
        connect: Callable[[], OutreachClient],
        fallback: EnrollmentChannel,
        tries: int = ENROLLMENT_TRIES,
    ):
        # Connected (the token read) on first use: a run that enrolls nobody needs no token.
        self._connect = connect
        self._fallback = fallback
        self.tries = tries
        self._sequences: dict[str, str | None] = {}
        self._mailboxes: dict[str, str | None] = {}

    def prepare(self, enrollments: Sequence[Enrollment]) -> None:
        """Resolve the sequences and mailboxes named; a refused token stops the run here,
        before anything is written (Outreach being down only fails those enrollments)."""
        for enrollment in enrollments:
            try:
                self._sequence_id(enrollment.sequence)
                if enrollment.sender.email:
                    self._mailbox_id(enrollment.sender.email)
            except OutreachCallError:
                continue

    @cached_property
    def _client(self) -> OutreachClient:
        return self._connect()

    def sequence_exists(self, name: str) -> bool:
        return self._sequence_id(name) is not None

    def mailbox_exists(self, email: str) -> bool:
        return self._mailbox_id(email) is not None

    def _sequence_id(self, name: str) -> str | None:
        if name not in self._sequences:
            found = self._client.find("sequences", {"name": name})
            self._sequences[name] = str(found[0]["id"]) if found else None
        return self._sequences[name]

    def _mailbox_id(self, email: str) -> str | None:
        email = email.strip().lower()
        if email not in self._mailboxes:
            found = self._client.find("mailboxes", {"email": email})
            self._mailboxes[email] = str(found[0]["id"]) if found else None
        return self._mailboxes[email]

    def enroll(self, enrollment: Enrollment) -> EnrollmentOutcome:
        """Enroll through Outreach, else write the field. A token refused here (it expired
        during the run; `prepare` refused a bad one before any write) is such a failure.
        When the field cannot be written either, Outreach being unavailable (or the token
        refused, or the record locked) may pass: the next run asks again."""
        try:
            outcome = self._enroll(enrollment)
        except Transient as error:
            outcome = EnrollmentOutcome("failed", self.name, f"outreach: {error}", retry=True)
        except OutreachCallError as error:
            outcome = EnrollmentOutcome("failed", self.name, f"outreach: {error}")
        except ConfigError as error:
            outcome = EnrollmentOutcome("failed", self.name, str(error), retry=True)
        if outcome.status != "failed":
            return outcome
        written = self._fallback.enroll(enrollment)
        logger.warning("%s: %s", enrollment.person.name, outcome.detail)
        if written.status == "failed":
            detail = f"{outcome.detail}; {written.detail}"
            return EnrollmentOutcome(
                "failed", self.name, detail, retry=outcome.retry or written.retry
            )
        detail = f"{outcome.detail}; {written.detail} instead"
        return EnrollmentOutcome("enrolled", written.channel, detail, written.reference)

    def _enroll(self, enrollment: Enrollment) -> EnrollmentOutcome:
        person, sender, sequence = enrollment.person, enrollment.sender, enrollment.sequence
        prospects = self._client.find("prospects", {"emails": person.email})
        if not prospects:
            return self._failed(f"no Outreach prospect has the email {person.email}")
        prospect = prospects[0]
        prospect_id = str(prospect["id"])
        if (prospect.get("attributes") or {}).get("optedOut"):
            return EnrollmentOutcome("skipped", self.name, f"prospect {prospect_id} opted out")
        sequence_id = self._sequence_id(sequence)
        if sequence_id is None:
            return self._failed(f"no Outreach sequence is named {sequence!r}")
        mailbox_id = self._mailbox_id(sender.email) if sender.email else None
        if mailbox_id is None:
            return self._failed(f"no Outreach mailbox for {sender.name} ({sender.email})")
        for attempt in self._client.retrying(server_errors=True):
            with attempt:
                found = self._state(prospect_id, sequence_id, sequence)
                if found is not None:
                    return found
                try:
                    state_id = self._client.create(
                        "sequenceStates",
                        "sequenceState",
                        {
                            "prospect": ("prospect", prospect_id),
                            "sequence": ("sequence", sequence_id),
                            "mailbox": ("mailbox", mailbox_id),
                        },
                    )
                except Refused as error:
                    # A 422 is most often "already in this sequence": look once more.
                    again = self._state(prospect_id, sequence_id, sequence)
                    return again or self._failed(f"refused: {error}")
        return EnrollmentOutcome(
            "enrolled", self.name, f"enrolled in {sequence} from {sender.email}", state_id
        )

    def _state(self, prospect_id: str, sequence_id: str, sequence: str) -> EnrollmentOutcome | None:
        """`already` when the prospect has a state in this sequence, `skipped` when another
        sequence is working it; None when it may be enrolled."""
        states = self._client.find("sequenceStates", {"prospect.id": prospect_id})
        for state in states:
            related = ((state.get("relationships") or {}).get("sequence") or {}).get("data") or {}
            if str(related.get("id")) == sequence_id:
                status = (state.get("attributes") or {}).get("state")
                return EnrollmentOutcome(
                    "already", self.name, f"already in {sequence} ({status})", str(state["id"])
                )
        for state in states:
            if (state.get("attributes") or {}).get("state") in ACTIVE_STATES:
                return EnrollmentOutcome(
                    "skipped",
                    self.name,
                    f"active in another Outreach sequence (sequence state {state['id']})",
                )
        return None

    def _failed(self, why: str) -> EnrollmentOutcome:
        return EnrollmentOutcome("failed", self.name, f"outreach: {why}")
