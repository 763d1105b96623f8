"""A fake Slack on 127.0.0.1: the Web API calls revsched makes and an incoming webhook.

It answers as Slack does (HTTP 200 with ok=false and an error code; 429 with
Retry-After when rate limited; plain-text "ok" from a webhook), checks the
token and Slack's Block Kit limits, records every request, and can be told how
to answer the next calls of a method: "pass" (normally), "ratelimited", "drop"
(close the connection without an answer) or a Slack error code such as
"channel_not_found".
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localserver import serve, stop

TOKEN = "xoxb-fake-7d1c0ffee-token"
WEBHOOK_PATH = "/services/T000/B000/fake-webhook-secret-9f3e"


@dataclass
class Request:
    method: str
    args: dict[str, Any]
    answered: str  # "ok", an error code, or "dropped"


@dataclass
class FakeSlack:
    users: dict[str, str] = field(default_factory=dict)  # email -> Slack user Id
    channels: set[str] = field(default_factory=lambda: {"#win-back", "#revops", "C0REVOPS"})
    requests: list[Request] = field(default_factory=list)
    # Method -> what its next calls answer, in order.
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = serve(_handler(self))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{WEBHOOK_PATH}"

    def fail(self, method: str, *answers: str) -> None:
        self.failures[method].extend(answers)

    def calls(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    def posted(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        """What Slack accepted: the arguments of the calls answered ok."""
        return [r.args for r in self.calls(method) if r.answered == "ok"]

    def close(self) -> None:
        stop(self._server)

    def answer(self, method: str, args: dict[str, Any], token: str | None) -> tuple[int, Any]:
        """(HTTP status, JSON body or text); status 0 drops the connection."""
        with self._lock:
            queued = self.failures[method].pop(0) if self.failures[method] else None
            queued = None if queued == "pass" else queued
            status, body = self._answer(method, args, token, queued)
            answered = "dropped" if status == 0 else "ok"
            if isinstance(body, dict) and not body.get("ok"):
                answered = body["error"]
            elif isinstance(body, str) and body != "ok":
                answered = body
            self.requests.append(Request(method, args, answered))
            return status, body

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, queued: str | None
    ) -> tuple[int, Any]:
        if queued == "drop":
            return 0, None
        if queued == "ratelimited":
            return 429, {"ok": False, "error": "ratelimited"}
        if method == "webhook":
            return (400, queued) if queued else (200, "ok")
        if token != TOKEN:
            return 200, {"ok": False, "error": "invalid_auth"}
        if queued:
            return 200, {"ok": False, "error": queued}
        if method == "auth.test":
            return 200, {"ok": True, "user": "revsched", "team": "Acme", "user_id": "UBOT"}
        if method == "users.lookupByEmail":
            user_id = self.users.get(args["email"])
            if user_id is None:
                return 200, {"ok": False, "error": "users_not_found"}
            return 200, {"ok": True, "user": {"id": user_id, "deleted": False}}
        if method == "conversations.open":
            return 200, {"ok": True, "channel": {"id": f"D{args['users']}"}}
        if method == "chat.postMessage":
            return 200, self._post(args)
        return 200, {"ok": False, "error": "unknown_method"}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if channel not in self.channels and not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}
        blocks = args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        too_long = any(len(b.get("text", {}).get("text", "")) > 3000 for b in blocks)
        if len(blocks) > 50 or too_long or not args.get("text"):
            return {"ok": False, "error": "invalid_blocks"}
        return {"ok": True, "channel": channel, "ts": f"{len(self.requests)}.000100"}


def _handler(slack: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            url = urlsplit(self.path)
            args: dict[str, Any] = dict(parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if body and "json" in (self.headers.get("Content-Type") or ""):
                args |= json.loads(body)
            elif body:
                args |= dict(parse_qsl(body))
            if url.path == WEBHOOK_PATH:
                method = "webhook"
            elif url.path.startswith("/api/"):
                method = url.path.removeprefix("/api/")
            else:
                self._reply(404, "no_service")
                return
            auth = self.headers.get("Authorization") or ""
            status, answer = slack.answer(method, args, auth.removeprefix("Bearer ") or None)
            if status == 0:
                self.close_connection = True
                return
            self._reply(status, answer)

        def _reply(self, status: int, answer: Any) -> None:
            data = (json.dumps(answer) if isinstance(answer, dict) else answer).encode()
            self.send_response(status)
            kind = "application/json" if isinstance(answer, dict) else "text/plain"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
