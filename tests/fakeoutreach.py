"""A fake Outreach API (v2, JSON:API) on 127.0.0.1: the calls revsched's channel makes.

It answers as Outreach documents: a bearer token on every call (401 otherwise),
`Content-Type: application/vnd.api+json` on writes (415 otherwise), collections
filtered with `filter[...]`, errors as `{"errors": [{"id", "title", "detail"}]}`, 422
for a prospect already in the sequence, 429 with Retry-After. It records every
request, and can be told how to answer the next calls of "METHOD resource": "pass",
"429:<seconds>", a status such as "503", "maintenance:<ISO time>" (503 with
Retry-After), "drop" (close the connection), or
"lost:<status>" (carry the call out, then answer the status: the response was lost).
Its OAuth endpoint (POST /oauth/token, grant_type=refresh_token) issues a new access
token and a new refresh token, and forgets the one it was given (Outreach rotates them).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from localserver import serve, stop

TOKEN = "outreach-fake-access-token-5b1e"
CLIENT_ID = "revsched-fake-client"
CLIENT_SECRET = "outreach-fake-client-secret-77c2"
REDIRECT_URI = "https://revsched.example/oauth/outreach"
REFRESH_TOKEN = "outreach-fake-refresh-token-0001"
JSON_API = "application/vnd.api+json"


@dataclass
class Request:
    method: str
    resource: str
    params: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int


@dataclass
class FakeOutreach:
    # Id -> attributes, as Outreach holds them.
    prospects: dict[int, dict[str, Any]] = field(default_factory=dict)
    sequences: dict[int, str] = field(default_factory=dict)
    mailboxes: dict[int, str] = field(default_factory=dict)
    # Id -> (prospect Id, sequence Id, mailbox Id, state)
    states: dict[int, tuple[int, int, int, str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # The one access token accepted (change it to expire the one a client holds).
    token: str = TOKEN
    # The one refresh token accepted; each refresh replaces both tokens.
    refresh_token: str = REFRESH_TOKEN
    # Every token either endpoint ever issued or accepted (tests grep output for them).
    issued: list[str] = field(default_factory=lambda: [TOKEN, REFRESH_TOKEN, CLIENT_SECRET])

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = serve(_handler(self))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/v2/"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/oauth/token"

    def close(self) -> None:
        stop(self._server)

    def add_prospect(self, email: str, opted_out: bool = False) -> int:
        prospect_id = len(self.prospects) + 1
        self.prospects[prospect_id] = {"emails": [email], "optedOut": opted_out}
        return prospect_id

    def add_sequence(self, name: str) -> int:
        self.sequences[len(self.sequences) + 1] = name
        return len(self.sequences)

    def add_mailbox(self, email: str) -> int:
        self.mailboxes[len(self.mailboxes) + 1] = email
        return len(self.mailboxes)

    def fail(self, call: str, *answers: str) -> None:
        self.failures[call].extend(answers)

    def refreshes(self) -> list[Request]:
        return self.calls("POST", "oauth/token")

    def calls(self, method: str, resource: str) -> list[Request]:
        return [r for r in self.requests if (r.method, r.resource) == (method, resource)]

    def enrolled(self) -> list[tuple[str, str]]:
        """(prospect email, sequence name) of every sequence state."""
        return [
            (self.prospects[p]["emails"][0], self.sequences[s])
            for p, s, _, _ in self.states.values()
        ]

    # --- answering -----------------------------------------------------------------------

    def answer(
        self, method: str, resource: str, params: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, JSON body); status 0 drops the connection."""
        with self._lock:
            queued = self.failures[f"{method} {resource}"]
            scripted = queued.pop(0) if queued else "pass"
            status, extra, answer = self._answer(method, resource, params, body, headers, scripted)
            self.requests.append(Request(method, resource, params, body, headers, status))
            return status, extra, answer

    def _answer(
        self,
        method: str,
        resource: str,
        params: dict[str, str],
        body: Any,
        headers: dict[str, str],
        scripted: str,
    ) -> tuple[int, dict[str, str], Any]:
        if resource == "oauth/token":
            return self._refresh(body, scripted)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, _error("unauthorized", "Unauthorized", "Invalid or expired token.")
        if scripted == "drop":
            return 0, {}, None
        if scripted.startswith("429"):
            seconds = scripted.partition(":")[2] or "1"
            detail = "You have exceeded your permitted rate limit of 10,000."
            return 429, {"Retry-After": seconds}, _error("rateLimitExceeded", "Rate Limit", detail)
        if scripted.isdigit():
            return int(scripted), {}, _error("serverError", "Server Error", "Try again later.")
        if scripted.startswith("maintenance:"):
            until = scripted.partition(":")[2]
            detail = f"Scheduled server maintenance is under way; please try again at {until}."
            error = _error("scheduledServerMaintenance", "Maintenance", detail)
            return 503, {"Retry-After": until}, error
        if method == "POST" and headers.get("content-type") != JSON_API:
            return 415, {}, _error("unsupportedMediaType", "Unsupported Media Type", JSON_API)
        status, answer = self._resource(method, resource, params, body)
        if scripted.startswith("lost:"):
            return int(scripted.partition(":")[2]), {}, _error("serverError", "Lost", "lost")
        return status, {}, answer

    def _resource(
        self, method: str, resource: str, params: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if method == "GET" and resource == "prospects":
            email = params.get("filter[emails]", "").lower()
            rows = [
                _item("prospect", i, a)
                for i, a in self.prospects.items()
                if email in (e.lower() for e in a["emails"])
            ]
            return 200, {"data": rows}
        if method == "GET" and resource == "sequences":
            name = params.get("filter[name]")
            rows = [
                _item("sequence", i, {"name": n}) for i, n in self.sequences.items() if n == name
            ]
            return 200, {"data": rows}
        if method == "GET" and resource == "mailboxes":
            email = params.get("filter[email]", "").lower()
            rows = [
                _item("mailbox", i, {"email": e})
                for i, e in self.mailboxes.items()
                if e.lower() == email
            ]
            return 200, {"data": rows}
        if method == "GET" and resource == "sequenceStates":
            prospect = int(params.get("filter[prospect][id]", "0"))
            rows = [
                _item("sequenceState", i, {"state": state}, sequence=("sequence", s))
                for i, (p, s, _, state) in self.states.items()
                if p == prospect
            ]
            return 200, {"data": rows}
        if method == "POST" and resource == "sequenceStates":
            return self._create_state(body)
        return 404, _error("resourceNotFound", "Not Found", f"no route {method} {resource}")

    def _create_state(self, body: Any) -> tuple[int, Any]:
        related = body["data"]["relationships"]
        ids = [int(related[name]["data"]["id"]) for name in ("prospect", "sequence", "mailbox")]
        prospect, sequence, mailbox = ids
        if prospect not in self.prospects or sequence not in self.sequences:
            return 404, _error("resourceNotFound", "Not Found", "no such prospect or sequence")
        if mailbox not in self.mailboxes:
            return 422, _error("validationError", "Validation Error", "Mailbox can't be blank.")
        if any((p, s) == (prospect, sequence) for p, s, _, _ in self.states.values()):
            detail = "Prospect is already in this sequence."
            return 422, _error("validationError", "Validation Error", detail)
        state_id = len(self.states) + 101
        self.states[state_id] = (prospect, sequence, mailbox, "active")
        return 201, {"data": _item("sequenceState", state_id, {"state": "active"})}

    def _refresh(self, form: Any, scripted: str) -> tuple[int, dict[str, str], Any]:
        """Outreach's token endpoint: a form post; errors as OAuth's {"error": ...}."""
        if scripted.isdigit():
            return int(scripted), {}, {"error": "server_error"}
        form = form if isinstance(form, dict) else {}
        client = (form.get("client_id"), form.get("client_secret"), form.get("redirect_uri"))
        if client != (CLIENT_ID, CLIENT_SECRET, REDIRECT_URI):
            return 401, {}, {"error": "invalid_client", "error_description": "Unknown client."}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != (
            self.refresh_token
        ):
            detail = "The provided authorization grant is invalid, expired or revoked."
            return 400, {}, {"error": "invalid_grant", "error_description": detail}
        count = len(self.issued)
        self.token = f"outreach-fake-access-token-r{count:03d}"
        self.refresh_token = f"outreach-fake-refresh-token-r{count:03d}"
        self.issued += [self.token, self.refresh_token]
        answer = {
            "access_token": self.token,
            "token_type": "bearer",
            "expires_in": 7200,
            "refresh_token": self.refresh_token,
            "scope": "prospects.read sequences.read mailboxes.read sequenceStates.all",
            "created_at": 1795000000,
        }
        return 200, {}, answer


def _error(error_id: str, title: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"id": error_id, "title": title, "detail": detail}]}


def _item(kind: str, item_id: int, attributes: dict[str, Any], **related: tuple[str, int]) -> Any:
    return {
        "type": kind,
        "id": item_id,
        "attributes": attributes,
        "relationships": {name: {"data": {"type": t, "id": i}} for name, (t, i) in related.items()},
    }


def _handler(fake: FakeOutreach) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            resource = url.path.removeprefix("/api/v2/").removeprefix("/")
            params = dict(parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                body: Any = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            else:
                body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, answer = fake.answer(method, resource, params, body, headers)
            if status == 0:
                self.close_connection = True
                self.connection.close()
                return
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", JSON_API)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
