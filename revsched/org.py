"""The only place revsched talks to Salesforce: connecting, reading, writing.

Plays never see a client; the runner hands them records read here and gives
their plan back here to write. Salesforce's errors become one-line OrgErrors
that carry Salesforce's own error code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql

from revsched.config import Settings
from revsched.errors import ConfigError, OrgError
from revsched.localorg import LocalOrg, connect
from revsched.localorg.demo import build_demo_org
from revsched.play import Record

COLLECTION_LIMIT = 200  # records per sObject Collections call, Salesforce's maximum


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


# Query errors that mean a field or object name in config does not exist in the org.
CONFIG_ERROR_CODES = ("INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY")


@contextmanager
def salesforce_errors(action: str, config_hint: str | None = None) -> Iterator[None]:
    try:
        yield
    except SalesforceError as error:
        summary = _error_summary(getattr(error, "content", str(error)))
        if config_hint and summary.startswith(CONFIG_ERROR_CODES):
            raise ConfigError(
                f"Salesforce refused to {action} ({summary}): {config_hint}"
            ) from None
        raise OrgError(f"Salesforce refused to {action}: {summary}") from None


def _record_errors(result: dict[str, Any]) -> str | None:
    if result.get("success"):
        return None
    errors = result.get("errors") or [{"statusCode": "UNKNOWN", "message": "no error given"}]
    return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)


class OrgGateway:
    """Reads with SOQL and writes with sObject Collections, 200 records a call."""

    def __init__(self, sf: Salesforce, query_batch_size: int = 2000):
        self.sf = sf
        # On the session, not per call: simple-salesforce drops per-call headers on re-auth.
        sf.session.headers["Sforce-Query-Options"] = f"batchSize={query_batch_size}"

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    def query(self, soql: str, config_hint: str | None = None) -> list[Record]:
        """All rows of a query, paged by Salesforce; `config_hint` says what to fix if refused."""
        with salesforce_errors("run a query", config_hint):
            return [dict(record) for record in self.sf.query_all_iter(soql)]

    def fetch(self, sobject: str, ids: Sequence[str], fields: Sequence[str]) -> list[Record]:
        """Records by Id (deleted ones are simply absent), 200 Ids per query."""
        records: list[Record] = []
        for start in range(0, len(ids), COLLECTION_LIMIT):
            chunk = list(ids[start : start + COLLECTION_LIMIT])
            soql = format_soql(
                f"SELECT Id, {', '.join(f for f in fields if f != 'Id')} FROM {sobject}"
                " WHERE Id IN {}",
                chunk,
            )
            records.extend(self.query(soql))
        return records

    def update(self, sobject: str, records: Sequence[Record]) -> dict[str, str | None]:
        """Write field values by Id; returns each record's error, None when it saved."""
        outcomes: dict[str, str | None] = {}
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = records[start : start + COLLECTION_LIMIT]
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            with salesforce_errors(f"update {len(chunk)} {sobject} records"):
                results = self.sf.restful("composite/sobjects", method="PATCH", json=body)
            for record, result in zip(chunk, results, strict=True):
                outcomes[record["Id"]] = _record_errors(result)
        return outcomes


def connect_org(settings: Settings, today: date) -> OrgGateway:
    """The configured org; with none configured, the embedded demo org (built on first use)."""
    org = settings.org
    if org.kind == "local":
        if org.url:
            return OrgGateway(connect(org.url))
        path = org.local_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            build_demo_org(path, accounts=org.demo_accounts, seed=org.demo_seed, today=today)
        return OrgGateway(LocalOrg(path).salesforce())
    if not org.username:
        raise ConfigError("org.username: required when org.kind = 'salesforce'")
    password = os.environ.get(org.password_env)
    if not password:
        raise ConfigError(f"org.password_env: environment variable {org.password_env} is not set")
    with salesforce_errors("log in"):
        sf = Salesforce(
            username=org.username,
            password=password,
            security_token=os.environ.get(org.security_token_env, ""),
            domain=org.domain,
            version=org.api_version,
        )
    return OrgGateway(sf)
