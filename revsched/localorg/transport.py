"""How simple-salesforce reaches a local org: it always builds https:// URLs, so a
requests Session gets an adapter that either calls the WSGI app in-process or forwards
https://127.0.0.1:PORT to the plain-HTTP server."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from simple_salesforce import Salesforce
from werkzeug.test import EnvironBuilder, run_wsgi_app

API_VERSION = "62.0"
# Responses decoded into plain dicts, as revsched.auth's clients do (not OrderedDicts).
PLAIN_DICTS = None


class WSGIAdapter(BaseAdapter):
    """A requests transport that hands each request to a WSGI app, with no socket."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **_kwargs: Any
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        environ = EnvironBuilder(
            path=unquote(url.path),
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method,
            headers=list(request.headers.items()),
            data=body or b"",
        ).get_environ()
        signals: dict[str, bool] = {}
        environ["localorg.signals"] = signals  # shared with the app (environ is copied)
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        if signals.get("drop"):
            # The fault profile cut the response off mid-body: what requests raises when a
            # server closes the connection before Content-Length bytes arrived.
            raise requests.exceptions.ChunkedEncodingError(
                "Connection broken: IncompleteRead (local org fault profile dropped it)",
                request=request,
            )
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = CaseInsensitiveDict(dict(headers))
        response._content = b"".join(app_iter)
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release: there is no connection pool."""


class _PlainHttpAdapter(HTTPAdapter):
    """Sends the https:// URLs simple-salesforce builds to a plain-HTTP local server; with
    `netloc`, whatever host they name (login.salesforce.com for a login) goes there."""

    def __init__(self, netloc: str | None = None) -> None:
        super().__init__()
        self.netloc = netloc

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if request.url and request.url.startswith("https://"):
            url = urlsplit(request.url)
            request.url = url._replace(scheme="http", netloc=self.netloc or url.netloc).geturl()
            if self.netloc:
                request.headers["Host"] = self.netloc
        return super().send(request, *args, **kwargs)


def local_session(instance_url: str) -> requests.Session:
    """A requests Session sending every https:// URL to the local org served at
    instance_url (http://127.0.0.1:PORT), so simple-salesforce's own login code
    (https://login.salesforce.com/..., then the instance URL the org returns) reaches it:
    `Salesforce(username=..., password=..., security_token=..., session=local_session(url))`.
    """
    if "://" not in instance_url:
        instance_url = f"http://{instance_url}"
    session = requests.Session()
    session.mount("https://", _PlainHttpAdapter(urlsplit(instance_url).netloc))
    return session


def in_process_session(app: Any) -> requests.Session:
    """A requests Session sending every https:// URL to `app` in-process."""
    session = requests.Session()
    session.mount("https://", WSGIAdapter(app))
    return session


def connect(instance_url: str, session_id: str = "local") -> Salesforce:
    """A simple-salesforce client for a local org served at http://127.0.0.1:PORT."""
    if "://" not in instance_url:
        instance_url = f"http://{instance_url}"
    netloc = urlsplit(instance_url).netloc
    session = requests.Session()
    session.mount(f"https://{netloc}", _PlainHttpAdapter())
    return Salesforce(
        instance_url=instance_url,
        session_id=session_id,
        session=session,
        version=API_VERSION,
        object_pairs_hook=PLAIN_DICTS,
    )


def in_process_client(app: Any, host: str) -> Salesforce:
    """A simple-salesforce client whose requests go straight to `app`."""
    session = requests.Session()
    session.mount(f"https://{host}", WSGIAdapter(app))
    return Salesforce(
        instance_url=f"https://{host}",
        session_id="local",
        session=session,
        version=API_VERSION,
        object_pairs_hook=PLAIN_DICTS,
    )
