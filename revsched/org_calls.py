"""One call to Salesforce: its errors as one line, retries on transient faults, one
re-login on an expired session, and the API budget checked first.

Apart from the reads and writes because every one of them goes through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from revsched.config import ApiSettings
from revsched.errors import ApiLimitError, ConfigError, OrgError
from revsched.salesforce_soap import SoapFault

COLLECTION_LIMIT = 200  # records per sObject Collections call, Salesforce's maximum

# Query errors that mean a field or object name in config does not exist in the org.
CONFIG_ERROR_CODES = ("INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY")


T = TypeVar("T")


def _one_line(message: str) -> str:
    """Salesforce's query errors quote the query with a caret under the fault; keep the verdict."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("ERROR at")), 0)
    return " ".join(lines[start:])


def _error_summary(content: Any) -> str:
    """Salesforce's error list as `CODE: message` (its bodies are lists of dicts)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        message = _one_line(str(first.get("message", "")))
        return f"{first.get('errorCode', 'ERROR')}: {message}"
    return _one_line(str(content))[:300]


@contextmanager
def salesforce_errors(action: str, config_hint: str | None = None) -> Iterator[None]:
    try:
        yield
    except SalesforceError as error:
        summary = _error_summary(getattr(error, "content", str(error)))
        if summary.startswith("REQUEST_LIMIT_EXCEEDED"):
            raise ApiLimitError(
                f"Salesforce refused to {action}: {summary}; rerun when the allowance resets"
            ) from None
        if config_hint and summary.startswith(CONFIG_ERROR_CODES):
            raise ConfigError(
                f"Salesforce refused to {action} ({summary}): {config_hint}"
            ) from None
        raise OrgError(f"Salesforce refused to {action}: {summary}") from None
    except requests.RequestException as error:
        raise OrgError(f"could not reach Salesforce to {action}: {error}") from None


def _transient(error: BaseException) -> bool:
    """Faults worth another try: the server's (5xx) or the network's, not ours."""
    if isinstance(error, SalesforceError):
        return getattr(error, "status", 0) >= 500
    return isinstance(
        error,
        requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    )


class OrgSession:
    """A logged-in client and the calls made through it, frugally and resiliently."""

    def __init__(
        self,
        connect: Callable[[], Salesforce],
        api: ApiSettings | None = None,
        key_field: str = "Revsched_Key__c",
        org_memory: bool = True,
    ):
        self._connect = connect
        self.api = api or ApiSettings()
        # The External ID field that records revsched creates are upserted on.
        self.key_field = key_field
        # Whether firings are also kept in the org (revsched.org_memory).
        self.org_memory = org_memory
        # Each object's describe and when it was fetched (time.monotonic()).
        self._describes: dict[str, tuple[float, dict[str, Any]]] = {}
        self.sf = self._login()

    def _login(self) -> Salesforce:
        sf = self._connect()
        # On the session, not per call: simple-salesforce drops per-call headers on re-auth.
        sf.session.headers["Sforce-Query-Options"] = f"batchSize={self.api.query_batch_size}"
        return sf

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.api.max_attempts),
            wait=wait_random_exponential(
                multiplier=self.api.retry_base_seconds, max=self.api.retry_max_seconds
            ),
            reraise=True,
        )

    def check_budget(self) -> None:
        """Refuse to spend more once the org's usage reaches our share of its daily allowance."""
        usage = self.sf.api_usage.get("api-usage")
        if usage is None or not usage.total:
            return
        if usage.used / usage.total >= self.api.budget_share:
            raise ApiLimitError(
                f"the org has used {usage.used:,} of its {usage.total:,} daily API requests "
                f"({usage.used / usage.total:.0%}), past api.budget_share = "
                f"{self.api.budget_share:g}; stopping before using more"
            )

    def call(self, action: str, request: Callable[[Salesforce], T], hint: str | None = None) -> T:
        """One API call, with retries on transient faults and one re-login on expiry."""

        def once() -> T:
            try:
                return request(self.sf)
            except SalesforceExpiredSession:
                self.sf = self._login()
                return request(self.sf)

        self.check_budget()
        with salesforce_errors(action, hint):
            return self._retrying()(once)

    def _soap(self, action: str, call: Callable[[Salesforce], list[T]]) -> list[T]:
        """One SOAP call, logged in again once on an expired session.

        A refused call is not retried on server faults: a merge or conversion that did
        happen cannot be told from one that did not, and a repeat would fail on it.
        """
        self.check_budget()
        try:
            try:
                return call(self.sf)
            except SoapFault as fault:
                if fault.code != "INVALID_SESSION_ID":
                    raise _soap_error(fault, action) from None
                self.sf = self._login()
                try:
                    return call(self.sf)
                except SoapFault as again:
                    raise _soap_error(again, action) from None
        except requests.RequestException as error:
            raise OrgError(f"could not reach Salesforce to {action}: {error}") from None


def _soap_error(fault: SoapFault, action: str) -> OrgError:
    message = f"Salesforce refused to {action}: {fault.code}: {fault.message}"
    if fault.code == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitError(f"{message}; rerun when the allowance resets")
    return OrgError(message)
