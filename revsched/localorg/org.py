"""LocalOrg: the embedded Salesforce org (SQLite storage + REST API) and its server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from simple_salesforce import Salesforce
from werkzeug.serving import make_server

from revsched.localorg.app import RestApi
from revsched.localorg.storage import Storage
from revsched.localorg.transport import in_process_client

LOCAL_HOST = "localorg.invalid"


class LocalOrg:
    """A Salesforce org in one SQLite file, reachable through simple-salesforce unchanged."""

    def __init__(
        self,
        path: str | Path,
        *,
        today: Callable[[], date] | None = None,
        daily_api_limit: int = 100_000,
    ) -> None:
        self.storage = Storage(path, today or date.today)
        self.daily_api_limit = daily_api_limit
        self.wsgi_app = RestApi(self.storage, daily_api_limit)

    @property
    def running_user_id(self) -> str:
        """The User the API runs as: the default OwnerId of new records."""
        return self.storage.running_user_id

    def insert(self, sobject: str, records: list[dict[str, object]]) -> list[str]:
        """Bulk load without HTTP (demo data, tests); returns the new Ids in order."""
        return self.storage.insert(sobject, records)

    def salesforce(self) -> Salesforce:
        """A simple-salesforce client bound to this org in-process."""
        return in_process_client(self.wsgi_app, LOCAL_HOST)

    def api_usage(self) -> tuple[int, int]:
        """(API calls used today, daily limit), as Sforce-Limit-Info reports them."""
        with self.storage.lock:
            return self.storage.calls_today(), self.daily_api_limit

    def close(self) -> None:
        with self.storage.lock:
            self.storage.conn.close()


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the org at path over plain HTTP until interrupted (`revsched org serve`)."""
    org = LocalOrg(path)
    server = make_server(host, port, org.wsgi_app, threaded=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        org.close()
