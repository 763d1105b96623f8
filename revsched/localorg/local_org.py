"""LocalOrg: the embedded Salesforce org (SQLite storage + REST API) and its server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import requests
from simple_salesforce import Salesforce
from werkzeug.serving import WSGIRequestHandler, make_server

from revsched.localorg.app import RestApi
from revsched.localorg.faults import FaultProfile
from revsched.localorg.schema import load_schema_file
from revsched.localorg.sessions import Credentials, Sessions
from revsched.localorg.soql_dates import FiscalYear
from revsched.localorg.storage import Storage
from revsched.localorg.transport import (
    API_VERSION,
    PLAIN_DICTS,
    in_process_client,
    in_process_session,
)

LOCAL_HOST = "localorg.invalid"


class LocalOrg:
    """A Salesforce org in one SQLite file, reachable through simple-salesforce unchanged."""

    def __init__(
        self,
        path: str | Path,
        *,
        today: Callable[[], date] | None = None,
        daily_api_limit: int = 100_000,
        faults: FaultProfile | None = None,
        credentials: Credentials | None = None,
        strict_sessions: bool = False,
        schema_extensions: str | Path | dict[str, object] | None = None,
        fiscal_year: FiscalYear | None = None,
    ) -> None:
        """`faults`: see revsched.localorg.faults. `credentials`: who may log in (any login
        succeeds without). `strict_sessions`: refuse bearer tokens the org did not issue
        (what a served org with credentials does); otherwise any non-empty token works.
        `schema_extensions`: custom objects and fields (a schema file or its mapping, see
        schema.Schema.extend), remembered in the org's file. `fiscal_year`: the org's standard
        fiscal year (start month, naming) for FISCAL_* date functions and literals."""
        self.storage = Storage(path, today or date.today)
        self.storage.fiscal_year = fiscal_year or FiscalYear()
        if schema_extensions is not None:
            add_custom_fields(self, schema_extensions)
        self.wsgi_app = RestApi(
            self.storage,
            daily_api_limit,
            sessions=Sessions(credentials, strict=strict_sessions),
            faults=faults,
        )

    @property
    def faults(self) -> FaultProfile | None:
        """The fault profile in force; assigning one (or None) restarts its schedule."""
        return self.wsgi_app.gate.faults

    @faults.setter
    def faults(self, profile: FaultProfile | None) -> None:
        with self.storage.lock:
            self.wsgi_app.gate.faults = profile

    @property
    def running_user_id(self) -> str:
        """The User the API runs as: the default OwnerId of new records."""
        return self.storage.running_user_id

    def insert(self, sobject: str, records: list[dict[str, object]]) -> list[str]:
        """Bulk load without HTTP (demo data, tests); returns the new Ids in order."""
        return self.storage.insert(sobject, records)

    def salesforce(self, **login: object) -> Salesforce:
        """A simple-salesforce client bound to this org in-process. Without arguments it
        uses a fixed session id; with login arguments (username/password/security_token,
        consumer_key/consumer_secret, privatekey, ...) simple-salesforce's own login code
        runs against the org's SOAP login or OAuth token endpoint."""
        if not login:
            return in_process_client(self.wsgi_app, LOCAL_HOST)
        return Salesforce(
            session=self.session(),
            version=API_VERSION,
            object_pairs_hook=PLAIN_DICTS,
            **login,  # type: ignore[arg-type]
        )

    def session(self) -> requests.Session:
        """A requests Session sending every https:// URL (login.salesforce.com included)
        to this org in-process."""
        return in_process_session(self.wsgi_app)

    def api_usage(self) -> tuple[int, int]:
        """(API calls used today, daily limit), as Sforce-Limit-Info reports them."""
        with self.storage.lock:
            return self.storage.calls_today(), self.wsgi_app.gate.daily_api_limit

    def close(self) -> None:
        self.wsgi_app.bulk.wait()
        with self.storage.lock:
            self.storage.conn.close()


def add_custom_fields(org: LocalOrg, spec: str | Path | dict[str, object]) -> list[str]:
    """Add the custom objects and fields of a schema file (TOML/JSON) or mapping to an org:
    they become queryable, writable and described; returns the objects touched."""
    if not isinstance(spec, dict):
        spec = load_schema_file(spec)
    return org.storage.add_schema(spec)


class _QuietRequestHandler(WSGIRequestHandler):
    """Requests served without an access-log line each; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def serve(
    path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    faults: FaultProfile | str | Path | None = None,
    credentials: Credentials | None = None,
    daily_api_limit: int = 100_000,
    fiscal_year: FiscalYear | None = None,
    access_log: bool = False,
) -> None:
    """Serve the org at path over plain HTTP until interrupted (`revsched org serve`).
    `faults` is a FaultProfile or the path of a TOML/JSON fault file; with `credentials`
    the org only accepts the session ids it issued at login; `access_log` logs a line per
    request (werkzeug's default, off: a run's thousands of calls drown the errors)."""
    if faults is not None and not isinstance(faults, FaultProfile):
        faults = FaultProfile.from_file(faults)
    org = LocalOrg(
        path,
        faults=faults,
        credentials=credentials,
        strict_sessions=credentials is not None,
        daily_api_limit=daily_api_limit,
        fiscal_year=fiscal_year,
    )
    handler = WSGIRequestHandler if access_log else _QuietRequestHandler
    server = make_server(host, port, org.wsgi_app, threaded=True, request_handler=handler)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        org.close()
